import type { FloatArray } from '../tensor/float-array.js';
import { addBias, addBiasBackward } from '../tensor/bias.js';
import { softmaxCrossEntropy } from '../tensor/cross-entropy.js';
import { mul } from '../tensor/elementwise.js';
import { lstmCellBackward, lstmCellForward } from '../tensor/lstm-cell.js';
import { matmul, matmulNT, matmulNTStrided, matmulStrided, matmulTN, matmulTNStrided } from '../tensor/matmul.js';
import { gatherRows, scatterAddRows } from '../tensor/onehot.js';
import type { FunctionDef } from '../wasm/encoder.js';
import { addBiasBackwardKernel, addBiasKernel } from '../wasm/kernels/bias.js';
import { lstmCellBackwardKernel, lstmCellForwardKernel } from '../wasm/kernels/cell.js';
import { softmaxCrossEntropyKernel } from '../wasm/kernels/cross-entropy.js';
import { mulKernel } from '../wasm/kernels/elementwise.js';
import {
  matmulKernel, matmulNTKernel, matmulNTStridedKernel, matmulStridedKernel, matmulTNKernel, matmulTNStridedKernel, type MatmulOptions,
  SCRATCH_GLOBAL,
} from '../wasm/kernels/matmul.js';
import { gatherRowsKernel, scatterAddRowsKernel } from '../wasm/kernels/onehot.js';
import { addBiasWgsl, gatherRowsWgsl, lstmCellBackwardWgsl, lstmCellForwardWgsl, mulWgsl } from '../webgpu/kernels/elementwise.js';
import { matmulWgsl } from '../webgpu/kernels/matmul.js';
import { addBiasBackwardWgsl, scatterAddRowsWgsl, softmaxCrossEntropyWgsl } from '../webgpu/kernels/reduce.js';
import type { WgslKernel } from '../webgpu/wgsl.js';

// THE list of kernels, for every backend. One row per kernel: its TypeScript implementation
// (the reference, and the js backend), the generator of its WebAssembly twin, the generator of
// its WGSL twin (the webgpu backend), and how a call with TypeScript arguments becomes a call
// of the raw kernel — each (array, offset) pair one pointer (a byte address in wasm, an
// element index on the GPU), each boolean 0/1. Adding a kernel is one function in
// src/tensor/, one generator each in src/wasm/kernels/ and src/webgpu/kernels/, and one row
// here; the module, the js, wasm and webgpu kernel sets, the thread recorder and the worker
// all follow from this table.

/** A raw wasm export: byte pointers and sizes in, a number (or nothing) out. */
export type RawKernel = (...args: number[]) => number;
/** Where element `offset` of a view is, as the raw kernels address it. */
export type Pointer = (array: FloatArray | Int32Array | ArrayLike<number>, offset: number) => number;
/** wasm: the byte address of element `offset` of a view on the module's memory. */
const bytePointer: Pointer = (array, offset) => (array as Float32Array).byteOffset + 4 * offset;

/**
 * How the module is generated: `relaxed` uses relaxed SIMD's fused multiply-add in the matrix
 * products (for engines that validate it; see `wasmRelaxedSimdSupported`). The other kernels
 * are the same either way.
 */
export type KernelOptions = MatmulOptions;

interface Row<F> {
  readonly js: F;
  readonly wasm: (options: KernelOptions) => FunctionDef;
  readonly wgsl: () => WgslKernel;
  readonly wrap: (x: RawKernel, p: Pointer) => F;
}
const row = <F>(
  js: F, wasm: (options: KernelOptions) => FunctionDef, wgsl: () => WgslKernel, wrap: (x: RawKernel, p: Pointer) => F,
): Row<F> => ({ js, wasm, wgsl, wrap });
const b = (flag: boolean): number => (flag ? 1 : 0);

export const KERNEL_TABLE = {
  matmul: row(matmul, matmulKernel, () => matmulWgsl('matmul'), (x, p) => (out, o, a, ao, bm, bo, M, K, N, acc) =>
    x(p(out, o), p(a, ao), p(bm, bo), M, K, N, b(acc))),
  matmulTN: row(matmulTN, matmulTNKernel, () => matmulWgsl('matmulTN'), (x, p) => (out, o, a, ao, bm, bo, M, K, N, acc) =>
    x(p(out, o), p(a, ao), p(bm, bo), M, K, N, b(acc))),
  matmulNT: row(matmulNT, matmulNTKernel, () => matmulWgsl('matmulNT'), (x, p) => (out, o, a, ao, bm, bo, M, K, N, acc) =>
    x(p(out, o), p(a, ao), p(bm, bo), M, K, N, b(acc))),
  matmulStrided: row(matmulStrided, matmulStridedKernel, () => matmulWgsl('matmulStrided'), (x, p) => (out, o, a, ao, bm, bo, M, K, N, ld, acc) =>
    x(p(out, o), p(a, ao), p(bm, bo), M, K, N, ld, b(acc))),
  matmulNTStrided: row(matmulNTStrided, matmulNTStridedKernel, () => matmulWgsl('matmulNTStrided'), (x, p) => (out, o, a, ao, bm, bo, M, K, N, ld, acc) =>
    x(p(out, o), p(a, ao), p(bm, bo), M, K, N, ld, b(acc))),
  matmulTNStrided: row(matmulTNStrided, matmulTNStridedKernel, () => matmulWgsl('matmulTNStrided'), (x, p) => (out, o, a, ao, bm, bo, M, K, N, ld, acc) =>
    x(p(out, o), p(a, ao), p(bm, bo), M, K, N, ld, b(acc))),
  addBias: row(addBias, addBiasKernel, addBiasWgsl, (x, p) => (out, o, bias, bo, M, N) => x(p(out, o), p(bias, bo), M, N)),
  addBiasBackward: row(addBiasBackward, addBiasBackwardKernel, addBiasBackwardWgsl, (x, p) => (dbias, dbo, dout, o, M, N) =>
    x(p(dbias, dbo), p(dout, o), M, N)),
  gatherRows: row(gatherRows, gatherRowsKernel, gatherRowsWgsl, (x, p) => (out, o, w, wo, ids, io, stride, M, N, acc) =>
    x(p(out, o), p(w, wo), p(ids, io), stride, M, N, b(acc))),
  scatterAddRows: row(scatterAddRows, scatterAddRowsKernel, scatterAddRowsWgsl, (x, p) => (dw, dwo, dout, o, ids, io, stride, M, N) =>
    x(p(dw, dwo), p(dout, o), p(ids, io), stride, M, N)),
  softmaxCrossEntropy: row(softmaxCrossEntropy, softmaxCrossEntropyKernel, softmaxCrossEntropyWgsl, (x, p) =>
    (dlogits, dlo, logits, lo, targets, ti, stride, M, V, scale) =>
      x(p(dlogits, dlo), p(logits, lo), p(targets, ti), stride, M, V, scale)),
  mul: row(mul, mulKernel, mulWgsl, (x, p) => (out, o, a, ao, bm, bo, n) => x(p(out, o), p(a, ao), p(bm, bo), n)),
  lstmCellForward: row(lstmCellForward, lstmCellForwardKernel, lstmCellForwardWgsl, (x, p) =>
    (gates, go, cPrev, cpo, c, co, tanhC, tco, h, ho, gs, n) =>
      x(p(gates, go), p(cPrev, cpo), p(c, co), p(tanhC, tco), p(h, ho), gs, n)),
  lstmCellBackward: row(lstmCellBackward, lstmCellBackwardKernel, lstmCellBackwardWgsl, (x, p) =>
    (dGates, dgo, gates, go, cPrev, cpo, tanhC, tco, dH, dho, dC, dco, gs, n) =>
      x(p(dGates, dgo), p(gates, go), p(cPrev, cpo), p(tanhC, tco), p(dH, dho), p(dC, dco), gs, n)),
};

/** The kernel names, in the wasm module's function-index order (threads send these indices). */
export type KernelName = keyof typeof KERNEL_TABLE;
export const KERNEL_NAMES = Object.keys(KERNEL_TABLE) as readonly KernelName[];

/**
 * A kernel set: every kernel of the table with the TypeScript signature — arrays addressed as
 * (array, offset) pairs, so that a block is used without making a view. `jsKernels` works on
 * any Float32Array/Float64Array; a wasm set only on Float32Array (ids: Int32Array) views of its
 * own memory.
 */
export type Kernels = { readonly [K in KernelName]: (typeof KERNEL_TABLE)[K]['js'] };

/** The raw exports of the wasm module, by name. */
export type WasmKernelExports = Readonly<Record<KernelName, RawKernel>>;

/** The plain TypeScript kernels as one set: the reference every faster set is tested against. */
export const jsKernels: Kernels = Object.fromEntries(
  KERNEL_NAMES.map((name) => [name, KERNEL_TABLE[name].js]),
) as unknown as Kernels;

/** The wasm module's globals, by index (see encodeModule): the products' scratch address. */
export const KERNEL_GLOBALS: readonly string[] = [SCRATCH_GLOBAL.name];

/** The wasm module's functions, generated with `options`, in KERNEL_NAMES order. */
export function kernelFunctions(options: KernelOptions = {}): FunctionDef[] {
  return KERNEL_NAMES.map((name) => KERNEL_TABLE[name].wasm(options));
}

/**
 * The kernels with TypeScript signatures over raw kernels `x`: the wasm module's exports, or
 * any object with the same functions (threads record calls through one, the webgpu backend
 * records dispatches through another, with `p` giving element indices).
 */
export function wrapExports(x: WasmKernelExports, p: Pointer = bytePointer): Kernels {
  return Object.fromEntries(
    KERNEL_NAMES.map((name) => [name, (KERNEL_TABLE[name].wrap as (x: RawKernel, p: Pointer) => unknown)(x[name], p)]),
  ) as unknown as Kernels;
}
