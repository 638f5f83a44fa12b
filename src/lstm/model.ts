import type { FloatArray } from '../tensor/float-array.js';
import { Random, type RandomState } from '../tensor/random.js';
import { show } from '../checks.js';
import type { BackendName, Storage } from '../backend/storage.js';
import type { WorkerFactory } from '../threads/pool.js';
import { resolveConfig, type ModelConfig } from './config.js';
import { fillDropoutMask } from './dropout.js';
import { checkState, checkTokens, readTokens, tokenShape, type LSTMState, type Tokens } from './inputs.js';
import { embeddingBackward, layerInputBackward, layerInputForward, recurrenceBackward, recurrenceForward } from './layer.js';
import { outputForward } from './output.js';
import { parameterCount, parameterLayout, type ModelLayout, type Parameter, type ParameterSpec } from './parameters.js';
import type { LayerContext, Pass } from './pass.js';
import { planSplit, Runner } from './runner.js';
import { workspaceFactory, type Workspace } from './workspace.js';
import { GpuEngine, type ReadRequest } from '../webgpu/gpu.js';
import { GpuParameterDevice } from '../webgpu/optimizer.js';
import { GpuCalls } from '../webgpu/calls.js';
import type { OptimizerBase, OptimizerStateDict } from '../optim/optimizer.js';
import { clipGradients } from '../optim/clip.js';
import { allFinite } from '../tensor/float-array.js';
import type { DeviceOptimizer, ParameterDevice } from '../optim/params.js';

// Dimensions, as everywhere in this module: B batch size, T time steps, V vocabulary size,
// H hidden units, L layers, E embedding size, n = B·H (one step's B×H block of one layer).
// The design, with the equations in these names, is in docs/design.md.

/** Options of {@link LSTMLanguageModel}. */
export interface LSTMLanguageModelOptions {
  /** V, the number of token ids (the vocabulary size). */
  vocabSize: number;
  /** H, the number of hidden units of every layer. */
  numHiddens: number;
  /** L, stacked LSTM layers (layer l ≥ 1 reads layer l−1's H_t). Default 1, as d2l. */
  numLayers?: number;
  /**
   * p ∈ [0, 1): inverted dropout (kept units scaled by 1/(1−p)) on the output of every layer,
   * the last one included, before the output layer — as char-rnn, and as PyTorch's
   * nn.LSTM(dropout=p) followed by nn.Dropout(p). Applied by `forwardBackward` while
   * `model.training` is true; never by `forward`, `loss` or anything built on them. Default 0.
   */
  dropout?: number;
  /**
   * E: a learned V×E embedding (`W_embed`, PyTorch's nn.Embedding) before layer 0 instead of
   * the one-hot input. Word-level models with a large V want one. Default: none (one-hot).
   */
  embeddingSize?: number | null;
  /**
   * `'d2l'` (default): weights N(0, 1)·initScale, biases 0, as d2l. `'pytorch'`: LSTM and
   * output weights and biases U(−1/√H, 1/√H), as nn.LSTM and nn.Linear (trains deep models
   * faster with Adam). An embedding starts N(0, 1) either way, as nn.Embedding.
   */
  init?: 'd2l' | 'pytorch';
  /** The cell of every layer: only `'lstm'` (accepted so that a `model.config` is valid options). */
  cell?: 'lstm';
  /** Seed of the model's generator (initial weights, then dropout masks): an integer in [0, 2^32). Default 0. */
  seed?: number;
  /** Standard deviation of d2l's initial weights. Default 0.01, as d2l. */
  initScale?: number;
  /**
   * Element type of parameters, gradients and activations. Default `'float32'`; `'float64'`
   * exists for finite-difference gradient checks and is slower.
   */
  dtype?: 'float32' | 'float64';
  /**
   * The kernels: `'wasm'` (WebAssembly SIMD, float32 only), `'js'` (plain TypeScript, the
   * reference), `'webgpu'` (WGSL compute shaders on `gpuDevice`, float32, asynchronous) or
   * `'auto'` (default: webgpu when a `gpuDevice` is given, else wasm where the engine supports
   * SIMD, else js). `model.backend` tells which one runs.
   */
  backend?: 'auto' | BackendName;
  /**
   * Threads to compute with (wasm backend): 1 (default) up to 64, each extra one a worker on
   * a shared memory, or `'auto'`: as many as the machine has cores, up to 8. Falls back to 1 where shared memory is unavailable (no
   * SharedArrayBuffer, or a browser page without cross-origin isolation) or the backend is
   * js or webgpu; `model.threads` tells. Call `dispose()` to stop the workers.
   */
  threads?: number | 'auto';
  /**
   * Makes the workers. Default: a web worker from a Blob URL where `Worker` exists; in Node
   * pass `nodeWorkerFactory` from `lstm-lm/node`.
   */
  createWorker?: WorkerFactory;
  /**
   * The GPU for `backend: 'webgpu'` (and `'auto'` then picks it): `await requestGpuDevice()`
   * in browsers, `await requestGpuDevice(create([]))` with the `webgpu` package in Node. A
   * webgpu model computes asynchronously: use the `…Async` methods, `sync()` and `upload()`
   * (docs/webgpu.md).
   */
  gpuDevice?: GPUDevice;
}

const OPTION_KEYS = new Set([
  'vocabSize', 'numHiddens', 'numLayers', 'dropout', 'embeddingSize', 'cell', 'init', 'seed', 'initScale', 'dtype',
  'backend', 'threads', 'createWorker', 'gpuDevice',
]);

/** What {@link LSTMLanguageModel.trainStepAsync} resolves to. */
export interface TrainStepResult {
  /** Mean cross-entropy of the batch (before the update). */
  loss: number;
  /** The gradient's global L2 norm before clipping. */
  gradNorm: number;
  /** False when the step was refused (non-finite loss or norm) or undone (it made a weight non-finite). */
  stepped: boolean;
}

/** What {@link LSTMLanguageModel.forwardBackward} returns. */
export interface ForwardBackwardResult {
  /** Mean cross-entropy over the B·T predictions. */
  loss: number;
  /** The state after the last step: the `state` passed in, updated in place. */
  state: LSTMState;
  /**
   * The gradient of the loss with respect to the state passed in (L·B·H each, laid out as the
   * state). Views into the model's workspace, valid until its next call; training never needs
   * them (the carried state is detached), gradient checks do.
   */
  stateGrad: { readonly h: FloatArray; readonly c: FloatArray };
}

/**
 * An LSTM language model with manual backpropagation through time: d2l's "LSTM from scratch"
 * model (one layer, one-hot input: exactly its 14 parameters), or a stack of L layers with
 * dropout and an optional embedding. Per step t and layer l, with input X_t (one-hot B×V, the
 * embedded rows, or layer l−1's H_t):
 *
 *     I_t = σ(X_t W_xi + H_{t−1} W_hi + b_i)      F_t = σ(X_t W_xf + H_{t−1} W_hf + b_f)
 *     O_t = σ(X_t W_xo + H_{t−1} W_ho + b_o)      Ĉ_t = tanh(X_t W_xc + H_{t−1} W_hc + b_c)
 *     C_t = F_t ⊙ C_{t−1} + I_t ⊙ Ĉ_t             H_t = O_t ⊙ tanh(C_t)
 *     Y_t = H_t W_hq + b_q                        (H_t of the top layer)
 *
 * @example
 * const model = new LSTMLanguageModel({ vocabSize: 4, numHiddens: 8, seed: 1 });
 * const state = model.initState(2);
 * model.zeroGrad();
 * const { loss } = model.forwardBackward([[1, 2, 3], [2, 3, 1]], [[2, 3, 1], [3, 1, 2]], state);
 * // loss ≈ ln 4 ≈ 1.386 at initialisation; model.parameters()[0].grad now holds dL/dW_xi
 *
 * @example
 * // char-rnn's Shakespeare model: 2 layers of 512, dropout 0.5
 * const deep = new LSTMLanguageModel({ vocabSize: 65, numHiddens: 512, numLayers: 2, dropout: 0.5, init: 'pytorch' });
 * deep.initState(64).h.length; // L·B·H = 2·64·512
 */
export class LSTMLanguageModel {
  /** Every option that defines the model, resolved and frozen (JSON-serialisable). */
  readonly config: ModelConfig;
  /** V. */
  readonly vocabSize: number;
  /** H. */
  readonly numHiddens: number;
  /** L. */
  readonly numLayers: number;
  readonly dtype: 'float32' | 'float64';
  /** The kernels this model runs on. */
  readonly backend: BackendName;
  /** The threads it computes with (1 unless `threads` asked for more and they are possible). */
  readonly threads: number;
  /**
   * Training mode: `forwardBackward` applies dropout while it is true (default). Evaluation
   * entry points (`forward`, `loss`, and perplexity, prediction and generation built on them)
   * never apply dropout, whatever it says.
   */
  training = true;

  readonly #layout: ModelLayout;
  readonly #runner: Runner<Workspace>;
  readonly #params: readonly Parameter[];
  /** The model's generator: initial weights first, then dropout masks. */
  readonly #rng: Random;
  /** webgpu: the device the parameters carry (the optimisers' updates, clipping). */
  readonly #device: GpuParameterDevice | undefined;
  /** webgpu: what the model keeps between asynchronous calls (the carried state, a step's guard). */
  readonly #calls: GpuCalls | undefined;
  /** CPU backends' trainStepAsync: the weights and optimiser state before the step, made once. */
  #before: FloatArray | undefined;
  #savedState: OptimizerStateDict | undefined;
  /** The phase contexts of each workspace, made on its first use. */
  readonly #passes = new WeakMap<Workspace, { pass: Pass; layers: LayerContext[] }>();

  constructor(options: LSTMLanguageModelOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`Expected \`options\` to be an object, got ${show(options)}.`);
    }
    for (const key of Object.keys(options)) {
      if (!OPTION_KEYS.has(key)) throw new TypeError(`Unknown option ${show(key)}; expected one of ${[...OPTION_KEYS].join(', ')}.`);
    }
    const config = resolveConfig(options);
    this.config = config;
    this.vocabSize = config.vocabSize;
    this.numHiddens = config.numHiddens;
    this.numLayers = config.numLayers;
    this.dtype = config.dtype;
    const describe = `vocabSize ${config.vocabSize}, numHiddens ${config.numHiddens}, numLayers ${config.numLayers}` +
      (config.embeddingSize === null ? '' : `, embeddingSize ${config.embeddingSize}`);
    // The count comes from the closed form, so that sizes no backend can hold (numLayers 1e9)
    // are refused by the storage before the layout is built tensor by tensor.
    this.#runner = new Runner(options, config.dtype, parameterCount(config), workspaceFactory(config), describe);
    this.#layout = parameterLayout(config);
    this.#runner.disposeWhenCollected(this); // a model dropped without dispose() still stops its workers
    this.backend = this.#runner.backend;
    this.threads = this.#runner.threads;
    const storage = this.#runner.storage;
    const gpu = this.#runner.gpu;
    const device = gpu === undefined ? undefined : new GpuParameterDevice(gpu);
    this.#device = device;
    this.#calls = device === undefined ? undefined : new GpuCalls(gpu!, device, config.numLayers, config.numHiddens);
    const views = this.#layout.specs.map((s) => new ParameterView(s, storage, device));
    this.#params = views;
    if (device !== undefined) {
      const data = GpuEngine.at(storage.params), grad = GpuEngine.at(storage.grads);
      for (const p of views) device.register(p, data + p.offset, grad + p.offset, p.size);
    }
    this.#rng = new Random(config.seed);
    initialise(storage.params, this.#layout.specs, config, this.#rng);
    this.upload();
  }

  /**
   * All parameters, one flat array in layout order (see {@link parameterLayout}).
   * With the wasm backend it is a view on the model's WebAssembly memory: read the property
   * again rather than keeping the array across a call with a batch shape bigger than any before
   * (which may grow the memory and detach older views; see docs/design.md).
   */
  get flatParameters(): FloatArray {
    return this.#runner.storage.params;
  }

  /** All gradients, laid out as {@link flatParameters} (a view, as it). */
  get flatGradients(): FloatArray {
    return this.#runner.storage.grads;
  }

  /**
   * The parameters in layout order: with one layer and no embedding, d2l's 14 — W_xi, W_hi,
   * b_i, W_xf, W_hf, b_f, W_xo, W_ho, b_o, W_xc, W_hc, b_c, W_hq, b_q; `W_embed` first when
   * there is an embedding, `layer{l}.W_xi` … for layers above 0, before W_hq and b_q.
   */
  parameters(): Parameter[] {
    return [...this.#params];
  }

  /**
   * The state of the model's generator (it draws the dropout masks): save it and set it back
   * to replay the same masks (exact resume, gradient checks under a fixed mask).
   */
  get generatorState(): RandomState {
    return this.#rng.state;
  }

  set generatorState(state: RandomState) {
    this.#rng.state = state;
  }

  /** A zero state for a batch of `batchSize` rows: `{ h, c }`, each L·B·H (layer l's B×H block at l·B·H). */
  initState(batchSize: number): LSTMState {
    const n = this.#stateLength(batchSize);
    return { h: this.#runner.storage.allocOutside(n), c: this.#runner.storage.allocOutside(n) };
  }

  #stateLength(batchSize: unknown): number {
    if (typeof batchSize !== 'number' || !Number.isInteger(batchSize) || batchSize < 1 || batchSize > 2 ** 31 - 1) {
      const Err = typeof batchSize === 'number' && Number.isInteger(batchSize) ? RangeError : TypeError;
      throw new Err(`Expected \`batchSize\` to be a positive integer below 2^31, got ${show(batchSize)}.`);
    }
    const n = this.numLayers * batchSize * this.numHiddens;
    const bytes = n * (this.dtype === 'float64' ? 8 : 4);
    if (bytes > 2 ** 31) {
      throw new RangeError(
        `Expected \`batchSize\` small enough for a state of numLayers·batchSize·numHiddens values, got ${batchSize}: ` +
          `${n} values need ${bytes} bytes per array (limit 2 GiB).`,
      );
    }
    return n;
  }

  /**
   * Stops the model's worker threads, if any (it keeps working, on one thread). A webgpu model
   * frees its GPU buffers and can no longer compute (its calls throw).
   */
  dispose(): void {
    this.#runner.dispose();
  }

  /** Sets every gradient to zero. Backward only ever adds into gradients. */
  zeroGrad(): void {
    this.#zero(this.flatGradients);
  }

  /** Zeroes a block of the storage: on the host, and (webgpu) on the GPU, after what is recorded. */
  #zero(view: FloatArray): void {
    view.fill(0);
    this.#runner.clear(view);
  }

  /**
   * webgpu: waits for the queued GPU work, then copies the parameters and gradients back into
   * `flatParameters`, `flatGradients` and `parameters()`, which are otherwise not updated by
   * the GPU. Other backends: nothing to do (the arrays are live).
   *
   * @example
   * await fit(model, loader, optimizer, { epochs: 1 });
   * await model.sync();
   * model.parameters()[0].data; // the trained W_xi
   */
  async sync(): Promise<void> {
    const gpu = this.#runner.gpu;
    if (gpu === undefined) return;
    const { params, grads } = this.#runner.storage;
    await gpu.read([
      { at: GpuEngine.at(params), length: params.length, into: params },
      { at: GpuEngine.at(grads), length: grads.length, into: grads },
    ]);
    await this.#device!.syncOptimizers();
    gpu.hostStale = false;
  }

  /**
   * webgpu: whether the GPU may have changed the parameters or gradients since the host copy
   * (`flatParameters`, `parameters()`) was made current by {@link sync} or {@link upload}.
   * Saving a checkpoint refuses a stale host copy. Always false on the other backends.
   */
  get hostStale(): boolean {
    return this.#runner.gpu?.hostStale ?? false;
  }

  /**
   * webgpu: copies `flatParameters` and `flatGradients` to the GPU — call it after writing
   * parameters on the host (loading a checkpoint does). Other backends: nothing to do.
   */
  upload(): void {
    const { params, grads } = this.#runner.storage;
    this.#runner.upload(params);
    this.#runner.upload(grads);
    if (this.#runner.gpu !== undefined) this.#runner.gpu.hostStale = false;
  }

  /** Throws where `method` cannot run: synchronous entry points on the asynchronous webgpu backend. */
  #synchronous(method: string): void {
    if (this.#runner.gpu !== undefined) {
      throw new TypeError(
        `Expected a synchronous backend for model.${method}(): the webgpu backend computes asynchronously. ` +
          `Use await model.${method}Async(…) (and fit() rather than train()).`,
      );
    }
  }

  /**
   * Runs the model over X (B rows of T ids) from `state` (default: zeros), without dropout.
   * Returns the logits, (T·B)×V time-major as the seed (row t·B + b is step t of row b),
   * in a new array, and the final state: `state` updated in place (a new one if omitted).
   */
  forward(X: Tokens, state?: LSTMState): { logits: FloatArray; state: LSTMState } {
    this.#synchronous('forward');
    const { ws, st } = this.#prepareForward(X, state);
    this.#forward(ws, st, 0, false);
    return { logits: ws.logits.slice(), state: st };
  }

  /**
   * {@link forward}, on every backend: the webgpu backend queues the work and resolves when the
   * logits and the final state are back; the others compute at once.
   */
  async forwardAsync(X: Tokens, state?: LSTMState): Promise<{ logits: FloatArray; state: LSTMState }> {
    const gpu = this.#runner.gpu;
    if (gpu === undefined) return this.forward(X, state);
    const { ws, st } = this.#prepareForward(X, state);
    this.#forward(ws, st, 0, false);
    const logits = new Float32Array(ws.logits.length);
    await this.#calls!.read(ws, st, [{ at: GpuEngine.at(ws.logits), length: logits.length, into: logits }]);
    return { logits, state: st };
  }

  #prepareForward(X: Tokens, state: LSTMState | undefined): { ws: Workspace; st: LSTMState } {
    const { B, T } = tokenShape('X', X);
    checkTokens('X', X, this.vocabSize, B, T);
    const st = state ?? this.initState(B);
    checkState(st, this.numLayers, B, this.numHiddens);
    this.#calls?.prepareState(st);
    const ws = this.#runner.storage.workspace(B, T);
    readTokens(X, B, T, ws.xT);
    this.#runner.upload(ws.xT);
    return { ws, st };
  }

  /**
   * Forward and backward over X → Y (B rows of T ids each): returns the mean cross-entropy
   * over the B·T predictions and ADDS its gradient into every parameter's `.grad` (call
   * {@link zeroGrad} first). `state` is the state to start from (default: zeros); it is
   * updated in place to the final state, which the next call can start from — carried, not
   * differentiated through (truncated BPTT, d2l's `detach_`). Applies dropout while
   * `training` is true. All inputs are validated before anything is changed.
   */
  forwardBackward(X: Tokens, Y: Tokens, state?: LSTMState): ForwardBackwardResult {
    this.#synchronous('forwardBackward');
    const { ws, st } = this.#prepare(X, Y, state);
    const loss = this.#forward(ws, st, 2, this.training && this.config.dropout > 0);
    this.#backward(ws);
    this.#saveState(ws, st); // only now: a call that failed in backward leaves the state as it was
    return { loss, state: st, stateGrad: { h: ws.dh0, c: ws.dc0 } };
  }

  /**
   * {@link forwardBackward}, on every backend: the webgpu backend queues forward and backward
   * and resolves when the loss, the final state and the state's gradient are back (the
   * parameters' gradients stay on the GPU: {@link sync} brings them).
   */
  async forwardBackwardAsync(X: Tokens, Y: Tokens, state?: LSTMState): Promise<ForwardBackwardResult> {
    const gpu = this.#runner.gpu;
    if (gpu === undefined) return this.forwardBackward(X, Y, state);
    const { ws, st } = this.#prepare(X, Y, state);
    this.#forward(ws, st, 2, this.training && this.config.dropout > 0);
    const slot = gpu.sumLoss();
    this.#backward(ws);
    const loss = new Float32Array(1);
    await this.#calls!.read(ws, st, [
      { at: slot, length: 1, into: loss, aux: true },
      { at: GpuEngine.at(ws.dh0), length: ws.dh0.length, into: ws.dh0 },
      { at: GpuEngine.at(ws.dc0), length: ws.dc0.length, into: ws.dc0 },
    ]);
    return { loss: loss[0]! / (ws.T * ws.B), state: st, stateGrad: { h: ws.dh0, c: ws.dc0 } };
  }

  /**
   * One training step — zeroGrad, forward and backward (dropout while `training`), the
   * gradient's global norm, clipping, `optimizer.step()` — as `fit` runs it, with one result:
   * `{ loss, gradNorm, stepped }`. `gradNorm` is the norm before clipping. A step whose loss or
   * norm is not finite is not taken, and one that leaves a weight non-finite is undone (the
   * weights before it put back): `stepped` is then false and the caller decides (fit throws a
   * TrainingDivergedError). On the webgpu backend the whole step is queued on the GPU and
   * read back once; the CPU backends compute it at once. `optimizer` must be one of this
   * library's optimisers over this model's parameters (on webgpu it steps on the GPU).
   *
   * @example
   * const adam = new Adam(model.parameters(), { lr: 2e-3 });
   * const state = model.initState(32);
   * const { loss, gradNorm } = await model.trainStepAsync(X, Y, state, adam, { clipNorm: 5 });
   */
  async trainStepAsync(
    X: Tokens, Y: Tokens, state: LSTMState | undefined, optimizer: { step(): void },
    clip: { clipNorm?: number; clipValue?: number } = {},
  ): Promise<TrainStepResult> {
    const { clipNorm, clipValue } = clip;
    const gpu = this.#runner.gpu, device = this.#device;
    const restorable = optimizer as Partial<Pick<OptimizerBase<{ readonly lr: number }>, 'stateDict' | 'loadStateDict'>>;
    if (gpu === undefined || device === undefined) {
      this.zeroGrad();
      const { loss } = this.forwardBackward(X, Y, state);
      const gradNorm = clipGradients(this.#params, clipNorm, clipValue);
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) return { loss, gradNorm, stepped: false };
      // What to put back if the step makes a weight non-finite: copies into arrays made once.
      const before = (this.#before ??= this.flatParameters.slice());
      before.set(this.flatParameters);
      const hasState = typeof restorable.stateDict === 'function' && typeof restorable.loadStateDict === 'function';
      const saved = hasState ? (this.#savedState = restorable.stateDict!(this.#savedState)) : undefined;
      optimizer.step();
      if (allFinite(this.flatParameters)) return { loss, gradNorm, stepped: true };
      this.flatParameters.set(before);
      if (saved !== undefined) restorable.loadStateDict!(saved);
      return { loss, gradNorm, stepped: false };
    }
    const { ws, st } = this.#prepare(X, Y, state);
    const params = this.#runner.storage.params;
    const count = params.length, at = GpuEngine.at(params);
    this.zeroGrad();
    this.#forward(ws, st, 2, this.training && this.config.dropout > 0);
    const lossSlot = gpu.sumLoss();
    this.#backward(ws);
    const normSlot = device.recordClip(this.#params, { clipNorm, clipValue, lossSlot });
    // The step, checked and (when it made a weight non-finite) undone on the GPU before anything
    // queued after it runs: so steps can be queued without waiting for each other's results.
    const flags = this.#calls!.guardedStep(at, count, optimizer as unknown as DeviceOptimizer, () => optimizer.step());
    const out = new Float32Array(4);
    await this.#calls!.read(ws, st, [
      { at: lossSlot, length: 1, into: out, offset: 0, aux: true },
      { at: normSlot, length: 1, into: out, offset: 1, aux: true },
      { at: flags.halt, length: 1, into: out, offset: 2, aux: true },
      { at: flags.prior, length: 1, into: out, offset: 3, aux: true },
    ]);
    const loss = out[0]! / (ws.T * ws.B), gradNorm = out[1]!;
    const stepped = out[2] === 0;
    if (!stepped) {
      // Refused, undone, or skipped after such a step: the host's step count takes it back;
      // once the step that halted the others is read, steps queued from now on run again.
      GpuCalls.uncount(optimizer);
      if (out[3] === 0) this.#calls!.resume();
    }
    return { loss, gradNorm, stepped };
  }

  /** Backward through the output layer's dY (left by #forward, mode 2) and every layer. */
  #backward(ws: Workspace): void {
    if (this.#runner.gpu !== undefined) this.#runner.gpu.hostStale = true; // the gradients change there
    const { pass, layers } = this.#contexts(ws); // as #forward left them (split, dropout)
    for (let l = this.numLayers - 1; l >= 0; l--) {
      const lw = ws.layers[l]!;
      this.#zero(lw.dc0);
      this.#zero(lw.dh0);
      recurrenceBackward(this.#runner, layers[l]!);
      this.#runner.run(layerInputBackward, layers[l]!, pass.parts);
    }
    if (ws.dEmb !== null) this.#runner.run(embeddingBackward, pass, 1); // one task
  }

  /**
   * The mean cross-entropy of predicting Y from X (B rows of T ids each), starting from
   * `state` (default: zeros; updated in place to the final state), without dropout.
   * Gradients are not touched: this is evaluation.
   */
  loss(X: Tokens, Y: Tokens, state?: LSTMState): number {
    this.#synchronous('loss');
    const { ws, st } = this.#prepare(X, Y, state);
    return this.#forward(ws, st, 1, false);
  }

  /** {@link loss}, on every backend (webgpu: resolves when the loss and the final state are back). */
  async lossAsync(X: Tokens, Y: Tokens, state?: LSTMState): Promise<number> {
    const gpu = this.#runner.gpu;
    if (gpu === undefined) return this.loss(X, Y, state);
    const { ws, st } = this.#prepare(X, Y, state);
    this.#forward(ws, st, 1, false);
    const loss = new Float32Array(1);
    await this.#calls!.read(ws, st, [{ at: gpu.sumLoss(), length: 1, into: loss, aux: true }]);
    return loss[0]! / (ws.T * ws.B);
  }

  /** Validates every input (before any memory grows), then fills the workspace's ids. */
  #prepare(X: Tokens, Y: Tokens, state: LSTMState | undefined): { ws: Workspace; st: LSTMState } {
    const { B, T } = tokenShape('X', X);
    const ys = tokenShape('Y', Y);
    if (ys.B !== B || ys.T !== T) {
      throw new RangeError(`Expected \`Y\` to have the shape of \`X\` (${B}×${T}), got ${ys.B}×${ys.T}.`);
    }
    checkTokens('X', X, this.vocabSize, B, T);
    checkTokens('Y', Y, this.vocabSize, B, T);
    const st = state ?? this.initState(B);
    checkState(st, this.numLayers, B, this.numHiddens);
    this.#calls?.prepareState(st);
    const ws = this.#runner.storage.workspace(B, T);
    readTokens(X, B, T, ws.xT);
    readTokens(Y, B, T, ws.yT);
    this.#runner.upload(ws.xT);
    this.#runner.upload(ws.yT);
    return { ws, st };
  }

  /** The phase contexts of `ws` (made on its first use), with this call's parameter arrays. */
  #contexts(ws: Workspace): { pass: Pass; layers: LayerContext[] } {
    let entry = this.#passes.get(ws);
    if (entry === undefined) {
      const pass: Pass = {
        config: this.config, layout: this.#layout, ws, W: this.flatParameters, dW: this.flatGradients, mode: 0, dropout: false,
        parts: 1, byUnits: false, recurrenceParts: 1,
      };
      entry = { pass, layers: ws.layers.map((_, l) => ({ pass, l, t: 0 })) };
      this.#passes.set(ws, entry);
    }
    entry.pass.W = this.flatParameters;
    entry.pass.dW = this.flatGradients;
    return entry;
  }

  /**
   * Runs the layers over ws.xT from `state` (writing the final state back into it), then the
   * output layer; with mode ≥ 1 returns the mean cross-entropy, leaving dY in place of the
   * logits; with mode 2 also computes the top layer's dHs for backward, and leaves writing the
   * final state to the caller (after backward).
   */
  #forward(ws: Workspace, state: LSTMState, mode: 0 | 1 | 2, dropout: boolean): number {
    const { B, T } = ws;
    const n = B * this.numHiddens;
    const { pass, layers } = this.#contexts(ws);
    pass.mode = mode;
    pass.dropout = dropout;
    planSplit(pass, this.#runner.threads);
    const fromCarry = this.#calls?.startFromCarry(ws) === true; // webgpu: a state in flight, carried on the GPU
    for (let l = 0; l < this.numLayers; l++) {
      const lw = ws.layers[l]!;
      if (!fromCarry) {
        copy(lw.hs, 0, state.h, l * n, n);
        copy(lw.cs, 0, state.c, l * n, n);
        this.#runner.upload(lw.hs, 0, n);
        this.#runner.upload(lw.cs, 0, n);
      }
      // Masks are drawn here, between phases, in layer order: the same on every backend and thread count.
      if (dropout) {
        fillDropoutMask(lw.mask!, T * n, this.config.dropout, this.#rng);
        this.#runner.upload(lw.mask!, 0, T * n);
      }
    }
    for (let l = 0; l < this.numLayers; l++) {
      this.#runner.run(layerInputForward, layers[l]!, pass.parts);
      recurrenceForward(this.#runner, layers[l]!);
    }
    const loss = this.#runner.run(outputForward, pass, pass.parts);
    // forwardBackward saves it after backward; webgpu reads it back (GpuCalls.read).
    if (mode !== 2 && this.#runner.gpu === undefined) this.#saveState(ws, state);
    return loss / (T * B);
  }

  /** Writes every layer's final H_T, C_T (hs[T], cs[T]; backward reads but never writes them) into `state`. */
  #saveState(ws: Workspace, state: LSTMState): void {
    const n = ws.B * this.numHiddens;
    for (let l = 0; l < this.numLayers; l++) {
      const lw = ws.layers[l]!;
      copy(state.h, l * n, lw.hs, ws.T * n, n);
      copy(state.c, l * n, lw.cs, ws.T * n, n);
    }
  }
}

/** dst[d + k] = src[s + k] for k in [0, n), without making a view. */
function copy(dst: FloatArray, d: number, src: FloatArray, s: number, n: number): void {
  for (let k = 0; k < n; k++) dst[d + k] = src[s + k]!;
}

/**
 * Draws the initial parameters tensor by tensor in layout order from `rng`: d2l's N(0, 1)·
 * initScale weights and zero biases, or PyTorch's U(−1/√H, 1/√H) for every LSTM and output
 * weight and bias; embeddings N(0, 1) (nn.Embedding) either way.
 */
function initialise(W: FloatArray, specs: readonly ParameterSpec[], config: ModelConfig, rng: Random): void {
  const bound = 1 / Math.sqrt(config.numHiddens);
  for (const s of specs) {
    const end = s.offset + s.size;
    if (s.kind === 'embedding') for (let i = s.offset; i < end; i++) W[i] = rng.normal();
    else if (config.init === 'pytorch') for (let i = s.offset; i < end; i++) W[i] = (2 * rng.uniform() - 1) * bound;
    else if (s.kind === 'weight') for (let i = s.offset; i < end; i++) W[i] = rng.normal() * config.initScale;
  }
}

/**
 * A parameter as the public sees it: views into the flat arrays, re-created if the storage
 * re-created its views (wasm memory growth), so `p.data` and `p.grad` are always current.
 */
class ParameterView implements Parameter {
  readonly name: string;
  readonly shape: readonly number[];
  /** webgpu: the GPU, which the optimisers hand their updates to (see Trainable). */
  readonly device: ParameterDevice | undefined;
  readonly #spec: ParameterSpec;
  readonly #storage: Storage<unknown>;
  #generation = -1;
  #data!: FloatArray;
  #grad!: FloatArray;

  constructor(spec: ParameterSpec, storage: Storage<unknown>, device: ParameterDevice | undefined) {
    this.name = spec.name;
    this.shape = spec.shape;
    this.device = device;
    this.#spec = spec;
    this.#storage = storage;
  }

  /** Where it starts in the flat arrays. */
  get offset(): number {
    return this.#spec.offset;
  }

  get size(): number {
    return this.#spec.size;
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
