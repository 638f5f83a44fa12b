import { describe, expect, it } from 'vitest';
import { jsKernels, KERNEL_NAMES } from '../../src/backend/table.js';
import { createWasmKernels, createWasmKernelsAsync, kernelModuleBytes, wasmSimdSupported } from '../../src/backend/wasm.js';
import { simd } from './helpers.js';

describe('wasmSimdSupported', () => {
  it('is true on Node ≥ 20', () => {
    expect(wasmSimdSupported()).toBe(true);
  });
});

describe.skipIf(!simd)('createWasmKernels', () => {
  it('has every kernel of jsKernels, and the module exports exactly the kernel table', () => {
    const k = createWasmKernels(new WebAssembly.Memory({ initial: 1 }));
    for (const name of Object.keys(jsKernels)) expect(typeof (k as unknown as Record<string, unknown>)[name]).toBe('function');
    const exported = WebAssembly.Module.exports(new WebAssembly.Module(kernelModuleBytes(false))).map((e) => e.name);
    expect(exported).toEqual([...KERNEL_NAMES, 'scratch']); // and the products' scratch address (a global)
  });

  it('runs the documented example', () => {
    const memory = new WebAssembly.Memory({ initial: 16 });
    const k = createWasmKernels(memory);
    const f = new Float32Array(memory.buffer);
    f.set([1, 2, 3, 4], 0);
    f.set([1, 0, 0, 1], 4);
    k.matmul(f, 8, f, 0, f, 4, 2, 2, 2, false);
    expect([...f.subarray(8, 12)]).toEqual([1, 2, 3, 4]);
  });

  it('has an asynchronous variant', async () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const k = await createWasmKernelsAsync(memory);
    const f = new Float32Array(memory.buffer);
    f.set([1, 2, 3, 4, 5], 3);
    k.mul(f, 3, f, 3, f, 3, 5);
    expect([...f.subarray(2, 9)]).toEqual([0, 1, 4, 9, 16, 25, 0]);
  });
});
