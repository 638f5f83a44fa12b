import { type AdamOptions, type ResolvedAdamOptions, adamUpdate, resolveAdamOptions } from './adam.js';
import { OptimizerBase } from './optimizer.js';
import { checkTrainables, type Trainable } from './params.js';

/**
 * AdamW, as torch.optim.AdamW: Adam with decoupled weight decay — each step first multiplies
 * the weights by 1 − lr·weightDecay, and the gradient is used as is. Default weightDecay 1e-2
 * (torch's); other options and buffers as {@link Adam}.
 *
 * @example
 * const adamw = new AdamW(model.parameters(), { lr: 2e-3, weightDecay: 0.1 });
 * model.zeroGrad();
 * model.forwardBackward(X, Y, state);
 * adamw.step();
 */
export class AdamW extends OptimizerBase<ResolvedAdamOptions> {
  readonly name = 'adamw';
  readonly #o: ResolvedAdamOptions;

  constructor(params: readonly Trainable[], options: AdamOptions = {}) {
    checkTrainables(params);
    const o = resolveAdamOptions('AdamW', options, 1e-2);
    super(params, o.lr, ['expAvg', 'expAvgSq']);
    this.#o = o;
  }

  get options(): ResolvedAdamOptions {
    return Object.freeze({ ...this.#o, lr: this.lr });
  }

  protected update(t: number, lr: number): void {
    const { betas, eps, weightDecay } = this.#o;
    const beta1 = betas[0], beta2 = betas[1]; // (array destructuring would make an iterator per step)
    const m = this.buffers('expAvg'), v = this.buffers('expAvgSq');
    const decay = 1 - lr * weightDecay;
    for (let k = 0; k < this.params.length; k++) {
      const { data, grad } = this.params[k]!;
      adamUpdate(data, m[k]!, v[k]!, grad, lr, beta1, beta2, eps, 0, decay, t);
    }
  }
}
