// Shared by the iterator and loader tests: corpora where token == position, so every id says
// where it came from, and readers for the (B, T) row-major batches.
import type { SeqBatch, TokenBatch } from '../../src/data/batch.js';

/** [0, 1, …, n − 1]: the token at position i is i. */
export function positions(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

/** The rows of a batch, as plain arrays. */
export function rows(batch: TokenBatch): number[][] {
  const out: number[][] = [];
  for (let b = 0; b < batch.batchSize; b++) {
    out.push(Array.from(batch.data.subarray(b * batch.numSteps, (b + 1) * batch.numSteps)));
  }
  return out;
}

/** The first id of every row of a batch. */
export function rowStarts(batch: TokenBatch): number[] {
  return rows(batch).map((row) => row[0]!);
}

/** A whole epoch as a string, to compare epochs. */
export function fingerprint(batches: Iterable<SeqBatch>): string {
  return [...batches].map(({ X, Y }) => `${X.data.join(',')}|${Y.data.join(',')}`).join(';');
}

/** Asserts the checks common to both samplers: shapes, rows of consecutive ids, Y = X + 1. */
export function checkBatch(
  { X, Y }: SeqBatch,
  batchSize: number,
  numSteps: number,
  length: number,
): string | undefined {
  for (const batch of [X, Y]) {
    if (!(batch.data instanceof Int32Array)) return 'data is not an Int32Array';
    if (batch.batchSize !== batchSize || batch.numSteps !== numSteps) return 'wrong shape fields';
    if (batch.data.length !== batchSize * numSteps) return 'wrong data length';
  }
  for (let i = 0; i < X.data.length; i++) {
    if (Y.data[i] !== X.data[i]! + 1) return `Y != X + 1 at ${i}`;
    if (Y.data[i]! >= length) return `Y runs past the corpus at ${i}`;
  }
  for (const row of rows(X)) {
    for (let t = 1; t < numSteps; t++) if (row[t] !== row[t - 1]! + 1) return `row not contiguous: ${row}`;
  }
  return undefined;
}
