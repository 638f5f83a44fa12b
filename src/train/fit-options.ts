// fit()'s public types (options, callbacks' information, the result, the resumable training
// state) and the checking of its arguments, before any update. The loop is in fit.ts.
import type { LSTMLanguageModel } from '../lstm/model.js';
import type { LSTMState } from '../lstm/inputs.js';
import { checkPositiveInteger, show } from '../checks.js';
import type { OptimizerStateDict } from '../optim/optimizer.js';
import type { ReduceOnPlateauState, Schedule, ScheduleJSON } from '../optim/schedules.js';
import type { RandomState } from '../tensor/random.js';
import type { FloatArray } from '../tensor/float-array.js';
import type { Optimizer } from './guard.js';
import { carriesState, type StatePolicy } from './state-flow.js';
import { checkLoopArguments, checkSchedule, type BatchSource } from './train.js';

/** A minibatch as the loaders yield it (X and Y: B rows of T ids). */
export type Batch = { readonly X: { readonly batchSize: number; readonly numSteps: number }; readonly Y: unknown };

/**
 * A loader that {@link fit} can resume exactly in the middle of an epoch (a `SeqDataLoader`
 * is one): its generator's state, and an epoch that starts at a given batch. Loaders without
 * them are resumed by skipping the batches already done, which is exact only when their
 * epochs do not depend on anything random.
 */
export interface ResumableLoader extends BatchSource {
  generatorState: RandomState;
  epoch(options?: { readonly startBatch?: number }): Iterator<Batch>;
  readonly batchSize?: number;
  readonly numSteps?: number;
  readonly numBatches?: number;
}

/** Options of {@link fit}. At least one of `epochs`, `maxSteps`, `timeLimit` is required. */
export interface FitOptions {
  /** Train until this many epochs are complete (counting those of `resumeFrom`). */
  epochs?: number;
  /** Train until this many optimiser steps are done (counting those of `resumeFrom`). */
  maxSteps?: number;
  /** Stop after this many seconds of this call (checked between minibatches and validation batches). */
  timeLimit?: number;
  /** Stop between minibatches when aborted (e.g. `AbortSignal.timeout(60_000)`); `fit` then resolves. */
  signal?: AbortSignal;
  /** Clip the gradients' global L2 norm to this (torch's clip_grad_norm_). Default: no norm clipping. */
  clipNorm?: number;
  /** Clamp every gradient element to ±clipValue first (char-rnn's grad_clip). Default: none. */
  clipValue?: number;
  /** How the recurrent state flows between minibatches. Default `'auto'`. */
  statePolicy?: StatePolicy;
  /**
   * Sets `optimizer.lr = scheduledLr(schedule, { step, epoch })` before every step (steps and
   * epochs completed). A `reduceOnPlateau` schedule is also stepped with each validation loss.
   */
  schedule?: Schedule;
  /**
   * Held-out data: a corpus of ids (read as `batchSize` streams of the training loader's B
   * and T, see `evaluate`) or a loader. Evaluated at the end of every epoch and every
   * `evalEvery` steps, with dropout off.
   */
  validation?: ArrayLike<number> | BatchSource;
  /** Evaluate every this many steps (as well as at each epoch's end). Default: at epoch ends only. */
  evalEvery?: number;
  /** Stop when this many evaluations in a row have not improved on the best validation loss. Default: never. */
  patience?: number;
  /** Keep a copy of the weights with the best validation loss. Default true when `validation` is given. */
  keepBest?: boolean;
  /** Put the best weights back into the model at the end. Default false. */
  restoreBest?: boolean;
  /** Called after every step (awaited when it returns a promise). */
  onStep?: (info: StepInfo) => void | Promise<void>;
  /** Called after every evaluation. */
  onEval?: (info: EvalInfo) => void | Promise<void>;
  /** Called at the end of every epoch, before its evaluation. */
  onEpoch?: (info: EpochInfo) => void | Promise<void>;
  /** Call `onCheckpoint` every this many steps. */
  checkpointEvery?: number;
  /** Receives the loop's position (a copy) every `checkpointEvery` steps, after that step's evaluation. */
  onCheckpoint?: (state: TrainingState) => void | Promise<void>;
  /** Continue from a position captured by an earlier run (its `FitResult.state` or an `onCheckpoint` state). */
  resumeFrom?: TrainingState;
}

/** What {@link FitOptions.onStep} receives. */
export interface StepInfo {
  /** Steps done, this one included (1-based step number). */
  step: number;
  /** The epoch this step belongs to, 1-based. */
  epoch: number;
  /** The batch of the epoch this step trained on, 1-based. */
  batch: number;
  /** The step's training loss (mean cross-entropy over its B·T predictions, dropout on). */
  loss: number;
  /** The learning rate of this step. */
  lr: number;
  /** The gradient's global L2 norm before clipping. */
  gradNorm: number;
  /** Training tokens processed so far (counting `resumeFrom`'s). */
  tokens: number;
  /** Training tokens per second of training time in this call (evaluations not counted). */
  tokensPerSecond: number;
  /** Milliseconds since this call began. */
  elapsedMs: number;
  /** Estimated milliseconds left, from the nearest of `maxSteps`, `epochs` (when the loader knows `numBatches`) and `timeLimit`; null when none is known. */
  etaMs: number | null;
}

/** What {@link FitOptions.onEval} receives (and {@link FitResult.evaluations} holds). */
export interface EvalInfo {
  /** Steps done when it ran. */
  step: number;
  /** Epochs completed when it ran. */
  epoch: number;
  /** `true` for the evaluation at an epoch's end, `false` for an `evalEvery` one. */
  atEpochEnd: boolean;
  /** Validation loss (nats per token). */
  loss: number;
  /** exp(loss). */
  perplexity: number;
  /** Validation tokens predicted. */
  tokens: number;
  /** `true` when this is the best validation loss so far. */
  improved: boolean;
  /** The best validation loss so far (this one included). */
  bestLoss: number;
  /** The learning rate after this evaluation (a plateau schedule may have lowered it). */
  lr: number;
  /** Milliseconds since this call began. */
  elapsedMs: number;
}

/** What {@link FitOptions.onEpoch} receives. */
export interface EpochInfo {
  /** Epochs completed, this one included. */
  epoch: number;
  /** The token-weighted mean training loss over the epoch's steps. */
  loss: number;
  /** Steps done so far. */
  step: number;
  /** Milliseconds since this call began. */
  elapsedMs: number;
}

/** Why {@link fit} stopped. */
export type StopReason = 'epochs' | 'maxSteps' | 'timeLimit' | 'aborted' | 'earlyStopping';

/** The best validation loss and the weights that gave it. */
export interface BestWeights {
  readonly loss: number;
  readonly step: number;
  readonly epoch: number;
  /** A copy of `model.flatParameters` at that evaluation (null with `keepBest: false`). */
  readonly parameters: FloatArray | null;
}

/** What {@link fit} resolves to. */
export interface FitResult {
  stopReason: StopReason;
  /** Steps done (counting `resumeFrom`'s). */
  steps: number;
  /** Epochs completed. */
  epochs: number;
  /** Training tokens processed (counting `resumeFrom`'s). */
  tokens: number;
  /** Milliseconds this call ran. */
  elapsedMs: number;
  /** The last step's training loss (NaN when no step ran). */
  lastLoss: number;
  /** Every evaluation of this call, in order. */
  evaluations: EvalInfo[];
  /** The best evaluation so far (counting `resumeFrom`'s), or null. */
  best: BestWeights | null;
  /**
   * Where training stopped, for `resumeFrom`. Captured before `restoreBest` puts the best
   * weights back: resuming needs the weights of that moment, `finalParameters`.
   */
  state: TrainingState;
  /** With `restoreBest` (when it restored anything): a copy of the weights training ended with. */
  finalParameters: FloatArray | null;
}

/**
 * The position of a training run, everything but the model's weights: with the weights (saved
 * separately, e.g. by a checkpoint), a fresh model, optimiser and loader given this as
 * `resumeFrom` continue exactly — the same weights, bit for bit, as a run never interrupted.
 *
 * Plain numbers, strings, nulls and arrays of them, plus typed arrays in four places:
 * `optimizer.buffers` (one array per parameter per buffer), `recurrent.h`/`recurrent.c`
 * (L·B·H each) and `best.parameters`. Everything else is JSON.
 */
export interface TrainingState {
  readonly format: 'lstm-lm/training-state';
  readonly version: 1;
  /** Optimiser steps done. */
  readonly step: number;
  /** Epochs completed. */
  readonly epoch: number;
  /** Batches of the current epoch done (0: the epoch has not started). */
  readonly batchInEpoch: number;
  /** Training tokens processed. */
  readonly tokens: number;
  /** Σ loss·tokens and tokens over the current epoch's steps (for its mean loss). */
  readonly epochLossSum: number;
  readonly epochTokens: number;
  /** An evaluation due but not done (stopped during it): it runs first on resume. */
  readonly pendingEvaluation: 'step' | 'epochEnd' | null;
  /** The training loader's generator before the current epoch drew its offset (null: a loader without one). */
  readonly loaderGenerator: RandomState | null;
  /** The validation loader's generator (null for a corpus, or a loader without one). */
  readonly validationGenerator: RandomState | null;
  /** The model's generator: its next dropout masks. */
  readonly modelGenerator: RandomState;
  /** The optimiser's `stateDict()` (null for an optimiser without one). */
  readonly optimizer: OptimizerStateDict | null;
  /** The schedule's description and, for a plateau schedule, its state (null without a schedule). */
  readonly schedule: { readonly json: ScheduleJSON | null; readonly state: ReduceOnPlateauState | null } | null;
  /** The recurrent state the next batch carries on from (null: it starts from zeros). */
  readonly recurrent: LSTMState | null;
  /** The best evaluation so far, or null. */
  readonly best: BestWeights | null;
  /** Evaluations in a row without improvement (for `patience`). */
  readonly evaluationsWithoutImprovement: number;
}

const OPTION_KEYS = [
  'epochs', 'maxSteps', 'timeLimit', 'signal', 'clipNorm', 'clipValue', 'statePolicy', 'schedule', 'validation',
  'evalEvery', 'patience', 'keepBest', 'restoreBest', 'onStep', 'onEval', 'onEpoch', 'checkpointEvery',
  'onCheckpoint', 'resumeFrom',
];

/** fit()'s options, checked and resolved. */
export interface Checked {
  epochs: number | undefined;
  maxSteps: number | undefined;
  timeLimitMs: number | undefined;
  signal: AbortSignal | undefined;
  clipNorm: number | undefined;
  clipValue: number | undefined;
  carry: boolean;
  schedule: Schedule | undefined;
  validation: ArrayLike<number> | BatchSource | undefined;
  evalEvery: number | undefined;
  patience: number | undefined;
  keepBest: boolean;
  restoreBest: boolean;
  onStep: FitOptions['onStep'];
  onEval: FitOptions['onEval'];
  onEpoch: FitOptions['onEpoch'];
  checkpointEvery: number | undefined;
  onCheckpoint: FitOptions['onCheckpoint'];
  resumeFrom: TrainingState | undefined;
}

function checkFunction<F>(name: string, f: unknown): F | undefined {
  if (f !== undefined && typeof f !== 'function') throw new TypeError(`Expected \`${name}\` to be a function, got ${show(f)}.`);
  return f as F | undefined;
}

function checkBooleanOption(name: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new TypeError(`Expected \`${name}\` to be a boolean, got ${show(v)}.`);
  return v;
}

function checkPositiveFinite(name: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) {
    throw new (typeof v === 'number' ? RangeError : TypeError)(`Expected \`${name}\` to be a positive finite number, got ${show(v)}.`);
  }
  return v;
}

const optionalInteger = (name: string, v: unknown): number | undefined => (v === undefined ? undefined : checkPositiveInteger(name, v));

export function checkArguments(model: LSTMLanguageModel, loader: BatchSource, optimizer: Optimizer, options: FitOptions): Checked {
  checkLoopArguments(model, loader, optimizer);
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`Expected \`options\` to be an object like { epochs: 10 }, got ${show(options)}.`);
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) throw new TypeError(`Unknown option ${show(key)} of fit; expected one of ${OPTION_KEYS.join(', ')}.`);
  }
  const epochs = optionalInteger('epochs', options.epochs);
  const maxSteps = optionalInteger('maxSteps', options.maxSteps);
  const timeLimit = checkPositiveFinite('timeLimit', options.timeLimit);
  if (epochs === undefined && maxSteps === undefined && timeLimit === undefined) {
    throw new TypeError('Expected `options` to set at least one of `epochs`, `maxSteps` and `timeLimit` (seconds), got none.');
  }
  const signal = options.signal;
  if (signal !== undefined && !(typeof signal === 'object' && signal !== null && 'aborted' in signal)) {
    throw new TypeError(`Expected \`signal\` to be an AbortSignal, got ${show(signal)}.`);
  }
  const schedule = options.schedule;
  if (schedule !== undefined) checkSchedule(schedule, optimizer);
  const validation = options.validation;
  const evalEvery = optionalInteger('evalEvery', options.evalEvery);
  const patience = optionalInteger('patience', options.patience);
  if (validation === undefined) {
    for (const [name, v] of [['evalEvery', evalEvery], ['patience', patience], ['restoreBest', options.restoreBest]] as const) {
      if (v !== undefined) throw new TypeError(`Expected \`validation\` with \`${name}\` (${show(v)}), got none.`);
    }
  }
  const keepBest = checkBooleanOption('keepBest', options.keepBest, validation !== undefined);
  const restoreBest = checkBooleanOption('restoreBest', options.restoreBest, false);
  if (restoreBest && !keepBest) throw new TypeError('Expected `keepBest` to be true with `restoreBest`, got false.');
  const checkpointEvery = optionalInteger('checkpointEvery', options.checkpointEvery);
  const onCheckpoint = checkFunction<FitOptions['onCheckpoint']>('onCheckpoint', options.onCheckpoint);
  if (checkpointEvery !== undefined && onCheckpoint === undefined) {
    throw new TypeError(`Expected \`onCheckpoint\` with \`checkpointEvery\` (${checkpointEvery}), got none.`);
  }
  return {
    epochs,
    maxSteps,
    timeLimitMs: timeLimit === undefined ? undefined : timeLimit * 1000,
    signal,
    clipNorm: checkPositiveFinite('clipNorm', options.clipNorm),
    clipValue: checkPositiveFinite('clipValue', options.clipValue),
    carry: carriesState(options.statePolicy ?? 'auto', loader),
    schedule,
    validation,
    evalEvery,
    patience,
    keepBest,
    restoreBest,
    onStep: checkFunction('onStep', options.onStep),
    onEval: checkFunction('onEval', options.onEval),
    onEpoch: checkFunction('onEpoch', options.onEpoch),
    checkpointEvery,
    onCheckpoint,
    resumeFrom: options.resumeFrom,
  };
}

/** A loader's generator state, when it has one. */
export function generatorOf(source: unknown): RandomState | null {
  const s = (source as { generatorState?: unknown } | null)?.generatorState;
  return typeof s === 'object' && s !== null ? (s as RandomState) : null;
}

export function isResumable(loader: BatchSource): loader is ResumableLoader {
  return generatorOf(loader) !== null && typeof (loader as Partial<ResumableLoader>).epoch === 'function';
}

