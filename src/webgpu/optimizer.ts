import { OptimizerBase, optimizerInternals } from '../optim/optimizer.js';
import type { DeviceOptimizer, ParameterDevice, Trainable } from '../optim/params.js';
import { recordClip, type GpuClipOptions } from './clip.js';
import { restoreBufferIfWgsl } from './kernels/guard.js';
import type { GpuEngine, ReadRequest } from './gpu.js';
import { adamWgsl, clearSkipWgsl, rmspropWgsl, sgdWgsl } from './kernels/optim.js';

// The optimisers on the GPU: a webgpu model's parameters carry this device, and
// OptimizerBase.step() hands it the update (src/optim/optimizer.ts), which it records as one
// dispatch per parameter on the engine, with the optimiser's state in a GPU buffer of its own:
// buffer `name` of parameter k at element offsets[name][k] (name-major, parameters in order).
// The state goes up on the optimiser's first step and again after each loadStateDict (its
// version changed); `syncOptimizers` brings it back into the optimiser's own buffers.

/** Where a parameter's values and gradient are in the engine's mem (element indices). */
interface Place {
  readonly data: number;
  readonly grad: number;
  readonly length: number;
}

/** An optimiser's state on the GPU. */
interface GpuState {
  readonly places: readonly Place[];
  /** The options (fixed but for lr, which step passes). */
  readonly o: Readonly<Record<string, number | boolean | readonly number[]>>;
  readonly buffer: GPUBuffer | undefined; // undefined: no buffers (plain SGD)
  readonly offsets: Readonly<Record<string, readonly number[]>>;
  /** The optimiser's state version that the GPU holds. */
  version: number;
}

const SGD_KERNEL = sgdWgsl(), ADAM = adamWgsl(), RMSPROP = rmspropWgsl(), CLEAR_SKIP = clearSkipWgsl();
const RESTORE_BUFFER_IF = restoreBufferIfWgsl();

/** The webgpu model's parameter device (one per model). */
export class GpuParameterDevice implements ParameterDevice {
  readonly engine: GpuEngine;
  readonly #places = new Map<Trainable, Place>();
  /** Every optimiser that stepped here, with its GPU state (a Map: `syncOptimizers` visits them all). */
  readonly #states = new Map<OptimizerBase<{ readonly lr: number }>, GpuState>();
  // Reused arguments: recording a step allocates nothing.
  readonly #args: number[] = new Array<number>(16).fill(0);

  /** Per state buffer, its copy from before the latest step (`snapshot`). */
  readonly #snapshots = new Map<GPUBuffer, GPUBuffer>();

  constructor(engine: GpuEngine) {
    this.engine = engine;
  }

  /** Makes `p` known: its data at element `data` of mem, its gradient at `grad`. */
  register(p: Trainable, data: number, grad: number, length: number): void {
    this.#places.set(p, { data, grad, length });
  }

  /** Where `p` is, or undefined for a parameter of another model. */
  place(p: Trainable): Place | undefined {
    return this.#places.get(p);
  }

  /** The places of `params`, in order; a TypeError for a parameter of another model. */
  places(params: readonly Trainable[]): Place[] {
    return params.map((p, i) => {
      const place = this.#places.get(p);
      if (place === undefined) throw new TypeError(`Expected \`params[${i}]\` to be a parameter of this webgpu model, got one of another model.`);
      return place;
    });
  }

  /**
   * Records fit's clipping over the gradients of `params` (see `recordClip`): measures the
   * global norm, sets the skip flag that the next optimiser step obeys when the norm (or the
   * loss at `lossSlot`) is not finite, clamps and scales. Returns the aux slot of the norm
   * before clipping.
   *
   * @example
   * const slot = device.recordClip(model.parameters(), { clipNorm: 5, lossSlot });
   * optimizer.step();
   */
  recordClip(params: readonly Trainable[], options?: GpuClipOptions): number {
    return recordClip(this.engine, this.places(params), options);
  }

  /**
   * Records one step of `optimizer` (an SGD, Adam, AdamW or RMSprop of this model's parameters):
   * one dispatch per parameter, skipped on the GPU when the skip flag is set, then the flag is
   * cleared. Called by OptimizerBase.step() with the 1-based step `t` and the rate `lr`.
   */
  optimizerStep(optimizer: DeviceOptimizer, t: number, lr: number): void {
    if (!(optimizer instanceof OptimizerBase)) {
      throw new TypeError(`Expected an SGD, Adam, AdamW or RMSprop for parameters on the GPU, got ${String((optimizer as { name?: unknown }).name)}.`);
    }
    const state = this.#upload(optimizer);
    const { places, o, buffer } = state;
    const a = this.#args;
    const engine = this.engine;
    const at = (name: string, k: number): number => state.offsets[name]?.[k] ?? 0;
    for (let k = 0; k < places.length; k++) {
      const p = places[k]!;
      a[0] = p.data; a[1] = p.grad;
      switch (optimizer.name) {
        case 'sgd': {
          const momentum = o.momentum as number;
          a[2] = at('momentumBuffer', k); a[3] = p.length; a[4] = momentum > 0 ? 1 : 0; a[5] = o.nesterov === true ? 1 : 0;
          a[6] = t === 1 ? 1 : 0; a[7] = lr; a[8] = momentum; a[9] = o.weightDecay as number;
          engine.dispatch(SGD_KERNEL, a, buffer);
          break;
        }
        case 'adam': case 'adamw': {
          const [beta1, beta2] = o.betas as readonly [number, number];
          const wd = o.weightDecay as number, decoupled = optimizer.name === 'adamw';
          a[2] = at('expAvg', k); a[3] = at('expAvgSq', k); a[4] = p.length;
          a[5] = beta1; a[6] = 1 - beta1; a[7] = beta2; a[8] = 1 - beta2; a[9] = o.eps as number;
          a[10] = decoupled ? 0 : wd; a[11] = decoupled ? 1 - lr * wd : 1;
          a[12] = lr / (1 - beta1 ** t); a[13] = Math.sqrt(1 - beta2 ** t);
          engine.dispatch(ADAM, a, buffer);
          break;
        }
        case 'rmsprop': {
          const alpha = o.alpha as number, momentum = o.momentum as number;
          a[2] = at('squareAvg', k); a[3] = at('gradAvg', k); a[4] = at('momentumBuffer', k); a[5] = p.length;
          a[6] = o.centered === true ? 1 : 0; a[7] = momentum > 0 ? 1 : 0;
          a[8] = lr; a[9] = alpha; a[10] = 1 - alpha; a[11] = o.eps as number; a[12] = momentum; a[13] = o.weightDecay as number;
          engine.dispatch(RMSPROP, a, buffer);
          break;
        }
      }
    }
    engine.dispatch(CLEAR_SKIP, a);
    engine.hostStale = true;
  }

  /** The GPU state of `optimizer`, made on its first step and uploaded when its version changed. */
  #upload(optimizer: OptimizerBase<{ readonly lr: number }>): GpuState {
    const internals = optimizerInternals(optimizer);
    let state = this.#states.get(optimizer);
    if (state === undefined) {
      const places = this.places(optimizer.params);
      const o = optimizer.options as GpuState['o'];
      const names = Object.keys(internals.buffers);
      const total = places.reduce((s, p) => s + p.length, 0);
      const offsets: Record<string, number[]> = {};
      names.forEach((name, b) => {
        let at = b * total;
        offsets[name] = places.map((p) => (at += p.length) - p.length);
      });
      const buffer = names.length === 0 ? undefined : this.engine.createBuffer(names.length * total);
      state = { places, o, buffer, offsets, version: -1 };
      this.#states.set(optimizer, state);
    }
    if (state.version !== internals.version) {
      if (state.buffer !== undefined) {
        for (const [name, list] of Object.entries(internals.buffers)) {
          list.forEach((b, k) => this.engine.write(state.buffer!, state.offsets[name]![k]!, b instanceof Float32Array ? b : Float32Array.from(b)));
        }
      }
      state.version = internals.version;
    }
    return state;
  }

  /**
   * Records a copy of `optimizer`'s GPU state (before a step that may have to be undone; its
   * GPU state is made and uploaded first if this is its first step); `restoreIf` records
   * putting it back when a flag is set. Nothing to do for an optimiser without state (or
   * not one of the library's: its own step() runs on the host).
   */
  snapshot(optimizer: DeviceOptimizer): void {
    if (!(optimizer instanceof OptimizerBase)) return;
    const state = this.#upload(optimizer);
    if (state.buffer === undefined) return;
    const floats = state.buffer.size / 4;
    let copy = this.#snapshots.get(state.buffer);
    if (copy === undefined) this.#snapshots.set(state.buffer, copy = this.engine.createBuffer(floats));
    this.engine.copyBuffer(state.buffer, copy, floats);
  }

  /** Records putting back the state `snapshot` copied, on the GPU, when aux[flag] ≠ 0. */
  restoreIf(optimizer: DeviceOptimizer, flag: number): void {
    const state = this.#states.get(optimizer as OptimizerBase<{ readonly lr: number }>);
    const copy = state?.buffer === undefined ? undefined : this.#snapshots.get(state.buffer);
    if (copy === undefined) return;
    const a = this.#args;
    a[0] = flag;
    a[1] = state!.buffer!.size / 4;
    this.engine.dispatch(RESTORE_BUFFER_IF, a, state!.buffer!, copy);
  }

  /**
   * Waits for the recorded work, then copies every optimiser's GPU state back into its own
   * buffers, so that its `stateDict()` is current (`model.sync()` calls it). An optimiser whose
   * state was loaded since its last step keeps the loaded state (the GPU's is older).
   *
   * @example
   * adam.step();
   * await device.syncOptimizers();
   * adam.stateDict().buffers.expAvg; // the GPU's m
   */
  async syncOptimizers(): Promise<void> {
    const requests: ReadRequest[] = [];
    for (const [optimizer, state] of this.#states) {
      const internals = optimizerInternals(optimizer);
      if (state.buffer === undefined || state.version !== internals.version) continue;
      for (const [name, list] of Object.entries(internals.buffers)) {
        list.forEach((b, k) => requests.push({ buffer: state.buffer, at: state.offsets[name]![k]!, length: b.length, into: b }));
      }
    }
    if (requests.length > 0) await this.engine.read(requests);
  }
}
