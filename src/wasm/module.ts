import { type FunctionDef, encodeModule } from './encoder.js';
import { addBiasBackwardKernel, addBiasKernel } from './kernels/bias.js';
import { lstmCellBackwardKernel, lstmCellForwardKernel } from './kernels/cell.js';
import { softmaxCrossEntropyKernel } from './kernels/cross-entropy.js';
import { activationKernel, addIntoKernel, fillKernel } from './kernels/elementwise.js';
import { matmulKernel, matmulNTKernel, matmulTNKernel } from './kernels/matmul.js';
import { gatherRowsKernel, scatterAddRowsKernel } from './kernels/onehot.js';

/** Every kernel of the module, in function-index order (all exported under their names). */
export function kernelFunctions(): FunctionDef[] {
  return [
    matmulKernel(),
    matmulTNKernel(),
    matmulNTKernel(),
    addBiasKernel(),
    addBiasBackwardKernel(),
    gatherRowsKernel(),
    scatterAddRowsKernel(),
    softmaxCrossEntropyKernel(),
    activationKernel('sigmoidForward'),
    activationKernel('tanhForward'),
    lstmCellForwardKernel(),
    lstmCellBackwardKernel(),
    addIntoKernel(),
    fillKernel(),
  ];
}

/**
 * The kernel module's bytes. It imports its memory as `env.memory`; with `shared` the import
 * is declared shared (for a memory created with `shared: true`, as threads need).
 */
export function kernelModuleBytes(shared = false): Uint8Array<ArrayBuffer> {
  return encodeModule(kernelFunctions(), { shared });
}
