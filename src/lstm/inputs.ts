import type { FloatArray } from '../tensor/float-array.js';
import { checkPositiveInteger, show } from '../checks.js';

// Validation at the model boundary (kernels trust their inputs). Every check throws a
// TypeError or RangeError naming the argument and the value, before anything is changed.

/**
 * A batch of token ids as the data iterators yield it: B rows of T ids, row-major.
 * (Structurally the `TokenBatch` of the data module; the model does not import it.)
 */
export interface TokenMatrix {
  readonly data: Int32Array;
  readonly batchSize: number;
  readonly numSteps: number;
}

/** Token ids: B rows of T ids (`number[][]`), or a typed batch. */
export type Tokens = readonly (readonly number[])[] | TokenMatrix;

/** The recurrent state: H and C, each L·B·H — layer l's B×H block (row-major) at l·B·H. */
export interface LSTMState {
  h: FloatArray;
  c: FloatArray;
}

function isTokenMatrix(x: unknown): x is TokenMatrix {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && 'data' in x;
}

/** Checks that `x` is a rectangular batch of B ≥ 1 rows of T ≥ 1 ids; returns B and T. */
export function tokenShape(name: string, x: unknown): { B: number; T: number } {
  if (isTokenMatrix(x)) {
    if (!(x.data instanceof Int32Array)) {
      throw new TypeError(`Expected \`${name}.data\` to be an Int32Array, got ${show(x.data)}.`);
    }
    const B = checkPositiveInteger(`${name}.batchSize`, x.batchSize);
    const T = checkPositiveInteger(`${name}.numSteps`, x.numSteps);
    if (x.data.length !== B * T) {
      throw new RangeError(
        `Expected \`${name}.data\` to hold batchSize·numSteps = ${B * T} ids, got ${x.data.length}.`,
      );
    }
    return { B, T };
  }
  if (!Array.isArray(x)) {
    throw new TypeError(`Expected \`${name}\` to be an array of rows of token ids or a token batch, got ${show(x)}.`);
  }
  if (x.length === 0) throw new RangeError(`Expected \`${name}\` to have at least one row, got 0 rows.`);
  const first: unknown = x[0];
  if (!Array.isArray(first)) {
    throw new TypeError(`Expected \`${name}[0]\` to be an array of token ids, got ${show(first)}.`);
  }
  const T = first.length;
  if (T === 0) throw new RangeError(`Expected \`${name}\` rows to have at least one token, got 0.`);
  for (let b = 0; b < x.length; b++) {
    const row: unknown = x[b];
    if (!Array.isArray(row)) {
      throw new TypeError(`Expected \`${name}[${b}]\` to be an array of token ids, got ${show(row)}.`);
    }
    if (row.length !== T) {
      throw new RangeError(`Expected every row of \`${name}\` to have ${T} tokens (as row 0), got ${row.length} in row ${b}.`);
    }
  }
  return { B: x.length, T };
}

/**
 * Checks that every id of `x` (B rows of T, already shaped by `tokenShape`) is an integer in
 * [0, V). Runs before anything is allocated or written: a rejected call changes nothing.
 */
export function checkTokens(name: string, x: Tokens, V: number, B: number, T: number): void {
  if (isTokenMatrix(x)) {
    const d = x.data;
    for (let i = 0; i < d.length; i++) {
      const id = d[i]!;
      if (id < 0 || id >= V) throwBadId(name, id, V, Math.floor(i / T), i % T);
    }
    return;
  }
  for (let b = 0; b < B; b++) {
    const row = x[b]!;
    for (let t = 0; t < T; t++) {
      const id = row[t];
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= V) throwBadId(name, id, V, b, t);
    }
  }
}

/**
 * Copies the ids of `x` (checked by `checkTokens`) into `out` time-major — step t of row b at
 * t·B + b, the order of the model's time-major rows.
 */
export function readTokens(x: Tokens, B: number, T: number, out: Int32Array): void {
  if (isTokenMatrix(x)) {
    const d = x.data;
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) out[t * B + b] = d[b * T + t]!;
    return;
  }
  for (let b = 0; b < B; b++) {
    const row = x[b]!;
    for (let t = 0; t < T; t++) out[t * B + b] = row[t]!;
  }
}

function throwBadId(name: string, id: unknown, V: number, b: number, t: number): never {
  const Err = typeof id === 'number' ? RangeError : TypeError;
  throw new Err(`Expected \`${name}[${b}][${t}]\` to be a token id in [0, ${V}), got ${show(id)}.`);
}

/** Throws unless `state` holds h and c of L·B·H floats each. */
export function checkState(state: unknown, L: number, B: number, H: number): asserts state is LSTMState {
  if (typeof state !== 'object' || state === null) {
    throw new TypeError(`Expected \`state\` to be { h, c } from initState(), got ${show(state)}.`);
  }
  for (const key of ['h', 'c'] as const) {
    const v: unknown = (state as Record<string, unknown>)[key];
    if (!(v instanceof Float32Array) && !(v instanceof Float64Array)) {
      throw new TypeError(`Expected \`state.${key}\` to be a Float32Array or Float64Array, got ${show(v)}.`);
    }
    if (v.length !== L * B * H) {
      throw new RangeError(
        `Expected \`state.${key}\` to hold numLayers·batchSize·numHiddens = ${L}·${B}·${H} = ${L * B * H} values, got ${v.length}.`,
      );
    }
  }
}
