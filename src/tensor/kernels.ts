import type { FloatArray } from './float-array.js';
import { sigmoidForward, tanhForward } from './activations.js';
import { addBias, addBiasBackward } from './bias.js';
import { softmaxCrossEntropy } from './cross-entropy.js';
import { matmul, matmulNT, matmulTN } from './matmul.js';
import { gatherRows, scatterAddRows } from './onehot.js';
import { lstmCellBackward, lstmCellForward } from './lstm-cell.js';

/**
 * The kernels a model needs, as one swappable set: the plain TypeScript kernels here
 * (`jsKernels`, the reference and the fallback) or the WebAssembly SIMD ones
 * (`createWasmKernels` in src/wasm), which take the same arguments. `F` is the element
 * array type the set accepts (the wasm set accepts only Float32Array views on its memory)
 * and `I` the id array type.
 */
export interface Kernels<F extends FloatArray = FloatArray, I extends ArrayLike<number> = ArrayLike<number>> {
  matmul: (out: F, o: number, a: F, ao: number, b: F, bo: number, M: number, K: number, N: number, accumulate: boolean) => void;
  matmulTN: (out: F, o: number, a: F, ao: number, b: F, bo: number, M: number, K: number, N: number, accumulate: boolean) => void;
  matmulNT: (out: F, o: number, a: F, ao: number, b: F, bo: number, M: number, K: number, N: number, accumulate: boolean) => void;
  addBias: (out: F, o: number, bias: F, bo: number, M: number, N: number) => void;
  addBiasBackward: (dbias: F, dbo: number, dout: F, o: number, M: number, N: number) => void;
  gatherRows: (
    out: F, o: number, w: F, wo: number, ids: I, io: number, stride: number, M: number, N: number, accumulate: boolean,
  ) => void;
  scatterAddRows: (dw: F, dwo: number, dout: F, o: number, ids: I, io: number, stride: number, M: number, N: number) => void;
  softmaxCrossEntropy: (
    dlogits: F, dlo: number, logits: F, lo: number, targets: I, ti: number, stride: number, M: number, V: number, scale: number,
  ) => number;
  sigmoidForward: (y: F, yo: number, x: F, xo: number, n: number) => void;
  tanhForward: (y: F, yo: number, x: F, xo: number, n: number) => void;
  lstmCellForward: (
    gates: F, go: number, cPrev: F, cpo: number, c: F, co: number, tanhC: F, tco: number, h: F, ho: number, gs: number, n: number,
  ) => void;
  lstmCellBackward: (
    dGates: F, dgo: number, gates: F, go: number, cPrev: F, cpo: number, tanhC: F, tco: number,
    dH: F, dho: number, dC: F, dco: number, gs: number, n: number,
  ) => void;
}

/** The plain TypeScript kernels as one set: the reference every faster set is tested against. */
export const jsKernels: Kernels = {
  matmul,
  matmulTN,
  matmulNT,
  addBias,
  addBiasBackward,
  gatherRows,
  scatterAddRows,
  softmaxCrossEntropy,
  sigmoidForward,
  tanhForward,
  lstmCellForward,
  lstmCellBackward,
};
