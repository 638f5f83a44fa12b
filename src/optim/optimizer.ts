// What every optimiser shares: the parameter list, the learning rate, the step count, the
// per-parameter buffers (allocated once, here, so that step() allocates nothing), and the
// state dict that a checkpoint stores.
import { show } from '../checks.js';
import type { FloatArray } from '../tensor/float-array.js';
import { checkAssignedLr } from './options.js';
import type { ParameterDevice, Trainable } from './params.js';

/** The optimisers' names, as a checkpoint records them. */
export type OptimizerName = 'sgd' | 'adam' | 'adamw' | 'rmsprop';

/**
 * An optimiser's state, as `stateDict()` returns it and `loadStateDict()` takes it: copies,
 * never views of the live buffers.
 * - `step`: the number of steps taken (Adam's bias correction and SGD's first momentum step
 *   depend on it).
 * - `lr`: the current learning rate (a schedule may have changed it since construction).
 * - `buffers`: for each buffer name (`momentumBuffer`, `expAvg`, `expAvgSq`, `squareAvg`,
 *   `gradAvg`, as torch's `momentum_buffer`, `exp_avg`, …), one array per parameter, of the
 *   parameter's type and length. Which names appear depends on the options (SGD without
 *   momentum has none).
 */
export interface OptimizerStateDict {
  readonly name: OptimizerName;
  readonly step: number;
  readonly lr: number;
  readonly buffers: Readonly<Record<string, readonly FloatArray[]>>;
}

/**
 * What a {@link ParameterDevice} needs beyond the public API: the live buffers (by name, one per
 * parameter) and the state version, which `loadStateDict` increments. Not a public export of the
 * package: the webgpu backend's GpuParameterDevice uploads the buffers when the version changed
 * and reads its GPU copy back into them (so that `stateDict()` is right after `model.sync()`).
 */
export let optimizerInternals: (optimizer: OptimizerBase<{ readonly lr: number }>) => {
  readonly version: number;
  readonly buffers: Readonly<Record<string, readonly FloatArray[]>>;
  /** Takes back the latest step's count (a step the device refused or undid). */
  readonly uncount: () => void;
};

/**
 * The device every parameter is on, or undefined when they are all on the host; a TypeError,
 * at construction, for a list that mixes them.
 */
function deviceOf(params: readonly Trainable[]): ParameterDevice | undefined {
  const device = params[0]?.device;
  for (let i = 1; i < params.length; i++) {
    if (params[i]!.device !== device) {
      throw new TypeError(
        `Expected every parameter of one optimiser on the same device (one model's), got params[0] ${device === undefined ? 'on the host' : 'on a device'} and params[${i}] ${params[i]!.device === undefined ? 'on the host' : 'on another device'}.`,
      );
    }
  }
  return device;
}

const like = (a: FloatArray): FloatArray => (a instanceof Float32Array ? new Float32Array(a.length) : new Float64Array(a.length));

/**
 * The base of {@link SGD}, {@link Adam}, {@link AdamW} and {@link RMSprop}. A subclass checks
 * its options before calling `super`, names its buffers, and implements `update(t, lr)`, one
 * step with t the 1-based step number.
 *
 * @example
 * // Save and resume: the same options, the state dict, and the parameters' values.
 * const saved = { name: adam.name, options: adam.options, state: adam.stateDict() };
 * const resumed = new Adam(model.parameters(), saved.options);
 * resumed.loadStateDict(saved.state);
 */
export abstract class OptimizerBase<Options extends { readonly lr: number }> {
  /** Which optimiser this is, as a checkpoint records it. */
  abstract readonly name: OptimizerName;
  /** The parameters it updates (a copy of the list given; the arrays themselves are shared). */
  readonly params: readonly Trainable[];
  #lr: number;
  #step = 0;
  readonly #buffers: Readonly<Record<string, readonly FloatArray[]>>;
  #version = 0;
  /** The parameters' device (the webgpu backend's GPU), or undefined for host parameters. */
  readonly #device: ParameterDevice | undefined;

  static {
    optimizerInternals = (o) => ({ version: o.#version, buffers: o.#buffers, uncount: () => { if (o.#step > 0) o.#step--; } });
  }

  /** `params` and `lr` must already be checked. Buffers start at zero. */
  protected constructor(params: readonly Trainable[], lr: number, bufferNames: readonly string[]) {
    this.params = [...params];
    this.#device = deviceOf(this.params);
    this.#lr = lr;
    const buffers: Record<string, readonly FloatArray[]> = {};
    for (const name of bufferNames) buffers[name] = this.params.map((p) => like(p.data));
    this.#buffers = buffers;
  }

  /**
   * The learning rate used by the next `step()`. Assigning a negative or non-finite value
   * throws a RangeError and keeps the old one; 0 is allowed (a schedule may reach it).
   */
  get lr(): number {
    return this.#lr;
  }

  set lr(value: number) {
    this.#lr = checkAssignedLr(value);
  }

  /** The number of steps taken. */
  get stepCount(): number {
    return this.#step;
  }

  /**
   * The resolved options, with the current `lr`: a frozen, JSON-serialisable object from which
   * `new (the same class)(params, options)` builds the same optimiser.
   */
  abstract get options(): Options;

  /**
   * One update of every parameter from its current gradient. It does not zero the gradients.
   * Parameters on a device (the webgpu backend) are updated there: the device records the
   * update, and their host copies change only on `await model.sync()`.
   */
  step(): void {
    const device = this.#device;
    const t = this.#step + 1;
    if (device === undefined) {
      this.#step = t;
      this.update(t, this.#lr);
    } else {
      device.optimizerStep(this, t, this.#lr); // the count moves only once it has recorded
      this.#step = t;
    }
  }

  /** One update; `t` is the 1-based number of this step. */
  protected abstract update(t: number, lr: number): void;

  /** The buffers named `name`, one per parameter. */
  protected buffers(name: string): readonly FloatArray[] {
    return this.#buffers[name]!;
  }

  /**
   * A copy of the step count, learning rate and buffers (see {@link OptimizerStateDict}).
   * Given `into` — an earlier state dict of this optimiser — the buffers are copied into its
   * arrays instead of new ones, so that a caller saving the state every step (the divergence
   * guard) allocates nothing per step; anything else in `into` is not read.
   */
  stateDict(into?: OptimizerStateDict): OptimizerStateDict {
    if (into !== undefined && this.#fits(into)) {
      for (const [name, list] of Object.entries(this.#buffers)) list.forEach((b, i) => into.buffers[name]![i]!.set(b));
      return { name: this.name, step: this.#step, lr: this.#lr, buffers: into.buffers };
    }
    const buffers: Record<string, FloatArray[]> = {};
    for (const [name, list] of Object.entries(this.#buffers)) buffers[name] = list.map((b) => b.slice());
    return { name: this.name, step: this.#step, lr: this.#lr, buffers };
  }

  /** Whether `state`'s buffers have this optimiser's names, counts, types and lengths. */
  #fits(state: OptimizerStateDict): boolean {
    const own = Object.entries(this.#buffers);
    if (typeof state.buffers !== 'object' || state.buffers === null || Object.keys(state.buffers).length !== own.length) return false;
    return own.every(([name, list]) => {
      const other = state.buffers[name];
      return Array.isArray(other) && other.length === list.length &&
        list.every((b, i) => other[i]?.constructor === b.constructor && other[i]!.length === b.length);
    });
  }

  /**
   * Restores a state from {@link stateDict}, copying it in. Everything is checked first — the
   * name, the step count, the lr, the buffer names, and each buffer's type, length and
   * finiteness — and on any mismatch it throws (naming the field) with nothing changed.
   */
  loadStateDict(state: OptimizerStateDict): void {
    if (typeof state !== 'object' || state === null) {
      throw new TypeError(`Expected \`state\` to be an optimiser state dict ({ name, step, lr, buffers }), got ${show(state)}.`);
    }
    if (state.name !== this.name) {
      throw new RangeError(`Expected \`state.name\` to be ${show(this.name)} (this optimiser), got ${show(state.name)}.`);
    }
    const { step, lr, buffers } = state;
    if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) {
      const Err = typeof step === 'number' ? RangeError : TypeError;
      throw new Err(`Expected \`state.step\` to be a non-negative integer, got ${show(step)}.`);
    }
    if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) {
      const Err = typeof lr === 'number' ? RangeError : TypeError;
      throw new Err(`Expected \`state.lr\` to be a non-negative finite number, got ${show(lr)}.`);
    }
    if (typeof buffers !== 'object' || buffers === null) {
      throw new TypeError(`Expected \`state.buffers\` to be an object, got ${show(buffers)}.`);
    }
    const expected = Object.keys(this.#buffers);
    const given = Object.keys(buffers);
    const missing = expected.filter((k) => !given.includes(k));
    const extra = given.filter((k) => !expected.includes(k));
    if (missing.length > 0 || extra.length > 0) {
      throw new RangeError(
        `Expected \`state.buffers\` to hold exactly [${expected.join(', ')}] (from this optimiser's options), got [${given.join(', ')}].`,
      );
    }
    for (const name of expected) {
      const list: unknown = buffers[name];
      const where = `state.buffers.${name}`;
      if (!Array.isArray(list) || list.length !== this.params.length) {
        throw new RangeError(`Expected \`${where}\` to be an array of ${this.params.length} arrays (one per parameter), got ${show(list)}.`);
      }
      list.forEach((b: unknown, i) => {
        const data = this.params[i]!.data;
        const type = data instanceof Float32Array ? Float32Array : Float64Array;
        if (!(b instanceof type)) {
          throw new TypeError(`Expected \`${where}[${i}]\` to be a ${type.name} (as params[${i}].data), got ${show(b)}.`);
        }
        if (b.length !== data.length) {
          throw new RangeError(`Expected \`${where}[${i}]\` to have length ${data.length} (as params[${i}].data), got ${b.length}.`);
        }
        for (let j = 0; j < b.length; j++) {
          if (!Number.isFinite(b[j]!)) {
            throw new RangeError(`Expected \`${where}[${i}]\` to be finite, got ${show(b[j])} at index ${j}.`);
          }
        }
      });
    }
    this.#step = step;
    this.#lr = lr;
    this.#version++;
    for (const name of expected) {
      const target = this.#buffers[name]!;
      const source = buffers[name]!;
      for (let i = 0; i < target.length; i++) target[i]!.set(source[i]!);
    }
  }
}
