/**
 * A minibatch of token ids: `batchSize` rows of `numSteps` ids each, row-major, so the id at
 * row b, step t is `data[b * numSteps + t]`. This is what the model's forward pass reads.
 *
 * @example
 * const batch: TokenBatch = { data: Int32Array.of(1, 2, 3, 4, 5, 6), batchSize: 2, numSteps: 3 };
 * batch.data[1 * batch.numSteps + 2]; // 6: row 1, step 2
 */
export interface TokenBatch {
  /** (B, T) ids, row-major. */
  readonly data: Int32Array;
  /** B, the number of rows. */
  readonly batchSize: number;
  /** T, the number of time steps per row. */
  readonly numSteps: number;
}

/**
 * Inputs and targets for one training step of a language model: `Y` is `X` shifted one token
 * along the corpus, so `Y.data[i]` is the token that follows `X.data[i]`.
 *
 * @example
 * for (const { X, Y } of seqDataIterSequential(corpus, 2, 5, new Random(0))) {
 *   // X.data and Y.data are (2, 5) Int32Arrays; Y's ids are the ones after X's
 * }
 */
export interface SeqBatch {
  /** (B, T) input ids. */
  readonly X: TokenBatch;
  /** (B, T) target ids: the next token after each input. */
  readonly Y: TokenBatch;
}
