import type { LSTMState } from '../lstm/inputs.js';
import type { Workspace } from '../lstm/workspace.js';
import { OptimizerBase, optimizerInternals } from '../optim/optimizer.js';
import type { DeviceOptimizer } from '../optim/params.js';
import { GpuEngine, type ReadRequest } from './gpu.js';
import { clearSlotWgsl, haltAfterWgsl, haltBeforeWgsl, nonFiniteWgsl, restoreIfWgsl } from './kernels/guard.js';
import { SKIP_SLOT } from './kernels/optim.js';
import type { GpuParameterDevice } from './optimizer.js';

// What a webgpu model keeps between its asynchronous calls, so that calls can be queued one
// after another without waiting for each other's results:
// - the carried state: every call copies its final state into a carry buffer on the GPU; a
//   later call given the same state object while that read is still in flight starts from the
//   carry buffer instead of the (not yet written) host arrays;
// - a training step's guard: the weights and the optimiser's state are copied before the
//   update, checked after it, and put back on the GPU when a weight went non-finite, before
//   anything queued later runs.

/** The aux result slot where a training step leaves "some weight is not finite". */
const WEIGHTS_SLOT = 35;
/**
 * The aux slot that is 1 from a step that did not happen (refused or undone) until the host
 * has read that step's result: steps queued meanwhile are skipped, so the weights stay those
 * from before it, as when the steps are awaited one by one.
 */
const HALT_SLOT = 36;
/** The aux slot that says the step was skipped for an earlier one (the halt flag before it). */
const PRIOR_SLOT = 37;
const NON_FINITE = nonFiniteWgsl(), RESTORE_IF = restoreIfWgsl();
const HALT_BEFORE = haltBeforeWgsl(), HALT_AFTER = haltAfterWgsl(), CLEAR = clearSlotWgsl();

/** The GPU side of a webgpu model's calls. */
export class GpuCalls {
  readonly #engine: GpuEngine;
  readonly #device: GpuParameterDevice;
  readonly #numLayers: number;
  readonly #numHiddens: number;
  /** The final state of the latest call, [h of every layer | c of every layer]. */
  #carry: { state: LSTMState; buffer: GPUBuffer } | undefined;
  /** States whose final values are still to be read back, with how many reads. */
  readonly #inFlight = new Map<LSTMState, number>();
  /** Calls that read a final state, numbered; and per state, the newest whose read has landed. */
  #seq = 0;
  readonly #landed = new WeakMap<LSTMState, number>();
  /** Whether the call being recorded starts from the carry buffer (set by `prepareState`). */
  #fromCarry = false;
  /** The weights before the latest step. */
  #snapshot: GPUBuffer | undefined;

  constructor(engine: GpuEngine, device: GpuParameterDevice, numLayers: number, numHiddens: number) {
    this.#engine = engine;
    this.#device = device;
    this.#numLayers = numLayers;
    this.#numHiddens = numHiddens;
  }

  /**
   * Where a call's starting state comes from — the carry buffer when `st` is the state the
   * latest call is still computing, else its host arrays. A state in flight that another call
   * has since replaced as the carried one cannot be started from: a clear Error, before
   * anything changes.
   */
  prepareState(st: LSTMState): void {
    this.#fromCarry = false;
    if (!this.#inFlight.has(st)) return;
    if (this.#carry?.state !== st) {
      throw new Error('Expected a state that no other call is computing: this one is still in flight from an earlier call. Await that call first.');
    }
    this.#fromCarry = true;
  }

  /**
   * Records copying the carried state into the workspace's hs[0], cs[0] when the call starts
   * from it (returns true); else returns false and the caller uploads the host arrays.
   */
  startFromCarry(ws: Workspace): boolean {
    const carry = this.#fromCarry ? this.#carry : undefined;
    this.#fromCarry = false;
    if (carry === undefined) return false;
    const n = ws.B * this.#numHiddens, L = this.#numLayers;
    ws.layers.forEach((lw, l) => {
      this.#engine.copy(carry.buffer, l * n, GpuEngine.at(lw.hs), n, false);
      this.#engine.copy(carry.buffer, (L + l) * n, GpuEngine.at(lw.cs), n, false);
    });
    return true;
  }

  /**
   * Records copying the call's final state into the carry buffer, then reads `extra` and the
   * final state, which goes into `st` unless a later call's has landed there first: reads of
   * queued calls can land out of order (Dawn delivers mapAsync completions that finish
   * together in no fixed order), and a stale final state must not overwrite a newer one.
   * Until the read lands, `st` is in flight.
   */
  async read(ws: Workspace, st: LSTMState, extra: ReadRequest[]): Promise<void> {
    const engine = this.#engine;
    const n = ws.B * this.#numHiddens, L = this.#numLayers, last = ws.T * n;
    if (this.#carry === undefined || this.#carry.buffer.size < 4 * 2 * L * n) {
      this.#carry = { state: st, buffer: engine.createBuffer(2 * L * n) };
    }
    const carry = this.#carry;
    carry.state = st;
    const final = new Float32Array(2 * L * n); // [h of every layer | c of every layer]
    const reads = [...extra];
    ws.layers.forEach((lw, l) => {
      engine.copy(carry.buffer, l * n, GpuEngine.at(lw.hs) + last, n, true);
      engine.copy(carry.buffer, (L + l) * n, GpuEngine.at(lw.cs) + last, n, true);
      reads.push(
        { at: GpuEngine.at(lw.hs) + last, length: n, into: final, offset: l * n },
        { at: GpuEngine.at(lw.cs) + last, length: n, into: final, offset: (L + l) * n },
      );
    });
    const seq = ++this.#seq;
    this.#inFlight.set(st, (this.#inFlight.get(st) ?? 0) + 1);
    try {
      await engine.read(reads);
      if (seq > (this.#landed.get(st) ?? 0)) {
        this.#landed.set(st, seq);
        st.h.set(final.subarray(0, L * n));
        st.c.set(final.subarray(L * n));
      }
    } finally {
      const left = this.#inFlight.get(st)! - 1;
      if (left === 0) this.#inFlight.delete(st);
      else this.#inFlight.set(st, left);
    }
  }

  /**
   * Records `step` (an optimiser's update of the `count` weights at element `at`) guarded:
   * skipped when an earlier step did not happen and its result is unread (the halt flag) or
   * when clipping refused it (the skip flag); the weights and the optimiser's state copied
   * before it, checked after it, and put back on the GPU when a weight went non-finite.
   * Returns the aux slots to read with the step's results: `halt`, 0 when the step happened,
   * and `prior`, 1 when it was skipped for an earlier step (which then holds the halt).
   */
  guardedStep(at: number, count: number, optimizer: DeviceOptimizer, step: () => void): { halt: number; prior: number } {
    const engine = this.#engine;
    engine.dispatch(HALT_BEFORE, [SKIP_SLOT, HALT_SLOT, PRIOR_SLOT]);
    this.#snapshot ??= engine.createBuffer(count);
    engine.copy(this.#snapshot, 0, at, count, true);
    this.#device.snapshot(optimizer);
    step();
    engine.dispatch(NON_FINITE, [WEIGHTS_SLOT, at, count]);
    engine.dispatch(RESTORE_IF, [WEIGHTS_SLOT, at, count], this.#snapshot);
    this.#device.restoreIf(optimizer, WEIGHTS_SLOT);
    engine.dispatch(HALT_AFTER, [HALT_SLOT, WEIGHTS_SLOT]);
    return { halt: HALT_SLOT, prior: PRIOR_SLOT };
  }

  /**
   * The host has read the step that did not happen and halted the ones after it: steps queued
   * from now on run again (those queued before stay skipped).
   */
  resume(): void {
    this.#engine.dispatch(CLEAR, [HALT_SLOT]);
    this.#engine.flush();
  }

  /** A step refused or undone on the GPU: the optimiser's host step count takes it back. */
  static uncount(optimizer: unknown): void {
    if (optimizer instanceof OptimizerBase) optimizerInternals(optimizer).uncount();
  }
}
