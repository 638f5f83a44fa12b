// The divergence guard: a copy of the weights and of the optimiser's state from before the
// latest update, put back when training produces a non-finite loss, gradient or weight.
import type { LSTMLanguageModel } from '../lstm/model.js';
import type { OptimizerStateDict } from '../optim/optimizer.js';
import type { FloatArray } from '../tensor/float-array.js';

/** What the training loops need of an optimiser: `step()`; the rest is used when present. */
export interface Optimizer {
  step(): void;
  /** Settable when a schedule drives it. */
  lr?: number;
  /** Present on the library's optimisers: lets the guard and exact resume restore moment buffers. */
  stateDict?(into?: OptimizerStateDict): OptimizerStateDict;
  loadStateDict?(state: OptimizerStateDict): void;
}

/** Thrown when a loss or gradient becomes NaN or infinite; the model keeps its last good weights. */
export class TrainingDivergedError extends Error {
  override readonly name = 'TrainingDivergedError';
}

/**
 * Keeps (weights, optimiser state) from before the latest update. `save()` before each update
 * copies the weights into one array made once, and the optimiser's state into the buffers of
 * one `stateDict()` made once (`stateDict(into)`): nothing is allocated per step (for Adam on a
 * 2×512 model the copies are about 26 MB and a few milliseconds, under 1% of the step). `restore()` puts both back, so a diverged run can continue
 * with a smaller learning rate from a consistent point.
 */
export class DivergenceGuard {
  readonly #model: LSTMLanguageModel;
  readonly #optimizer: Optimizer;
  readonly #weights: FloatArray;
  #optimizerState: OptimizerStateDict | undefined;

  constructor(model: LSTMLanguageModel, optimizer: Optimizer) {
    this.#model = model;
    this.#optimizer = optimizer;
    this.#weights = model.flatParameters.slice();
    // Both halves or neither: a state saved without a way to load it back would make restore()
    // throw at the very moment it is needed (as fit's exact resume checks both too).
    const restorable = typeof optimizer.stateDict === 'function' && typeof optimizer.loadStateDict === 'function';
    this.#optimizerState = restorable ? optimizer.stateDict!() : undefined;
  }

  /** Records the current weights and optimiser state as the last good ones. */
  save(): void {
    this.#weights.set(this.#model.flatParameters); // read again: a wasm memory may have grown
    if (this.#optimizerState !== undefined) this.#optimizerState = this.#optimizer.stateDict!(this.#optimizerState);
  }

  /** Puts the last good weights and optimiser state back and zeroes the gradients. */
  restore(): void {
    this.#model.flatParameters.set(this.#weights);
    if (this.#optimizerState !== undefined) this.#optimizer.loadStateDict!(this.#optimizerState);
    this.#model.zeroGrad();
  }
}

export { allFinite } from '../tensor/float-array.js';
