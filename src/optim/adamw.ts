import { AdamFamily, type AdamOptions } from './adam.js';
import type { Trainable } from './params.js';

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
export class AdamW extends AdamFamily {
  readonly name = 'adamw';

  constructor(params: readonly Trainable[], options: AdamOptions = {}) {
    super(params, options, 'AdamW', 1e-2);
  }
}
