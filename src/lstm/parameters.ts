import type { FloatArray } from '../tensor/float-array.js';

/**
 * One named parameter: a row-major view into the model's flat parameter array, and the
 * matching view into its flat gradient array.
 */
export interface Parameter {
  /** The seed's name: `W_xi`, `W_hi`, `b_i`, …, `W_hq`, `b_q`. */
  readonly name: string;
  /** Row-major shape: `[V, H]`, `[H, H]`, `[H]`, `[H, V]` or `[V]`. */
  readonly shape: readonly number[];
  /** The values (a view into the flat parameter array; write into it, never replace it). */
  readonly data: FloatArray;
  /** The gradient, same shape (a view into the flat gradient array). */
  readonly grad: FloatArray;
}

/** A parameter's place in the flat array. */
export interface ParameterSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly size: number;
  /** Weights are initialised N(0, 1)·initScale, biases 0. */
  readonly isBias: boolean;
}

/** The four gates, in the seed's parameter order. Gate blocks in workspaces follow it too. */
export const GATES = ['i', 'f', 'o', 'c'] as const;

/**
 * The 14 parameters in the seed's order — for each gate g in (i, f, o, c): W_xg [V,H],
 * W_hg [H,H], b_g [H]; then W_hq [H,V], b_q [V] — with their offsets in one flat array.
 */
export function parameterLayout(V: number, H: number): ParameterSpec[] {
  const specs: ParameterSpec[] = [];
  let offset = 0;
  const add = (name: string, shape: number[], isBias: boolean): void => {
    const size = shape.reduce((a, b) => a * b, 1);
    specs.push({ name, shape, offset, size, isBias });
    offset += size;
  };
  for (const g of GATES) {
    add(`W_x${g}`, [V, H], false);
    add(`W_h${g}`, [H, H], false);
    add(`b_${g}`, [H], true);
  }
  add('W_hq', [H, V], false);
  add('b_q', [V], true);
  return specs;
}

/** The total number of scalars in the layout: 4·(V·H + H·H + H) + H·V + V. */
export function parameterCount(V: number, H: number): number {
  return 4 * (V * H + H * H + H) + H * V + V;
}
