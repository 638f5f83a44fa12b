// Argument checks shared by the whole library (it imports nothing). Internal: not re-exported
// from the package. Every message names the argument and the value: "Expected `batchSize` to
// be a positive integer, got 12.5."

/** A short, readable rendering of any value for an error message. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') {
    return typeof value === 'function' ? 'a function' : String(value);
  }
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== 'Object' ? `a ${name}` : 'an object';
}

/** Throws a TypeError (not an integer) or RangeError (≤ 0) unless `value` is a positive integer. */
export function checkPositiveInteger(name: string, value: unknown): number {
  const message = `Expected \`${name}\` to be a positive integer, got ${show(value)}.`;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(message);
  if (value <= 0) throw new RangeError(message);
  return value;
}

/** Throws a TypeError (not an integer) or RangeError (< 0) unless `value` is an integer ≥ 0. */
export function checkNonNegativeInteger(name: string, value: unknown): number {
  const message = `Expected \`${name}\` to be a non-negative integer, got ${show(value)}.`;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(message);
  if (value < 0) throw new RangeError(message);
  return value;
}

/** Throws a TypeError unless `value` is an array whose every element is a string. */
export function checkStringArray(name: string, value: unknown): readonly string[] {
  if (!Array.isArray(value)) {
    throw new TypeError(`Expected \`${name}\` to be an array of strings, got ${show(value)}.`);
  }
  for (let i = 0; i < value.length; i++) {
    if (typeof value[i] !== 'string') {
      throw new TypeError(`Expected \`${name}[${i}]\` to be a string, got ${show(value[i])}.`);
    }
  }
  return value as readonly string[];
}

const MAX_TOKEN_ID = 2147483647; // ids are stored in Int32Array

/**
 * Checks that `value` is an array-like of token ids (integers in [0, 2^31)) and returns them as
 * an Int32Array: the argument itself when it already is one, otherwise a copy.
 */
export function checkTokenIds(name: string, value: unknown): Int32Array {
  const length = value !== null && typeof value === 'object' ? (value as { length?: unknown }).length : undefined;
  // An array's length is an integer in [0, 2^32): `{ length: -1 }` is not array-like.
  const isArrayLike = typeof length === 'number' && Number.isInteger(length) && length >= 0 && length < 2 ** 32;
  if (!isArrayLike) {
    throw new TypeError(
      `Expected \`${name}\` to be an array or Int32Array of token ids, got ${show(value)}.`,
    );
  }
  const source = value as ArrayLike<unknown>;
  const ids = value instanceof Int32Array ? value : new Int32Array(source.length);
  for (let i = 0; i < source.length; i++) {
    const id = source[i];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > MAX_TOKEN_ID) {
      const message = `Expected \`${name}[${i}]\` to be a token id (an integer in [0, 2^31)), got ${show(id)}.`;
      throw typeof id === 'number' && Number.isInteger(id)
        ? new RangeError(message)
        : new TypeError(message);
    }
    if (ids !== source) ids[i] = id;
  }
  return ids;
}
