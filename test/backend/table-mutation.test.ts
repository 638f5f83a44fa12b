// The kernel table (src/backend/table.ts): every row's wrapper turns a call with TypeScript
// arguments into the raw kernel's call — each (array, offset) pair one pointer, each boolean
// 0/1, the numbers as they are, the result handed back — and the js, wasm and WGSL columns
// are the generators they name.
import { describe, expect, it } from 'vitest';
import {
  jsKernels, KERNEL_NAMES, KERNEL_TABLE, kernelFunctions, wrapExports, type KernelName, type RawKernel, type WasmKernelExports,
} from '../../src/backend/table.js';
import { matmul } from '../../src/tensor/matmul.js';
import { matmulKernel } from '../../src/wasm/kernels/matmul.js';
import { addBiasWgsl, gatherRowsWgsl, lstmCellBackwardWgsl, lstmCellForwardWgsl, mulWgsl } from '../../src/webgpu/kernels/elementwise.js';
import { matmulWgsl } from '../../src/webgpu/kernels/matmul.js';
import { addBiasBackwardWgsl, scatterAddRowsWgsl, softmaxCrossEntropyWgsl } from '../../src/webgpu/kernels/reduce.js';

/** Raw kernels that record their arguments and return 40 + the kernel's index. */
function recorder() {
  const calls: [KernelName, number[]][] = [];
  const raw = Object.fromEntries(KERNEL_NAMES.map((name, i) => [name, ((...args: number[]) => {
    calls.push([name, args]);
    return 40 + i;
  }) as RawKernel])) as unknown as WasmKernelExports;
  return { raw, calls };
}

// Arrays told apart by the pretend pointer: array i, offset o → 1000·i + o.
const arrays: ArrayLike<number>[] = Array.from({ length: 7 }, () => new Float32Array(1));
const pointer = (array: ArrayLike<number>, offset: number) => 1000 * arrays.indexOf(array) + offset;
const [a1, a2, a3, a4, a5, a6] = arrays.slice(1) as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];

describe('KERNEL_TABLE wrappers', () => {
  // [kernel, its TypeScript arguments, the raw arguments expected]
  const cases: [KernelName, unknown[], number[]][] = [
    ['matmul', [a1, 1, a2, 2, a3, 3, 4, 5, 6, true], [1001, 2002, 3003, 4, 5, 6, 1]],
    ['matmul', [a1, 1, a2, 2, a3, 3, 4, 5, 6, false], [1001, 2002, 3003, 4, 5, 6, 0]],
    ['matmulTN', [a3, 7, a2, 8, a1, 9, 10, 11, 12, true], [3007, 2008, 1009, 10, 11, 12, 1]],
    ['matmulNT', [a2, 1, a3, 2, a4, 3, 4, 5, 6, false], [2001, 3002, 4003, 4, 5, 6, 0]],
    ['matmulStrided', [a1, 1, a2, 2, a3, 3, 4, 5, 6, 7, true], [1001, 2002, 3003, 4, 5, 6, 7, 1]],
    ['matmulNTStrided', [a4, 1, a5, 2, a6, 3, 4, 5, 6, 7, false], [4001, 5002, 6003, 4, 5, 6, 7, 0]],
    ['matmulTNStrided', [a5, 3, a6, 1, a4, 2, 8, 9, 10, 11, true], [5003, 6001, 4002, 8, 9, 10, 11, 1]],
    ['addBias', [a1, 5, a2, 6, 7, 8], [1005, 2006, 7, 8]],
    ['addBiasBackward', [a3, 5, a4, 6, 7, 8], [3005, 4006, 7, 8]],
    ['gatherRows', [a1, 1, a2, 2, a3, 3, 4, 5, 6, true], [1001, 2002, 3003, 4, 5, 6, 1]],
    ['gatherRows', [a1, 1, a2, 2, a3, 3, 4, 5, 6, false], [1001, 2002, 3003, 4, 5, 6, 0]],
    ['scatterAddRows', [a4, 1, a5, 2, a6, 3, 4, 5, 6], [4001, 5002, 6003, 4, 5, 6]],
    ['softmaxCrossEntropy', [a1, 1, a2, 2, a3, 3, 4, 5, 6, 0.5], [1001, 2002, 3003, 4, 5, 6, 0.5]],
    ['mul', [a2, 1, a3, 2, a4, 3, 9], [2001, 3002, 4003, 9]],
    ['lstmCellForward', [a1, 1, a2, 2, a3, 3, a4, 4, a5, 5, 6, 7], [1001, 2002, 3003, 4004, 5005, 6, 7]],
    ['lstmCellBackward', [a1, 1, a2, 2, a3, 3, a4, 4, a5, 5, a6, 6, 7, 8], [1001, 2002, 3003, 4004, 5005, 6006, 7, 8]],
  ];

  it.each(cases)('%s: pointers, numbers and flags in order; the raw result returned', (name, args, expected) => {
    const { raw, calls } = recorder();
    const k = wrapExports(raw, pointer);
    const result = (k[name] as (...a: unknown[]) => unknown)(...args);
    expect(calls).toEqual([[name, expected]]);
    expect(result).toBe(40 + KERNEL_NAMES.indexOf(name));
  });

  it('every kernel has a case', () => {
    expect(new Set(cases.map(([name]) => name))).toEqual(new Set(KERNEL_NAMES));
  });

  it('by default a pointer is the byte address of the element (byteOffset + 4·offset)', () => {
    const { raw, calls } = recorder();
    const buffer = new ArrayBuffer(256);
    const out = new Float32Array(buffer, 16, 8), a = new Float32Array(buffer, 64, 8), bias = new Float32Array(buffer, 128, 8);
    wrapExports(raw).matmul(out, 3, a, 0, bias, 5, 1, 2, 3, false);
    expect(calls).toEqual([['matmul', [16 + 12, 64, 128 + 20, 1, 2, 3, 0]]]);
  });
});

describe('KERNEL_TABLE columns', () => {
  it('names the kernels in the module order; jsKernels is the js column', () => {
    expect(KERNEL_NAMES).toEqual([
      'matmul', 'matmulTN', 'matmulNT', 'matmulStrided', 'matmulNTStrided', 'matmulTNStrided', 'addBias', 'addBiasBackward', 'gatherRows',
      'scatterAddRows', 'softmaxCrossEntropy', 'mul', 'lstmCellForward', 'lstmCellBackward',
    ]);
    for (const name of KERNEL_NAMES) expect(jsKernels[name]).toBe(KERNEL_TABLE[name].js);
    expect(jsKernels.matmul).toBe(matmul);
    expect(Object.keys(jsKernels)).toEqual([...KERNEL_NAMES]);
  });

  it('the WGSL column: each row generates its own shader', () => {
    const expected: Record<KernelName, unknown> = {
      matmul: matmulWgsl('matmul'), matmulTN: matmulWgsl('matmulTN'), matmulNT: matmulWgsl('matmulNT'),
      matmulStrided: matmulWgsl('matmulStrided'), matmulNTStrided: matmulWgsl('matmulNTStrided'),
      matmulTNStrided: matmulWgsl('matmulTNStrided'),
      addBias: addBiasWgsl(), addBiasBackward: addBiasBackwardWgsl(), gatherRows: gatherRowsWgsl(),
      scatterAddRows: scatterAddRowsWgsl(), softmaxCrossEntropy: softmaxCrossEntropyWgsl(), mul: mulWgsl(),
      lstmCellForward: lstmCellForwardWgsl(), lstmCellBackward: lstmCellBackwardWgsl(),
    };
    // A shader is its code and arguments (the workgroup rules are functions made per call).
    const text = (k: unknown) => JSON.stringify(k);
    for (const name of KERNEL_NAMES) expect(text(KERNEL_TABLE[name].wgsl()), name).toBe(text(expected[name]));
    expect(text(KERNEL_TABLE.matmul.wgsl())).not.toBe(text(KERNEL_TABLE.matmulTN.wgsl()));
  });

  it('kernelFunctions: every row\'s wasm generator, in order, with the options passed on', () => {
    const plain = kernelFunctions();
    expect(plain).toEqual(KERNEL_NAMES.map((name) => KERNEL_TABLE[name].wasm({})));
    expect(plain[0]).toEqual(matmulKernel({ relaxed: false }));
    const relaxed = kernelFunctions({ relaxed: true });
    expect(relaxed[0]).toEqual(matmulKernel({ relaxed: true }));
    expect(relaxed[0]).not.toEqual(plain[0]);
  });
});
