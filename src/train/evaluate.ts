import type { LSTMLanguageModel } from '../lstm/model.js';
import { checkPositiveInteger, show } from '../checks.js';
import type { TokenMatrix } from '../lstm/inputs.js';
import type { BatchSource } from './train.js';
import { StateFlow } from './state-flow.js';
import { nextMacrotask } from './yield.js';

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
  if (model.backend === 'webgpu') {
    throw new TypeError('Expected a synchronous backend for perplexity(): the webgpu backend computes asynchronously. Use await evaluate(model, data).');
  }
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`Expected \`options\` to be an object like { numSteps: 35 }, got ${show(options)}.`);
  }
  if (isLoader(data)) return Math.exp(loaderLoss(model, data));
  checkCorpusLike('data', data);
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
  const steps = lossSteps(model, loader, loader.random !== true);
  let r = steps.next();
  while (r.done !== true) r = steps.next();
  if (r.value.tokens === 0) throw new RangeError('Expected `data` to yield at least one batch, got none.');
  return r.value.lossSum / r.value.tokens;
}

/** What an evaluation pass sums: cross-entropy · tokens, and tokens. */
export interface LossSum {
  lossSum: number;
  tokens: number;
}

/**
 * One step of an evaluation pass: undefined after a batch computed at once, or (webgpu) the
 * promise of the batch's loss, whose value the caller passes back to `next()`.
 */
export type LossStep = Promise<number> | undefined;

/**
 * An evaluation pass over `batches`, one batch per `next()` (so that an asynchronous caller
 * can yield between batches), returning the token-weighted sums; the state carried between
 * batches when `carry`, else reset. No dropout: `model.loss` never applies it. On the webgpu
 * backend each step yields the promise of `model.lossAsync`: the caller awaits it and passes
 * the value back to `next()`.
 */
export function* lossSteps(
  model: LSTMLanguageModel,
  batches: Iterable<{ readonly X: TokenMatrix; readonly Y: TokenMatrix }>,
  carry: boolean,
): Generator<LossStep, LossSum, number | undefined> {
  const flow = new StateFlow(model, carry);
  const gpu = model.backend === 'webgpu';
  let lossSum = 0, tokens = 0;
  for (const { X, Y } of batches) {
    const n = X.batchSize * X.numSteps;
    const state = flow.next(X.batchSize);
    const loss = gpu ? (yield model.lossAsync(X, Y, state))! : model.loss(X, Y, state);
    lossSum += loss * n;
    tokens += n;
    if (!gpu) yield undefined;
  }
  return { lossSum, tokens };
}

/**
 * A corpus read as B contiguous streams (stream b is corpus[b·L, (b + 1)·L] with L =
 * ⌊(N − 1)/B⌋), in chunks of T steps (the last one shorter when T does not divide L): every
 * token but the last N − B·L is predicted once, B rows at a time, the state carried through
 * each stream. This is how `evaluate` and `fit` read a validation corpus.
 */
export function* corpusStreams(corpus: Int32Array, B: number, T: number): Generator<{ X: TokenMatrix; Y: TokenMatrix }> {
  const L = Math.floor((corpus.length - 1) / B);
  for (let s = 0; s < L; s += T) {
    const t = Math.min(T, L - s);
    const x = new Int32Array(B * t), y = new Int32Array(B * t); // (B, t)
    for (let b = 0; b < B; b++) {
      const start = b * L + s;
      x.set(corpus.subarray(start, start + t), b * t);
      y.set(corpus.subarray(start + 1, start + 1 + t), b * t);
    }
    yield { X: { data: x, batchSize: B, numSteps: t }, Y: { data: y, batchSize: B, numSteps: t } };
  }
}

/**
 * Checks a validation corpus for a model and a batch shape: integer ids in [0, V), at least
 * B·T + 1 of them (one whole batch). `name` names it in messages. Returns the ids.
 */
export function checkEvalCorpus(name: string, corpus: unknown, V: number, B: number, T: number): Int32Array {
  checkCorpusLike(name, corpus);
  const data = corpus as ArrayLike<unknown>;
  const ids = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const id = data[i];
    if (typeof id !== 'number' || !Number.isInteger(id)) {
      throw new TypeError(`Expected \`${name}\` to hold integer token ids, got ${show(id)} at index ${i}.`);
    }
    if (id < 0 || id >= V) throw new RangeError(`Expected \`${name}[${i}]\` to be a token id in [0, ${V}), got ${id}.`);
    ids[i] = id;
  }
  if (ids.length < B * T + 1) {
    throw new RangeError(
      `Expected \`${name}\` to hold at least ${B * T + 1} tokens (one batch of batchSize ${B} × numSteps ${T}, plus one), got ${ids.length}.`,
    );
  }
  return ids;
}

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** B, the streams a corpus is read as. Default 32. (A loader's batches keep their own shape.) */
  batchSize?: number;
  /** T, the steps per forward call over a corpus. Default 35. */
  numSteps?: number;
  /** Stops between batches when aborted: the promise then rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** What {@link evaluate} resolves to. */
export interface Evaluation {
  /** The token-weighted mean cross-entropy (nats per token). */
  loss: number;
  /** exp(loss). */
  perplexity: number;
  /** The tokens predicted. */
  tokens: number;
}

/**
 * The model's loss on held-out data, asynchronously: it yields to the event loop after every
 * batch, so that timers, UI updates and an abort signal run while a long evaluation goes on.
 * Dropout is off (`model.training` is false during the call and restored after).
 *
 * - Given a corpus: read as `batchSize` contiguous streams in chunks of `numSteps`, the state
 *   carried through each stream (see {@link corpusStreams}); at least B·T + 1 tokens.
 * - Given a loader: one epoch of its batches, the state carried between sequential batches and
 *   reset for random ones.
 *
 * @example
 * const { loss, perplexity } = await evaluate(model, validation, { batchSize: 64, numSteps: 100 });
 */
export async function evaluate(
  model: LSTMLanguageModel,
  data: ArrayLike<number> | BatchSource,
  options: EvaluateOptions = {},
): Promise<Evaluation> {
  if (typeof model !== 'object' || model === null || typeof model.loss !== 'function') {
    throw new TypeError(`Expected \`model\` to be an LSTMLanguageModel, got ${show(model)}.`);
  }
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`Expected \`options\` to be an object, got ${show(options)}.`);
  }
  const B = checkPositiveInteger('batchSize', options.batchSize ?? 32);
  const T = checkPositiveInteger('numSteps', options.numSteps ?? 35);
  const signal = options.signal;
  if (signal !== undefined && !(typeof signal === 'object' && signal !== null && 'aborted' in signal)) {
    throw new TypeError(`Expected \`signal\` to be an AbortSignal, got ${show(signal)}.`);
  }
  const steps = evaluationSteps(model, data, B, T);
  const training = model.training;
  model.training = false;
  try {
    let r = steps.next();
    while (r.done !== true) {
      const loss = await r.value;
      await nextMacrotask();
      signal?.throwIfAborted();
      r = steps.next(loss);
    }
    const { lossSum, tokens } = r.value;
    if (tokens === 0) throw new RangeError('Expected `data` to yield at least one batch, got none.');
    return { loss: lossSum / tokens, perplexity: Math.exp(lossSum / tokens), tokens };
  } finally {
    model.training = training;
  }
}

/** The evaluation pass over a corpus (checked here) or a loader, as {@link lossSteps}. */
export function evaluationSteps(
  model: LSTMLanguageModel,
  data: ArrayLike<number> | BatchSource,
  B: number,
  T: number,
  name = 'data',
): Generator<LossStep, LossSum, number | undefined> {
  if (isLoader(data)) return lossSteps(model, data, data.random !== true);
  checkCorpusLike(name, data);
  const ids = checkEvalCorpus(name, data, model.vocabSize, B, T);
  return lossSteps(model, corpusStreams(ids, B, T), true);
}

/** Throws unless `data` is array-like: an object whose length is an integer in [0, 2^32). */
function checkCorpusLike(name: string, data: unknown): asserts data is ArrayLike<unknown> {
  const length = typeof data === 'object' && data !== null ? (data as { length?: unknown }).length : undefined;
  if (typeof length !== 'number' || !Number.isInteger(length) || length < 0 || length >= 2 ** 32) {
    throw new TypeError(`Expected \`${name}\` to be a corpus of token ids or a loader, got ${show(data)}${
      typeof length === 'number' ? ` of length ${length}` : ''}.`);
  }
}

/** A loader is iterable and has no length (a corpus is array-like). */
export function isLoader(data: unknown): data is BatchSource {
  return typeof data === 'object' && data !== null && Symbol.iterator in data && !('length' in data);
}
