import type { Random } from '../tensor/random.js';
import type { SeqBatch } from './batch.js';
import { checkPositiveInteger, checkTokenIds, show } from '../checks.js';

// B = batchSize (rows), T = numSteps (time steps per row), N = corpus length. Every yielded
// batch is freshly allocated, so a caller may keep it after asking for the next one.

/** The iterator both functions return: one epoch of batches. */
export type SeqBatchIterator = Generator<SeqBatch, void, undefined>;

/**
 * One epoch of a {@link SeqDataLoader}: its batches, and the draws that fixed them — the
 * offset where the epoch starts cutting the corpus, and how many batches it has.
 */
export interface SeqEpochIterator extends SeqBatchIterator {
  /** The epoch's random offset: in [0, T] for sequential sampling, [0, T) for random sampling. */
  readonly offset: number;
  /** The number of batches of this epoch (from its first, whatever batch iteration started at). */
  readonly numBatches: number;
}

/**
 * The shortest corpus that gives at least one batch whatever the epoch's random offset:
 * sequential needs (B + 1)·T + 1 tokens (offset up to T, plus one for the shifted targets),
 * random needs (B + 1)·T (offset up to T − 1).
 */
export function minCorpusLength(batchSize: number, numSteps: number, random: boolean): number {
  return (batchSize + 1) * numSteps + (random ? 0 : 1);
}

/** d2l's batch count for one epoch with the given offset. */
export function numBatchesAt(
  length: number,
  batchSize: number,
  numSteps: number,
  random: boolean,
  offset: number,
): number {
  return random
    ? Math.floor(Math.floor((length - offset - 1) / numSteps) / batchSize) // subsequences / B
    : Math.floor(Math.floor((length - offset - 1) / batchSize) / numSteps); // stream length / T
}

/** Validates the arguments shared by the iterators and the loader; returns the ids. */
export function checkSeqArgs(
  corpus: unknown,
  batchSize: unknown,
  numSteps: unknown,
  random: boolean,
): Int32Array {
  const ids = checkTokenIds('corpus', corpus);
  const B = checkPositiveInteger('batchSize', batchSize);
  const T = checkPositiveInteger('numSteps', numSteps);
  const needed = minCorpusLength(B, T, random);
  if (ids.length < needed) {
    throw new RangeError(
      `Expected \`corpus\` to have at least ${needed} tokens for batchSize ${B} and numSteps ${T} ` +
        `(${random ? '(B + 1)·T' : '(B + 1)·T + 1'}, so that every epoch yields a batch), got ${ids.length}.`,
    );
  }
  return ids;
}

function checkRng(rng: unknown): Random {
  const ok =
    rng !== null &&
    typeof rng === 'object' &&
    typeof (rng as Random).int === 'function' &&
    typeof (rng as Random).shuffle === 'function';
  if (!ok) {
    throw new TypeError(`Expected \`rng\` to be a Random (e.g. \`new Random(0)\`), got ${show(rng)}.`);
  }
  return rng as Random;
}

/** The batch whose row b is corpus[start(b) … start(b) + T) and its targets, one token later. */
function cutBatch(corpus: Int32Array, B: number, T: number, start: (b: number) => number): SeqBatch {
  const x = new Int32Array(B * T); // (B, T)
  const y = new Int32Array(B * T); // (B, T)
  for (let b = 0; b < B; b++) {
    const s = start(b);
    x.set(corpus.subarray(s, s + T), b * T);
    y.set(corpus.subarray(s + 1, s + 1 + T), b * T);
  }
  return { X: { data: x, batchSize: B, numSteps: T }, Y: { data: y, batchSize: B, numSteps: T } };
}

/**
 * One sequential epoch, d2l's `seq_data_iter_sequential`. Draws the offset from [0, T]
 * (inclusive, as d2l's `random.randint(0, num_steps)` does) and returns the epoch's batches
 * from batch `first` on (the draws are the same whatever `first` is: a resumed epoch replays
 * the rest of the original one). Unchecked: the caller has validated the arguments.
 */
export function sequentialEpoch(corpus: Int32Array, B: number, T: number, rng: Random, first = 0): SeqEpochIterator {
  const offset = rng.int(T + 1);
  // Xs = corpus[offset : offset + B·L] as B rows of L; Ys is the same one token later.
  const L = Math.floor((corpus.length - offset - 1) / B);
  const numBatches = Math.floor(L / T);
  const batches = (function* () {
    for (let i = first; i < numBatches; i++) yield cutBatch(corpus, B, T, (b) => offset + b * L + i * T); // row b, column i·T
  })();
  return Object.assign(batches, { offset, numBatches });
}

/**
 * One random epoch, d2l's `seq_data_iter_random`. Draws the offset from [0, T), cuts the
 * corpus there, shuffles the starts of its ⌊(N − offset − 1)/T⌋ non-overlapping subsequences
 * and returns them B at a time, dropping the leftovers, from batch `first` on. Unchecked, like
 * {@link sequentialEpoch}.
 */
export function randomEpoch(corpus: Int32Array, B: number, T: number, rng: Random, first = 0): SeqEpochIterator {
  const offset = rng.int(T);
  const numSubseqs = Math.floor((corpus.length - offset - 1) / T);
  const starts = new Int32Array(numSubseqs); // absolute positions offset + k·T, shuffled
  for (let k = 0; k < numSubseqs; k++) starts[k] = offset + k * T;
  rng.shuffle(starts);
  const numBatches = Math.floor(numSubseqs / B);
  const batches = (function* () {
    for (let i = first; i < numBatches; i++) yield cutBatch(corpus, B, T, (b) => starts[i * B + b]!);
  })();
  return Object.assign(batches, { offset, numBatches });
}

/**
 * Sequential minibatches, as d2l's `seq_data_iter_sequential`: from a random offset in
 * [0, numSteps] — inclusive, as in d2l — the corpus is cut to a multiple of `batchSize` tokens
 * and laid out as `batchSize` contiguous streams; batch i holds columns [i·T, (i+1)·T) of every
 * stream. Row b of batch i + 1 therefore continues row b of batch i, which is what makes
 * carrying the LSTM state from one batch to the next meaningful.
 *
 * The offset is drawn from `rng` when this function is called; the batches are produced as the
 * iterator is consumed. An epoch has ⌊⌊(N − offset − 1)/B⌋/T⌋ batches.
 *
 * @param corpus - Token ids (any array-like of non-negative integers), at least (B + 1)·T + 1 long.
 * @param batchSize - B, rows per batch.
 * @param numSteps - T, time steps per row.
 * @param rng - The seeded generator that draws the offset.
 *
 * @example
 * const corpus = Array.from({ length: 35 }, (_, i) => i);
 * for (const { X, Y } of seqDataIterSequential(corpus, 2, 5, new Random(0))) {
 *   // X.data: 2 rows of 5 ids, each row continuing the same row of the previous batch;
 *   // Y.data[i] === X.data[i] + 1 for this corpus
 * }
 */
export function seqDataIterSequential(
  corpus: ArrayLike<number>,
  batchSize: number,
  numSteps: number,
  rng: Random,
): SeqBatchIterator {
  const ids = checkSeqArgs(corpus, batchSize, numSteps, false);
  return sequentialEpoch(ids, batchSize, numSteps, checkRng(rng));
}

/**
 * Randomly sampled minibatches, as d2l's `seq_data_iter_random`: from a random offset in
 * [0, numSteps), the corpus is split into non-overlapping subsequences of `numSteps` tokens
 * starting at offset + k·numSteps; they are shuffled and grouped `batchSize` at a time, and the
 * leftovers are dropped. Neighbouring rows and batches are unrelated, so the state should be
 * reset before every batch.
 *
 * The offset and the shuffle are drawn from `rng` when this function is called. An epoch has
 * ⌊⌊(N − offset − 1)/T⌋/B⌋ batches.
 *
 * @param corpus - Token ids (any array-like of non-negative integers), at least (B + 1)·T long.
 * @param batchSize - B, rows per batch.
 * @param numSteps - T, time steps per row.
 * @param rng - The seeded generator that draws the offset and the shuffle.
 *
 * @example
 * const corpus = Array.from({ length: 35 }, (_, i) => i);
 * for (const { X, Y } of seqDataIterRandom(corpus, 2, 5, new Random(0))) {
 *   // X.data: 2 rows of 5 consecutive ids from anywhere in the corpus; Y is X shifted by one
 * }
 */
export function seqDataIterRandom(
  corpus: ArrayLike<number>,
  batchSize: number,
  numSteps: number,
  rng: Random,
): SeqBatchIterator {
  const ids = checkSeqArgs(corpus, batchSize, numSteps, true);
  return randomEpoch(ids, batchSize, numSteps, checkRng(rng));
}
