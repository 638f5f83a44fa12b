// The asynchronous training loop: one minibatch per macrotask, validation, callbacks, early
// stopping, best weights, the divergence guard, and a capturable position for exact resume.
import type { LSTMLanguageModel, TrainStepResult } from '../lstm/model.js';
import type { LSTMState } from '../lstm/inputs.js';
import { checkNonNegativeInteger, show } from '../checks.js';
import { clipGradients } from '../optim/clip.js';
import { scheduledLr, type ReduceOnPlateauState, type Schedule } from '../optim/schedules.js';
import { Random, type RandomState } from '../tensor/random.js';
import type { FloatArray } from '../tensor/float-array.js';
import { evaluationSteps, isLoader, type LossStep, type LossSum } from './evaluate.js';
import { allFinite, DivergenceGuard, TrainingDivergedError, type Optimizer } from './guard.js';
import { StateFlow } from './state-flow.js';
import { divergedMessage, type BatchSource } from './train.js';
import { nextMacrotask } from './yield.js';
import {
  checkArguments, generatorOf, isResumable, type Batch, type Checked, type EvalInfo, type FitOptions, type FitResult, type ResumableLoader,
  type StepInfo, type StopReason, type TrainingState,
} from './fit-options.js';

export type {
  BestWeights, EpochInfo, EvalInfo, FitOptions, FitResult, ResumableLoader, StepInfo, StopReason, TrainingState,
} from './fit-options.js';

const now = (): number => globalThis.performance.now();

/** webgpu: a step recorded on the GPU, its result still to be read. */
interface QueuedStep {
  readonly batch: Batch;
  readonly lr: number;
  readonly t0: number;
  readonly result: Promise<TrainStepResult>;
}

/** What one step reports. */
interface StepResult {
  loss: number;
  lr: number;
  gradNorm: number;
  tokens: number;
}

/**
 * Trains asynchronously: one minibatch (zeroGrad → forwardBackward with dropout → clip →
 * schedule's lr → optimizer.step()) per macrotask, so the event loop never waits more than one
 * minibatch (or one validation batch): `signal` (an `AbortSignal.timeout` too), `timeLimit`,
 * UI timers and messages all run while it trains, in Node, a browser page or a worker.
 *
 * - Stops at `epochs`, `maxSteps`, `timeLimit`, an aborted `signal`, or early (`patience`);
 *   it resolves in every case, `stopReason` saying why, with `state` to resume from.
 * - Evaluates `validation` at every epoch's end and every `evalEvery` steps (dropout off),
 *   keeps the best weights (`keepBest`), steps a `reduceOnPlateau` schedule with the loss.
 * - A NaN or infinite loss, gradient norm or weight puts back the weights and optimiser state
 *   from before the last update and rejects with a `TrainingDivergedError`. Only non-finite
 *   values are caught: a loss that grows but stays finite is not (watch it in `onStep`).
 * - A webgpu model trains on the GPU: each step is queued whole (`model.trainStepAsync`) and
 *   read back once; the host copy of the weights is brought back (`model.sync()`) for the best
 *   weights, checkpoints and at the end.
 * - Bad options are rejected (TypeError/RangeError naming the option and value) before any
 *   update.
 *
 * @example
 * const { train: trainIds, validation } = splitCorpus(corpus, { valFraction: 0.1 });
 * const loader = new SeqDataLoader(trainIds, { batchSize: 64, numSteps: 100 });
 * const model = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: 256, numLayers: 2, dropout: 0.2, init: 'pytorch' });
 * const result = await fit(model, loader, new Adam(model.parameters(), { lr: 2e-3 }), {
 *   timeLimit: 600, clipNorm: 5, validation, evalEvery: 200, signal: AbortSignal.timeout(900_000),
 *   onStep: ({ step, loss, tokensPerSecond }) => { if (step % 50 === 0) console.log(step, loss, tokensPerSecond); },
 *   onEval: ({ loss }) => console.log(`validation ${loss.toFixed(3)} nats/char`),
 * });
 * result.best?.loss; // the best validation loss; result.state resumes training
 */
export async function fit(
  model: LSTMLanguageModel,
  loader: BatchSource,
  optimizer: Optimizer,
  options: FitOptions,
): Promise<FitResult> {
  const run = new FitRun(model, loader, optimizer, options);
  return run.run();
}

class FitRun {
  readonly #model: LSTMLanguageModel;
  readonly #loader: BatchSource;
  readonly #optimizer: Optimizer;
  readonly #o: Checked;
  readonly #flow: StateFlow;
  readonly #guard: DivergenceGuard;
  readonly #params: ReturnType<LSTMLanguageModel['parameters']>;
  /** The validation data's batch shape, when it is a corpus. */
  readonly #evalShape: { B: number; T: number };

  // The position (what TrainingState records).
  #step = 0;
  #epoch = 0;
  #batchInEpoch = 0;
  #tokens = 0;
  #epochLossSum = 0;
  #epochTokens = 0;
  #pending: 'step' | 'epochEnd' | null = null;
  #loaderGenerator: RandomState | null = null;
  #best: { loss: number; step: number; epoch: number } | null = null;
  #bestParameters: FloatArray | null = null;
  #bad = 0;

  // This call's bookkeeping.
  #iterator: Iterator<Batch> | undefined;
  #start = 0;
  #trainMs = 0;
  #tokensThisCall = 0;
  #stepsThisCall = 0;
  #lastLoss = NaN;
  readonly #evaluations: EvalInfo[] = [];

  constructor(model: LSTMLanguageModel, loader: BatchSource, optimizer: Optimizer, options: FitOptions) {
    this.#o = checkArguments(model, loader, optimizer, options);
    this.#model = model;
    this.#loader = loader;
    this.#optimizer = optimizer;
    this.#params = model.parameters();
    const sized = loader as { batchSize?: unknown; numSteps?: unknown };
    this.#evalShape = {
      B: typeof sized.batchSize === 'number' ? sized.batchSize : 32,
      T: typeof sized.numSteps === 'number' ? sized.numSteps : 35,
    };
    const validation = this.#o.validation;
    if (validation !== undefined && !isLoader(validation)) {
      // Checked now, so that a bad validation corpus fails before any update; the pass itself is lazy.
      evaluationSteps(model, validation, this.#evalShape.B, this.#evalShape.T, 'validation');
    }
    this.#flow = new StateFlow(model, this.#o.carry);
    if (this.#o.resumeFrom !== undefined) this.#resume(this.#o.resumeFrom);
    this.#guard = new DivergenceGuard(model, optimizer);
  }

  async run(): Promise<FitResult> {
    const o = this.#o;
    this.#start = now();
    const training = this.#model.training;
    let stopReason: StopReason;
    try {
      for (;;) {
        if (this.#pending !== null) {
          const kind = this.#pending;
          const stopped = await this.#evaluate(kind === 'epochEnd');
          if (stopped !== null) {
            stopReason = stopped;
            break;
          }
          this.#pending = null;
          if (kind === 'step') await this.#maybeCheckpoint();
          continue;
        }
        const stop = this.#stopReason();
        if (stop !== null) {
          stopReason = stop;
          break;
        }
        const t0 = now();
        this.#iterator ??= this.#startEpoch(this.#batchInEpoch);
        const next = this.#iterator.next();
        if (next.done === true) {
          await this.#endEpoch();
          continue;
        }
        if (this.#model.backend === 'webgpu') {
          await this.#settle(this.#queueStep(next.value as Batch, t0));
          continue;
        }
        const info = this.#trainStep(next.value as Batch);
        this.#trainMs += now() - t0;
        await this.#afterStep(info);
        await nextMacrotask();
      }
    } finally {
      this.#model.training = training;
    }
    await this.#model.sync(); // webgpu: parameters and optimiser state back on the host
    const state = this.capture();
    let finalParameters: FloatArray | null = null;
    if (o.restoreBest && this.#bestParameters !== null) {
      finalParameters = this.#model.flatParameters.slice();
      this.#model.flatParameters.set(this.#bestParameters);
      this.#model.upload();
    }
    return {
      stopReason,
      steps: this.#step,
      epochs: this.#epoch,
      tokens: this.#tokens,
      elapsedMs: now() - this.#start,
      lastLoss: this.#lastLoss,
      evaluations: this.#evaluations,
      best: state.best,
      state,
      finalParameters,
    };
  }

  #stopReason(): StopReason | null {
    const o = this.#o;
    if (o.signal?.aborted === true) return 'aborted';
    if (o.patience !== undefined && this.#bad >= o.patience) return 'earlyStopping';
    if (o.maxSteps !== undefined && this.#step >= o.maxSteps) return 'maxSteps';
    if (o.epochs !== undefined && this.#epoch >= o.epochs) return 'epochs';
    if (o.timeLimitMs !== undefined && now() - this.#start >= o.timeLimitMs) return 'timeLimit';
    return null;
  }

  /** Starts the current epoch's batches at batch `first`, recording the generator it draws from. */
  #startEpoch(first: number): Iterator<Batch> {
    const loader = this.#loader;
    if (isResumable(loader)) {
      this.#loaderGenerator = loader.generatorState;
      return loader.epoch({ startBatch: first });
    }
    const iterator = loader[Symbol.iterator]() as Iterator<Batch>;
    for (let i = 0; i < first; i++) if (iterator.next().done === true) break; // a loader without a generator: skip
    return iterator;
  }

  #trainStep(batch: Batch): StepResult {
    const model = this.#model, o = this.#o;
    const X = batch.X as Parameters<LSTMLanguageModel['forwardBackward']>[0];
    const Y = batch.Y as Parameters<LSTMLanguageModel['forwardBackward']>[1];
    const state = this.#flow.next(batch.X.batchSize);
    const lr = this.#scheduleLr();
    model.training = true;
    model.zeroGrad();
    const { loss } = model.forwardBackward(X, Y, state);
    // The norm before any clipping; the clipping only when it is finite.
    const gradNorm = clipGradients(this.#params, o.clipNorm, o.clipValue);
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) this.#diverged(loss, gradNorm);
    this.#guard.save();
    this.#optimizer.step();
    if (!allFinite(model.flatParameters)) this.#diverged(loss, gradNorm);
    return this.#account(batch, loss, lr, gradNorm);
  }

  /**
   * The webgpu backend's step: the model records all of it on the GPU (`trainStepAsync`,
   * which checks and undoes a diverging step there) and reads it back once (#settle). One step
   * at a time: a loop keeping a step queued ahead drifted under load before reads were made
   * newest-wins (docs/webgpu.md); it waits for more stress testing. With the state reset per
   * batch, each step gets a fresh zero state.
   */
  #queueStep(batch: Batch, t0: number): QueuedStep {
    const model = this.#model, o = this.#o;
    const X = batch.X as Parameters<LSTMLanguageModel['forwardBackward']>[0];
    const Y = batch.Y as Parameters<LSTMLanguageModel['forwardBackward']>[1];
    const state = o.carry ? this.#flow.next(batch.X.batchSize) : undefined;
    const lr = this.#scheduleLr();
    model.training = true;
    const result = model.trainStepAsync(X, Y, state, this.#optimizer, { clipNorm: o.clipNorm, clipValue: o.clipValue });
    return { batch, lr, t0, result };
  }

  /**
   * Reads a queued step and counts it (onStep, evaluation and checkpoint as after a CPU step);
   * a step that did not happen rejects with TrainingDivergedError (the weights and optimiser
   * state are those from before it: the GPU undid it).
   */
  async #settle(a: QueuedStep): Promise<void> {
    const r = await a.result;
    if (!r.stepped) throw new TrainingDivergedError(this.#divergedMessage(r.loss, r.gradNorm));
    const info = this.#account(a.batch, r.loss, a.lr, r.gradNorm);
    this.#trainMs += now() - a.t0;
    await this.#afterStep(info);
  }

  /** After a counted step: an evaluation due, onStep, a checkpoint due. */
  async #afterStep(info: StepResult): Promise<void> {
    const o = this.#o;
    if (o.validation !== undefined && o.evalEvery !== undefined && this.#step % o.evalEvery === 0) this.#pending = 'step';
    if (o.onStep !== undefined) await o.onStep(this.#stepInfo(info));
    if (this.#pending === null) await this.#maybeCheckpoint();
  }

  /** Sets the optimiser's rate from the schedule (if any) and returns it. */
  #scheduleLr(): number {
    const o = this.#o;
    if (o.schedule !== undefined) this.#optimizer.lr = scheduledLr(o.schedule, { step: this.#step, epoch: this.#epoch });
    return typeof this.#optimizer.lr === 'number' ? this.#optimizer.lr : NaN;
  }

  /** Counts a step that was taken. */
  #account(batch: Batch, loss: number, lr: number, gradNorm: number): StepResult {
    const tokens = batch.X.batchSize * batch.X.numSteps;
    this.#step++;
    this.#batchInEpoch++;
    this.#tokens += tokens;
    this.#tokensThisCall += tokens;
    this.#stepsThisCall++;
    this.#epochLossSum += loss * tokens;
    this.#epochTokens += tokens;
    this.#lastLoss = loss;
    return { loss, lr, gradNorm, tokens };
  }

  #diverged(loss: number, norm: number): never {
    this.#guard.restore();
    throw new TrainingDivergedError(this.#divergedMessage(loss, norm));
  }

  #divergedMessage(loss: number, norm: number): string {
    return divergedMessage(`step ${this.#step + 1} (epoch ${this.#epoch + 1}, batch ${this.#batchInEpoch + 1})`, loss, norm);
  }

  #stepInfo(s: { loss: number; lr: number; gradNorm: number }): StepInfo {
    const elapsedMs = now() - this.#start;
    return {
      step: this.#step,
      epoch: this.#epoch + 1,
      batch: this.#batchInEpoch,
      loss: s.loss,
      lr: s.lr,
      gradNorm: s.gradNorm,
      tokens: this.#tokens,
      tokensPerSecond: this.#tokensThisCall / Math.max(1e-9, this.#trainMs / 1000),
      elapsedMs,
      etaMs: this.#eta(elapsedMs),
    };
  }

  #eta(elapsedMs: number): number | null {
    const o = this.#o;
    const msPerStep = elapsedMs / this.#stepsThisCall;
    const left: number[] = [];
    if (o.maxSteps !== undefined) left.push((o.maxSteps - this.#step) * msPerStep);
    const perEpoch = (this.#iterator as { numBatches?: unknown } | undefined)?.numBatches ?? (this.#loader as { numBatches?: unknown }).numBatches;
    if (o.epochs !== undefined && typeof perEpoch === 'number') {
      const steps = Math.max(0, perEpoch - this.#batchInEpoch) + (o.epochs - this.#epoch - 1) * perEpoch;
      left.push(steps * msPerStep);
    }
    if (o.timeLimitMs !== undefined) left.push(o.timeLimitMs - elapsedMs);
    return left.length === 0 ? null : Math.max(0, Math.min(...left));
  }

  async #endEpoch(): Promise<void> {
    const loss = this.#epochTokens > 0 ? this.#epochLossSum / this.#epochTokens : NaN;
    this.#epoch++;
    this.#batchInEpoch = 0;
    this.#epochLossSum = 0;
    this.#epochTokens = 0;
    this.#iterator = undefined;
    this.#loaderGenerator = null;
    this.#flow.reset(); // a carried state starts at zero each epoch
    // Evaluate at the epoch's end unless an evalEvery evaluation just did, at this very step:
    // a second one would cost as much and count against `patience` and the plateau schedule.
    if (this.#o.validation !== undefined && this.#evaluations.at(-1)?.step !== this.#step) this.#pending = 'epochEnd';
    if (this.#o.onEpoch !== undefined) {
      await this.#o.onEpoch({ epoch: this.#epoch, loss, step: this.#step, elapsedMs: now() - this.#start });
    }
  }

  /**
   * One evaluation of the validation data, yielding after every batch; returns a stop reason
   * when the signal or the time limit stopped it (it is then left pending, and the validation
   * loader's generator as it was before), else null.
   */
  async #evaluate(atEpochEnd: boolean): Promise<StopReason | null> {
    const o = this.#o, model = this.#model;
    const validation = o.validation!;
    const generator = generatorOf(validation);
    const steps = evaluationSteps(model, validation, this.#evalShape.B, this.#evalShape.T, 'validation');
    model.training = false;
    let r: IteratorResult<LossStep, LossSum> = steps.next();
    while (r.done !== true) {
      const batchLoss = await r.value; // webgpu: the batch's loss, passed back below
      await nextMacrotask();
      const stop = o.signal?.aborted === true ? 'aborted'
        : o.timeLimitMs !== undefined && now() - this.#start >= o.timeLimitMs ? 'timeLimit' : null;
      if (stop !== null) {
        if (generator !== null) (validation as unknown as { generatorState: RandomState }).generatorState = generator;
        return stop;
      }
      r = steps.next(batchLoss);
    }
    const { lossSum, tokens } = r.value;
    if (tokens === 0) throw new RangeError('Expected `validation` to yield at least one batch, got none.');
    const loss = lossSum / tokens;
    const improved = this.#best === null || loss < this.#best.loss;
    if (improved) {
      this.#best = { loss, step: this.#step, epoch: this.#epoch };
      this.#bad = 0;
      if (o.keepBest) {
        await model.sync(); // webgpu: the host copy is current only after it
        const weights = model.flatParameters;
        if (this.#bestParameters === null) this.#bestParameters = weights.slice();
        else this.#bestParameters.set(weights);
      }
    } else {
      this.#bad++;
    }
    const plateau = o.schedule as { name?: unknown; step?: (loss: number) => number } | undefined;
    if (plateau?.name === 'reduceOnPlateau' && typeof plateau.step === 'function') plateau.step(loss);
    const lr = o.schedule !== undefined ? scheduledLr(o.schedule, { step: this.#step, epoch: this.#epoch }) : this.#optimizer.lr ?? NaN;
    const info: EvalInfo = {
      step: this.#step,
      epoch: this.#epoch,
      atEpochEnd,
      loss,
      perplexity: Math.exp(loss),
      tokens,
      improved,
      bestLoss: this.#best!.loss,
      lr,
      elapsedMs: now() - this.#start,
    };
    this.#evaluations.push(info);
    if (o.onEval !== undefined) await o.onEval(info);
    return null;
  }

  async #maybeCheckpoint(): Promise<void> {
    const o = this.#o;
    if (o.checkpointEvery !== undefined && this.#step % o.checkpointEvery === 0 && this.#stepsThisCall > 0) {
      await this.#model.sync(); // webgpu: a checkpoint saves the host copy
      await o.onCheckpoint!(this.capture());
    }
  }

  /** A copy of the position (see {@link TrainingState}). */
  capture(): TrainingState {
    const o = this.#o;
    const schedule = o.schedule as (Schedule & { stateDict?: () => ReduceOnPlateauState }) | undefined;
    const resumable = isResumable(this.#loader);
    return {
      format: 'lstm-lm/training-state',
      version: 1,
      step: this.#step,
      epoch: this.#epoch,
      batchInEpoch: this.#batchInEpoch,
      tokens: this.#tokens,
      epochLossSum: this.#epochLossSum,
      epochTokens: this.#epochTokens,
      pendingEvaluation: this.#pending,
      // Before the epoch started, the generator it will draw from is the loader's current one.
      loaderGenerator: !resumable ? null : this.#loaderGenerator ?? generatorOf(this.#loader),
      validationGenerator: generatorOf(o.validation),
      modelGenerator: this.#model.generatorState,
      optimizer: this.#optimizer.stateDict?.() ?? null,
      schedule: schedule === undefined ? null : {
        json: schedule.toJSON?.() ?? null,
        state: typeof schedule.stateDict === 'function' ? schedule.stateDict() : null,
      },
      recurrent: this.#flow.carried(),
      best: this.#best === null ? null : { ...this.#best, parameters: this.#bestParameters?.slice() ?? null },
      evaluationsWithoutImprovement: this.#bad,
    };
  }

  /** Checks every field of `s` against this run, then applies it (nothing changes on error). */
  #resume(s: TrainingState): void {
    const model = this.#model, o = this.#o;
    if (typeof s !== 'object' || s === null || s.format !== 'lstm-lm/training-state') {
      throw new TypeError(`Expected \`resumeFrom\` to be a TrainingState (format 'lstm-lm/training-state'), got ${show(s)}.`);
    }
    if (s.version !== 1) throw new RangeError(`Expected \`resumeFrom.version\` to be 1, got ${show(s.version)}.`);
    for (const key of ['step', 'epoch', 'batchInEpoch', 'tokens', 'epochTokens', 'evaluationsWithoutImprovement'] as const) {
      checkNonNegativeInteger(`resumeFrom.${key}`, s[key]);
    }
    if (typeof s.epochLossSum !== 'number' || !Number.isFinite(s.epochLossSum)) {
      throw new TypeError(`Expected \`resumeFrom.epochLossSum\` to be a finite number, got ${show(s.epochLossSum)}.`);
    }
    if (s.pendingEvaluation !== null && s.pendingEvaluation !== 'step' && s.pendingEvaluation !== 'epochEnd') {
      throw new RangeError(`Expected \`resumeFrom.pendingEvaluation\` to be 'step', 'epochEnd' or null, got ${show(s.pendingEvaluation)}.`);
    }
    if (s.pendingEvaluation !== null && o.validation === undefined) {
      throw new TypeError(`Expected \`validation\` to resume a state with a pending evaluation (${show(s.pendingEvaluation)}), got none.`);
    }
    const scratch = new Random(0);
    const checkGenerator = (name: string, g: unknown): void => {
      try {
        scratch.state = g as RandomState;
      } catch (error) {
        throw new TypeError(`Expected \`resumeFrom.${name}\` to be a generator state { words, spare }: ${(error as Error).message}`);
      }
    };
    checkGenerator('modelGenerator', s.modelGenerator);
    const loaderResumable = isResumable(this.#loader);
    if (loaderResumable !== (s.loaderGenerator !== null)) {
      throw new TypeError(
        `Expected \`resumeFrom.loaderGenerator\` to be ${loaderResumable ? 'a generator state (the loader has one)' : 'null (the loader has no generator)'}, got ${show(s.loaderGenerator)}.`,
      );
    }
    if (s.loaderGenerator !== null) checkGenerator('loaderGenerator', s.loaderGenerator);
    const validationGenerator = generatorOf(o.validation);
    if ((validationGenerator !== null) !== (s.validationGenerator !== null)) {
      throw new TypeError(`Expected \`resumeFrom.validationGenerator\` to be ${validationGenerator !== null ? 'a generator state' : 'null'}, got ${show(s.validationGenerator)}.`);
    }
    if (s.validationGenerator !== null) checkGenerator('validationGenerator', s.validationGenerator);
    const hasStateDict = typeof this.#optimizer.stateDict === 'function' && typeof this.#optimizer.loadStateDict === 'function';
    if (hasStateDict !== (s.optimizer !== null)) {
      throw new TypeError(`Expected \`resumeFrom.optimizer\` to be ${hasStateDict ? "the optimiser's state dict" : 'null'}, got ${show(s.optimizer)}.`);
    }
    const schedule = o.schedule as (Schedule & { loadStateDict?: (st: ReduceOnPlateauState) => void }) | undefined;
    const scheduleState = s.schedule?.state ?? null;
    if (scheduleState !== null && typeof schedule?.loadStateDict !== 'function') {
      throw new TypeError('Expected a `schedule` with loadStateDict (a reduceOnPlateau) to resume `resumeFrom.schedule.state`, got none.');
    }
    const floatType = model.dtype === 'float64' ? Float64Array : Float32Array;
    if (s.recurrent !== null) {
      const { h, c } = (s.recurrent ?? {}) as Partial<LSTMState>;
      const unit = model.numLayers * model.numHiddens;
      for (const [name, a] of [['h', h], ['c', c]] as const) {
        if (!(a instanceof floatType) || a.length === 0 || a.length % unit !== 0 || a.length !== h!.length) {
          throw new TypeError(`Expected \`resumeFrom.recurrent.${name}\` to be a ${floatType.name} of L·B·H values (a multiple of ${unit}), got ${show(a)}.`);
        }
        if (!allFinite(a)) throw new RangeError(`Expected \`resumeFrom.recurrent.${name}\` to be finite.`);
      }
    }
    if (s.best !== null) {
      const b = s.best;
      if (typeof b !== 'object' || typeof b.loss !== 'number' || !Number.isFinite(b.loss)) {
        throw new TypeError(`Expected \`resumeFrom.best\` to be null or { loss, step, epoch, parameters }, got ${show(b)}.`);
      }
      checkNonNegativeInteger('resumeFrom.best.step', b.step);
      checkNonNegativeInteger('resumeFrom.best.epoch', b.epoch);
      const n = model.flatParameters.length;
      if (b.parameters !== null && (!(b.parameters instanceof floatType) || b.parameters.length !== n)) {
        throw new TypeError(`Expected \`resumeFrom.best.parameters\` to be null or a ${floatType.name} of ${n} values, got ${show(b.parameters)}.`);
      }
    }
    // Everything checked but the optimiser's and the schedule's own states, which check
    // themselves and change nothing on error: load them first, then the rest cannot fail.
    if (s.optimizer !== null) this.#optimizer.loadStateDict!(s.optimizer);
    if (scheduleState !== null) schedule!.loadStateDict!(scheduleState);
    model.generatorState = s.modelGenerator;
    if (s.loaderGenerator !== null) (this.#loader as ResumableLoader).generatorState = s.loaderGenerator;
    if (s.validationGenerator !== null) (o.validation as unknown as { generatorState: RandomState }).generatorState = s.validationGenerator;
    this.#step = s.step;
    this.#epoch = s.epoch;
    this.#batchInEpoch = s.batchInEpoch;
    this.#tokens = s.tokens;
    this.#epochLossSum = s.epochLossSum;
    this.#epochTokens = s.epochTokens;
    this.#pending = s.pendingEvaluation;
    this.#bad = s.evaluationsWithoutImprovement;
    if (s.best !== null) {
      this.#best = { loss: s.best.loss, step: s.best.step, epoch: s.best.epoch };
      this.#bestParameters = s.best.parameters?.slice() ?? null;
    }
    this.#flow.restore(s.recurrent);
  }
}
