import type { FloatArray } from '../tensor/float-array.js';
import type { Random } from '../tensor/random.js';

/**
 * Draws an inverted-dropout mask: each of the first `length` elements is kept with
 * probability 1 − p, as 1/(1 − p), else 0 — so the expected value of x ⊙ mask is x, and
 * evaluation needs no rescaling. One 32-bit draw per element, in order: the same generator
 * state gives the same mask on every backend and thread count.
 *
 * Plain JavaScript: it runs on the model's thread before the phases that read the mask
 * (inside a phase part only kernel calls may run; see docs/design.md).
 */
export function fillDropoutMask(mask: FloatArray, length: number, p: number, rng: Random): void {
  const keepBelow = (1 - p) * 4294967296; // P(u32 < keepBelow) = 1 − p (to 2^−32)
  const scale = 1 / (1 - p);
  for (let i = 0; i < length; i++) mask[i] = rng.nextUint32() < keepBelow ? scale : 0;
}
