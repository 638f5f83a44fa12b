import { describe, expect, it } from 'vitest';
import { splitCorpus } from '../../src/data/split.js';
import { positions } from './helpers.js';

describe('splitCorpus', () => {
  it('runs its @example: the first 90% for training, the last 10% for validation', () => {
    const corpus = positions(1000);
    const { train, validation } = splitCorpus(corpus, { valFraction: 0.1 });
    expect(train).toEqual(positions(900));
    expect(Array.from(validation)).toEqual(Array.from({ length: 100 }, (_, i) => 900 + i));
    train[0] = 7; // copies, not views
    expect(corpus[0]).toBe(0);
  });

  it("cuts where nanoGPT does: int(n * (1 - valFraction)), and takes plain arrays", () => {
    for (const [n, f] of [[1003, 0.1], [65, 0.5], [10, 0.25], [1115394, 0.1]] as const) {
      const { train, validation } = splitCorpus(Array.from({ length: n }, (_, i) => i % 50), { valFraction: f });
      expect(train.length).toBe(Math.floor(n * (1 - f)));
      expect(train.length + validation.length).toBe(n);
    }
  });

  it('rejects a valFraction outside (0, 1) or one that leaves a part too short, naming it', () => {
    const corpus = positions(100);
    for (const f of [0, 1, -0.1, 1.5, NaN]) {
      expect(() => splitCorpus(corpus, { valFraction: f })).toThrow(/Expected `valFraction` to be a number in \(0, 1\)/);
    }
    expect(() => splitCorpus(corpus, { valFraction: '0.1' as never })).toThrow(TypeError);
    expect(() => splitCorpus(corpus, {} as never)).toThrow(/Expected `valFraction` to be a number in \(0, 1\), got undefined/);
    expect(() => splitCorpus(corpus, { valFraction: 0.001 })).toThrow(
      /Expected `valFraction` to leave at least 2 training and 2 validation tokens \(one token to read and one to predict\), got 0.001: 99 and 1 of 100/,
    );
    // With the batch shape: training needs (B + 1)·T + 1 = 31, validation B·T + 1 = 21.
    expect(() => splitCorpus(corpus, { valFraction: 0.1, batchSize: 2, numSteps: 10 })).toThrow(
      /at least 31 training and 21 validation tokens \(one batch of batchSize 2 × numSteps 10\), got 0.1: 90 and 10 of 100/,
    );
    expect(splitCorpus(corpus, { valFraction: 0.25, batchSize: 2, numSteps: 10 }).validation.length).toBe(25);
    expect(() => splitCorpus(corpus, { valFraction: 0.2, batchSize: 2 } as never)).toThrow(/Expected `numSteps` to be a positive integer/);
    expect(() => splitCorpus(corpus, { valFraction: 0.2, seed: 1 } as never)).toThrow(/Unknown option "seed"/);
    expect(() => splitCorpus([0, -1, 2], { valFraction: 0.5 })).toThrow(/Expected `corpus\[1\]` to be a token id/);
  });
});
