import type { Kernels } from '../backend/table.js';
import type { FloatArray } from '../tensor/float-array.js';
import type { Pass } from './pass.js';
import { partStart } from './runner.js';

// The output layer and the loss, forward and backward side by side. X is the top layer's
// output over all N = T·B time-major rows ((N)×H: hs[1..T], or its dropped copy):
//
//   Y = X W_hq + b_q                      loss = Σ −log softmax(Y)[target]   (outputForward)
//   dY = (softmax(Y) − onehot)/N          dX = dY W_hqᵀ  (⊙ mask)            (outputForward, mode 2)
//   dW_hq += Xᵀ dY   db_q += Σ_rows dY                                       (outputWeightGradients)

/** The output layer's input: the top layer's dropped output, or its hs (rows from topOffset). */
function topArray(pass: Pass): FloatArray {
  const top = pass.ws.layers[pass.config.numLayers - 1]!;
  return pass.dropout ? top.out! : top.hs;
}

function topOffset(pass: Pass): number {
  return pass.dropout ? 0 : pass.ws.B * pass.config.numHiddens;
}

/**
 * The output layer for time-major rows [r0, r0 + R): logits; with mode ≥ 1 the summed loss,
 * leaving dY in place of the logits; with mode 2 also the gradient reaching the top layer's
 * H (its dHs, masked as its output was).
 */
export function outputForward(k: Kernels, pass: Pass, part: number, parts: number): number {
  const { ws, layout, W, config } = pass;
  const { B, T, logits, yT } = ws;
  const H = config.numHiddens, V = config.vocabSize, N = T * B, n = B * H;
  const top = ws.layers[config.numLayers - 1]!;
  const r0 = partStart(N, part, parts), R = partStart(N, part + 1, parts) - r0;
  if (pass.dropout) k.mul(top.out!, r0 * H, top.hs, n + r0 * H, top.mask!, r0 * H, R * H);
  const x = topArray(pass), xo = topOffset(pass);
  k.matmul(logits, r0 * V, x, xo + r0 * H, W, layout.output.W_hq, R, H, V, false);
  k.addBias(logits, r0 * V, W, layout.output.b_q, R, V);
  if (pass.mode === 0) return 0;
  // Σ −log softmax(Y)[target], with dY = (softmax − onehot)/N left in place of the logits.
  const loss = k.softmaxCrossEntropy(logits, r0 * V, logits, r0 * V, yT, r0, 1, R, V, 1 / N);
  if (pass.mode === 2) {
    k.matmulNT(top.dHs, r0 * H, logits, r0 * V, W, layout.output.W_hq, R, V, H, false); // dX = dY W_hqᵀ
    if (pass.dropout) k.mul(top.dHs, r0 * H, top.dHs, r0 * H, top.mask!, r0 * H, R * H);
  }
  return loss;
}

/** dW_hq += Xᵀ dY, db_q += Σ_rows dY over all N rows (one task: it writes all of dW_hq). */
export function outputWeightGradients(k: Kernels, pass: Pass): void {
  const { ws, layout, dW, config } = pass;
  const N = ws.T * ws.B, H = config.numHiddens, V = config.vocabSize;
  const x = topArray(pass), xo = topOffset(pass);
  k.matmulTN(dW, layout.output.W_hq, x, xo, ws.logits, 0, H, N, V, true);
  k.addBiasBackward(dW, layout.output.b_q, ws.logits, 0, N, V);
}
