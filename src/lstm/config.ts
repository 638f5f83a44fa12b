import { checkPositiveInteger, show } from '../checks.js';

/**
 * Everything that defines a model, resolved (defaults filled in) and frozen: the one source of
 * the parameter layout (`parameterLayout`), the workspace layout, the state shape (L·B·H) and a
 * checkpoint's header. JSON-serialisable. Runtime choices that do not change the numbers a
 * model is made of (backend, threads) are not part of it.
 */
export interface ModelConfig {
  /** V, the number of token ids. */
  readonly vocabSize: number;
  /** H, the hidden units of every layer. */
  readonly numHiddens: number;
  /** L, stacked LSTM layers: layer l ≥ 1 takes layer l−1's H_t as its input. */
  readonly numLayers: number;
  /** p, the inverted-dropout rate on every layer's output (the last one included); 0 = none. */
  readonly dropout: number;
  /** E, the size of a learned V×E embedding before layer 0, or `null` for one-hot input. */
  readonly embeddingSize: number | null;
  /** The cell of every layer. Only `'lstm'` today: a GRU would be a second cell kernel pair. */
  readonly cell: 'lstm';
  /** Weight initialisation: d2l's N(0, 1)·initScale with zero biases, or PyTorch's U(±1/√H). */
  readonly init: 'd2l' | 'pytorch';
  /** The standard deviation of d2l's initialisation (unused by `'pytorch'`). */
  readonly initScale: number;
  /** The seed of the model's generator: initial weights, then dropout masks. */
  readonly seed: number;
  /** Element type of parameters, gradients and activations. */
  readonly dtype: 'float32' | 'float64';
}

/** The options that resolve into a {@link ModelConfig} (the model's options minus the runtime ones). */
export interface ModelConfigOptions {
  vocabSize: number;
  numHiddens: number;
  numLayers?: number;
  dropout?: number;
  embeddingSize?: number | null;
  cell?: 'lstm';
  init?: 'd2l' | 'pytorch';
  initScale?: number;
  seed?: number;
  dtype?: 'float32' | 'float64';
}

/** Seeds are used as 32-bit unsigned integers; larger ones would silently alias. */
const MAX_SEED = 4294967295;

/**
 * Validates `options` and returns the frozen, resolved config. Every error names the option
 * and its value.
 *
 * @example
 * resolveConfig({ vocabSize: 65, numHiddens: 256, numLayers: 2, dropout: 0.2 });
 * // { vocabSize: 65, numHiddens: 256, numLayers: 2, dropout: 0.2, embeddingSize: null, cell: 'lstm', init: 'd2l', … }
 */
export function resolveConfig(options: ModelConfigOptions): ModelConfig {
  const vocabSize = checkPositiveInteger('vocabSize', options.vocabSize);
  const numHiddens = checkPositiveInteger('numHiddens', options.numHiddens);
  const numLayers = checkPositiveInteger('numLayers', options.numLayers ?? 1);
  const dropout = options.dropout ?? 0;
  if (typeof dropout !== 'number') throw new TypeError(`Expected \`dropout\` to be a number in [0, 1), got ${show(dropout)}.`);
  if (!(dropout >= 0 && dropout < 1)) throw new RangeError(`Expected \`dropout\` to be a number in [0, 1), got ${show(dropout)}.`);
  const embeddingSize = options.embeddingSize ?? null;
  if (embeddingSize !== null) checkPositiveInteger('embeddingSize', embeddingSize);
  if (options.cell !== undefined && options.cell !== 'lstm') {
    throw new RangeError(`Expected \`cell\` to be 'lstm', got ${show(options.cell)}.`);
  }
  const init = options.init ?? 'd2l';
  if (init !== 'd2l' && init !== 'pytorch') {
    throw new RangeError(`Expected \`init\` to be 'd2l' or 'pytorch', got ${show(init)}.`);
  }
  const initScale = options.initScale ?? 0.01;
  if (typeof initScale !== 'number' || !Number.isFinite(initScale) || initScale < 0 || initScale > 1e3) {
    // Above ~1e3 a float32 weight times a hidden unit overflows long before training starts.
    const Err = typeof initScale === 'number' ? RangeError : TypeError;
    throw new Err(`Expected \`initScale\` to be a finite number in [0, 1000], got ${show(initScale)}.`);
  }
  const seed = options.seed ?? 0;
  if (typeof seed !== 'number' || !Number.isInteger(seed)) {
    throw new TypeError(`Expected \`seed\` to be an integer in [0, 2^32), got ${show(seed)}.`);
  }
  if (seed < 0 || seed > MAX_SEED) throw new RangeError(`Expected \`seed\` to be an integer in [0, 2^32), got ${show(seed)}.`);
  const dtype = options.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float64') {
    throw new RangeError(`Expected \`dtype\` to be 'float32' or 'float64', got ${show(dtype)}.`);
  }
  return Object.freeze({ vocabSize, numHiddens, numLayers, dropout, embeddingSize, cell: 'lstm', init, initScale, seed, dtype });
}

/** The size of layer l's input: E or V for layer 0 (embedding or one-hot), H above it. */
export function inputSize(config: ModelConfig, layer: number): number {
  return layer > 0 ? config.numHiddens : config.embeddingSize ?? config.vocabSize;
}
