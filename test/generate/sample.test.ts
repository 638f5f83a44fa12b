import { describe, expect, it } from 'vitest';
import { sampleToken, type SampleOptions } from '../../src/generate/sample.js';
import { Random } from '../../src/tensor/random.js';

// Distribution tests: the empirical frequencies of many seeded draws against softmax(l / T)
// restricted to the support the filters leave (written out by hand below, from the
// probabilities in the comments) and renormalised. Pearson's chi-square at significance
// α = 0.001: a correct sampler fails one case with probability 0.001 over a fresh seed; the
// seeds are fixed, so the outcome is deterministic. The power check at the end shows the
// same test rejects a sampler that ignores the temperature. (Calibration, run once by hand:
// over 40 other seeds the no-filter statistic (7 degrees of freedom) averaged 6.8, max 16.0.)

// Upper 0.001 quantiles of the chi-square distribution, by degrees of freedom.
const CHI2_999: Record<number, number> = { 1: 10.828, 2: 13.816, 3: 16.266, 4: 18.467, 5: 20.515, 6: 22.458, 7: 24.322 };

const L = [2.0, 1.5, 1.5, 0.3, 0.0, -0.7, -1.2, -3.0]; // ids 1 and 2 tie

function draw(logits: readonly number[], options: SampleOptions, n: number, seed: number): number[] {
  const rng = new Random(seed);
  const counts = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < n; i++) counts[sampleToken(logits, options, rng)]!++;
  return counts;
}

/** softmax(logits / T) over `support`, 0 elsewhere. */
function expected(logits: readonly number[], T: number, support: readonly number[]): number[] {
  const p = logits.map((l, i) => (support.includes(i) ? Math.exp(l / T) : 0));
  const z = p.reduce((a, b) => a + b, 0);
  return p.map((x) => x / z);
}

function chiSquare(counts: readonly number[], probs: readonly number[]): number {
  const n = counts.reduce((a, b) => a + b, 0);
  let x2 = 0;
  probs.forEach((p, i) => {
    if (p > 0) x2 += (counts[i]! - n * p) ** 2 / (n * p);
  });
  return x2;
}

const supportOf = (counts: readonly number[]): number[] => counts.flatMap((c, i) => (c > 0 ? [i] : []));

describe('sampleToken: distributions (chi-square, α = 0.001, 20,000 draws each)', () => {
  const N = 20_000;
  const cases: [string, SampleOptions, number, number[]][] = [
    ['no filter, T = 1', {}, 1, [0, 1, 2, 3, 4, 5, 6, 7]],
    // T = 0.7, 2nd largest logit 1.5 is tied (ids 1, 2): both kept.
    ['top-k 2 with a tie, T = 0.7', { temperature: 0.7, topK: 2 }, 0.7, [0, 1, 2]],
    // T = 1.3: p = .325 .221 .221 .088 .070 …; cumulative .325 .546 .767 .855 → 4 tokens.
    ['top-p 0.8, T = 1.3', { temperature: 1.3, topP: 0.8 }, 1.3, [0, 1, 2, 3]],
    // p / p_max = e^(l − 2) ≥ 0.1 ⇔ l ≥ −0.303: ids 0…4.
    ['min-p 0.1', { minP: 0.1 }, 1, [0, 1, 2, 3, 4]],
    // T = 0.8. top-k 6 → ids 0…5, renormalised p = .434 .232 .232 .052 .036 .015, cumulative
    // .434 .666 .898 .950 (< .95 by 4e-4) .985 → top-p 0.95 keeps 0…4; p / p_max of id 4 is
    // .082 < min-p 0.1 → ids 0…3.
    ['top-k 6, then top-p 0.95, then min-p 0.1, T = 0.8', { temperature: 0.8, topK: 6, topP: 0.95, minP: 0.1 }, 0.8, [0, 1, 2, 3]],
  ];
  cases.forEach(([name, options, T, support], c) => {
    it(name, () => {
      const counts = draw(L, options, N, 200 + c);
      expect(supportOf(counts)).toEqual(support);
      const x2 = chiSquare(counts, expected(L, T, support));
      expect(x2).toBeLessThan(CHI2_999[support.length - 1]!);
    });
  });

  it('the same test rejects a sampler that ignores the temperature (power check)', () => {
    const counts = draw(L, { temperature: 1 }, N, 7);
    expect(chiSquare(counts, expected(L, 0.8, [0, 1, 2, 3, 4, 5, 6, 7]))).toBeGreaterThan(10 * CHI2_999[7]!);
  });
});

describe('sampleToken: exact supports, ties kept', () => {
  // Ids 1 and 3 tie for the maximum, 2 and 5 tie below them; id 6 is masked.
  const T = [1, 3, 2, 3, 0, 2, -Infinity];
  const support = (options: SampleOptions, logits: readonly number[] = T): number[] =>
    supportOf(draw(logits, options, 3000, 5));

  it('top-k keeps every token tied with the k-th largest logit', () => {
    expect(support({ topK: 1 })).toEqual([1, 3]);
    expect(support({ topK: 2 })).toEqual([1, 3]);
    expect(support({ topK: 3 })).toEqual([1, 2, 3, 5]);
    expect(support({ topK: 5 })).toEqual([0, 1, 2, 3, 5]);
    expect(support({ topK: 6 })).toEqual([0, 1, 2, 3, 4, 5]);
    expect(support({ topK: 7 })).toEqual([0, 1, 2, 3, 4, 5]); // k ≥ V is off; −Infinity never drawn
    expect(support({})).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('top-p keeps the smallest most-likely set reaching p, and the ties of its last token', () => {
    // p ∝ [1, 4, 2, 4, 0, 2, 0] / 13 (log-ratios exact up to rounding): sorted 4, 4, 2, 2, 1.
    const logits = [0, Math.log(4), Math.log(2), Math.log(4), -Infinity, Math.log(2), -Infinity];
    expect(support({ topP: 0.2 }, logits)).toEqual([1, 3]); // 4/13 = .31 ≥ .2, its tie 3 kept
    expect(support({ topP: 0.6 }, logits)).toEqual([1, 3]); // 8/13 = .615
    expect(support({ topP: 0.65 }, logits)).toEqual([1, 2, 3, 5]); // 10/13 = .77 reached at a 2, its tie kept
    expect(support({ topP: 0.9 }, logits)).toEqual([1, 2, 3, 5]); // 12/13 = .923
    expect(support({ topP: 0.95 }, logits)).toEqual([0, 1, 2, 3, 5]);
    expect(support({ topP: 1 }, logits)).toEqual([0, 1, 2, 3, 5]);
    // The smallest p still keeps the most likely token (both, tied).
    expect(support({ topP: Number.MIN_VALUE }, logits)).toEqual([1, 3]);
  });

  it('top-p acts on the distribution top-k leaves, renormalised', () => {
    const logits = [0, Math.log(4), Math.log(2), Math.log(4), -Infinity, Math.log(2), -Infinity];
    // top-k 3 keeps ids 1, 3 and the tied 2, 5: p = [4, 4, 2, 2] / 12, cumulative .333 .667:
    // top-p 0.65 stops at the second 4 (over all seven tokens, 8/13 = .615 would not).
    expect(support({ topK: 3, topP: 0.65 }, logits)).toEqual([1, 3]);
    expect(support({ topP: 0.65 }, logits)).toEqual([1, 2, 3, 5]);
  });

  it('min-p drops tokens below minP · p_max; equal logits stand or fall together', () => {
    // p / p_max = e^(l − 3): id 0 .135, ids 2, 5 .368, id 4 .050.
    expect(support({ minP: 0.05 })).toEqual([0, 1, 2, 3, 5]);
    expect(support({ minP: 0.13 })).toEqual([0, 1, 2, 3, 5]);
    expect(support({ minP: 0.14 })).toEqual([1, 2, 3, 5]);
    expect(support({ minP: 0.37 })).toEqual([1, 3]);
    expect(support({ minP: 0.999 })).toEqual([1, 3]);
  });

  it('temperature 0 is the argmax, the lowest id among equal maxima, and draws nothing', () => {
    const rng = new Random(3), twin = new Random(3);
    expect(sampleToken(T, { temperature: 0 }, rng)).toBe(1);
    expect(sampleToken([0, -1, 5, 5], { temperature: 0, topK: 1, topP: 0.1 }, rng)).toBe(2);
    expect(rng.nextUint32()).toBe(twin.nextUint32());
  });

  it('a tiny temperature concentrates on the maxima; the same seed draws the same ids', () => {
    expect(support({ temperature: 1e-6 })).toEqual([1, 3]);
    const a = new Random(11), b = new Random(11);
    const ids = (rng: Random) => Array.from({ length: 50 }, () => sampleToken(L, { temperature: 0.9, topP: 0.9 }, rng));
    expect(ids(a)).toEqual(ids(b));
  });

  it('takes any array of numbers: Float32Array, Float64Array, number[]', () => {
    for (const logits of [Float32Array.from(L), Float64Array.from(L), L]) {
      expect(sampleToken(logits, { temperature: 0.5 }, new Random(2))).toBe(sampleToken(L, { temperature: 0.5 }, new Random(2)));
    }
  });
});

describe('sampleToken: bad input', () => {
  const rng = new Random(0);
  it('names the option and the value', () => {
    expect(() => sampleToken(L, { temperature: -0.5 }, rng)).toThrow(/^Expected `temperature` to be a finite number ≥ 0, got -0\.5\.$/);
    expect(() => sampleToken(L, { temperature: NaN }, rng)).toThrow(RangeError);
    expect(() => sampleToken(L, { temperature: Infinity }, rng)).toThrow(/got Infinity/);
    expect(() => sampleToken(L, { temperature: '1' as never }, rng)).toThrow(TypeError);
    expect(() => sampleToken(L, { topK: -1 }, rng)).toThrow(/^Expected `topK` to be a non-negative integer, got -1\.$/);
    expect(() => sampleToken(L, { topK: 2.5 }, rng)).toThrow(TypeError);
    expect(() => sampleToken(L, { topP: 0 }, rng)).toThrow(/^Expected `topP` to be a number in \(0, 1\], got 0\.$/);
    expect(() => sampleToken(L, { topP: 1.5 }, rng)).toThrow(RangeError);
    expect(() => sampleToken(L, { topP: NaN }, rng)).toThrow(/got NaN/);
    expect(() => sampleToken(L, { minP: 1 }, rng)).toThrow(/^Expected `minP` to be a number in \[0, 1\), got 1\.$/);
    expect(() => sampleToken(L, { minP: -0.1 }, rng)).toThrow(RangeError);
    expect(() => sampleToken([0, NaN, 1], {}, rng)).toThrow(/^Expected `logits\[1\]` to be a number below Infinity, got NaN\.$/);
    expect(() => sampleToken([0, Infinity], {}, rng)).toThrow(/`logits\[1\]`/);
    expect(() => sampleToken([-Infinity, -Infinity], {}, rng)).toThrow(/^Expected `logits` to have a value above -Infinity/);
    expect(() => sampleToken([], {}, rng)).toThrow(/^Expected `logits` to hold at least one number, got 0\.$/);
    expect(() => sampleToken('ab' as never, {}, rng)).toThrow(/^Expected `logits` to be an array of numbers, got "ab"\.$/);
    expect(() => sampleToken([0, '1'] as never, {}, rng)).toThrow(/^Expected `logits\[1\]` to be a number, got "1"\.$/);
    expect(() => sampleToken(L, null as never, rng)).toThrow(/^Expected `options` to be an object, got null\.$/);
    expect(() => sampleToken(L, {}, {} as never)).toThrow(/^Expected `rng` to be a Random, got an object\.$/);
  });

  it('throws before drawing: the generator is untouched', () => {
    const a = new Random(4), b = new Random(4);
    expect(() => sampleToken([0, NaN], {}, a)).toThrow();
    expect(a.nextUint32()).toBe(b.nextUint32());
  });
});

describe('sampleToken: the JSDoc example', () => {
  it('runs as documented', () => {
    const rng = new Random(0);
    expect(sampleToken([2, 1, 0.5, -1], { temperature: 0 }, rng)).toBe(0);
    expect([0, 1]).toContain(sampleToken([2, 1, 0.5, -1], { temperature: 0.8, topK: 2 }, rng));
    expect([0, 1, 2]).toContain(sampleToken([2, 1, 1, -1], { topK: 2 }, rng));
  });
});
