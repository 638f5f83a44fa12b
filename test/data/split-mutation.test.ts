// splitCorpus (src/data/split.ts) at its edges (issue 13: mutation testing): the exact minimum
// of each part (accepted at the bound, refused one below), the random loader's smaller need,
// and every refused option with its error type and message.
import { describe, expect, it } from 'vitest';
import { splitCorpus } from '../../src/data/split.js';
import { positions } from './helpers.js';

describe('splitCorpus edges', () => {
  it('accepts parts of exactly 2 tokens, refuses 1', () => {
    expect(splitCorpus(positions(4), { valFraction: 0.5 })).toEqual({ train: Int32Array.of(0, 1), validation: Int32Array.of(2, 3) });
    expect(() => splitCorpus(positions(3), { valFraction: 0.5 })).toThrow(/got 0\.5: 1 and 2 of 3\.$/); // train 1
    expect(() => splitCorpus(positions(3), { valFraction: 0.4 })).toThrow(/got 0\.4: 1 and 2 of 3\.$/);
    expect(() => splitCorpus(positions(4), { valFraction: 0.2 })).toThrow(/got 0\.2: 3 and 1 of 4\.$/); // validation 1
  });

  it('with a batch shape: training needs (B + 1)·T + 1 (T fewer when random), validation B·T + 1, both inclusive', () => {
    // B 2, T 3: sequential training 10, random 9; validation 7.
    const at = (n: number, valFraction: number, random?: boolean) =>
      splitCorpus(positions(n), { valFraction, batchSize: 2, numSteps: 3, ...(random === undefined ? {} : { random }) });
    expect(at(17, 7 / 17).train.length).toBe(10);
    expect(at(17, 7 / 17).validation.length).toBe(7);
    expect(() => at(16, 7 / 16)).toThrow(/at least 10 training and 7 validation tokens \(one batch of batchSize 2 × numSteps 3\), got .*: 9 and 7 of 16\.$/);
    expect(at(16, 7 / 16, true).train.length).toBe(9);
    expect(() => at(16, 7 / 16, false)).toThrow(/at least 10 training/);
    expect(() => at(15, 7 / 15, true)).toThrow(/at least 9 training and 7 validation tokens/);
    expect(() => at(16, 6 / 16)).toThrow(/: 10 and 6 of 16\.$/);
  });

  it('refuses bad options with the right error type and message', () => {
    const c = positions(100);
    const cases: [unknown, ErrorConstructor, RegExp][] = [
      [null, TypeError, /^Expected `options` to be an object like \{ valFraction: 0\.1 \}, got null\.$/],
      [0.1, TypeError, /^Expected `options` to be an object like \{ valFraction: 0\.1 \}, got 0\.1\.$/],
      [{ valFraction: 0.1, shuffle: true }, TypeError, /^Unknown option "shuffle" of splitCorpus; expected valFraction, batchSize, numSteps or random\.$/],
      [{ valFraction: '0.1' }, TypeError, /^Expected `valFraction` to be a number in \(0, 1\), got "0\.1"\.$/],
      [{ valFraction: 1 }, RangeError, /^Expected `valFraction` to be a number in \(0, 1\), got 1\.$/],
      [{ valFraction: 0 }, RangeError, /got 0\.$/],
      [{ valFraction: 0.2, numSteps: 3 }, TypeError, /^Expected `batchSize` to be a positive integer \(batchSize and numSteps go together\), got undefined\.$/],
      [{ valFraction: 0.2, batchSize: 0, numSteps: 3 }, RangeError, /^Expected `batchSize` to be a positive integer .*got 0\.$/],
      [{ valFraction: 0.2, batchSize: 2, numSteps: 1.5 }, RangeError, /^Expected `numSteps` to be a positive integer .*got 1\.5\.$/],
      [{ valFraction: 0.2, batchSize: '2', numSteps: 3 }, TypeError, /^Expected `batchSize` .*got "2"\.$/],
      [{ valFraction: 0.2, batchSize: 2, numSteps: 3, random: 'yes' }, TypeError, /^Expected `random` to be a boolean, got "yes"\.$/],
    ];
    for (const [options, type, message] of cases) {
      expect(() => splitCorpus(c, options as never)).toThrow(type);
      expect(() => splitCorpus(c, options as never)).toThrow(message);
    }
    expect(splitCorpus(c, { valFraction: 0.2, batchSize: 1, numSteps: 1 }).train.length).toBe(80); // 1 is a positive integer
    expect(() => splitCorpus({ length: 2 } as never, { valFraction: 0.5 })).toThrow(TypeError);
  });
});
