import type { LSTMLanguageModel } from '../lstm/model.js';
import { show } from '../checks.js';
import type { TokenMatrix } from '../lstm/inputs.js';
import { clipGradNorm } from '../optim/clip.js';
import { scheduledLr, type Schedule } from '../optim/schedules.js';
import { allFinite, DivergenceGuard, TrainingDivergedError, type Optimizer } from './guard.js';
import { carriesState, StateFlow, type StatePolicy } from './state-flow.js';

export { TrainingDivergedError, type Optimizer, type StatePolicy };

/** What the training loop needs of a data loader: epochs of { X, Y } batches (a `SeqDataLoader` is one). */
export interface BatchSource extends Iterable<{ readonly X: TokenMatrix; readonly Y: TokenMatrix }> {
  /** `true` when batches are sampled at random: the state then starts at zero for every batch. */
  readonly random?: boolean;
}

/** Options of {@link trainEpoch}. */
export interface TrainEpochOptions {
  /** Global gradient-norm threshold (see `clipGradNorm`). Default 1, as d2l. */
  clipNorm?: number;
  /** Default `'auto'`. */
  statePolicy?: StatePolicy;
  /** Stops cleanly between minibatches when aborted; the epoch's figures cover the batches done. */
  signal?: AbortSignal;
  /**
   * Sets `optimizer.lr = scheduledLr(schedule, { step, epoch })` before every step (steps and
   * epochs completed so far, counted from 0 by this call). Default: the optimiser's lr is left alone.
   */
  schedule?: Schedule;
}

/** Options of {@link train}. */
export interface TrainOptions extends TrainEpochOptions {
  /** The number of epochs, a positive integer. */
  epochs: number;
  /** Called after every epoch with its figures. */
  onEpoch?: (stats: EpochStats) => void;
}

/** One epoch's figures. */
export interface EpochStats {
  /** 1-based epoch number (always 1 from {@link trainEpoch}). */
  epoch: number;
  /** exp of the token-weighted mean cross-entropy over the epoch's batches. */
  perplexity: number;
  /** The token-weighted mean cross-entropy. */
  loss: number;
  /** Mean over the epoch's batches of the gradient norm before clipping. */
  gradNorm: number;
  /** Training tokens (B·T per batch) processed per second of this epoch. */
  tokensPerSecond: number;
  /** Milliseconds since training began (the epoch's own time for {@link trainEpoch}). */
  elapsedMs: number;
  /** Tokens seen this epoch. */
  tokens: number;
  /** Batches done this epoch. */
  batches: number;
  /** `true` when the signal stopped the epoch early. */
  aborted: boolean;
}

const now = (): number => globalThis.performance.now();

/**
 * One epoch of training, d2l's `train_epoch_ch8`: for each batch, zeroGrad → forwardBackward
 * → clip the gradients to `clipNorm` → optimizer.step(), the state carried or reset per
 * `statePolicy`.
 *
 * A NaN or infinite loss, gradient norm or updated weight stops training with a
 * {@link TrainingDivergedError} and restores the weights from before the last update — the
 * last finite weights, whose loss was finite — and the optimiser's state from then (when it
 * has `stateDict`/`loadStateDict`, as the library's optimisers do), so a divergence never
 * destroys a trained model. Any optimiser with `step()` works (SGD, Adam, AdamW, RMSprop).
 *
 * @example
 * const stats = trainEpoch(model, loader, new SGD(model.parameters(), { lr: 1 }), { clipNorm: 1 });
 * stats.perplexity; // exp(mean loss) over the epoch
 */
export function trainEpoch(
  model: LSTMLanguageModel,
  loader: BatchSource,
  optimizer: Optimizer,
  options: TrainEpochOptions = {},
): EpochStats {
  const run = new TrainingRun(model, loader, optimizer, options);
  return run.epoch(1, now());
}

/**
 * Trains for `epochs` epochs (see {@link trainEpoch}) and returns every epoch's figures.
 * An aborted `signal` stops cleanly between minibatches; the history then ends with the
 * partial epoch (marked `aborted`).
 *
 * @example
 * const { corpus, vocab } = loadCorpus(Array(1000).fill('I love cat'), { token: 'word', maxTokens: 10000 });
 * const loader = new SeqDataLoader(corpus, { batchSize: 32, numSteps: 35 });
 * const model = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: 256 });
 * const history = train(model, loader, new SGD(model.parameters(), { lr: 1 }), {
 *   epochs: 100,
 *   onEpoch: ({ epoch, perplexity }) => { if (epoch % 10 === 0) console.log(`epoch ${epoch} perplexity ${perplexity}`); },
 * });
 */
export function train(
  model: LSTMLanguageModel,
  loader: BatchSource,
  optimizer: Optimizer,
  options: TrainOptions,
): EpochStats[] {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`Expected \`options\` to be an object like { epochs: 10 }, got ${show(options)}.`);
  }
  const { epochs, onEpoch } = options;
  if (typeof epochs !== 'number' || !Number.isInteger(epochs) || epochs < 1) {
    throw new RangeError(`Expected \`epochs\` to be a positive integer, got ${show(epochs)}.`);
  }
  if (onEpoch !== undefined && typeof onEpoch !== 'function') {
    throw new TypeError(`Expected \`onEpoch\` to be a function, got ${show(onEpoch)}.`);
  }
  const run = new TrainingRun(model, loader, optimizer, options);
  const start = now();
  const history: EpochStats[] = [];
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const stats = run.epoch(epoch, start);
    history.push(stats);
    onEpoch?.(stats);
    if (stats.aborted) break;
  }
  return history;
}

/** The validated arguments of a training run, and the buffers it reuses every batch. */
class TrainingRun {
  readonly #model: LSTMLanguageModel;
  readonly #loader: BatchSource;
  readonly #optimizer: Optimizer;
  readonly #clipNorm: number;
  readonly #signal: AbortSignal | undefined;
  readonly #schedule: Schedule | undefined;
  readonly #flow: StateFlow;
  /** The weights (and optimiser state) before the latest update, restored if the next loss is not finite. */
  readonly #guard: DivergenceGuard;
  #step = 0;

  constructor(model: LSTMLanguageModel, loader: BatchSource, optimizer: Optimizer, options: TrainEpochOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`Expected \`options\` to be an object, got ${show(options)}.`);
    }
    checkLoopArguments(model, loader, optimizer);
    const clipNorm = options.clipNorm ?? 1;
    if (typeof clipNorm !== 'number' || !(clipNorm > 0)) {
      throw new RangeError(`Expected \`clipNorm\` to be a positive number, got ${show(clipNorm)}.`);
    }
    const carry = carriesState(options.statePolicy ?? 'auto', loader);
    const signal = options.signal;
    if (signal !== undefined && !(typeof signal === 'object' && signal !== null && 'aborted' in signal)) {
      throw new TypeError(`Expected \`signal\` to be an AbortSignal, got ${show(signal)}.`);
    }
    const schedule = options.schedule;
    if (schedule !== undefined) checkSchedule(schedule, optimizer);
    this.#model = model;
    this.#loader = loader;
    this.#optimizer = optimizer;
    this.#clipNorm = clipNorm;
    this.#signal = signal;
    this.#schedule = schedule;
    this.#flow = new StateFlow(model, carry);
    this.#guard = new DivergenceGuard(model, optimizer);
  }

  epoch(epoch: number, runStart: number): EpochStats {
    const model = this.#model;
    const params = model.parameters();
    const epochStart = now();
    let lossSum = 0, tokens = 0, normSum = 0, batches = 0, aborted = false;
    this.#flow.reset(); // a carried state starts at zero each epoch
    for (const { X, Y } of this.#loader) {
      if (this.#signal?.aborted === true) {
        aborted = true;
        break;
      }
      const state = this.#flow.next(X.batchSize);
      if (this.#schedule !== undefined) this.#optimizer.lr = scheduledLr(this.#schedule, { step: this.#step, epoch: epoch - 1 });
      model.zeroGrad();
      const { loss } = model.forwardBackward(X, Y, state);
      const norm = clipGradNorm(params, this.#clipNorm);
      if (!Number.isFinite(loss) || !Number.isFinite(norm)) this.#diverged(epoch, batches + 1, loss, norm);
      this.#guard.save();
      this.#optimizer.step();
      // An update can overflow a weight that this batch's loss never read; catch it now.
      if (!allFinite(model.flatParameters)) this.#diverged(epoch, batches + 1, loss, norm);
      this.#step++;
      const n = X.batchSize * X.numSteps;
      lossSum += loss * n;
      tokens += n;
      normSum += norm;
      batches++;
    }
    if (batches === 0 && !aborted) {
      // The figures would all be NaN: say why instead (nothing was updated).
      throw new RangeError(
        `Expected \`loader\` to yield at least one batch per epoch, got none in epoch ${epoch} ` +
          '(is the corpus shorter than batchSize·numSteps + 1 tokens?).',
      );
    }
    const end = now();
    const loss = tokens > 0 ? lossSum / tokens : NaN;
    return {
      epoch,
      perplexity: Math.exp(loss),
      loss,
      gradNorm: batches > 0 ? normSum / batches : NaN,
      tokensPerSecond: tokens / Math.max(1e-9, (end - epochStart) / 1000),
      elapsedMs: end - runStart,
      tokens,
      batches,
      aborted: aborted || this.#signal?.aborted === true,
    };
  }

  #diverged(epoch: number, batch: number, loss: number, norm: number): never {
    this.#guard.restore();
    throw new TrainingDivergedError(divergedMessage(`epoch ${epoch}, batch ${batch}`, loss, norm));
  }
}

/**
 * The message of a {@link TrainingDivergedError}: where, which check fired (a non-finite loss
 * or gradient norm, or finite ones and an update that made a weight non-finite), and what the
 * model and optimiser were left with.
 *
 * @example
 * divergedMessage('epoch 1, batch 2', NaN, 3.5);
 * // 'Training diverged at epoch 1, batch 2: non-finite loss or gradient (loss NaN, gradient norm 3.5). The model keeps …'
 */
export function divergedMessage(where: string, loss: number, norm: number): string {
  const what = Number.isFinite(loss) && Number.isFinite(norm) ? 'the update made a weight non-finite' : 'non-finite loss or gradient';
  return `Training diverged at ${where}: ${what} (loss ${loss}, gradient norm ${norm}). ` +
    'The model keeps the weights from before the last update (the last finite ones, with a finite loss), ' +
    'and the optimiser its state from then; try a smaller learning rate or clipNorm.';
}

/**
 * The arguments every training loop takes (`train`, `trainEpoch`, `fit`), checked the same way:
 * a TypeError naming the first that is not a model (an object with `forwardBackward`), an
 * iterable object of batches, or an object with `step()`.
 *
 * @example
 * checkLoopArguments(model, loader, new SGD(model.parameters(), { lr: 1 })); // passes
 * checkLoopArguments(model, 'abc', sgd); // TypeError: Expected `loader` to be an iterable of { X, Y } batches, got "abc".
 */
export function checkLoopArguments(model: unknown, loader: unknown, optimizer: unknown): void {
  if (typeof model !== 'object' || model === null || typeof (model as LSTMLanguageModel).forwardBackward !== 'function') {
    throw new TypeError(`Expected \`model\` to be an LSTMLanguageModel, got ${show(model)}.`);
  }
  if (typeof loader !== 'object' || loader === null || typeof (loader as BatchSource)[Symbol.iterator] !== 'function') {
    throw new TypeError(`Expected \`loader\` to be an iterable of { X, Y } batches, got ${show(loader)}.`);
  }
  if (typeof optimizer !== 'object' || optimizer === null || typeof (optimizer as Optimizer).step !== 'function') {
    throw new TypeError(`Expected \`optimizer\` to have a step() method, got ${show(optimizer)}.`);
  }
}

/**
 * Throws a TypeError unless `schedule` is a schedule (an object with `lrAt`) and `optimizer.lr`
 * is a number it can set.
 *
 * @example
 * checkSchedule(cosineWithWarmup({ lr: 1, warmupSteps: 10, totalSteps: 100 }), sgd); // passes
 * checkSchedule({}, sgd); // TypeError: Expected `schedule` to be a schedule (an object with lrAt({ step, epoch })), got an object.
 */
export function checkSchedule(schedule: unknown, optimizer: Optimizer): asserts schedule is Schedule {
  if (typeof schedule !== 'object' || schedule === null || typeof (schedule as Schedule).lrAt !== 'function') {
    throw new TypeError(`Expected \`schedule\` to be a schedule (an object with lrAt({ step, epoch })), got ${show(schedule)}.`);
  }
  if (typeof optimizer.lr !== 'number') {
    throw new TypeError(`Expected \`optimizer\` to have a numeric \`lr\` for \`schedule\` to set, got ${show(optimizer.lr)}.`);
  }
}
