import { checkTrainables, type Trainable } from './params.js';

/** Options of {@link SGD}. */
export interface SGDOptions {
  /** Learning rate, a positive finite number. The seed uses 1. */
  lr: number;
}

function checkLr(lr: unknown): number {
  if (typeof lr !== 'number') throw new TypeError(`Expected \`lr\` to be a positive number, got ${String(lr)}.`);
  if (!(lr > 0) || !Number.isFinite(lr)) {
    throw new RangeError(`Expected \`lr\` to be a positive finite number, got ${String(lr)}.`);
  }
  return lr;
}

/**
 * Plain stochastic gradient descent: `step()` does data −= lr · grad for every parameter.
 * It does not zero the gradients (call `model.zeroGrad()`).
 *
 * @example
 * const sgd = new SGD(model.parameters(), { lr: 1 });
 * model.zeroGrad();
 * model.forwardBackward(X, Y, state);
 * clipGradNorm(model.parameters(), 1);
 * sgd.step();
 */
export class SGD {
  readonly params: readonly Trainable[];
  #lr: number;

  constructor(params: readonly Trainable[], options: SGDOptions) {
    checkTrainables(params);
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`Expected \`options\` to be an object like { lr: 1 }, got ${String(options)}.`);
    }
    this.#lr = checkLr(options.lr);
    this.params = [...params];
  }

  /** The learning rate; assigning a non-positive or non-finite value throws and keeps the old one. */
  get lr(): number {
    return this.#lr;
  }

  set lr(value: number) {
    this.#lr = checkLr(value);
  }

  /** One update: data −= lr · grad. */
  step(): void {
    const lr = this.#lr;
    for (const { data, grad } of this.params) {
      for (let i = 0; i < data.length; i++) data[i]! -= lr * grad[i]!;
    }
  }
}
