import { describe, expect, it } from 'vitest';
import type { SeqBatch, TokenBatch } from '../../src/data/batch.js';
import { seqDataIterSequential } from '../../src/data/iterators.js';
import { Random } from '../../src/tensor/random.js';

describe('TokenBatch', () => {
  it('runs its @example: (B, T) ids, row-major', () => {
    const batch: TokenBatch = { data: Int32Array.of(1, 2, 3, 4, 5, 6), batchSize: 2, numSteps: 3 };
    expect(batch.data[1 * batch.numSteps + 2]).toBe(6);
  });
});

describe('SeqBatch', () => {
  it('runs its @example: Y holds the ids after X', () => {
    const corpus = Array.from({ length: 40 }, (_, i) => i);
    for (const { X, Y } of seqDataIterSequential(corpus, 2, 5, new Random(0)) as Iterable<SeqBatch>) {
      expect([X.batchSize, X.numSteps, Y.batchSize, Y.numSteps]).toEqual([2, 5, 2, 5]);
      expect(Array.from(Y.data)).toEqual(Array.from(X.data, (x) => corpus[x + 1]));
    }
  });
});
