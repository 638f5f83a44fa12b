import type { DeviceOptimizer, ParameterDevice, Trainable } from '../optim/params.js';
import type { GpuEngine } from './gpu.js';

// The optimisers on the GPU: a webgpu model's parameters carry this device, and
// OptimizerBase.step() hands it the update (src/optim/optimizer.ts), which it records as one
// dispatch per parameter on the engine, with the optimiser's state in a GPU buffer of its own.

/** Where a parameter's values and gradient are in the engine's mem (element indices). */
interface Place {
  readonly data: number;
  readonly grad: number;
  readonly length: number;
}

/** The webgpu model's parameter device (one per model). */
export class GpuParameterDevice implements ParameterDevice {
  readonly engine: GpuEngine;
  readonly #places = new Map<Trainable, Place>();

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

  optimizerStep(optimizer: DeviceOptimizer, t: number, lr: number): void {
    void optimizer; void t; void lr;
    throw new Error('not yet: the GPU optimisers are being written');
  }
}
