import { addBias, addBiasBackward } from './bias.js';
import { softmaxCrossEntropy } from './cross-entropy.js';
import { matmul, matmulNT, matmulTN } from './matmul.js';
import { gatherRows, scatterAddRows } from './onehot.js';
import { lstmCellBackward, lstmCellForward } from '../lstm/cell.js';

/**
 * The kernels the model calls, as one swappable object: the plain TypeScript kernels below are
 * the reference (and the fallback); a faster backend provides the same functions with the
 * same (array, offset) signatures.
 */
export const jsKernels = {
  matmul,
  matmulTN,
  matmulNT,
  addBias,
  addBiasBackward,
  gatherRows,
  scatterAddRows,
  softmaxCrossEntropy,
  lstmCellForward,
  lstmCellBackward,
};

/** The kernel set a model runs on. */
export type Kernels = typeof jsKernels;
