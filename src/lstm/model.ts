import type { FloatArray } from '../tensor/float-array.js';
import { Random } from '../tensor/random.js';
import {
  checkPositiveInteger, checkPositiveNumber, checkState, describe, readTokens, tokenShape,
  type LSTMState, type Tokens,
} from './inputs.js';
import { parameterCount, parameterLayout, type Parameter, type ParameterSpec } from './parameters.js';
import { resolveBackend, Storage, type BackendName } from './storage.js';
import type { Workspace } from './workspace.js';

// Dimensions, as everywhere in this module: B batch size, T time steps, V vocabulary size,
// H hidden units, n = B·H (one step's B×H block). The design, with the equations in these
// names, is in docs/design.md.

/** Options of {@link LSTMLanguageModel}. */
export interface LSTMLanguageModelOptions {
  /** V, the number of token ids (the vocabulary size). */
  vocabSize: number;
  /** H, the number of hidden units. */
  numHiddens: number;
  /** Seed of the generator that draws the initial weights. Default 0. */
  seed?: number;
  /** Standard deviation of the initial weights, N(0, 1)·initScale (biases start at 0). Default 0.01, as d2l. */
  initScale?: number;
  /**
   * Element type of parameters, gradients and activations. Default `'float32'`; `'float64'`
   * exists for finite-difference gradient checks and is slower.
   */
  dtype?: 'float32' | 'float64';
  /**
   * The kernels: `'wasm'` (WebAssembly SIMD, float32 only), `'js'` (plain TypeScript, the
   * reference) or `'auto'` (default: wasm where the engine supports SIMD, else js).
   * `model.backend` tells which one runs.
   */
  backend?: 'auto' | BackendName;
}

/** What {@link LSTMLanguageModel.forwardBackward} returns. */
export interface ForwardBackwardResult {
  /** Mean cross-entropy over the B·T predictions. */
  loss: number;
  /** The state after the last step: the `state` passed in, updated in place. */
  state: LSTMState;
  /**
   * The gradient of the loss with respect to the state passed in (B×H each). Views into the
   * model's workspace, valid until its next call; training never needs them (the carried
   * state is detached), gradient checks do.
   */
  stateGrad: { readonly h: FloatArray; readonly c: FloatArray };
}

/**
 * The LSTM language model of d2l's "LSTM from scratch" chapter, with manual backpropagation
 * through time. Per step t, with one-hot input X_t (B×V):
 *
 *     I_t = σ(X_t W_xi + H_{t−1} W_hi + b_i)      F_t = σ(X_t W_xf + H_{t−1} W_hf + b_f)
 *     O_t = σ(X_t W_xo + H_{t−1} W_ho + b_o)      Ĉ_t = tanh(X_t W_xc + H_{t−1} W_hc + b_c)
 *     C_t = F_t ⊙ C_{t−1} + I_t ⊙ Ĉ_t             H_t = O_t ⊙ tanh(C_t)
 *     Y_t = H_t W_hq + b_q
 *
 * @example
 * const model = new LSTMLanguageModel({ vocabSize: 4, numHiddens: 8, seed: 1 });
 * const state = model.initState(2);
 * model.zeroGrad();
 * const { loss } = model.forwardBackward([[1, 2, 3], [2, 3, 1]], [[2, 3, 1], [3, 1, 2]], state);
 * // loss ≈ ln 4 ≈ 1.386 at initialisation; model.parameters()[0].grad now holds dL/dW_xi
 */
export class LSTMLanguageModel {
  /** V. */
  readonly vocabSize: number;
  /** H. */
  readonly numHiddens: number;
  readonly dtype: 'float32' | 'float64';
  /** The kernels this model runs on. */
  readonly backend: BackendName;

  readonly #storage: Storage;
  readonly #params: readonly Parameter[];
  readonly #specs: readonly ParameterSpec[];

  constructor(options: LSTMLanguageModelOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`Expected \`options\` to be an object, got ${describe(options)}.`);
    }
    const V = checkPositiveInteger('vocabSize', options.vocabSize);
    const H = checkPositiveInteger('numHiddens', options.numHiddens);
    const seed = options.seed ?? 0;
    if (!Number.isInteger(seed)) throw new TypeError(`Expected \`seed\` to be an integer, got ${describe(seed)}.`);
    const initScale = options.initScale ?? 0.01;
    if (typeof initScale !== 'number' || !Number.isFinite(initScale) || initScale < 0) {
      throw new RangeError(`Expected \`initScale\` to be a finite number ≥ 0, got ${describe(initScale)}.`);
    }
    const dtype = options.dtype ?? 'float32';
    if (dtype !== 'float32' && dtype !== 'float64') {
      throw new RangeError(`Expected \`dtype\` to be 'float32' or 'float64', got ${describe(dtype)}.`);
    }
    const requested = options.backend ?? 'auto';
    if (requested !== 'auto' && requested !== 'wasm' && requested !== 'js') {
      throw new RangeError(`Expected \`backend\` to be 'auto', 'wasm' or 'js', got ${describe(requested)}.`);
    }
    this.vocabSize = V;
    this.numHiddens = H;
    this.dtype = dtype;
    this.backend = resolveBackend(requested, dtype);
    this.#storage = new Storage(parameterCount(V, H), dtype, this.backend);
    this.#specs = parameterLayout(V, H);
    this.#params = this.#specs.map((s) => new ParameterView(s, this.#storage));
    // d2l: weights N(0, 1)·0.01, biases 0; drawn parameter by parameter in the seed's order.
    const rng = new Random(seed);
    const flat = this.#storage.params;
    for (const s of this.#specs) {
      if (s.isBias) continue;
      for (let i = s.offset; i < s.offset + s.size; i++) flat[i] = rng.normal() * initScale;
    }
  }

  /**
   * All parameters, one flat array in the seed's order (see {@link parameterLayout}).
   * With the wasm backend it is a view on the model's WebAssembly memory: read the property
   * again rather than keeping the array across a call with a batch shape bigger than any before
   * (which may grow the memory and detach older views; see docs/design.md).
   */
  get flatParameters(): FloatArray {
    return this.#storage.params;
  }

  /** All gradients, laid out as {@link flatParameters} (a view, as it). */
  get flatGradients(): FloatArray {
    return this.#storage.grads;
  }

  /** The 14 parameters in the seed's order: W_xi, W_hi, b_i, W_xf, W_hf, b_f, W_xo, W_ho, b_o, W_xc, W_hc, b_c, W_hq, b_q. */
  parameters(): Parameter[] {
    return [...this.#params];
  }

  /** A zero state for a batch of `batchSize` rows: `{ h, c }`, B×H each. */
  initState(batchSize: number): LSTMState {
    const B = checkPositiveInteger('batchSize', batchSize);
    const n = B * this.numHiddens;
    return { h: this.#storage.allocOutside(n), c: this.#storage.allocOutside(n) };
  }

  /** Sets every gradient to zero. Backward only ever adds into gradients. */
  zeroGrad(): void {
    this.flatGradients.fill(0);
  }

  /**
   * Runs the model over X (B rows of T ids) from `state` (default: zeros).
   * Returns the logits, (T·B)×V time-major as the seed (row t·B + b is step t of row b),
   * in a new array, and the final state: `state` updated in place (a new one if omitted).
   */
  forward(X: Tokens, state?: LSTMState): { logits: FloatArray; state: LSTMState } {
    const { B, T } = tokenShape('X', X);
    const st = state ?? this.initState(B);
    checkState(st, B, this.numHiddens);
    const ws = this.#storage.workspace(B, T, this.numHiddens, this.vocabSize);
    readTokens('X', X, this.vocabSize, B, T, ws.xT);
    this.#forward(ws, st);
    return { logits: ws.logits.slice(), state: st };
  }

  /**
   * Forward and backward over X → Y (B rows of T ids each): returns the mean cross-entropy
   * over the B·T predictions and ADDS its gradient into every parameter's `.grad` (call
   * {@link zeroGrad} first). `state` is the state to start from (default: zeros); it is
   * updated in place to the final state, which the next call can start from — carried, not
   * differentiated through (truncated BPTT, d2l's `detach_`). All inputs are validated before
   * anything is changed.
   */
  forwardBackward(X: Tokens, Y: Tokens, state?: LSTMState): ForwardBackwardResult {
    const { ws, st } = this.#prepare(X, Y, state);
    this.#forward(ws, st);
    const loss = this.#crossEntropy(ws);
    this.#backward(ws);
    return { loss, state: st, stateGrad: { h: ws.dh0, c: ws.dc0 } };
  }

  /**
   * The mean cross-entropy of predicting Y from X (B rows of T ids each), starting from
   * `state` (default: zeros; updated in place to the final state). Gradients are not touched:
   * this is evaluation.
   */
  loss(X: Tokens, Y: Tokens, state?: LSTMState): number {
    const { ws, st } = this.#prepare(X, Y, state);
    this.#forward(ws, st);
    return this.#crossEntropy(ws);
  }

  #prepare(X: Tokens, Y: Tokens, state: LSTMState | undefined): { ws: Workspace; st: LSTMState } {
    const { B, T } = tokenShape('X', X);
    const ys = tokenShape('Y', Y);
    if (ys.B !== B || ys.T !== T) {
      throw new RangeError(`Expected \`Y\` to have the shape of \`X\` (${B}×${T}), got ${ys.B}×${ys.T}.`);
    }
    const st = state ?? this.initState(B);
    checkState(st, B, this.numHiddens);
    const ws = this.#storage.workspace(B, T, this.numHiddens, this.vocabSize);
    // Ids are checked while copied; X and Y are both read before either is used.
    readTokens('X', X, this.vocabSize, B, T, ws.xT);
    readTokens('Y', Y, this.vocabSize, B, T, ws.yT);
    return { ws, st };
  }

  #offset(index: number): number {
    return this.#specs[index]!.offset;
  }

  /** Fills the workspace for ws.xT from `state`; writes the final state back into it. */
  #forward(ws: Workspace, state: LSTMState): void {
    const k = this.#storage.kernels;
    const { B, T, xT, gates, hs, cs, tanhC, logits } = ws;
    const H = this.numHiddens, V = this.vocabSize, n = B * H, Tn = T * n;
    const W = this.#storage.params;
    // The input part of every step at once: Z_g = X W_xg + b_g over all T·B rows of gate g
    // (the one-hot product is a row gather).
    for (let g = 0; g < 4; g++) {
      k.gatherRows(gates, g * Tn, W, this.#offset(3 * g), xT, 0, 1, T * B, H, false);
      k.addBias(gates, g * Tn, W, this.#offset(3 * g + 2), T * B, H);
    }
    hs.set(state.h, 0);
    cs.set(state.c, 0);
    for (let t = 0; t < T; t++) {
      // Z_g += H_{t−1} W_hg, then the cell: I, F, O, Ĉ, C_t, tanh(C_t), H_t.
      for (let g = 0; g < 4; g++) k.matmul(gates, g * Tn + t * n, hs, t * n, W, this.#offset(3 * g + 1), B, H, H, true);
      k.lstmCellForward(gates, t * n, cs, t * n, cs, (t + 1) * n, tanhC, t * n, hs, (t + 1) * n, Tn, n);
    }
    // Y = H W_hq + b_q for all T steps at once: hs[1..T] is (T·B)×H, time-major.
    k.matmul(logits, 0, hs, n, W, this.#offset(12), T * B, H, V, false);
    k.addBias(logits, 0, W, this.#offset(13), T * B, V);
    state.h.set(hs.subarray(T * n, (T + 1) * n));
    state.c.set(cs.subarray(T * n, (T + 1) * n));
  }

  /**
   * The mean cross-entropy over the N = T·B logits of #forward (row t·B + b targets yT[t·B + b]),
   * leaving in their place dY = (softmax − onehot)/N, its gradient.
   */
  #crossEntropy(ws: Workspace): number {
    const N = ws.T * ws.B;
    return this.#storage.kernels.softmaxCrossEntropy(ws.logits, 0, ws.logits, 0, ws.yT, 0, 1, N, this.vocabSize, 1 / N) / N;
  }

  /** BPTT over the workspace filled by #forward and #crossEntropy; adds into the gradients. */
  #backward(ws: Workspace): void {
    const k = this.#storage.kernels;
    const { B, T, xT, gates, hs, cs, tanhC, logits, dHs, dGates, dh0, dc0 } = ws;
    const H = this.numHiddens, V = this.vocabSize, n = B * H, Tn = T * n, N = T * B;
    const W = this.#storage.params, dW = this.#storage.grads;
    // Output layer: dW_hq += Hsᵀ·dY, db_q += Σ dY, dHs = dY·W_hqᵀ.
    k.matmulTN(dW, this.#offset(12), hs, n, logits, 0, H, N, V, true);
    k.addBiasBackward(dW, this.#offset(13), logits, 0, N, V);
    k.matmulNT(dHs, 0, logits, 0, W, this.#offset(12), N, V, H, false);
    // BPTT, t = T−1 … 0: only what depends on the recurrence. dHs[t] is the whole dH_t once
    // step t+1 has added its recurrent part; dc0 carries dC_t (and ends as dC_{−1}); dh0
    // receives the recurrent part of dH_{−1}.
    dc0.fill(0);
    dh0.fill(0);
    for (let t = T - 1; t >= 0; t--) {
      k.lstmCellBackward(dGates, t * n, gates, t * n, cs, t * n, tanhC, t * n, dHs, t * n, dc0, 0, Tn, n);
      const dhPrev = t > 0 ? dHs : dh0;
      const dhPrevOffset = t > 0 ? (t - 1) * n : 0;
      // dH_{t−1} += dZ_g W_hgᵀ
      for (let g = 0; g < 4; g++) k.matmulNT(dhPrev, dhPrevOffset, dGates, g * Tn + t * n, W, this.#offset(3 * g + 1), B, H, H, true);
    }
    // Z_g = X W_xg + H_prev W_hg + b_g over all T·B rows, so the weight gradients of all steps
    // are one product each (hs[0..T−1] is H_{t−1} for every step, (T·B)×H):
    for (let g = 0; g < 4; g++) {
      const dz = g * Tn;
      k.scatterAddRows(dW, this.#offset(3 * g), dGates, dz, xT, 0, 1, N, H); // dW_xg += Xᵀ dZ_g
      k.matmulTN(dW, this.#offset(3 * g + 1), hs, 0, dGates, dz, H, N, H, true); // dW_hg += H_prevᵀ dZ_g
      k.addBiasBackward(dW, this.#offset(3 * g + 2), dGates, dz, N, H); // db_g += Σ_rows dZ_g
    }
  }
}

/**
 * A parameter as the public sees it: views into the flat arrays, re-created if the storage
 * re-created its views (wasm memory growth), so `p.data` and `p.grad` are always current.
 */
class ParameterView implements Parameter {
  readonly name: string;
  readonly shape: readonly number[];
  readonly #spec: ParameterSpec;
  readonly #storage: Storage;
  #generation = -1;
  #data!: FloatArray;
  #grad!: FloatArray;

  constructor(spec: ParameterSpec, storage: Storage) {
    this.name = spec.name;
    this.shape = spec.shape;
    this.#spec = spec;
    this.#storage = storage;
  }

  get data(): FloatArray {
    this.#sync();
    return this.#data;
  }

  get grad(): FloatArray {
    this.#sync();
    return this.#grad;
  }

  #sync(): void {
    const generation = this.#storage.generation;
    if (generation === this.#generation) return;
    const { offset, size } = this.#spec;
    this.#data = this.#storage.params.subarray(offset, offset + size);
    this.#grad = this.#storage.grads.subarray(offset, offset + size);
    this.#generation = generation;
  }
}
