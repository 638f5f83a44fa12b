import type { FloatArray } from './float-array.js';

/**
 * Softmax cross-entropy, forward and backward fused: for each of the M rows of logits (M×V),
 * with target class targets[ti + i·stride], writes dlogits = (softmax(row) − onehot(target)) · scale
 * and returns the *sum* over rows of −log softmax(row)[target]. With scale = 1/M the loss is
 * the mean and dlogits its gradient. dlogits may alias logits (same array and offset).
 * The log-sum-exp is shifted by the row maximum, so large logits do not overflow.
 */
export function softmaxCrossEntropy(
  dlogits: FloatArray, dlo: number,
  logits: FloatArray, lo: number,
  targets: ArrayLike<number>, ti: number, stride: number,
  M: number, V: number, scale: number,
): number {
  let loss = 0;
  for (let i = 0; i < M; i++) {
    const li = lo + i * V;
    const di = dlo + i * V;
    let max = -Infinity;
    for (let j = 0; j < V; j++) if (logits[li + j]! > max) max = logits[li + j]!;
    let sum = 0;
    for (let j = 0; j < V; j++) sum += Math.exp(logits[li + j]! - max);
    const y = targets[ti + i * stride]!;
    const logSum = Math.log(sum);
    loss += logSum - (logits[li + y]! - max);
    // Read the target's logit above before overwriting it: dlogits may alias logits.
    for (let j = 0; j < V; j++) dlogits[di + j] = Math.exp(logits[li + j]! - max - logSum) * scale;
    dlogits[di + y]! -= scale;
  }
  return loss;
}
