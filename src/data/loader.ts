import { Random, type RandomState } from '../tensor/random.js';
import type { SeqBatch } from './batch.js';
import { checkNonNegativeInteger, show } from '../checks.js';
import {
  checkSeqArgs,
  numBatchesAt,
  randomEpoch,
  sequentialEpoch,
  type SeqEpochIterator,
} from './iterators.js';

/** Options for {@link SeqDataLoader}. */
export interface SeqDataLoaderOptions {
  /** B, rows per batch. */
  readonly batchSize: number;
  /** T, time steps per row. */
  readonly numSteps: number;
  /** `true` for random sampling ({@link seqDataIterRandom}); default `false`, sequential ({@link seqDataIterSequential}). */
  readonly random?: boolean;
  /** Seed of the loader's generator. Default 0. */
  readonly seed?: number;
}

/**
 * Minibatches of a corpus, one epoch per iteration, like d2l's `SeqDataLoader` over a corpus
 * of ids. Each `for…of` starts a fresh epoch with a new offset (and, in random mode, a new
 * shuffle) drawn from the loader's own generator, created once from `seed`: successive epochs
 * differ, and two loaders with the same corpus, options and seed give the same sequence of
 * epochs.
 *
 * @example
 * const { corpus, vocab } = loadCorpus(preprocess(text), { token: 'char' });
 * const loader = new SeqDataLoader(corpus, { batchSize: 32, numSteps: 35, seed: 1 });
 * for (let epoch = 0; epoch < 10; epoch++) {
 *   for (const { X, Y } of loader) {
 *     // X and Y are TokenBatch (32×35 Int32Array); loader.numBatches or one more per epoch
 *   }
 * }
 */
export class SeqDataLoader implements Iterable<SeqBatch> {
  /** The token ids, copied from the constructor's argument. */
  readonly corpus: Int32Array;
  /** B, rows per batch. */
  readonly batchSize: number;
  /** T, time steps per row. */
  readonly numSteps: number;
  /** Whether batches are sampled randomly (`true`) or sequentially (`false`). */
  readonly random: boolean;
  /**
   * The number of batches every epoch is guaranteed to yield: d2l's count at the largest
   * possible offset (T in sequential mode, T − 1 in random mode). The count depends on the
   * epoch's offset, so an epoch with a smaller offset may yield one batch more, never more than
   * that; it is never fewer, and never 0 (the constructor rejects shorter corpora).
   */
  readonly numBatches: number;
  readonly #rng: Random;

  /**
   * @param corpus - Token ids (any array-like of non-negative integers); at least (B + 1)·T + 1
   *   long for sequential sampling, (B + 1)·T for random sampling.
   * @param options - `batchSize`, `numSteps`, `random` (default `false`), `seed` (default 0).
   */
  constructor(corpus: ArrayLike<number>, options: SeqDataLoaderOptions) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(
        `Expected \`options\` to be an object with \`batchSize\` and \`numSteps\`, got ${show(options)}.`,
      );
    }
    const random = options.random ?? false;
    if (typeof random !== 'boolean') {
      throw new TypeError(`Expected \`random\` to be a boolean, got ${show(random)}.`);
    }
    const ids = checkSeqArgs(corpus, options.batchSize, options.numSteps, random);
    this.#rng = new Random(options.seed ?? 0);
    this.corpus = ids === corpus ? ids.slice() : ids; // own the ids: later edits by the caller don't leak in
    this.batchSize = options.batchSize;
    this.numSteps = options.numSteps;
    this.random = random;
    const maxOffset = random ? this.numSteps - 1 : this.numSteps;
    this.numBatches = numBatchesAt(this.corpus.length, this.batchSize, this.numSteps, random, maxOffset);
  }

  /** Starts a new epoch: draws its offset (and shuffle) now and yields its batches. */
  [Symbol.iterator](): SeqEpochIterator {
    return this.epoch();
  }

  /**
   * Starts a new epoch, as `for…of` does, and yields its batches from batch `startBatch` on
   * (default 0). The offset and shuffle are drawn exactly as for a whole epoch, so that
   * restoring {@link generatorState} to its value before an epoch began and calling
   * `epoch({ startBatch: k })` yields that epoch's batches k, k + 1, … (exact resume). A
   * `startBatch` at or past the epoch's end yields nothing.
   *
   * @example
   * const saved = loader.generatorState;        // before the epoch draws
   * const epoch = loader.epoch();               // epoch.offset, epoch.numBatches
   * epoch.next(); epoch.next();                 // batches 0 and 1 …
   * loader.generatorState = saved;
   * const rest = loader.epoch({ startBatch: 2 }); // … and the same epoch from batch 2
   */
  epoch(options: { readonly startBatch?: number } = {}): SeqEpochIterator {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`Expected \`options\` to be an object like { startBatch: 0 }, got ${show(options)}.`);
    }
    const first = checkNonNegativeInteger('startBatch', options.startBatch ?? 0);
    const epoch = this.random ? randomEpoch : sequentialEpoch;
    return epoch(this.corpus, this.batchSize, this.numSteps, this.#rng, first);
  }

  /**
   * The state of the loader's generator, from which the next epoch draws its offset (and, in
   * random mode, its shuffle): save it before an epoch starts and set it back to replay that
   * epoch. JSON-serialisable; setting it checks it first and changes nothing on error.
   */
  get generatorState(): RandomState {
    return this.#rng.state;
  }

  set generatorState(state: RandomState) {
    this.#rng.state = state;
  }
}
