import { checkTokenIds, show } from '../checks.js';
import { minCorpusLength } from './iterators.js';

/** Options of {@link splitCorpus}. */
export interface SplitCorpusOptions {
  /** The fraction of the corpus held out for validation, in (0, 1): its last tokens. */
  readonly valFraction: number;
  /**
   * With `numSteps`: check that each part is long enough for one batch of B rows of T steps
   * (the training part as {@link SeqDataLoader} needs, the validation part B·T + 1 tokens, as
   * `evaluate` needs), and throw naming `valFraction` otherwise.
   */
  readonly batchSize?: number;
  /** T, with `batchSize`. */
  readonly numSteps?: number;
  /** Whether the training loader samples at random (it then needs T tokens fewer). Default false. */
  readonly random?: boolean;
}

/** The two parts {@link splitCorpus} returns (copies, not views of the corpus). */
export interface CorpusSplit {
  /** The first ⌊N·(1 − valFraction)⌋ tokens. */
  readonly train: Int32Array;
  /** The rest: the last tokens of the corpus. */
  readonly validation: Int32Array;
}

/**
 * Splits a corpus into a training part and a validation part, contiguously: the validation
 * part is the last `valFraction` of the tokens, as char-rnn and nanoGPT do (`data[:int(n*0.9)]`,
 * `data[int(n*0.9):]`). A contiguous split keeps the validation text unseen, which a random
 * choice of lines or windows would not (neighbouring windows share most of their text).
 *
 * Throws a RangeError naming `valFraction` when it is outside (0, 1), or when a part is too
 * short: fewer than 2 tokens, or, given `batchSize` and `numSteps`, fewer than one batch needs.
 *
 * @example
 * const { train, validation } = splitCorpus(corpus, { valFraction: 0.1 });
 * // train: the first 90% of the ids, validation: the last 10%
 */
export function splitCorpus(corpus: ArrayLike<number>, options: SplitCorpusOptions): CorpusSplit {
  const ids = checkTokenIds('corpus', corpus);
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`Expected \`options\` to be an object like { valFraction: 0.1 }, got ${show(options)}.`);
  }
  for (const key of Object.keys(options)) {
    if (!['valFraction', 'batchSize', 'numSteps', 'random'].includes(key)) {
      throw new TypeError(`Unknown option ${show(key)} of splitCorpus; expected valFraction, batchSize, numSteps or random.`);
    }
  }
  const { valFraction } = options;
  if (typeof valFraction !== 'number' || !(valFraction > 0 && valFraction < 1)) {
    const Err = typeof valFraction === 'number' ? RangeError : TypeError;
    throw new Err(`Expected \`valFraction\` to be a number in (0, 1), got ${show(valFraction)}.`);
  }
  const N = ids.length;
  const cut = Math.floor(N * (1 - valFraction));
  let needTrain = 2, needVal = 2, why = 'one token to read and one to predict';
  const { batchSize: B, numSteps: T } = options;
  if (B !== undefined || T !== undefined) {
    for (const [name, v] of [['batchSize', B], ['numSteps', T]] as const) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
        throw new (typeof v === 'number' ? RangeError : TypeError)(
          `Expected \`${name}\` to be a positive integer (batchSize and numSteps go together), got ${show(v)}.`,
        );
      }
    }
    const random = options.random ?? false;
    if (typeof random !== 'boolean') throw new TypeError(`Expected \`random\` to be a boolean, got ${show(random)}.`);
    needTrain = minCorpusLength(B!, T!, random);
    needVal = B! * T! + 1;
    why = `one batch of batchSize ${B} × numSteps ${T}`;
  }
  if (cut < needTrain || N - cut < needVal) {
    throw new RangeError(
      `Expected \`valFraction\` to leave at least ${needTrain} training and ${needVal} validation tokens (${why}), ` +
        `got ${valFraction}: ${cut} and ${N - cut} of ${N}.`,
    );
  }
  return { train: ids.slice(0, cut), validation: ids.slice(cut) };
}
