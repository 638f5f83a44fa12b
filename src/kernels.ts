// `lstm-lm/kernels`: the low-level kernels, for people building their own models on them.
// The main entry (`lstm-lm`) is the model, data, training and generation.

export { jsKernels, KERNEL_NAMES } from './backend/table.js';
export type { Kernels, KernelName, WasmKernelExports } from './backend/table.js';
export {
  createWasmKernels, createWasmKernelsAsync, kernelModuleBytes, wasmSimdSupported, wasmRelaxedSimdSupported, preloadWasm,
  WASM_SCRATCH_BYTES,
} from './backend/wasm.js';
export type { WasmKernels, WasmKernelsOptions } from './backend/wasm.js';
export type { FloatArray } from './tensor/float-array.js';
export { matmul, matmulTN, matmulNT, matmulStrided, matmulNTStrided, matmulTNStrided } from './tensor/matmul.js';
export { sigmoid, sigmoidForward, sigmoidBackward, tanhForward, tanhBackward } from './tensor/activations.js';
export { addBias, addBiasBackward } from './tensor/bias.js';
export { mul } from './tensor/elementwise.js';
export { oneHot, gatherRows, scatterAddRows } from './tensor/onehot.js';
export { softmaxCrossEntropy } from './tensor/cross-entropy.js';
export { lstmCellForward, lstmCellBackward } from './tensor/lstm-cell.js';
