import type { FloatArray } from '../tensor/float-array.js';
import { OptimizerBase } from './optimizer.js';
import { NON_NEGATIVE, POSITIVE, UNIT, checkBoolean, checkInitialLr, checkNumber, checkOptionKeys, optionOr } from './options.js';
import { checkTrainables, type Trainable } from './params.js';

/** Options of {@link RMSprop}, torch.optim.RMSprop's. */
export interface RMSpropOptions {
  /** Learning rate, a positive finite number. Default 1e-2 (char-rnn uses 2e-3). */
  lr?: number;
  /** Decay rate of the squared-gradient average, in [0, 1). Default 0.99 (char-rnn: 0.95). */
  alpha?: number;
  /** Added to the denominator √v + eps, > 0. Default 1e-8. */
  eps?: number;
  /** Momentum factor in [0, 1). Default 0. */
  momentum?: number;
  /** Divide by the estimated variance √(v − ḡ²) instead of √v. Default false. */
  centered?: boolean;
  /** L2 penalty added to the gradient, wd·data, ≥ 0. Default 0. */
  weightDecay?: number;
}

const KEYS = ['lr', 'alpha', 'eps', 'momentum', 'centered', 'weightDecay'] as const;

/**
 * One parameter's RMSprop update (torch.optim.RMSprop's single-tensor path):
 *   g = grad + wd·data
 *   v = α·v + (1 − α)·g²;  ḡ = α·ḡ + (1 − α)·g              (ḡ only when centered)
 *   r = √v + eps, or √(v − ḡ²) + eps when centered
 *   buf = momentum·buf + g / r; data −= lr·buf             (when momentum > 0)
 *   data −= lr · g / r                                     (otherwise)
 */
function rmspropUpdate(
  data: FloatArray, v: FloatArray, gAvg: FloatArray | undefined, buf: FloatArray | undefined, grad: FloatArray,
  lr: number, alpha: number, eps: number, momentum: number, wd: number,
): void {
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const g = wd === 0 ? grad[i]! : grad[i]! + wd * data[i]!;
    const vi = alpha * v[i]! + (1 - alpha) * g * g;
    v[i] = vi;
    let r: number;
    if (gAvg === undefined) {
      r = Math.sqrt(vi) + eps;
    } else {
      const gi = alpha * gAvg[i]! + (1 - alpha) * g;
      gAvg[i] = gi;
      r = Math.sqrt(vi - gi * gi) + eps;
    }
    if (buf === undefined) {
      data[i]! -= lr * (g / r);
    } else {
      const b = momentum * buf[i]! + g / r;
      buf[i] = b;
      data[i]! -= lr * b;
    }
  }
}

/**
 * RMSprop, as torch.optim.RMSprop: divides the gradient by a running root mean square, with
 * optional momentum, centring and L2 weight decay. Buffers `squareAvg`, plus `gradAvg` when
 * centered and `momentumBuffer` when momentum > 0, each starting at zero.
 *
 * @example
 * // char-rnn's settings
 * const rmsprop = new RMSprop(model.parameters(), { lr: 2e-3, alpha: 0.95 });
 * model.zeroGrad();
 * model.forwardBackward(X, Y, state);
 * clipGradValue(model.parameters(), 5);
 * rmsprop.step();
 */
export class RMSprop extends OptimizerBase<Readonly<Required<RMSpropOptions>>> {
  readonly name = 'rmsprop';
  readonly #o: Readonly<Required<RMSpropOptions>>;

  constructor(params: readonly Trainable[], options: RMSpropOptions = {}) {
    checkTrainables(params);
    const o = checkOptionKeys('RMSprop', options, KEYS, '{ lr: 2e-3, alpha: 0.95 }');
    const resolved = {
      lr: checkInitialLr(optionOr(o, 'lr', 1e-2)),
      alpha: checkNumber('alpha', optionOr(o, 'alpha', 0.99), UNIT),
      eps: checkNumber('eps', optionOr(o, 'eps', 1e-8), POSITIVE),
      momentum: checkNumber('momentum', optionOr(o, 'momentum', 0), UNIT),
      centered: checkBoolean('centered', optionOr(o, 'centered', false)),
      weightDecay: checkNumber('weightDecay', optionOr(o, 'weightDecay', 0), NON_NEGATIVE),
    };
    const names = ['squareAvg'];
    if (resolved.centered) names.push('gradAvg');
    if (resolved.momentum > 0) names.push('momentumBuffer');
    super(params, resolved.lr, names);
    this.#o = resolved;
  }

  get options(): Readonly<Required<RMSpropOptions>> {
    return Object.freeze({ ...this.#o, lr: this.lr });
  }

  protected update(_t: number, lr: number): void {
    const { alpha, eps, momentum, centered, weightDecay } = this.#o;
    const v = this.buffers('squareAvg');
    const gAvg = centered ? this.buffers('gradAvg') : undefined;
    const bufs = momentum > 0 ? this.buffers('momentumBuffer') : undefined;
    for (let k = 0; k < this.params.length; k++) {
      const { data, grad } = this.params[k]!;
      rmspropUpdate(data, v[k]!, gAvg?.[k], bufs?.[k], grad, lr, alpha, eps, momentum, weightDecay);
    }
  }
}
