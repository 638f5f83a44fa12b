import { show } from '../checks.js';
import type { FloatArray } from '../tensor/float-array.js';
import { OptimizerBase } from './optimizer.js';
import { NON_NEGATIVE, POSITIVE, UNIT, checkInitialLr, checkNumber, checkOptionKeys, optionOr } from './options.js';
import { checkTrainables, type Trainable } from './params.js';

/** Options of {@link Adam} and {@link AdamW}, torch's (amsgrad is not offered). */
export interface AdamOptions {
  /** Learning rate, a positive finite number. Default 1e-3. */
  lr?: number;
  /** Decay rates of the first and second moment averages, each in [0, 1). Default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Added to the denominator √v̂ + eps, > 0. Default 1e-8. */
  eps?: number;
  /**
   * ≥ 0. Adam adds wd·data to the gradient (L2, default 0); AdamW multiplies the weights by
   * 1 − lr·wd before the update (decoupled, default 1e-2).
   */
  weightDecay?: number;
}

/** The resolved options of {@link Adam} / {@link AdamW}. */
export type ResolvedAdamOptions = Readonly<{ lr: number; betas: readonly [number, number]; eps: number; weightDecay: number }>;

const KEYS = ['lr', 'betas', 'eps', 'weightDecay'] as const;

/** Checks Adam's or AdamW's options (`what` names it in messages) and fills in the defaults. */
export function resolveAdamOptions(what: string, options: unknown, defaultWeightDecay: number): ResolvedAdamOptions {
  const o = checkOptionKeys(what, options, KEYS, '{ lr: 1e-3 }');
  const lr = checkInitialLr(optionOr(o, 'lr', 1e-3));
  const betas = optionOr(o, 'betas', [0.9, 0.999]);
  if (!Array.isArray(betas) || betas.length !== 2) {
    throw new TypeError(`Expected \`betas\` to be a pair of numbers in [0, 1) like [0.9, 0.999], got ${show(betas)}.`);
  }
  const beta1 = checkNumber('betas[0]', betas[0], UNIT);
  const beta2 = checkNumber('betas[1]', betas[1], UNIT);
  const eps = checkNumber('eps', optionOr(o, 'eps', 1e-8), POSITIVE);
  const weightDecay = checkNumber('weightDecay', optionOr(o, 'weightDecay', defaultWeightDecay), NON_NEGATIVE);
  return { lr, betas: Object.freeze([beta1, beta2] as const), eps, weightDecay };
}

/**
 * One parameter's Adam update (torch.optim.Adam's single-tensor path), t the 1-based step:
 *   data ·= decay                                 (AdamW's decoupled decay; 1 for Adam)
 *   g = grad + l2·data                             (Adam's L2; 0 for AdamW)
 *   m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²
 *   data −= (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + eps)
 */
export function adamUpdate(
  data: FloatArray, m: FloatArray, v: FloatArray, grad: FloatArray,
  lr: number, beta1: number, beta2: number, eps: number, l2: number, decay: number, t: number,
): void {
  const stepSize = lr / (1 - beta1 ** t);
  const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const p = decay === 1 ? data[i]! : data[i]! * decay;
    const g = l2 === 0 ? grad[i]! : grad[i]! + l2 * p;
    const mi = beta1 * m[i]! + (1 - beta1) * g;
    const vi = beta2 * v[i]! + (1 - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    data[i] = p - stepSize * (mi / (Math.sqrt(vi) / bc2Sqrt + eps));
  }
}

/**
 * What Adam and AdamW share: their options, buffers `expAvg` (m) and `expAvgSq` (v) of each
 * parameter's type, and the update, which differs only in where the weight decay goes — added
 * to the gradient as an L2 term (Adam) or applied to the weights as a factor 1 − lr·weightDecay
 * before the step (AdamW, `decoupled`).
 */
export abstract class AdamFamily extends OptimizerBase<ResolvedAdamOptions> {
  readonly #o: ResolvedAdamOptions;
  readonly #decoupled: boolean;

  protected constructor(params: readonly Trainable[], options: AdamOptions, label: 'Adam' | 'AdamW', defaultWeightDecay: number) {
    checkTrainables(params);
    const o = resolveAdamOptions(label, options, defaultWeightDecay);
    super(params, o.lr, ['expAvg', 'expAvgSq']);
    this.#o = o;
    this.#decoupled = label === 'AdamW';
  }

  get options(): ResolvedAdamOptions {
    return Object.freeze({ ...this.#o, lr: this.lr });
  }

  protected update(t: number, lr: number): void {
    const { betas, eps, weightDecay } = this.#o;
    const beta1 = betas[0], beta2 = betas[1]; // (array destructuring would make an iterator per step)
    const m = this.buffers('expAvg'), v = this.buffers('expAvgSq');
    const l2 = this.#decoupled ? 0 : weightDecay;
    const decay = this.#decoupled ? 1 - lr * weightDecay : 1;
    for (let k = 0; k < this.params.length; k++) {
      const { data, grad } = this.params[k]!;
      adamUpdate(data, m[k]!, v[k]!, grad, lr, beta1, beta2, eps, l2, decay, t);
    }
  }
}

/**
 * Adam, as torch.optim.Adam: bias-corrected moment estimates, and weight decay as an L2 term
 * added to the gradient (for decoupled decay use {@link AdamW}). Buffers `expAvg` (m) and
 * `expAvgSq` (v), one per parameter, of its type.
 *
 * @example
 * const adam = new Adam(model.parameters(), { lr: 2e-3 });
 * model.zeroGrad();
 * model.forwardBackward(X, Y, state);
 * clipGradNorm(model.parameters(), 5);
 * adam.step();
 */
export class Adam extends AdamFamily {
  readonly name = 'adam';

  constructor(params: readonly Trainable[], options: AdamOptions = {}) {
    super(params, options, 'Adam', 0);
  }
}
