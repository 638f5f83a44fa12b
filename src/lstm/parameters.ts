import type { ParameterDevice } from '../optim/params.js';
import type { FloatArray } from '../tensor/float-array.js';
import { inputSize, type ModelConfig } from './config.js';

/**
 * One named parameter: a row-major view into the model's flat parameter array, and the
 * matching view into its flat gradient array.
 */
export interface Parameter {
  /** `W_xi`, `W_hi`, `b_i`, …, `layer1.W_xi`, …, `W_hq`, `b_q` (and `W_embed` first when there is one). */
  readonly name: string;
  /** Row-major shape, e.g. `[V, H]`, `[H, H]`, `[H]`, `[H, V]`, `[V]`, `[V, E]`. */
  readonly shape: readonly number[];
  /** The values (a view into the flat parameter array; write into it, never replace it). */
  readonly data: FloatArray;
  /** The gradient, same shape (a view into the flat gradient array). */
  readonly grad: FloatArray;
  /**
   * webgpu: the GPU the parameter really lives on (`data` and `grad` are then a host copy,
   * current after `await model.sync()`); optimisers hand it their update. Undefined elsewhere.
   */
  readonly device?: ParameterDevice;
}

/** A parameter's place in the flat array. */
export interface ParameterSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly size: number;
  /** What the initialisation draws for it. */
  readonly kind: 'weight' | 'bias' | 'embedding';
}

/** The four gates, in the seed's parameter order. Gate blocks in workspaces follow it too. */
export const GATES = ['i', 'f', 'o', 'c'] as const;

/** One gate's three tensors in a layer: offsets into the flat array. */
export interface GateParams {
  /** W_xg, [in, H]: in = V (one-hot), E (embedding) or H (layer above 0). */
  readonly W_x: number;
  /** W_hg, [H, H]. */
  readonly W_h: number;
  /** b_g, [H]. */
  readonly b: number;
}

/** One LSTM layer's parameters, by name: what the layer maths reads. */
export interface LayerParams {
  /** The size of the layer's input (V, E or H). */
  readonly inputSize: number;
  /** Per gate, in GATES order (i, f, o, c). */
  readonly gates: readonly GateParams[];
}

/** The whole model's parameter layout, named: specs in flat order, and the offsets the maths uses. */
export interface ModelLayout {
  /** Every tensor in flat order. */
  readonly specs: readonly ParameterSpec[];
  /** Total scalars. */
  readonly count: number;
  /** Offset of W_embed [V, E], or −1 for one-hot input. */
  readonly embed: number;
  readonly layers: readonly LayerParams[];
  /** Offsets of the output layer: W_hq [H, V] and b_q [V]. */
  readonly output: { readonly W_hq: number; readonly b_q: number };
}

/**
 * Where every parameter lives in one flat array. With one layer and no embedding it is exactly
 * the 14 tensors of d2l's `get_lstm_params`, in its order — for each gate g in (i, f, o, c):
 * W_xg [V,H], W_hg [H,H], b_g [H]; then W_hq [H,V], b_q [V]. An embedding `W_embed` [V,E] comes
 * first; layer l ≥ 1's twelve tensors follow layer 0's, named `layer{l}.W_xi` … (W_x [H,H]).
 *
 * @example
 * parameterLayout({ vocabSize: 28, numHiddens: 256 }).specs.map((s) => s.name);
 * // ['W_xi', 'W_hi', 'b_i', 'W_xf', …, 'W_hq', 'b_q']
 */
export function parameterLayout(
  config: Pick<ModelConfig, 'vocabSize' | 'numHiddens'> & Partial<Pick<ModelConfig, 'numLayers' | 'embeddingSize'>>,
): ModelLayout {
  const V = config.vocabSize, H = config.numHiddens, L = config.numLayers ?? 1;
  const full = { numLayers: L, embeddingSize: config.embeddingSize ?? null, vocabSize: V, numHiddens: H } as ModelConfig;
  const specs: ParameterSpec[] = [];
  let offset = 0;
  const add = (name: string, shape: number[], kind: ParameterSpec['kind']): number => {
    const size = shape.reduce((a, b) => a * b, 1);
    specs.push({ name, shape, offset, size, kind });
    offset += size;
    return offset - size;
  };
  const embed = full.embeddingSize === null ? -1 : add('W_embed', [V, full.embeddingSize], 'embedding');
  const layers: LayerParams[] = [];
  for (let l = 0; l < L; l++) {
    const prefix = l === 0 ? '' : `layer${l}.`;
    const n = inputSize(full, l);
    const gates = GATES.map((g) => ({
      W_x: add(`${prefix}W_x${g}`, [n, H], 'weight'),
      W_h: add(`${prefix}W_h${g}`, [H, H], 'weight'),
      b: add(`${prefix}b_${g}`, [H], 'bias'),
    }));
    layers.push({ inputSize: n, gates });
  }
  const output = { W_hq: add('W_hq', [H, V], 'weight'), b_q: add('b_q', [V], 'bias') };
  return { specs, count: offset, embed, layers, output };
}

/**
 * The total number of scalars: Σ_l 4·(in_l·H + H·H + H) + H·V + V (+ V·E with an embedding).
 *
 * @example
 * parameterCount({ vocabSize: 28, numHiddens: 256 }); // 4·(28·256 + 256·256 + 256) + 256·28 + 28 = 299,036
 */
export function parameterCount(
  config: Pick<ModelConfig, 'vocabSize' | 'numHiddens'> & Partial<Pick<ModelConfig, 'numLayers' | 'embeddingSize'>>,
): number {
  const V = config.vocabSize, H = config.numHiddens, L = config.numLayers ?? 1, E = config.embeddingSize ?? null;
  const first = E ?? V;
  // Each term only when present: a huge size (numHiddens 3e234) must give ∞, never 0·∞ = NaN,
  // so that the memory check refuses it.
  const embedding = E === null ? 0 : V * E;
  const above = L > 1 ? (L - 1) * 4 * (2 * H * H + H) : 0;
  return embedding + 4 * (first * H + H * H + H) + above + H * V + V;
}
