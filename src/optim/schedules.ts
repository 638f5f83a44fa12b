// Learning-rate schedules: small, pure functions of where training is ({ step, epoch }) that
// the training loop applies before each optimiser step, plus one stateful schedule driven by
// the validation loss. Each describes itself as JSON ({ name, ...options }) so that a
// checkpoint can record it and `scheduleFromJSON` rebuild it.
import { checkNonNegativeInteger, show } from '../checks.js';
import { NON_NEGATIVE, OPEN_UNIT, POSITIVE, UNIT, checkNumber, checkOptionKeys, optionOr } from './options.js';

/** Where training is when a learning rate is asked for. */
export interface ScheduleStep {
  /** Optimiser steps taken so far: 0 before the first. */
  readonly step: number;
  /** Epochs completed so far: 0 during the first. */
  readonly epoch: number;
}

/** A schedule's JSON description: its name and resolved options. */
export type ScheduleJSON =
  | ({ readonly name: 'constant' } & Readonly<ConstantLrOptions>)
  | ({ readonly name: 'stepDecay' } & Readonly<Required<StepDecayOptions>>)
  | ({ readonly name: 'exponentialDecay' } & Readonly<Required<ExponentialDecayOptions>>)
  | ({ readonly name: 'cosineWithWarmup' } & Readonly<Required<CosineWithWarmupOptions>>)
  | ({ readonly name: 'reduceOnPlateau' } & Readonly<Required<ReduceOnPlateauOptions>>);

/**
 * What the training loop calls before each step: `optimizer.lr = scheduledLr(schedule, at)`.
 * Your own schedule is any object with a `name` and an `lrAt`; `toJSON` lets a checkpoint
 * record it.
 */
export interface Schedule {
  /** Names the schedule in messages and in its JSON. */
  readonly name: string;
  /** The learning rate for the step about to be taken. */
  lrAt(at: ScheduleStep): number;
  /** `{ name, ...options }`, enough for {@link scheduleFromJSON} to rebuild it. */
  toJSON?(): ScheduleJSON;
}

/**
 * Asks `schedule` for the learning rate at `at` and checks it: throws a RangeError naming the
 * schedule and the step when it is not a finite number ≥ 0, before anything uses it.
 *
 * @example
 * const schedule = cosineWithWarmup({ lr: 2e-3, warmupSteps: 100, totalSteps: 5000 });
 * optimizer.lr = scheduledLr(schedule, { step, epoch });
 * optimizer.step();
 */
export function scheduledLr(schedule: Schedule, at: ScheduleStep): number {
  if (typeof schedule !== 'object' || schedule === null || typeof schedule.lrAt !== 'function') {
    throw new TypeError(`Expected \`schedule\` to be a schedule (an object with lrAt({ step, epoch })), got ${show(schedule)}.`);
  }
  if (typeof at !== 'object' || at === null) {
    throw new TypeError(`Expected \`at\` to be { step, epoch }, got ${show(at)}.`);
  }
  checkNonNegativeInteger('at.step', at.step);
  checkNonNegativeInteger('at.epoch', at.epoch);
  const lr = schedule.lrAt(at);
  if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) {
    throw new RangeError(
      `Expected schedule ${show(String(schedule.name))} to return a finite lr ≥ 0, got ${show(lr)} at step ${at.step} (epoch ${at.epoch}).`,
    );
  }
  return lr;
}

/** A frozen schedule object from a name, its resolved options and its lr function. */
function makeSchedule<J extends ScheduleJSON>(json: J, lrAt: (at: ScheduleStep) => number): Schedule & { toJSON(): J } {
  const frozen = Object.freeze({ ...json });
  return Object.freeze({ name: json.name, lrAt, toJSON: () => frozen as J });
}

/** Options of {@link constantLr}. */
export interface ConstantLrOptions {
  /** The learning rate, a positive finite number. */
  lr: number;
}

/**
 * The same learning rate at every step.
 *
 * @example
 * constantLr({ lr: 1 }).lrAt({ step: 1000, epoch: 3 }); // 1
 */
export function constantLr(options: ConstantLrOptions): Schedule & { toJSON(): ScheduleJSON } {
  const o = checkOptionKeys('constantLr', options, ['lr'], '{ lr: 1 }');
  const lr = checkNumber('lr', o.lr, POSITIVE);
  return makeSchedule({ name: 'constant', lr }, () => lr);
}

/** Whether a schedule counts optimiser steps or completed epochs. */
export type ScheduleUnit = 'step' | 'epoch';

function checkUnit(value: unknown): ScheduleUnit {
  if (value !== 'step' && value !== 'epoch') {
    throw new TypeError(`Expected \`unit\` to be 'step' or 'epoch', got ${show(value)}.`);
  }
  return value;
}

/** Options of {@link stepDecay}. */
export interface StepDecayOptions {
  /** The starting learning rate, a positive finite number. */
  lr: number;
  /** Multiply by `factor` once every `every` units (a positive integer). */
  every: number;
  /** In (0, 1). */
  factor: number;
  /** What `every` counts. Default 'epoch' (as torch's StepLR stepped per epoch). */
  unit?: ScheduleUnit;
}

/**
 * lr · factor^⌊n / every⌋, n the steps or epochs done: torch's StepLR.
 *
 * @example
 * const s = stepDecay({ lr: 1, every: 10, factor: 0.5 });
 * s.lrAt({ step: 0, epoch: 25 }); // 0.25
 */
export function stepDecay(options: StepDecayOptions): Schedule & { toJSON(): ScheduleJSON } {
  const o = checkOptionKeys('stepDecay', options, ['lr', 'every', 'factor', 'unit'], '{ lr: 1, every: 10, factor: 0.5 }');
  const lr = checkNumber('lr', o.lr, POSITIVE);
  const every = checkPositiveIntegerOption('every', o.every);
  const factor = checkNumber('factor', o.factor, OPEN_UNIT);
  const unit = checkUnit(optionOr(o, 'unit', 'epoch'));
  return makeSchedule({ name: 'stepDecay', lr, every, factor, unit }, (at) =>
    lr * factor ** Math.floor((unit === 'step' ? at.step : at.epoch) / every));
}

/** Options of {@link exponentialDecay}. */
export interface ExponentialDecayOptions {
  /** The starting learning rate, a positive finite number. */
  lr: number;
  /** In (0, 1): each unit after the first `after` is `factor` times the one before. */
  factor: number;
  /** How many units run at `lr` before the decay starts, an integer ≥ 0. Default 0. */
  after?: number;
  /** What `after` counts. Default 'epoch'. */
  unit?: ScheduleUnit;
}

/**
 * lr for the first `after` epochs, then lr · factor^(n − after + 1) in epoch n (0-based):
 * char-rnn's `learning_rate_decay` 0.97 with `learning_rate_decay_after` 10, which multiplies
 * the rate by 0.97 at the end of every epoch from the 10th on.
 *
 * @example
 * const s = exponentialDecay({ lr: 2e-3, factor: 0.97, after: 10 });
 * s.lrAt({ step: 0, epoch: 9 });  // 2e-3 (the 10th epoch)
 * s.lrAt({ step: 0, epoch: 11 }); // 2e-3 · 0.97²
 */
export function exponentialDecay(options: ExponentialDecayOptions): Schedule & { toJSON(): ScheduleJSON } {
  const o = checkOptionKeys('exponentialDecay', options, ['lr', 'factor', 'after', 'unit'], '{ lr: 2e-3, factor: 0.97, after: 10 }');
  const lr = checkNumber('lr', o.lr, POSITIVE);
  const factor = checkNumber('factor', o.factor, OPEN_UNIT);
  const after = checkNonNegativeInteger('after', optionOr(o, 'after', 0));
  const unit = checkUnit(optionOr(o, 'unit', 'epoch'));
  return makeSchedule({ name: 'exponentialDecay', lr, factor, after, unit }, (at) =>
    lr * factor ** Math.max(0, (unit === 'step' ? at.step : at.epoch) - after + 1));
}

/** Options of {@link cosineWithWarmup}. */
export interface CosineWithWarmupOptions {
  /** The peak learning rate, a positive finite number. */
  lr: number;
  /** Steps of linear warm-up, an integer ≥ 0. Default 0. */
  warmupSteps?: number;
  /** The step at which the cosine reaches `minLr`, an integer > warmupSteps. */
  totalSteps: number;
  /** The floor, in [0, lr]. Default 0. */
  minLr?: number;
}

/**
 * nanoGPT's `get_lr`: a linear warm-up lr·(s + 1)/(warmupSteps + 1) for steps s <
 * warmupSteps, then a half cosine from lr down to minLr at `totalSteps`, and minLr after.
 * With no warm-up it is torch's CosineAnnealingLR (T_max = totalSteps, eta_min = minLr).
 *
 * @example
 * const s = cosineWithWarmup({ lr: 1e-3, warmupSteps: 100, totalSteps: 5000, minLr: 1e-4 });
 * s.lrAt({ step: 0, epoch: 0 });    // 1e-3 / 101
 * s.lrAt({ step: 100, epoch: 0 });  // 1e-3
 * s.lrAt({ step: 5000, epoch: 9 }); // 1e-4
 */
export function cosineWithWarmup(options: CosineWithWarmupOptions): Schedule & { toJSON(): ScheduleJSON } {
  const o = checkOptionKeys('cosineWithWarmup', options, ['lr', 'warmupSteps', 'totalSteps', 'minLr'],
    '{ lr: 1e-3, warmupSteps: 100, totalSteps: 5000 }');
  const lr = checkNumber('lr', o.lr, POSITIVE);
  const warmupSteps = checkNonNegativeInteger('warmupSteps', optionOr(o, 'warmupSteps', 0));
  const totalSteps = checkPositiveIntegerOption('totalSteps', o.totalSteps);
  if (totalSteps <= warmupSteps) {
    throw new RangeError(`Expected \`totalSteps\` to be greater than \`warmupSteps\` (${warmupSteps}), got ${totalSteps}.`);
  }
  const minLr = checkNumber('minLr', optionOr(o, 'minLr', 0), { min: 0, max: lr, describe: `a number in [0, lr = ${lr}]` });
  return makeSchedule({ name: 'cosineWithWarmup', lr, warmupSteps, totalSteps, minLr }, ({ step }) => {
    if (step < warmupSteps) return (lr * (step + 1)) / (warmupSteps + 1);
    if (step >= totalSteps) return minLr;
    const progress = (step - warmupSteps) / (totalSteps - warmupSteps);
    return minLr + 0.5 * (1 + Math.cos(Math.PI * progress)) * (lr - minLr);
  });
}

/** Options of {@link reduceOnPlateau}: torch's ReduceLROnPlateau, mode 'min', relative threshold. */
export interface ReduceOnPlateauOptions {
  /** The starting learning rate, a positive finite number. */
  lr: number;
  /** Multiply by this when the loss has stalled, in (0, 1). Default 0.1. */
  factor?: number;
  /** Evaluations without improvement tolerated before reducing, an integer ≥ 0. Default 10. */
  patience?: number;
  /** An improvement is a loss below best · (1 − threshold); ≥ 0. Default 1e-4. */
  threshold?: number;
  /** Evaluations after a reduction during which stalls are not counted, an integer ≥ 0. Default 0. */
  cooldown?: number;
  /** The rate never goes below this, ≥ 0. Default 0. */
  minLr?: number;
}

/** The state of a {@link reduceOnPlateau} schedule, for a checkpoint (plain numbers; JSON-safe). */
export interface ReduceOnPlateauState {
  readonly lr: number;
  /** The best validation loss so far; null before the first evaluation. */
  readonly best: number | null;
  /** Evaluations since the last improvement (torch's num_bad_epochs). */
  readonly badEvaluations: number;
  /** Evaluations of cooldown left. */
  readonly cooldownLeft: number;
}

/** The schedule {@link reduceOnPlateau} returns: `step(valLoss)` after each evaluation. */
export interface PlateauSchedule extends Schedule {
  readonly name: 'reduceOnPlateau';
  /** The current learning rate (what `lrAt` returns, whatever the step). */
  readonly lr: number;
  /** Records one validation loss (finite); reduces the rate after `patience` stalls. Returns the new rate. */
  step(valLoss: number): number;
  toJSON(): ScheduleJSON;
  stateDict(): ReduceOnPlateauState;
  /** Restores a state; checks every field first and changes nothing on error. */
  loadStateDict(state: ReduceOnPlateauState): void;
}

// torch's ReduceLROnPlateau ignores a reduction smaller than this.
const PLATEAU_EPS = 1e-8;

class Plateau implements PlateauSchedule {
  readonly name = 'reduceOnPlateau';
  readonly #o: Readonly<Required<ReduceOnPlateauOptions>>;
  #lr: number;
  #best = Infinity;
  #bad = 0;
  #cooldownLeft = 0;

  constructor(o: Readonly<Required<ReduceOnPlateauOptions>>) {
    this.#o = o;
    this.#lr = o.lr;
  }

  get lr(): number {
    return this.#lr;
  }

  lrAt(): number {
    return this.#lr;
  }

  step(valLoss: number): number {
    checkNumber('valLoss', valLoss, { min: -Infinity, describe: 'a finite number' });
    const { factor, patience, threshold, cooldown, minLr } = this.#o;
    if (valLoss < this.#best * (1 - threshold)) {
      this.#best = valLoss;
      this.#bad = 0;
    } else {
      this.#bad++;
    }
    if (this.#cooldownLeft > 0) {
      this.#cooldownLeft--;
      this.#bad = 0;
    }
    if (this.#bad > patience) {
      const reduced = Math.max(this.#lr * factor, minLr);
      if (this.#lr - reduced > PLATEAU_EPS) this.#lr = reduced;
      this.#cooldownLeft = cooldown;
      this.#bad = 0;
    }
    return this.#lr;
  }

  toJSON(): ScheduleJSON {
    return Object.freeze({ name: this.name, ...this.#o });
  }

  stateDict(): ReduceOnPlateauState {
    const best = this.#best === Infinity ? null : this.#best;
    return { lr: this.#lr, best, badEvaluations: this.#bad, cooldownLeft: this.#cooldownLeft };
  }

  loadStateDict(state: ReduceOnPlateauState): void {
    if (typeof state !== 'object' || state === null) {
      throw new TypeError(`Expected \`state\` to be { lr, best, badEvaluations, cooldownLeft }, got ${show(state)}.`);
    }
    const lr = checkNumber('state.lr', state.lr, NON_NEGATIVE);
    if (state.best !== null) checkNumber('state.best', state.best, { min: -Infinity, describe: 'a finite number or null' });
    const bad = checkNonNegativeInteger('state.badEvaluations', state.badEvaluations);
    const left = checkNonNegativeInteger('state.cooldownLeft', state.cooldownLeft);
    this.#lr = lr;
    this.#best = state.best ?? Infinity;
    this.#bad = bad;
    this.#cooldownLeft = left;
  }
}

/**
 * Reduces the learning rate by `factor` when the validation loss has not improved (by the
 * relative `threshold`) for more than `patience` evaluations: torch's ReduceLROnPlateau with
 * mode 'min'. Call `step(valLoss)` after each evaluation; as a {@link Schedule} it returns the
 * current rate at any step.
 *
 * @example
 * const plateau = reduceOnPlateau({ lr: 2e-3, factor: 0.5, patience: 2 });
 * // after each evaluation:
 * plateau.step(valLoss);
 * optimizer.lr = plateau.lr;
 */
export function reduceOnPlateau(options: ReduceOnPlateauOptions): PlateauSchedule {
  const o = checkOptionKeys('reduceOnPlateau', options, ['lr', 'factor', 'patience', 'threshold', 'cooldown', 'minLr'],
    '{ lr: 2e-3, factor: 0.5, patience: 2 }');
  return new Plateau(Object.freeze({
    lr: checkNumber('lr', o.lr, POSITIVE),
    factor: checkNumber('factor', optionOr(o, 'factor', 0.1), OPEN_UNIT),
    patience: checkNonNegativeInteger('patience', optionOr(o, 'patience', 10)),
    threshold: checkNumber('threshold', optionOr(o, 'threshold', 1e-4), UNIT),
    cooldown: checkNonNegativeInteger('cooldown', optionOr(o, 'cooldown', 0)),
    minLr: checkNumber('minLr', optionOr(o, 'minLr', 0), NON_NEGATIVE),
  }));
}

function checkPositiveIntegerOption(name: string, value: unknown): number {
  const message = `Expected \`${name}\` to be a positive integer, got ${show(value)}.`;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(message);
  if (value <= 0) throw new RangeError(message);
  return value;
}

/**
 * Rebuilds a built-in schedule from its JSON description (`schedule.toJSON()`), checking the
 * options as its factory does. A plateau schedule comes back fresh: load its state separately.
 *
 * @example
 * const json = JSON.parse(JSON.stringify(stepDecay({ lr: 1, every: 5, factor: 0.5 })));
 * scheduleFromJSON(json).lrAt({ step: 0, epoch: 5 }); // 0.5
 */
export function scheduleFromJSON(json: ScheduleJSON): Schedule {
  if (typeof json !== 'object' || json === null) {
    throw new TypeError(`Expected \`json\` to be a schedule description { name, ...options }, got ${show(json)}.`);
  }
  const { name, ...options } = json as { name: unknown } & Record<string, unknown>;
  switch (name) {
    case 'constant': return constantLr(options as unknown as ConstantLrOptions);
    case 'stepDecay': return stepDecay(options as unknown as StepDecayOptions);
    case 'exponentialDecay': return exponentialDecay(options as unknown as ExponentialDecayOptions);
    case 'cosineWithWarmup': return cosineWithWarmup(options as unknown as CosineWithWarmupOptions);
    case 'reduceOnPlateau': return reduceOnPlateau(options as unknown as ReduceOnPlateauOptions);
    default:
      throw new RangeError(
        `Expected \`json.name\` to be one of constant, stepDecay, exponentialDecay, cosineWithWarmup, reduceOnPlateau, got ${show(name)}.`,
      );
  }
}
