import { show } from '../checks.js';
import { checkTrainables, type Trainable } from './params.js';

/**
 * Clips gradients by their global L2 norm: with norm = √(Σ over all parameters of Σ grad²),
 * scales every gradient by maxNorm / norm when norm > maxNorm, and leaves them alone
 * otherwise. Returns the norm before clipping. A non-finite norm (NaN or ∞ gradients) is
 * returned as is and nothing is scaled, so the caller can refuse the step.
 *
 * (d2l's own `grad_clipping` takes the root of the sum of the squared parameter *values*,
 * not the gradients, so in the seed notebook it almost never fires; this is the real formula,
 * as `torch.nn.utils.clip_grad_norm_`.)
 *
 * @example
 * const norm = clipGradNorm(model.parameters(), 1); // gradients now have norm ≤ 1
 */
export function clipGradNorm(params: readonly Trainable[], maxNorm: number): number {
  checkTrainables(params);
  if (typeof maxNorm !== 'number' || !(maxNorm > 0)) {
    const Err = typeof maxNorm === 'number' ? RangeError : TypeError;
    throw new Err(`Expected \`maxNorm\` to be a positive number, got ${show(maxNorm)}.`);
  }
  let sumSquares = 0; // a JS number: float64 accumulation whatever the gradients' type
  for (const { grad } of params) {
    for (let i = 0; i < grad.length; i++) sumSquares += grad[i]! * grad[i]!;
  }
  const norm = Math.sqrt(sumSquares);
  if (Number.isFinite(norm) && norm > maxNorm) {
    const scale = maxNorm / norm;
    for (const { grad } of params) {
      for (let i = 0; i < grad.length; i++) grad[i]! *= scale;
    }
  }
  return norm;
}

/**
 * Clamps every gradient element to [−clipValue, clipValue], as char-rnn's `grad_clip` and
 * `torch.nn.utils.clip_grad_value_`. A NaN gradient stays NaN, so that a divergence check
 * after clipping still sees it.
 *
 * @example
 * clipGradValue(model.parameters(), 5); // every gradient element now in [−5, 5]
 */
export function clipGradValue(params: readonly Trainable[], clipValue: number): void {
  checkTrainables(params);
  if (typeof clipValue !== 'number' || !(clipValue > 0) || !Number.isFinite(clipValue)) {
    const Err = typeof clipValue === 'number' ? RangeError : TypeError;
    throw new Err(`Expected \`clipValue\` to be a positive finite number, got ${show(clipValue)}.`);
  }
  const lo = -clipValue;
  for (const { grad } of params) {
    for (let i = 0; i < grad.length; i++) {
      const g = grad[i]!;
      if (g > clipValue) grad[i] = clipValue;
      else if (g < lo) grad[i] = lo;
    }
  }
}

/**
 * The clipping of a training step, as `fit` and `trainStepAsync` do it: measures the global
 * norm before any clipping (returned), then — only when it is finite — clamps to ±clipValue
 * and scales to clipNorm (either, both or neither given).
 *
 * @example
 * const gradNorm = clipGradients(model.parameters(), 5, undefined); // clip_grad_norm_(…, 5)
 */
export function clipGradients(params: readonly Trainable[], clipNorm: number | undefined, clipValue: number | undefined): number {
  const gradNorm = clipGradNorm(params, clipValue === undefined ? clipNorm ?? Infinity : Infinity);
  if (Number.isFinite(gradNorm) && clipValue !== undefined) {
    clipGradValue(params, clipValue);
    if (clipNorm !== undefined) clipGradNorm(params, clipNorm);
  }
  return gradNorm;
}
