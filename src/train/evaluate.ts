import type { LSTMLanguageModel } from '../lstm/model.js';
import { checkPositiveInteger, show } from '../checks.js';
import type { LSTMState } from '../lstm/inputs.js';
import type { BatchSource } from './train.js';

/** Options of {@link perplexity} when it is given a corpus. */
export interface PerplexityOptions {
  /** Steps per forward call over the corpus. Default 35. */
  numSteps?: number;
}

/**
 * The model's perplexity, exp(mean cross-entropy per token), without touching gradients.
 *
 * - Given a corpus of ids (`ArrayLike<number>`): reads it as one stream, predicting token
 *   i + 1 from tokens 0…i, in chunks of `numSteps` with the state carried across chunks —
 *   every token after the first is predicted once.
 * - Given a loader: one epoch of its batches, the state carried between sequential batches
 *   and reset for random ones (as in training), token-weighted.
 *
 * @example
 * perplexity(model, corpus);   // ≈ vocab.size for an untrained model, → 1 when it has learnt the text
 */
export function perplexity(
  model: LSTMLanguageModel,
  data: ArrayLike<number> | BatchSource,
  options: PerplexityOptions = {},
): number {
  if (typeof model !== 'object' || model === null || typeof model.loss !== 'function') {
    throw new TypeError(`Expected \`model\` to be an LSTMLanguageModel, got ${show(model)}.`);
  }
  if (typeof data === 'object' && data !== null && Symbol.iterator in data && !('length' in data)) {
    return Math.exp(loaderLoss(model, data as BatchSource));
  }
  if (typeof data !== 'object' || data === null || typeof (data as ArrayLike<number>).length !== 'number') {
    throw new TypeError(`Expected \`data\` to be a corpus of token ids or a loader, got ${show(data)}.`);
  }
  const numSteps = checkPositiveInteger('numSteps', options.numSteps ?? 35);
  return Math.exp(corpusLoss(model, data as ArrayLike<number>, numSteps));
}

function corpusLoss(model: LSTMLanguageModel, corpus: ArrayLike<number>, numSteps: number): number {
  if (corpus.length < 2) {
    throw new RangeError(`Expected \`data\` to hold at least 2 tokens (one to read, one to predict), got ${corpus.length}.`);
  }
  // Every id checked first, so that an error names its place in the corpus.
  const V = model.vocabSize;
  for (let i = 0; i < corpus.length; i++) {
    const id: unknown = corpus[i];
    if (typeof id !== 'number' || !Number.isInteger(id)) {
      throw new TypeError(`Expected \`data\` to hold integer token ids, got ${show(id)} at index ${i}.`);
    }
    if (id < 0 || id >= V) throw new RangeError(`Expected \`data[${i}]\` to be a token id in [0, ${V}), got ${id}.`);
  }
  const state = model.initState(1);
  let lossSum = 0;
  for (let start = 0; start < corpus.length - 1; start += numSteps) {
    const T = Math.min(numSteps, corpus.length - 1 - start);
    const X = { data: new Int32Array(T), batchSize: 1, numSteps: T };
    const Y = { data: new Int32Array(T), batchSize: 1, numSteps: T };
    for (let t = 0; t < T; t++) {
      X.data[t] = corpus[start + t]!;
      Y.data[t] = corpus[start + t + 1]!;
    }
    lossSum += model.loss(X, Y, state) * T;
  }
  return lossSum / (corpus.length - 1);
}

function loaderLoss(model: LSTMLanguageModel, loader: BatchSource): number {
  const carry = loader.random !== true;
  let state: LSTMState | undefined;
  let lossSum = 0, tokens = 0;
  for (const { X, Y } of loader) {
    if (state === undefined || state.h.length !== X.batchSize * model.numHiddens) state = model.initState(X.batchSize);
    else if (!carry) {
      state.h.fill(0);
      state.c.fill(0);
    }
    const n = X.batchSize * X.numSteps;
    lossSum += model.loss(X, Y, state) * n;
    tokens += n;
  }
  if (tokens === 0) throw new RangeError('Expected `data` to yield at least one batch, got none.');
  return lossSum / tokens;
}
