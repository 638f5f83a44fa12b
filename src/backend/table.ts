import type { FloatArray } from '../tensor/float-array.js';
import { addBias, addBiasBackward } from '../tensor/bias.js';
import { softmaxCrossEntropy } from '../tensor/cross-entropy.js';
import { mul } from '../tensor/elementwise.js';
import { lstmCellBackward, lstmCellForward } from '../tensor/lstm-cell.js';
import { matmul, matmulNT, matmulNTStrided, matmulStrided, matmulTN } from '../tensor/matmul.js';
import { gatherRows, scatterAddRows } from '../tensor/onehot.js';
import type { FunctionDef } from '../wasm/encoder.js';
import { addBiasBackwardKernel, addBiasKernel } from '../wasm/kernels/bias.js';
import { lstmCellBackwardKernel, lstmCellForwardKernel } from '../wasm/kernels/cell.js';
import { softmaxCrossEntropyKernel } from '../wasm/kernels/cross-entropy.js';
import { mulKernel } from '../wasm/kernels/elementwise.js';
import {
  matmulKernel, matmulNTKernel, matmulNTStridedKernel, matmulStridedKernel, matmulTNKernel, type MatmulOptions,
} from '../wasm/kernels/matmul.js';
import { gatherRowsKernel, scatterAddRowsKernel } from '../wasm/kernels/onehot.js';

// THE list of kernels, for both backends. One row per kernel: its TypeScript implementation
// (the reference, and the js backend), the generator of its WebAssembly twin, and how a call
// with TypeScript arguments becomes a call of the raw wasm export — each (array, offset) pair
// one byte pointer, each boolean 0/1. Adding a kernel is one function in src/tensor/, one
// generator in src/wasm/kernels/ and one row here; the module, the js and wasm kernel sets,
// the thread recorder and the worker all follow from this table.

/** A raw wasm export: byte pointers and sizes in, a number (or nothing) out. */
export type RawKernel = (...args: number[]) => number;
/** Byte address of element `offset` of a view on the wasm memory. */
type Pointer = (array: FloatArray | Int32Array | ArrayLike<number>, offset: number) => number;

/**
 * How the module is generated: `relaxed` uses relaxed SIMD's fused multiply-add in the matrix
 * products (for engines that validate it; see `wasmRelaxedSimdSupported`). The other kernels
 * are the same either way.
 */
export type KernelOptions = MatmulOptions;

interface Row<F> {
  readonly js: F;
  readonly wasm: (options: KernelOptions) => FunctionDef;
  readonly wrap: (x: RawKernel, p: Pointer) => F;
}
const row = <F>(js: F, wasm: (options: KernelOptions) => FunctionDef, wrap: (x: RawKernel, p: Pointer) => F): Row<F> =>
  ({ js, wasm, wrap });
const b = (flag: boolean): number => (flag ? 1 : 0);

export const KERNEL_TABLE = {
  matmul: row(matmul, matmulKernel, (x, p) => (out, o, a, ao, bm, bo, M, K, N, acc) =>
    x(p(out, o), p(a, ao), p(bm, bo), M, K, N, b(acc))),
  matmulTN: row(matmulTN, matmulTNKernel, (x, p) => (out, o, a, ao, bm, bo, M, K, N, acc) =>
    x(p(out, o), p(a, ao), p(bm, bo), M, K, N, b(acc))),
  matmulNT: row(matmulNT, matmulNTKernel, (x, p) => (out, o, a, ao, bm, bo, M, K, N, acc) =>
    x(p(out, o), p(a, ao), p(bm, bo), M, K, N, b(acc))),
  matmulStrided: row(matmulStrided, matmulStridedKernel, (x, p) => (out, o, a, ao, bm, bo, M, K, N, ld, acc) =>
    x(p(out, o), p(a, ao), p(bm, bo), M, K, N, ld, b(acc))),
  matmulNTStrided: row(matmulNTStrided, matmulNTStridedKernel, (x, p) => (out, o, a, ao, bm, bo, M, K, N, ld, acc) =>
    x(p(out, o), p(a, ao), p(bm, bo), M, K, N, ld, b(acc))),
  addBias: row(addBias, addBiasKernel, (x, p) => (out, o, bias, bo, M, N) => x(p(out, o), p(bias, bo), M, N)),
  addBiasBackward: row(addBiasBackward, addBiasBackwardKernel, (x, p) => (dbias, dbo, dout, o, M, N) =>
    x(p(dbias, dbo), p(dout, o), M, N)),
  gatherRows: row(gatherRows, gatherRowsKernel, (x, p) => (out, o, w, wo, ids, io, stride, M, N, acc) =>
    x(p(out, o), p(w, wo), p(ids, io), stride, M, N, b(acc))),
  scatterAddRows: row(scatterAddRows, scatterAddRowsKernel, (x, p) => (dw, dwo, dout, o, ids, io, stride, M, N) =>
    x(p(dw, dwo), p(dout, o), p(ids, io), stride, M, N)),
  softmaxCrossEntropy: row(softmaxCrossEntropy, softmaxCrossEntropyKernel, (x, p) =>
    (dlogits, dlo, logits, lo, targets, ti, stride, M, V, scale) =>
      x(p(dlogits, dlo), p(logits, lo), p(targets, ti), stride, M, V, scale)),
  mul: row(mul, mulKernel, (x, p) => (out, o, a, ao, bm, bo, n) => x(p(out, o), p(a, ao), p(bm, bo), n)),
  lstmCellForward: row(lstmCellForward, lstmCellForwardKernel, (x, p) =>
    (gates, go, cPrev, cpo, c, co, tanhC, tco, h, ho, gs, n) =>
      x(p(gates, go), p(cPrev, cpo), p(c, co), p(tanhC, tco), p(h, ho), gs, n)),
  lstmCellBackward: row(lstmCellBackward, lstmCellBackwardKernel, (x, p) =>
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

/** The wasm module's functions, generated with `options`, in KERNEL_NAMES order. */
export function kernelFunctions(options: KernelOptions = {}): FunctionDef[] {
  return KERNEL_NAMES.map((name) => KERNEL_TABLE[name].wasm(options));
}

/**
 * The kernels with TypeScript signatures over raw exports `x`: the module's, or any object
 * with the same functions (threads record calls through one).
 */
export function wrapExports(x: WasmKernelExports): Kernels {
  const p: Pointer = (array, offset) => (array as Float32Array).byteOffset + 4 * offset;
  return Object.fromEntries(
    KERNEL_NAMES.map((name) => [name, (KERNEL_TABLE[name].wrap as (x: RawKernel, p: Pointer) => unknown)(x[name], p)]),
  ) as unknown as Kernels;
}
