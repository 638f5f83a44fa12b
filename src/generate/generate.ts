import type { Vocab } from '../data/vocab.js';
import { tokenize, type TokenType } from '../data/tokenize.js';
import type { LSTMLanguageModel } from '../lstm/model.js';
import type { LSTMState, TokenMatrix } from '../lstm/inputs.js';
import type { FloatArray } from '../tensor/float-array.js';
import { Random } from '../tensor/random.js';
import { checkNonNegativeInteger, checkPositiveInteger, checkStringArray, show } from '../checks.js';
import { checkSampleOptions, sampleRow, SampleScratch, type SampleOptions, type SampleSettings } from './sample.js';

// Text generation: a prompt warmed up in one batched forward call, then one forward call per
// step for all B = numSamples rows (B×1 tokens in, B×V logits out), a draw per row from its
// own seeded generator. Everything the model is asked for goes through its public API
// (initState, forward, forwardAsync, backend, vocabSize, training), so the state's layout
// (B·H now, L·B·H for deep models) is never computed here. A webgpu model computes
// asynchronously: the same loop awaits forwardAsync instead of calling forward; the draws, and
// so the text, are the same given the same logits. CPU models never take the awaiting path.

/**
 * What generation needs of a model: {@link LSTMLanguageModel}'s public forward API, and, for an
 * asynchronous model (`backend: 'webgpu'`), its `forwardAsync`.
 */
export type GenerationModel = Pick<LSTMLanguageModel, 'vocabSize' | 'initState' | 'forward'> &
  Partial<Pick<LSTMLanguageModel, 'backend' | 'forwardAsync'>>;

/** A model whose results come back asynchronously (the webgpu backend): its forward is awaited. */
function isAsynchronous(model: GenerationModel): boolean {
  return model.backend === 'webgpu';
}

/** Throws the TypeError of a synchronous entry point called on an asynchronous model. */
function refuseAsynchronous(model: GenerationModel, method: string, twin: string): void {
  if (isAsynchronous(model)) {
    throw new TypeError(
      `Expected a model with a synchronous backend for ${method}: the webgpu backend computes asynchronously. Use ${twin}.`,
    );
  }
}

/** What a prompt token missing from the vocabulary becomes: `'unk'` maps it to `<unk>`, `'error'` throws. */
export type UnknownTokenPolicy = 'unk' | 'error';

/** Options of one sampling step, shared by {@link generate} and {@link Generator.next}. */
export interface StepOptions extends SampleOptions {
  /**
   * CTRL's repetition penalty: the logit of every token already in the last
   * `repetitionWindow` tokens of the context (prompt included) is divided by it when
   * positive, multiplied by it when negative, before the sampling filters. > 0; above 1
   * discourages repeats. Default 1 (off).
   */
  readonly repetitionPenalty?: number;
  /** How many of the latest context tokens the penalty looks at (≥ 0). Default 64, as llama.cpp. */
  readonly repetitionWindow?: number;
}

/** Options of {@link generate} and {@link generateStream}. */
export interface GenerateOptions extends StepOptions {
  /** The text to continue: at least one token once tokenized at `level`. */
  readonly prompt: string;
  /** The most tokens to generate per sample (≥ 0; 0 calls the model not at all). Default 100. */
  readonly maxTokens?: number;
  /**
   * Stop strings: a sample ends as soon as its generated text ends with one of them, which
   * is left out (with several, the longest that ends it). The prompt is not searched.
   */
  readonly stop?: readonly string[];
  /**
   * Seed of the draws (an integer). Default 0: the same call gives the same text. Sample b
   * draws from `new Random(seed + b)`, so it is exactly the single-sample text of `seed + b`.
   */
  readonly seed?: number;
  /** Stops generation between two tokens when aborted; the call then throws `signal.reason`. */
  readonly signal?: AbortSignal;
  /**
   * Independent samples generated together in one batch (one model call per step). When
   * given, the results are arrays with one entry per sample; omitted, single strings.
   */
  readonly numSamples?: number;
  /**
   * `'char'` (tokens joined with `''`) or `'word'` (joined with `' '`). Default: the level the
   * vocabulary records, else `'char'` when every token but `<unk>` is one code point, else `'word'`.
   */
  readonly level?: TokenType;
  /** Prompt tokens missing from the vocabulary: `'unk'` (default) maps them to `<unk>`, `'error'` throws. */
  readonly unknown?: UnknownTokenPolicy;
}

/** {@link GenerateOptions} with `numSamples` given: the results have one entry per sample. */
export type GenerateSamplesOptions = GenerateOptions & { readonly numSamples: number };

/**
 * The default of `maxTokens`, so that generation always ends.
 *
 * @example
 * generate(model, vocab, { prompt: 'ROMEO:' }); // at most DEFAULT_MAX_TOKENS (100) tokens
 */
export const DEFAULT_MAX_TOKENS = 100;

interface StepSettings extends SampleSettings {
  readonly penalty: number;
  readonly window: number;
}

interface Plan {
  readonly model: GenerationModel;
  readonly V: number;
  readonly level: TokenType;
  readonly vocab: Vocab;
  readonly ids: number[];
  readonly maxTokens: number;
  readonly stop: readonly string[];
  readonly seed: number;
  readonly signal: AbortSignal | undefined;
  readonly B: number;
  readonly step: StepSettings;
}

function checkModelAndVocab(model: GenerationModel, vocab: Vocab): void {
  if (model === null || typeof model !== 'object' || typeof model.forward !== 'function' || typeof model.initState !== 'function' ||
    (isAsynchronous(model) && typeof model.forwardAsync !== 'function')) {
    throw new TypeError(`Expected \`model\` to be an LSTMLanguageModel, got ${show(model)}.`);
  }
  if (vocab === null || typeof vocab !== 'object' || typeof vocab.encode !== 'function') {
    throw new TypeError(`Expected \`vocab\` to be a Vocab, got ${show(vocab)}.`);
  }
  if (vocab.size !== model.vocabSize) {
    throw new RangeError(`Expected \`vocab\` to have the model's ${model.vocabSize} tokens, got ${vocab.size}.`);
  }
}

function checkOptionsObject(options: unknown): void {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`Expected \`options\` to be an object, got ${show(options)}.`);
  }
}

function checkStepOptions(options: StepOptions): StepSettings {
  const penalty = options.repetitionPenalty ?? 1;
  if (typeof penalty !== 'number') {
    throw new TypeError(`Expected \`repetitionPenalty\` to be a finite number > 0, got ${show(penalty)}.`);
  }
  if (!Number.isFinite(penalty) || penalty <= 0) {
    throw new RangeError(`Expected \`repetitionPenalty\` to be a finite number > 0, got ${show(penalty)}.`);
  }
  const window = checkNonNegativeInteger('repetitionWindow', options.repetitionWindow ?? 64);
  return { ...checkSampleOptions(options), penalty, window };
}

/** The level to join tokens at: the option, else the vocabulary's record, else inferred. */
function resolveLevel(vocab: Vocab, level: unknown): TokenType {
  if (level !== undefined) {
    if (level !== 'char' && level !== 'word') {
      throw new RangeError(`Expected \`level\` to be "char" or "word", got ${show(level)}.`);
    }
    return level;
  }
  if (vocab.level !== undefined) return vocab.level;
  const tokens = vocab.idxToToken;
  for (let i = 1; i < tokens.length; i++) {
    const t = tokens[i]!;
    // One code point: one UTF-16 unit, or a surrogate pair.
    if (t.length === 0 || t.length > 2 || (t.length === 2 && t.codePointAt(0)! <= 0xffff)) return 'word';
  }
  return 'char';
}

function checkUnknownPolicy(unknown: unknown): UnknownTokenPolicy {
  const policy = unknown ?? 'unk';
  if (policy !== 'unk' && policy !== 'error') {
    throw new RangeError(`Expected \`unknown\` to be "unk" or "error", got ${show(policy)}.`);
  }
  return policy;
}

function checkSeed(seed: unknown): number {
  if (typeof seed !== 'number' || !Number.isInteger(seed)) {
    throw new TypeError(`Expected \`seed\` to be an integer, got ${show(seed)}.`);
  }
  return seed;
}

/** Tokenizes `text` at `level` and encodes it, unknown tokens per `policy`. */
function encodeText(vocab: Vocab, name: string, text: unknown, level: TokenType, policy: UnknownTokenPolicy): number[] {
  if (typeof text !== 'string') throw new TypeError(`Expected \`${name}\` to be a string, got ${show(text)}.`);
  const tokens = tokenize([text], level)[0]!;
  if (policy === 'error') {
    for (const token of tokens) {
      if (!vocab.has(token)) {
        throw new RangeError(`Expected \`${name}\` to hold only tokens of the vocabulary, got ${show(token)}.`);
      }
    }
  }
  return vocab.encode(tokens);
}

function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (signal === null || typeof signal !== 'object' || typeof (signal as { aborted?: unknown }).aborted !== 'boolean') {
    throw new TypeError(`Expected \`signal\` to be an AbortSignal, got ${show(signal)}.`);
  }
  return signal as AbortSignal;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason ?? new Error('The generation was aborted.');
}

function plan(model: GenerationModel, vocab: Vocab, options: GenerateOptions): Plan {
  checkModelAndVocab(model, vocab);
  checkOptionsObject(options);
  const step = checkStepOptions(options);
  const maxTokens = checkNonNegativeInteger('maxTokens', options.maxTokens ?? DEFAULT_MAX_TOKENS);
  const stop = checkStringArray('stop', options.stop ?? []);
  stop.forEach((s, i) => {
    if (s.length === 0) throw new RangeError(`Expected \`stop[${i}]\` to be a non-empty string, got "".`);
  });
  const seed = checkSeed(options.seed ?? 0);
  const signal = checkSignal(options.signal);
  const B = checkPositiveInteger('numSamples', options.numSamples ?? 1);
  const level = resolveLevel(vocab, options.level);
  const policy = checkUnknownPolicy(options.unknown);
  const ids = encodeText(vocab, 'prompt', options.prompt, level, policy);
  if (ids.length === 0) {
    throw new RangeError(`Expected \`prompt\` to hold at least one ${level} token, got ${show(options.prompt)}.`);
  }
  return { model, V: model.vocabSize, level, vocab, ids, maxTokens, stop: [...stop], seed, signal, B, step };
}

/**
 * Runs `model.forward` in evaluation mode: a model with a boolean `training` (dropout) has
 * it set to false for the call and restored afterwards, whatever happens.
 */
function evalForward(model: GenerationModel, X: readonly (readonly number[])[] | TokenMatrix, state: LSTMState): FloatArray {
  const m = model as { training?: unknown };
  if (typeof m.training !== 'boolean' || !m.training) return model.forward(X, state).logits;
  m.training = false;
  try {
    return model.forward(X, state).logits;
  } finally {
    m.training = true;
  }
}

/**
 * {@link evalForward} for an asynchronous model: `training` is false while the call is made
 * (the model records its work, dropout off, before it returns the promise) and restored at
 * once, so it is never left false while the GPU works.
 */
function evalForwardAsync(model: GenerationModel, X: readonly (readonly number[])[] | TokenMatrix, state: LSTMState): Promise<FloatArray> {
  const m = model as { training?: unknown };
  const forward = (): Promise<FloatArray> => model.forwardAsync!(X, state).then((r) => r.logits);
  if (typeof m.training !== 'boolean' || !m.training) return forward();
  m.training = false;
  try {
    return forward();
  } finally {
    m.training = true;
  }
}

/** The text piece one token adds: the token itself (chars) or a space and the token (words). */
function piece(vocab: Vocab, level: TokenType, id: number): string {
  const token = vocab.idxToToken[id]!;
  return level === 'word' ? ' ' + token : token;
}

/**
 * Applies the repetition penalty to row[0 … V) for the distinct tokens among the last
 * `window` of `history`, each once. `seen` (V, all 0) is left all 0. Called only with the
 * penalty on (`drawToken` skips it for a penalty of 1 or a window of 0).
 */
function penalize(row: Float64Array, history: readonly number[], window: number, penalty: number, seen: Uint8Array): void {
  const from = Math.max(0, history.length - window);
  for (let i = from; i < history.length; i++) {
    const id = history[i]!;
    if (seen[id]) continue;
    seen[id] = 1;
    const l = row[id]!;
    row[id] = l > 0 ? l / penalty : l * penalty;
  }
  for (let i = from; i < history.length; i++) seen[history[i]!] = 0;
}

/** One sampling step's scratch, made once per run: the penalised row, marks, the sampler's arrays. */
class StepScratch {
  readonly row: Float64Array;
  readonly seen: Uint8Array;
  readonly sample: SampleScratch;

  constructor(V: number) {
    this.row = new Float64Array(V);
    this.seen = new Uint8Array(V);
    this.sample = new SampleScratch(V);
  }
}

/** Draws the next token from logits[offset … offset + V) after the repetition penalty. */
function drawToken(
  logits: FloatArray, offset: number, V: number, history: readonly number[],
  step: StepSettings, rng: Random, scratch: StepScratch,
): number {
  if (step.penalty === 1 || step.window === 0) return sampleRow(logits, offset, V, step, rng, scratch.sample);
  const { row } = scratch;
  for (let i = 0; i < V; i++) row[i] = logits[offset + i]!;
  penalize(row, history, step.window, step.penalty, scratch.seen);
  return sampleRow(row, 0, V, step, rng, scratch.sample);
}

/**
 * One sample's text as it grows, with its stop strings: `push` appends a token's piece and
 * returns the text that can be released (none of it could be the start of a stop string);
 * `done` is set when the text ends with a stop string, which is cut off.
 */
class SampleText {
  text = '';
  #released = 0;
  done = false;

  readonly #stop: readonly string[];

  constructor(stop: readonly string[]) {
    this.#stop = stop;
  }

  push(piece: string): string {
    this.text += piece;
    let cut = 0;
    for (const s of this.#stop) if (s.length > cut && this.text.endsWith(s)) cut = s.length;
    if (cut > 0) {
      this.text = this.text.slice(0, this.text.length - cut);
      this.done = true;
      return this.flush();
    }
    // Hold back the longest unreleased end of the text that begins a stop string.
    let hold = 0;
    for (const s of this.#stop) {
      for (let k = Math.min(s.length - 1, this.text.length - this.#released); k > hold; k--) {
        if (this.text.endsWith(s.slice(0, k))) { hold = k; break; }
      }
    }
    const end = this.text.length - hold;
    const out = this.text.slice(this.#released, end);
    this.#released = Math.max(this.#released, end);
    return out;
  }

  /** Releases everything not yet released. */
  flush(): string {
    const out = this.text.slice(this.#released);
    this.#released = this.text.length;
    return out;
  }
}

/**
 * The generation loop, one step at a time: `step()` generates one token for every sample not
 * done and returns the text each releases ('' for none), or undefined once all are done.
 */
class Run {
  readonly samples: SampleText[];
  readonly #p: Plan;
  readonly #rngs: Random[];
  readonly #histories: number[][];
  readonly #scratch: StepScratch;
  readonly #X: TokenMatrix;
  #state: LSTMState | undefined;
  #steps = 0;

  constructor(p: Plan) {
    this.#p = p;
    this.samples = Array.from({ length: p.B }, () => new SampleText(p.stop));
    this.#rngs = Array.from({ length: p.B }, (_, b) => new Random(p.seed + b));
    this.#histories = Array.from({ length: p.B }, () => [...p.ids]);
    this.#scratch = new StepScratch(p.V);
    const last = p.ids[p.ids.length - 1]!;
    this.#X = { data: new Int32Array(p.B).fill(last), batchSize: p.B, numSteps: 1 };
  }

  get finished(): boolean {
    return this.#steps >= this.#p.maxTokens || this.samples.every((s) => s.done);
  }

  step(): string[] | undefined {
    const p = this.#p;
    if (this.finished) return undefined;
    throwIfAborted(p.signal);
    if (this.#state === undefined) {
      this.#state = p.model.initState(p.B);
      const warmUp = this.#warmUp();
      if (warmUp !== null) evalForward(p.model, warmUp, this.#state);
    }
    return this.#draw(evalForward(p.model, this.#X, this.#state));
  }

  /** {@link step} for an asynchronous model: the same calls, awaited. */
  async stepAsync(): Promise<string[] | undefined> {
    const p = this.#p;
    if (this.finished) return undefined;
    throwIfAborted(p.signal);
    if (this.#state === undefined) {
      this.#state = p.model.initState(p.B);
      const warmUp = this.#warmUp();
      if (warmUp !== null) await evalForwardAsync(p.model, warmUp, this.#state);
    }
    return this.#draw(await evalForwardAsync(p.model, this.#X, this.#state));
  }

  /** The warm-up input: the prompt but its last token, every row the same (null for a one-token prompt). */
  #warmUp(): TokenMatrix | null {
    const p = this.#p;
    if (p.ids.length === 1) return null;
    const T = p.ids.length - 1;
    const data = new Int32Array(p.B * T);
    for (let b = 0; b < p.B; b++) data.set(p.ids.slice(0, T), b * T);
    return { data, batchSize: p.B, numSteps: T };
  }

  /** Draws every unfinished sample's next token from `logits` (B×V) and releases its text. */
  #draw(logits: FloatArray): string[] {
    const p = this.#p;
    this.#steps++;
    const out = new Array<string>(p.B).fill('');
    for (let b = 0; b < p.B; b++) {
      const sample = this.samples[b]!;
      if (sample.done) continue;
      const id = drawToken(logits, b * p.V, p.V, this.#histories[b]!, p.step, this.#rngs[b]!, this.#scratch);
      this.#X.data[b] = id;
      this.#histories[b]!.push(id);
      out[b] = sample.push(piece(p.vocab, p.level, id));
    }
    if (this.finished) for (let b = 0; b < p.B; b++) out[b] += this.samples[b]!.flush();
    return out;
  }
}

/**
 * Continues `options.prompt` with text sampled from the model: the prompt is tokenized at
 * `level`, warmed up in one forward call, then each step feeds the previous token and draws
 * the next with {@link sampleToken}'s filters (after the repetition penalty), until
 * `maxTokens` tokens (default 100) or a stop string. Returns the generated text only: at the
 * char level the tokens joined with `''`; at the word level each token preceded by a space,
 * so `prompt + result` reads as text. With `numSamples`, returns one string per sample.
 *
 * Runs in evaluation mode: a model with `training` (dropout) has it off during each forward
 * call and restored after. A prompt token missing from the vocabulary becomes `<unk>`
 * (`unknown: 'error'` throws instead). Every option is checked before the model is called.
 * Synchronous: a webgpu model (which computes asynchronously) throws a TypeError naming
 * {@link generateStream}, which gives the same text on every backend.
 *
 * @example
 * generate(model, vocab, { prompt: 'ROMEO:', maxTokens: 40, temperature: 0.8, topK: 10, seed: 1 });
 * // '\nWhat say the bear, the shall be to me,\n' (for instance)
 * generate(model, vocab, { prompt: 'ROMEO:', maxTokens: 200, stop: ['\n\n'], numSamples: 3 });
 * // three continuations, each ending before its first blank line
 */
export function generate(model: GenerationModel, vocab: Vocab, options: GenerateOptions & { readonly numSamples?: undefined }): string;
export function generate(model: GenerationModel, vocab: Vocab, options: GenerateSamplesOptions): string[];
export function generate(model: GenerationModel, vocab: Vocab, options: GenerateOptions): string | string[];
export function generate(model: GenerationModel, vocab: Vocab, options: GenerateOptions): string | string[] {
  const p = plan(model, vocab, options);
  refuseAsynchronous(model, 'generate()', 'generateStream(…) (for await … of it), which works on every backend');
  throwIfAborted(p.signal);
  const run = new Run(p);
  while (run.step() !== undefined);
  const texts = run.samples.map((s) => s.text);
  return options.numSamples === undefined ? texts[0]! : texts;
}

/**
 * {@link generate} as an async iterable of text pieces, one per token as it is generated,
 * for showing text as it comes. Text that could begin a stop string is held back until the
 * next tokens show it does not (then released with them), so no piece of a stop string is
 * ever yielded. With `numSamples`, each item is an array with one piece per sample (`''` for
 * a sample that released nothing this step). The options are checked when it is called;
 * an aborted `signal` makes the iteration throw `signal.reason` before the next token.
 *
 * Generation runs on the calling thread between the pieces; in a browser page, run it in a
 * Web Worker to keep the page responsive. It works on every backend: with a webgpu model each
 * step awaits `model.forwardAsync` (the GPU's logits come back, the draw is made on the host);
 * other models are called synchronously, as {@link generate} calls them.
 *
 * @example
 * // webgpu: the same loop
 * const gpuModel = new LSTMLanguageModel({ ...model.config, backend: 'webgpu', gpuDevice: await requestGpuDevice() });
 * gpuModel.flatParameters.set(model.flatParameters); gpuModel.upload();
 * let text = '';
 * for await (const piece of generateStream(gpuModel, vocab, { prompt: 'ROMEO:', maxTokens: 40, temperature: 0 })) text += piece;
 *
 * @example
 * for await (const piece of generateStream(model, vocab, { prompt: 'ROMEO:', maxTokens: 200, temperature: 0.8 })) {
 *   process.stdout.write(piece);
 * }
 */
export function generateStream(model: GenerationModel, vocab: Vocab, options: GenerateOptions & { readonly numSamples?: undefined }): AsyncIterableIterator<string>;
export function generateStream(model: GenerationModel, vocab: Vocab, options: GenerateSamplesOptions): AsyncIterableIterator<string[]>;
export function generateStream(model: GenerationModel, vocab: Vocab, options: GenerateOptions): AsyncIterableIterator<string | string[]>;
export function generateStream(model: GenerationModel, vocab: Vocab, options: GenerateOptions): AsyncIterableIterator<string | string[]> {
  const p = plan(model, vocab, options);
  const single = options.numSamples === undefined;
  const run = new Run(p);
  const asynchronous = isAsynchronous(model);
  return (async function* pieces() {
    for (;;) {
      const out = asynchronous ? await run.stepAsync() : run.step();
      if (out === undefined) return;
      if (!single) yield out;
      else if (out[0] !== '') yield out[0]!;
    }
  })();
}

/** Options of a {@link Generator}. */
export interface GeneratorOptions {
  /** Seed of the draws (an integer). Default 0. */
  readonly seed?: number;
  /** `'char'` or `'word'`; default as in {@link GenerateOptions.level}. */
  readonly level?: TokenType;
  /** Fed tokens missing from the vocabulary: `'unk'` (default) or `'error'`. */
  readonly unknown?: UnknownTokenPolicy;
}

/**
 * A {@link Generator}'s state: the model's recurrent state after everything fed so far and
 * the logits it predicts the next token with (`null` before anything is fed).
 */
export interface GeneratorState extends LSTMState {
  logits: FloatArray | null;
}

/**
 * A stateful generation session, for interactive use (what ml5's `feed`/`predict` do): feed
 * text, draw tokens one at a time, save and restore the state. Every fed or drawn token goes
 * through the model exactly once, in order. `feed(prompt)` then `next()` n times gives
 * the same tokens as {@link generate} with the same prompt and seed.
 *
 * The last fed or drawn token is run through the model lazily, by the next `next()` (or
 * `state` read), which is what lets a prompt be fed in one forward call.
 *
 * With a webgpu model (asynchronous), `feed` only queues the tokens, and the model runs them
 * in `await nextAsync()` and `await stateAsync()`; `next()` and the `state` getter throw a
 * TypeError naming those. `nextAsync` and `stateAsync` work on every backend; await each call
 * before the next (a second call while one is in flight throws).
 *
 * @example
 * const session = new Generator(model, vocab, { seed: 1 });
 * session.feed('ROMEO:');
 * let text = '';
 * for (let i = 0; i < 20; i++) text += session.next({ temperature: 0.8 });
 * const saved = session.state;              // copies
 * session.next(); session.state = saved;    // back to where it was
 *
 * @example
 * // webgpu (or any backend)
 * const gpuSession = new Generator(gpuModel, vocab, { seed: 1 });
 * gpuSession.feed('ROMEO:');
 * for (let i = 0; i < 20; i++) text += await gpuSession.nextAsync({ temperature: 0.8 });
 * const here = await gpuSession.stateAsync();
 */
export class Generator {
  readonly #model: GenerationModel;
  readonly #vocab: Vocab;
  readonly #level: TokenType;
  readonly #unknown: UnknownTokenPolicy;
  readonly #seed: number;
  readonly #scratch: StepScratch;
  readonly #asynchronous: boolean;
  #rng: Random;
  #state: LSTMState;
  /**
   * The tokens fed or drawn but not yet run through the model: at most one on a synchronous
   * model (feed runs all but the last at once), any number on an asynchronous one.
   */
  #pending: number[] = [];
  /** The logits after #state, when nothing is pending and something was fed. */
  #logits: FloatArray | null = null;
  /** Every token fed or drawn, for the repetition penalty. */
  #history: number[] = [];
  /** An asynchronous call is running (asynchronous models). */
  #busy = false;

  constructor(model: GenerationModel, vocab: Vocab, options: GeneratorOptions = {}) {
    checkModelAndVocab(model, vocab);
    checkOptionsObject(options);
    this.#seed = checkSeed(options.seed ?? 0);
    this.#level = resolveLevel(vocab, options.level);
    this.#unknown = checkUnknownPolicy(options.unknown);
    this.#model = model;
    this.#vocab = vocab;
    this.#asynchronous = isAsynchronous(model);
    this.#scratch = new StepScratch(model.vocabSize);
    this.#rng = new Random(this.#seed);
    this.#state = model.initState(1);
  }

  /** `'char'` or `'word'`: how tokens are split and joined. */
  get level(): TokenType {
    return this.#level;
  }

  /**
   * Runs `text` through the model (tokenized at the session's level), continuing from where
   * the session is. Text with no tokens changes nothing. With a webgpu model the tokens are
   * queued, and run by the next `nextAsync()` or `stateAsync()`.
   *
   * @example
   * session.feed('ROMEO:'); session.feed(' Hello'); // the same as session.feed('ROMEO: Hello')
   */
  feed(text: string): void {
    this.#idle();
    const ids = encodeText(this.#vocab, 'text', text, this.#level, this.#unknown);
    if (ids.length === 0) return;
    if (this.#asynchronous) {
      this.#pending.push(...ids);
    } else {
      const all = [...this.#pending, ...ids];
      if (all.length > 1) evalForward(this.#model, [all.slice(0, -1)], this.#state);
      this.#pending = [all[all.length - 1]!];
    }
    this.#logits = null;
    this.#history.push(...ids);
  }

  /**
   * Draws the next token (options as {@link generate}'s per-step ones), feeds it to the
   * session, and returns its text piece (`' ' + word` at the word level). A webgpu model
   * throws a TypeError naming {@link nextAsync}.
   *
   * @example
   * session.feed('ROMEO:');
   * session.next({ temperature: 0.8, topK: 10 }); // e.g. '\n'
   */
  next(options: StepOptions = {}): string {
    refuseAsynchronous(this.#model, 'session.next()', 'await session.nextAsync(…), which works on every backend');
    checkOptionsObject(options);
    const step = checkStepOptions(options);
    this.#flush();
    return this.#draw(step);
  }

  /**
   * {@link next}, on every backend: a webgpu model runs the pending tokens on the GPU and the
   * draw is made on the host from the logits it returns (the same draw as `next` given the
   * same logits); other models are called synchronously.
   *
   * @example
   * session.feed('ROMEO:');
   * await session.nextAsync({ temperature: 0.8, topK: 10 }); // e.g. '\n'
   */
  async nextAsync(options: StepOptions = {}): Promise<string> {
    if (!this.#asynchronous) return this.next(options);
    this.#idle();
    checkOptionsObject(options);
    const step = checkStepOptions(options);
    await this.#flushAsync();
    return this.#draw(step);
  }

  #draw(step: StepSettings): string {
    if (this.#logits === null) {
      throw new Error('Nothing to continue: feed the generator some text (or set a state with logits) first.');
    }
    const id = drawToken(this.#logits, 0, this.#model.vocabSize, this.#history, step, this.#rng, this.#scratch);
    this.#pending = [id];
    this.#history.push(id);
    return piece(this.#vocab, this.#level, id);
  }

  /**
   * A copy of the state after everything fed and drawn so far (`h`, `c` as
   * `model.initState(1)` lays them out, and the next token's logits). Setting it copies the
   * arrays in (their lengths must match); the repetition history and the generator's draws
   * are kept. With a webgpu model, reading it throws a TypeError naming {@link stateAsync}
   * (setting it works).
   */
  get state(): GeneratorState {
    refuseAsynchronous(this.#model, 'reading session.state', 'await session.stateAsync(), which works on every backend');
    this.#flush();
    return this.#copyState();
  }

  set state(value: GeneratorState) {
    this.#idle();
    if (value === null || typeof value !== 'object') {
      throw new TypeError(`Expected \`state\` to be an object with h, c and logits, got ${show(value)}.`);
    }
    const { h, c } = this.#state;
    for (const [name, from, to] of [['h', value.h, h], ['c', value.c, c]] as const) {
      if (!ArrayBuffer.isView(from) || (from as FloatArray).length !== to.length) {
        throw new RangeError(`Expected \`state.${name}\` to be a float array of length ${to.length}, got ${show(from)}.`);
      }
    }
    const logits = value.logits ?? null;
    if (logits !== null && (!ArrayBuffer.isView(logits) || logits.length !== this.#model.vocabSize)) {
      throw new RangeError(`Expected \`state.logits\` to be null or a float array of length ${this.#model.vocabSize}, got ${show(logits)}.`);
    }
    h.set(value.h);
    c.set(value.c);
    this.#logits = logits === null ? null : logits.slice();
    this.#pending = [];
  }

  /**
   * The {@link state} getter, on every backend: a webgpu model first runs the pending tokens
   * on the GPU.
   *
   * @example
   * const saved = await session.stateAsync();
   * await session.nextAsync(); session.state = saved; // back to where it was
   */
  async stateAsync(): Promise<GeneratorState> {
    if (!this.#asynchronous) return this.state;
    this.#idle();
    await this.#flushAsync();
    return this.#copyState();
  }

  #copyState(): GeneratorState {
    return { h: this.#state.h.slice(), c: this.#state.c.slice(), logits: this.#logits?.slice() ?? null };
  }

  /** Back to a new session: zero state, nothing fed, the generator re-seeded. */
  reset(): void {
    this.#idle();
    this.#state = this.#model.initState(1);
    this.#pending = [];
    this.#logits = null;
    this.#history = [];
    this.#rng = new Random(this.#seed);
  }

  /** Throws while an asynchronous call is running: the session's state is the GPU's to write. */
  #idle(): void {
    if (this.#busy) {
      throw new Error('The generator is busy: await its nextAsync() or stateAsync() before calling it again.');
    }
  }

  #flush(): void {
    if (this.#pending.length === 0) return;
    this.#logits = evalForward(this.#model, [this.#pending], this.#state);
    this.#pending = [];
  }

  /** {@link #flush} for an asynchronous model: every pending token in one call, the last step's logits kept. */
  async #flushAsync(): Promise<void> {
    const T = this.#pending.length;
    if (T === 0) return;
    this.#busy = true;
    try {
      const logits = await evalForwardAsync(this.#model, [this.#pending], this.#state);
      const V = this.#model.vocabSize;
      this.#logits = T === 1 ? logits : logits.slice((T - 1) * V, T * V);
      this.#pending = [];
    } finally {
      this.#busy = false;
    }
  }
}
