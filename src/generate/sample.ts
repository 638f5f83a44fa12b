import type { Random } from '../tensor/random.js';
import { checkNonNegativeInteger, show } from '../checks.js';

// Drawing one token from one row of V logits. The filters follow the order and the
// definitions of Hugging Face's logits warpers (temperature, then top-k, top-p, min-p, each
// seeing the distribution that the previous ones left, renormalised), with one rule for ties
// written down and tested: a filter never separates tokens with equal logits.

/** How {@link sampleToken} turns a row of logits into a distribution. */
export interface SampleOptions {
  /**
   * Divides the logits before the softmax: below 1 sharper, above 1 flatter. 0 means greedy:
   * the argmax (the lowest id among equal maxima, as `predict`), with no random draw. Default 1.
   */
  readonly temperature?: number;
  /**
   * Keeps the `topK` most likely tokens and every token whose logit equals the k-th largest
   * (ties are kept, so more than k tokens can remain). 0 (default) turns it off.
   */
  readonly topK?: number;
  /**
   * Nucleus sampling: walking the tokens from most to least likely, keeps the smallest set
   * whose probability sums to ≥ `topP` (never empty), and every token tied with the least
   * likely one kept. In (0, 1]; 1 (default) turns it off.
   */
  readonly topP?: number;
  /**
   * Drops the tokens whose probability is below `minP` times that of the most likely token.
   * In [0, 1); 0 (default) turns it off.
   */
  readonly minP?: number;
}

/** {@link SampleOptions} checked, with their defaults. */
export interface SampleSettings {
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  readonly minP: number;
}

/** Checks the sampling options (TypeError / RangeError naming the option and the value). */
export function checkSampleOptions(options: SampleOptions): SampleSettings {
  const temperature = options.temperature ?? 1;
  if (typeof temperature !== 'number') {
    throw new TypeError(`Expected \`temperature\` to be a finite number ≥ 0, got ${show(temperature)}.`);
  }
  if (!Number.isFinite(temperature) || temperature < 0) {
    throw new RangeError(`Expected \`temperature\` to be a finite number ≥ 0, got ${show(temperature)}.`);
  }
  const topK = checkNonNegativeInteger('topK', options.topK ?? 0);
  const topP = options.topP ?? 1;
  if (typeof topP !== 'number') throw new TypeError(`Expected \`topP\` to be a number in (0, 1], got ${show(topP)}.`);
  if (!(topP > 0 && topP <= 1)) throw new RangeError(`Expected \`topP\` to be a number in (0, 1], got ${show(topP)}.`);
  const minP = options.minP ?? 0;
  if (typeof minP !== 'number') throw new TypeError(`Expected \`minP\` to be a number in [0, 1), got ${show(minP)}.`);
  if (!(minP >= 0 && minP < 1)) throw new RangeError(`Expected \`minP\` to be a number in [0, 1), got ${show(minP)}.`);
  return { temperature, topK, topP, minP };
}

/** Scratch arrays for {@link sampleRow}, made once per vocabulary size and reused. */
export class SampleScratch {
  /** Unnormalised probabilities, 0 for dropped tokens (V). */
  readonly p: Float64Array;
  /** Token ids sorted by logit, largest first (V). */
  readonly order: Int32Array;

  constructor(V: number) {
    this.p = new Float64Array(V);
    this.order = new Int32Array(V);
  }
}

/**
 * The sampler, for logits[offset … offset + V): settings already checked. Throws a RangeError
 * naming `logits[i]` for a NaN or +Infinity logit (−Infinity is a token never drawn), and
 * when every logit is −Infinity.
 */
export function sampleRow(
  logits: ArrayLike<number>, offset: number, V: number,
  settings: SampleSettings, rng: Random, scratch: SampleScratch,
): number {
  const { temperature, topK, topP, minP } = settings;
  let best = -1, max = -Infinity;
  for (let i = 0; i < V; i++) {
    const l = logits[offset + i]!;
    if (Number.isNaN(l) || l === Infinity) {
      throw new RangeError(`Expected \`logits[${i}]\` to be a number below Infinity, got ${show(l)}.`);
    }
    if (l > max) { max = l; best = i; }
  }
  if (best < 0) throw new RangeError(`Expected \`logits\` to have a value above -Infinity, got all ${V} at -Infinity.`);
  if (temperature === 0) return best;

  // p_i = exp((l_i − max) / T): the most likely token has p = 1 exactly, which min-p uses.
  const { p, order } = scratch;
  for (let i = 0; i < V; i++) p[i] = Math.exp((logits[offset + i]! - max) / temperature);

  if ((topK > 0 && topK < V) || topP < 1) {
    // Sorted on the logits themselves (exact order, exact ties), ties by id for determinism.
    for (let i = 0; i < V; i++) order[i] = i;
    order.sort((a, b) => logits[offset + b]! - logits[offset + a]! || a - b);
  }
  if (topK > 0 && topK < V) {
    const threshold = logits[offset + order[topK - 1]!]!;
    for (let i = 0; i < V; i++) if (logits[offset + i]! < threshold) p[i] = 0;
  }
  if (topP < 1) {
    // Renormalised over what top-k kept: stop at the first token where the sum reaches topP.
    let total = 0;
    for (let i = 0; i < V; i++) total += p[i]!;
    const target = topP * total;
    let sum = 0, threshold = -Infinity;
    for (let r = 0; r < V; r++) {
      const i = order[r]!;
      sum += p[i]!;
      if (sum >= target) { threshold = logits[offset + i]!; break; }
    }
    for (let i = 0; i < V; i++) if (logits[offset + i]! < threshold) p[i] = 0;
  }
  if (minP > 0) {
    for (let i = 0; i < V; i++) if (p[i]! < minP) p[i] = 0; // p_max is 1
  }

  // Inverse-CDF draw in id order over what is left (the renormalisation is the scaling of u).
  let total = 0;
  for (let i = 0; i < V; i++) total += p[i]!;
  const u = rng.uniform() * total;
  let sum = 0, last = best;
  for (let i = 0; i < V; i++) {
    if (p[i] === 0) continue;
    sum += p[i]!;
    if (u < sum) return i;
    last = i;
  }
  return last; // u within rounding of the total
}

/**
 * Draws a token id from one row of logits: `temperature`, then `topK`, `topP`, `minP`, in
 * that order, each on the distribution the previous ones left (renormalised), then one draw
 * from `rng` (`temperature` 0 is the argmax and draws nothing). Filters keep ties: a token
 * whose logit equals that of a kept token is kept. The building block of {@link generate},
 * for your own loops.
 *
 * Errors: a TypeError or RangeError naming the option and its value for `temperature` < 0 or
 * not finite, `topK` negative or fractional, `topP` outside (0, 1], `minP` outside [0, 1);
 * a RangeError naming `logits[i]` for a NaN or +Infinity logit.
 *
 * @param logits - One row of V logits (any array of numbers; −Infinity masks a token).
 * @param options - {@link SampleOptions}; `{}` samples from softmax(logits).
 * @param rng - The seeded generator the draw comes from.
 * @returns A token id in [0, V).
 *
 * @example
 * const rng = new Random(0);
 * sampleToken([2, 1, 0.5, -1], { temperature: 0 }, rng);            // 0 (argmax)
 * sampleToken([2, 1, 0.5, -1], { temperature: 0.8, topK: 2 }, rng);  // 0 or 1
 * sampleToken([2, 1, 1, -1], { topK: 2 }, rng);                      // 0, 1 or 2 (1 and 2 tie)
 */
export function sampleToken(logits: ArrayLike<number>, options: SampleOptions, rng: Random): number {
  const isArrayLike =
    logits !== null && typeof logits === 'object' && Number.isInteger((logits as { length?: unknown }).length);
  if (!isArrayLike) throw new TypeError(`Expected \`logits\` to be an array of numbers, got ${show(logits)}.`);
  if (logits.length === 0) throw new RangeError('Expected `logits` to hold at least one number, got 0.');
  for (let i = 0; i < logits.length; i++) {
    if (typeof logits[i] !== 'number') {
      throw new TypeError(`Expected \`logits[${i}]\` to be a number, got ${show(logits[i])}.`);
    }
  }
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`Expected \`options\` to be an object, got ${show(options)}.`);
  }
  const settings = checkSampleOptions(options);
  if (rng === null || typeof rng !== 'object' || typeof (rng as { uniform?: unknown }).uniform !== 'function') {
    throw new TypeError(`Expected \`rng\` to be a Random, got ${show(rng)}.`);
  }
  return sampleRow(logits, 0, logits.length, settings, rng, new SampleScratch(logits.length));
}
