import type { FloatArray } from '../tensor/float-array.js';
import { OptimizerBase } from './optimizer.js';
import { NON_NEGATIVE, UNIT, checkBoolean, checkInitialLr, checkNumber, checkOptionKeys, optionOr } from './options.js';
import { checkTrainables, type Trainable } from './params.js';

/** Options of {@link SGD}, torch.optim.SGD's (dampening is always 0). */
export interface SGDOptions {
  /** Learning rate, a positive finite number. The seed uses 1. */
  lr: number;
  /** Momentum factor in [0, 1). Default 0 (plain SGD). */
  momentum?: number;
  /** Nesterov momentum (needs `momentum` > 0). Default false. */
  nesterov?: boolean;
  /** L2 penalty added to the gradient, wd·data, ≥ 0. Default 0. */
  weightDecay?: number;
}

const KEYS = ['lr', 'momentum', 'nesterov', 'weightDecay'] as const;

/**
 * One parameter's SGD update (torch.optim.SGD with dampening 0), t the 1-based step:
 *   d = grad + wd·data
 *   buf = d on the first step, momentum·buf + d after        (when momentum > 0)
 *   d = d + momentum·buf (Nesterov) or buf
 *   data −= lr·d
 */
function sgdUpdate(
  data: FloatArray, buf: FloatArray | undefined, grad: FloatArray,
  lr: number, momentum: number, nesterov: boolean, wd: number, t: number,
): void {
  const n = data.length;
  if (buf === undefined) {
    if (wd === 0) for (let i = 0; i < n; i++) data[i]! -= lr * grad[i]!;
    else for (let i = 0; i < n; i++) data[i]! -= lr * (grad[i]! + wd * data[i]!);
    return;
  }
  for (let i = 0; i < n; i++) {
    const d = wd === 0 ? grad[i]! : grad[i]! + wd * data[i]!;
    const b = t === 1 ? d : momentum * buf[i]! + d;
    buf[i] = b;
    data[i]! -= lr * (nesterov ? d + momentum * b : b);
  }
}

/**
 * Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay,
 * as torch.optim.SGD (dampening 0; the momentum buffer starts as the first step's gradient).
 * With only `lr`, `step()` does data −= lr · grad. It does not zero the gradients (call
 * `model.zeroGrad()`).
 *
 * @example
 * const sgd = new SGD(model.parameters(), { lr: 1 });
 * model.zeroGrad();
 * model.forwardBackward(X, Y, state);
 * clipGradNorm(model.parameters(), 1);
 * sgd.step();
 * // With momentum: new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true })
 */
export class SGD extends OptimizerBase<Readonly<Required<SGDOptions>>> {
  readonly name = 'sgd';
  readonly #momentum: number;
  readonly #nesterov: boolean;
  readonly #weightDecay: number;

  constructor(params: readonly Trainable[], options: SGDOptions) {
    checkTrainables(params);
    const o = checkOptionKeys('SGD', options, KEYS, '{ lr: 1 }');
    const lr = checkInitialLr(o.lr);
    const momentum = checkNumber('momentum', optionOr(o, 'momentum', 0), UNIT);
    const nesterov = checkBoolean('nesterov', optionOr(o, 'nesterov', false));
    const weightDecay = checkNumber('weightDecay', optionOr(o, 'weightDecay', 0), NON_NEGATIVE);
    if (nesterov && momentum === 0) {
      throw new RangeError('Expected `momentum` to be > 0 with `nesterov: true`, got 0.');
    }
    super(params, lr, momentum > 0 ? ['momentumBuffer'] : []);
    this.#momentum = momentum;
    this.#nesterov = nesterov;
    this.#weightDecay = weightDecay;
  }

  get options(): Readonly<Required<SGDOptions>> {
    return Object.freeze({ lr: this.lr, momentum: this.#momentum, nesterov: this.#nesterov, weightDecay: this.#weightDecay });
  }

  protected update(t: number, lr: number): void {
    const { params } = this;
    const bufs = this.#momentum > 0 ? this.buffers('momentumBuffer') : undefined;
    for (let k = 0; k < params.length; k++) {
      const { data, grad } = params[k]!;
      sgdUpdate(data, bufs?.[k], grad, lr, this.#momentum, this.#nesterov, this.#weightDecay, t);
    }
  }
}
