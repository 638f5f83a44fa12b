import type { FloatArray } from '../tensor/float-array.js';
import { Random } from '../tensor/random.js';
import { checkPositiveInteger, show } from '../checks.js';
import { checkState, readTokens, tokenShape, type LSTMState, type Tokens } from './inputs.js';
import { parameterCount, parameterLayout, type Parameter, type ParameterSpec } from './parameters.js';
import { resolveBackend, Storage, type BackendName } from './storage.js';
import type { Workspace } from './workspace.js';
import type { Kernels } from '../tensor/kernels.js';
import { ThreadPool, webWorkerFactory, type WorkerFactory } from '../threads/pool.js';
import { kernelModule } from '../wasm/index.js';

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
  /**
   * Threads to compute with (wasm backend): 1 (default) or more, each extra one a worker on
   * a shared memory. Falls back to 1 where shared memory is unavailable (no
   * SharedArrayBuffer, or a browser page without cross-origin isolation) or the backend is
   * js; `model.threads` tells. Call `dispose()` to stop the workers.
   */
  threads?: number;
  /**
   * Makes the workers. Default: a web worker from a Blob URL where `Worker` exists; in Node
   * pass `nodeWorkerFactory` from `lstm-lm/node`.
   */
  createWorker?: WorkerFactory;
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
  /** The threads it computes with (1 unless `threads` asked for more and they are possible). */
  readonly threads: number;

  readonly #storage: Storage;
  readonly #pool: ThreadPool | undefined;
  /** The workspace of the call in progress, read by the phase parts below. */
  #ws: Workspace | undefined;
  /** What the output phase computes: 0 logits, 1 and the loss, 2 and dHs too. */
  #outputMode = 0;
  readonly #params: readonly Parameter[];
  readonly #specs: readonly ParameterSpec[];

  constructor(options: LSTMLanguageModelOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`Expected \`options\` to be an object, got ${show(options)}.`);
    }
    const V = checkPositiveInteger('vocabSize', options.vocabSize);
    const H = checkPositiveInteger('numHiddens', options.numHiddens);
    const seed = options.seed ?? 0;
    if (!Number.isInteger(seed)) throw new TypeError(`Expected \`seed\` to be an integer, got ${show(seed)}.`);
    const initScale = options.initScale ?? 0.01;
    if (typeof initScale !== 'number' || !Number.isFinite(initScale) || initScale < 0) {
      throw new RangeError(`Expected \`initScale\` to be a finite number ≥ 0, got ${show(initScale)}.`);
    }
    const dtype = options.dtype ?? 'float32';
    if (dtype !== 'float32' && dtype !== 'float64') {
      throw new RangeError(`Expected \`dtype\` to be 'float32' or 'float64', got ${show(dtype)}.`);
    }
    const requested = options.backend ?? 'auto';
    if (requested !== 'auto' && requested !== 'wasm' && requested !== 'js') {
      throw new RangeError(`Expected \`backend\` to be 'auto', 'wasm' or 'js', got ${show(requested)}.`);
    }
    const threads = options.threads ?? 1;
    checkPositiveInteger('threads', threads);
    if (options.createWorker !== undefined && typeof options.createWorker !== 'function') {
      throw new TypeError(`Expected \`createWorker\` to be a function, got ${show(options.createWorker)}.`);
    }
    this.vocabSize = V;
    this.numHiddens = H;
    this.dtype = dtype;
    this.backend = resolveBackend(requested, dtype);
    const g = globalThis as { SharedArrayBuffer?: unknown; crossOriginIsolated?: boolean };
    const canShare = typeof g.SharedArrayBuffer === 'function' && g.crossOriginIsolated !== false;
    this.threads = this.backend === 'wasm' && canShare ? threads : 1;
    let createWorker: WorkerFactory | undefined;
    if (this.threads > 1) {
      createWorker = options.createWorker ?? webWorkerFactory();
      if (createWorker === undefined) {
        throw new TypeError(
          `Expected \`createWorker\` for ${threads} threads: this engine has no web Worker. ` +
            "In Node: import { nodeWorkerFactory } from 'lstm-lm/node' and pass createWorker: nodeWorkerFactory.",
        );
      }
    }
    this.#storage = new Storage(parameterCount(V, H), dtype, this.backend, this.threads > 1);
    this.#pool = createWorker === undefined
      ? undefined
      : new ThreadPool(kernelModule(true), this.#storage.memory!, this.#storage.kernels, this.threads, createWorker);
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

  /** Stops the model's worker threads, if any (it keeps working, on one thread). */
  dispose(): void {
    this.#pool?.dispose();
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
    this.#forward(ws, st, 0);
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
    const loss = this.#forward(ws, st, 2);
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
    return this.#forward(ws, st, 1);
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

  // Forward and backward run in phases. A phase is split into parts that the thread pool runs
  // at the same time (part 0 here); without a pool, one part does all. The parts of a phase
  // never write the same memory: the recurrence splits the batch rows (row b's recurrence
  // involves row b only), the output layer splits the T·B time-major rows, the weight
  // gradients split the parameters. See docs/design.md.

  #run(part: (k: Kernels, index: number, parts: number) => number): number {
    return this.#pool === undefined ? part(this.#storage.kernels, 0, 1) : this.#pool.run(part);
  }

  /**
   * Runs the model over ws.xT from `state` (writing the final state back into it), then the
   * output layer; with mode ≥ 1 returns the mean cross-entropy, leaving dY in place of the
   * logits; with mode 2 also computes dHs for backward.
   */
  #forward(ws: Workspace, state: LSTMState, mode: 0 | 1 | 2): number {
    const { B, T, hs, cs } = ws;
    const n = B * this.numHiddens;
    this.#ws = ws;
    this.#outputMode = mode;
    hs.set(state.h, 0);
    cs.set(state.c, 0);
    this.#run(this.#recurrenceForward);
    const loss = this.#run(this.#outputLayer);
    state.h.set(hs.subarray(T * n, (T + 1) * n));
    state.c.set(cs.subarray(T * n, (T + 1) * n));
    return loss / (T * B);
  }

  /** BPTT over the workspace filled by #forward (mode 2); adds into the gradients. */
  #backward(ws: Workspace): void {
    this.#ws = ws;
    ws.dc0.fill(0);
    ws.dh0.fill(0);
    this.#run(this.#recurrenceBackward);
    this.#run(this.#weightGradients);
  }

  /** Forward through the T steps for batch rows [b0, b0 + m). */
  readonly #recurrenceForward = (k: Kernels, part: number, parts: number): number => {
    const { B, T, xT, gates, hs, cs, tanhC } = this.#ws!;
    const H = this.numHiddens, n = B * H, Tn = T * n;
    const [b0, m] = split(B, part, parts);
    const W = this.#storage.params;
    for (let t = 0; t < T; t++) {
      const row = t * n + b0 * H; // rows b0… of step t in a (T, B, H) array
      for (let g = 0; g < 4; g++) {
        // Z_g = X_t W_xg + b_g + H_{t−1} W_hg; the one-hot product is a row gather.
        const z = g * Tn + row;
        k.gatherRows(gates, z, W, this.#offset(3 * g), xT, t * B + b0, 1, m, H, false);
        k.addBias(gates, z, W, this.#offset(3 * g + 2), m, H);
        k.matmul(gates, z, hs, row, W, this.#offset(3 * g + 1), m, H, H, true);
      }
      // I, F, O, Ĉ, then C_t, tanh(C_t), H_t (hs[t + 1], cs[t + 1]).
      k.lstmCellForward(gates, row, cs, row, cs, row + n, tanhC, row, hs, row + n, Tn, m * H);
    }
    return 0;
  };

  /** The output layer for time-major rows [r0, r0 + R): Y = H W_hq + b_q, then the loss and dHs. */
  readonly #outputLayer = (k: Kernels, part: number, parts: number): number => {
    const { B, T, yT, hs, logits, dHs } = this.#ws!;
    const H = this.numHiddens, V = this.vocabSize, N = T * B;
    const [r0, R] = split(N, part, parts);
    const W = this.#storage.params;
    // hs[1..T] is (T·B)×H: row r of Hs is at n + r·H.
    k.matmul(logits, r0 * V, hs, B * H + r0 * H, W, this.#offset(12), R, H, V, false);
    k.addBias(logits, r0 * V, W, this.#offset(13), R, V);
    if (this.#outputMode === 0) return 0;
    // Σ −log softmax(Y)[target], with dY = (softmax − onehot)/N left in place of the logits.
    const loss = k.softmaxCrossEntropy(logits, r0 * V, logits, r0 * V, yT, r0, 1, R, V, 1 / N);
    if (this.#outputMode === 2) k.matmulNT(dHs, r0 * H, logits, r0 * V, W, this.#offset(12), R, V, H, false); // dHs = dY W_hqᵀ
    return loss;
  };

  /**
   * BPTT, t = T−1 … 0, for batch rows [b0, b0 + m): only what depends on the recurrence.
   * dHs[t] is the whole dH_t once step t+1 has added its recurrent part; dc0 carries dC_t (and
   * ends as dC_{−1}); dh0 receives the recurrent part of dH_{−1}.
   */
  readonly #recurrenceBackward = (k: Kernels, part: number, parts: number): number => {
    const { B, T, gates, cs, tanhC, dHs, dGates, dh0, dc0 } = this.#ws!;
    const H = this.numHiddens, n = B * H, Tn = T * n;
    const [b0, m] = split(B, part, parts);
    const W = this.#storage.params;
    for (let t = T - 1; t >= 0; t--) {
      const row = t * n + b0 * H;
      k.lstmCellBackward(dGates, row, gates, row, cs, row, tanhC, row, dHs, row, dc0, b0 * H, Tn, m * H);
      // dH_{t−1} += dZ_g W_hgᵀ, into dHs[t − 1] (or dh0 at t = 0)
      const dhPrev = t > 0 ? dHs : dh0;
      const dhRow = t > 0 ? row - n : b0 * H;
      for (let g = 0; g < 4; g++) k.matmulNT(dhPrev, dhRow, dGates, g * Tn + row, W, this.#offset(3 * g + 1), m, H, H, true);
    }
    return 0;
  };

  /**
   * The weight gradients of all steps: Z_g = X W_xg + H_prev W_hg + b_g over all T·B rows, so
   * each is one product (hs[0..T−1] is H_{t−1} of every step, (T·B)×H). Five tasks — the four
   * gates and the output layer — dealt out to the parts.
   */
  readonly #weightGradients = (k: Kernels, part: number, parts: number): number => {
    const { B, T, xT, hs, logits, dGates } = this.#ws!;
    const H = this.numHiddens, V = this.vocabSize, N = T * B, Tn = T * B * H;
    const dW = this.#storage.grads;
    for (let task = part; task < 5; task += parts) {
      if (task < 4) {
        const g = task, dz = g * Tn;
        k.scatterAddRows(dW, this.#offset(3 * g), dGates, dz, xT, 0, 1, N, H); // dW_xg += Xᵀ dZ_g
        k.matmulTN(dW, this.#offset(3 * g + 1), hs, 0, dGates, dz, H, N, H, true); // dW_hg += H_prevᵀ dZ_g
        k.addBiasBackward(dW, this.#offset(3 * g + 2), dGates, dz, N, H); // db_g += Σ_rows dZ_g
      } else {
        k.matmulTN(dW, this.#offset(12), hs, B * H, logits, 0, H, N, V, true); // dW_hq += Hsᵀ dY
        k.addBiasBackward(dW, this.#offset(13), logits, 0, N, V); // db_q += Σ_rows dY
      }
    }
    return 0;
  };
}

/** Part `part` of `parts` of [0, total): its start and its length. */
function split(total: number, part: number, parts: number): [number, number] {
  const start = Math.floor((part * total) / parts);
  return [start, Math.floor(((part + 1) * total) / parts) - start];
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
