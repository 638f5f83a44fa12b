// The sampler's arithmetic exactly (issue 13: Stryker survivors in src/generate/sample.ts): with
// a generator whose uniform() returns chosen values, the token drawn shows where each
// cumulative boundary lies — the temperature's scaling, min-p's and top-p's inclusive edges,
// the strict inverse-CDF comparison, the fallback when u reaches the total, and offsets.
import { describe, expect, it } from 'vitest';
import { SampleScratch, checkSampleOptions, sampleRow, sampleToken } from '../../src/generate/sample.js';
import type { Random } from '../../src/tensor/random.js';

const fixed = (u: number) => ({ uniform: () => u }) as unknown as Random;
const draw = (logits: number[], options: object, u: number) => sampleToken(logits, options, fixed(u));
const LN = Math.log;

describe('sampleToken with a fixed uniform draw', () => {
  it('inverse CDF in id order, strict: u·total equal to a cumulative sum goes to the next token', () => {
    expect(draw([0, 0], {}, 0)).toBe(0);
    expect(draw([0, 0], {}, 0.4999)).toBe(0);
    expect(draw([0, 0], {}, 0.5)).toBe(1);
    expect(draw([0, 0, 0, 0], {}, 0.75)).toBe(3);
  });

  it('u at the total (rounding) returns the last token still in play, never a dropped one', () => {
    expect(draw([0, 0, -Infinity], {}, 1)).toBe(1);
    expect(draw([0, -Infinity, 0, -Infinity], {}, 1)).toBe(2);
    expect(draw([1, 0, 0.5], { topK: 1 }, 1)).toBe(0);
    expect(draw([0.5, 1, 0], { topK: 2 }, 1)).toBe(1);
  });

  it('temperature divides the logits: p ∝ exp((l − max)/T)', () => {
    // T = 1: p = [1/3, 1], token 0 below u·total = 1/3.
    expect(draw([0, LN(3)], {}, 0.24)).toBe(0);
    expect(draw([0, LN(3)], {}, 0.26)).toBe(1);
    // T = 2: p = [3^−½, 1]: the boundary moves to 0.366.
    expect(draw([0, LN(3)], { temperature: 2 }, 0.35)).toBe(0);
    expect(draw([0, LN(3)], { temperature: 2 }, 0.38)).toBe(1);
    expect(draw([0, LN(3)], { temperature: 0.5 }, 0.09)).toBe(0); // p = [1/9, 1]: 0.1
    expect(draw([0, LN(3)], { temperature: 0.5 }, 0.11)).toBe(1);
  });

  it('min-p compares with the most likely token\'s p = 1: a token at exactly minP stays', () => {
    expect(draw([0, LN(0.5)], { minP: 0.5 }, 0.9)).toBe(1); // kept: u·1.5 = 1.35 > 1
    expect(draw([0, LN(0.5)], { minP: 0.6 }, 0.9)).toBe(0); // dropped
    expect(draw([LN(0.5), 0], { minP: 0.6 }, 0.01)).toBe(1); // dropped although first in id order
    expect(draw([10, 10 + LN(0.5)], { minP: 0.6 }, 0.9)).toBe(0); // relative to the max, not to 0
  });

  it('top-p stops at the first token whose cumulative sum reaches p·total (inclusive)', () => {
    // p = [1, 0.5, 0.25], total 1.75; topP·total = 1.5 exactly: tokens 0 and 1 are kept.
    const topP = 1.5 / 1.75;
    expect(draw([0, LN(0.5), LN(0.25)], { topP }, 0.99)).toBe(1);
    expect(draw([0, LN(0.5), LN(0.25)], { topP: topP + 1e-9 }, 0.99)).toBe(2);
    expect(draw([0, LN(0.5), LN(0.25)], { topP: 1 / 1.75 }, 0.99)).toBe(0); // the first token alone reaches it
    // in logit order, not id order
    expect(draw([LN(0.25), LN(0.5), 0], { topP }, 0.01)).toBe(1);
  });

  it('top-p just below 1 keeps everything even when rounding stops the sorted sum short of p·total', () => {
    // Summed in logit order these 16 p's end 1 ulp below topP·total (summed in id order): no
    // token reaches the target, and then none may be dropped.
    const logits = [3.317385270314034, 4.490164336787131, 4.0185497765070775, -0.8262034946902368, -4.288356650875429, 2.345118276345568,
      -5.088264691765318, 3.1879508923746362, 0.27174884534329036, 0.9877696408222485, -0.14816226580958003, -2.4779810162217784,
      2.787875789793672, -0.34115845313394166, -1.1596554319670698, 5.3367363377865225];
    expect(draw(logits, { topP: 1 - 2 ** -53 }, 0)).toBe(0);
    expect(draw(logits, { topP: 1 - 2 ** -53 }, 0.999999)).toBe(15);
  });

  it('top-k drops every token below the k-th largest logit', () => {
    expect(draw([0, 3, 1, 2], { topK: 2 }, 0.01)).toBe(1);
    expect(draw([0, 3, 1, 2], { topK: 2 }, 0.99)).toBe(3);
    expect(draw([0, 3, 1, 2], { topK: 3 }, 0.01)).toBe(1); // the first kept token in id order
    expect(draw([2, 3, 1, 0], { topK: 3 }, 0.0001)).toBe(0);
    expect(draw([0, 3, 1, 2], { topK: 4 }, 0)).toBe(0); // k = V keeps all
  });
});

describe('sampleRow', () => {
  it('reads logits[offset … offset + V) and names indices relative to the row', () => {
    const row = [100, 100, 0, 5, 1, 100];
    expect(sampleRow(row, 2, 3, checkSampleOptions({ temperature: 0 }), fixed(0), new SampleScratch(3))).toBe(1);
    expect(sampleRow(row, 2, 3, checkSampleOptions({}), fixed(0.5), new SampleScratch(3))).toBe(1);
    expect(sampleRow(row, 2, 3, checkSampleOptions({}), fixed(0.999999), new SampleScratch(3))).toBe(2);
    expect(sampleRow(row, 2, 3, checkSampleOptions({ topK: 1 }), fixed(0), new SampleScratch(3))).toBe(1);
    expect(sampleRow(row, 2, 3, checkSampleOptions({ topP: 0.5 }), fixed(0), new SampleScratch(3))).toBe(1);
    expect(() => sampleRow([0, 0, 1, NaN], 2, 2, checkSampleOptions({}), fixed(0), new SampleScratch(2))).toThrow(
      /^Expected `logits\[1\]` to be a number below Infinity, got NaN\.$/,
    );
    expect(() => sampleRow([0, -Infinity, -Infinity, -Infinity], 1, 3, checkSampleOptions({}), fixed(0), new SampleScratch(3))).toThrow(
      /^Expected `logits` to have a value above -Infinity, got all 3 at -Infinity\.$/,
    );
  });

  it('a reused scratch gives the same tokens as a fresh one', () => {
    const scratch = new SampleScratch(4);
    const settings = checkSampleOptions({ topK: 2 });
    expect(sampleRow([0, 3, 1, 2], 0, 4, settings, fixed(0.01), scratch)).toBe(1);
    expect(sampleRow([3, 0, 2, 1], 0, 4, settings, fixed(0.99), scratch)).toBe(2);
    expect(sampleRow([3, 0, 2, 1], 0, 4, checkSampleOptions({ topP: 0.5 }), fixed(0.99), scratch)).toBe(0);
  });
});

describe('checkSampleOptions', () => {
  it('defaults and edges', () => {
    expect(checkSampleOptions({})).toEqual({ temperature: 1, topK: 0, topP: 1, minP: 0 });
    expect(checkSampleOptions({ temperature: 0, topK: 1, topP: 1, minP: 0 })).toEqual({ temperature: 0, topK: 1, topP: 1, minP: 0 });
    expect(checkSampleOptions({ topP: Number.MIN_VALUE, minP: 0.999 })).toMatchObject({ topP: Number.MIN_VALUE, minP: 0.999 });
    expect(() => checkSampleOptions({ temperature: -Number.MIN_VALUE })).toThrow(RangeError);
    expect(() => checkSampleOptions({ topP: '0.5' as never })).toThrow(/^Expected `topP` to be a number in \(0, 1\], got "0\.5"\.$/);
    expect(() => checkSampleOptions({ minP: '0' as never })).toThrow(/^Expected `minP` to be a number in \[0, 1\), got "0"\.$/);
    expect(() => checkSampleOptions({ minP: NaN })).toThrow(RangeError);
    expect(() => checkSampleOptions({ temperature: '1' as never })).toThrow(/^Expected `temperature` to be a finite number ≥ 0, got "1"\.$/);
    expect(() => checkSampleOptions({ temperature: -1 })).toThrow(/^Expected `temperature` to be a finite number ≥ 0, got -1\.$/);
  });

  it('sampleToken refuses non-array-likes and rngs without uniform', () => {
    for (const bad of [null, 5, { length: 1.5 }, { length: '2' }]) {
      expect(() => draw(bad as never, {}, 0)).toThrow(/^Expected `logits` to be an array of numbers, got /);
    }
    expect(sampleToken({ length: 2, 0: 0, 1: 5 } as never, { temperature: 0 }, fixed(0))).toBe(1);
    expect(() => sampleToken([0], {}, null as never)).toThrow(/^Expected `rng` to be a Random, got null\.$/);
    expect(() => sampleToken([0], {}, { uniform: 1 } as never)).toThrow(TypeError);
    expect(() => sampleToken([0], 'x' as never, fixed(0))).toThrow(/^Expected `options` to be an object, got "x"\.$/);
  });
});
