// What the model-level readers (checkpoint.ts, pytorch.ts) share: reading a metadata entry as
// JSON into plain values with no dangerous keys, and turning the library's own validation
// errors (TypeError/RangeError from resolveConfig, Vocab.fromJSON, an optimiser's constructor…)
// into a CheckpointFormatError that says which part of the file was refused.
import { CheckpointFormatError, type CheckpointFormatErrorCode } from './errors.js';
import { JsonObject, parseStrictJson, type JsonValue } from './json.js';
import type { SafetensorsTensor } from './safetensors.js';

/** Keys that would reach an object's prototype once copied into ordinary objects. */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** A plain JSON value: objects are ordinary objects (without the forbidden keys), arrays arrays. */
export type PlainJson = string | number | boolean | null | PlainJson[] | { [key: string]: PlainJson };

/** True for a plain JSON object (not an array, not null). */
export function isPlainObject(value: unknown): value is { [key: string]: PlainJson } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `metadata[key]` parsed as JSON (strictly: duplicate keys are an error) into plain values;
 * `undefined` when the entry is absent and not `required`. Every problem is a
 * CheckpointFormatError with code `METADATA_FIELD` naming the entry.
 */
export function readJsonField(metadata: Record<string, string>, key: string, required: true): PlainJson;
export function readJsonField(metadata: Record<string, string>, key: string, required: false): PlainJson | undefined;
export function readJsonField(metadata: Record<string, string>, key: string, required: boolean): PlainJson | undefined {
  const text = metadata[key];
  if (text === undefined) {
    if (!required) return undefined;
    throw new CheckpointFormatError('METADATA_FIELD', `Invalid checkpoint: the metadata entry ${JSON.stringify(key)} is missing.`);
  }
  let value: JsonValue;
  try {
    value = parseStrictJson(text, { what: `JSON text of metadata ${JSON.stringify(key)}`, byteOffset: (i) => i });
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new CheckpointFormatError(
      'METADATA_FIELD',
      `Invalid checkpoint: the metadata entry ${JSON.stringify(key)} is not valid JSON (${detail.replace(/ at byte /, ' at character ')})`,
    );
  }
  return toPlain(value, key, '');
}

function toPlain(value: JsonValue, key: string, path: string): PlainJson {
  if (value instanceof JsonObject) {
    const out: { [key: string]: PlainJson } = {};
    for (const [k, v] of value.members) {
      if (FORBIDDEN_KEYS.has(k)) {
        throw new CheckpointFormatError(
          'METADATA_FIELD',
          `Invalid checkpoint: metadata ${JSON.stringify(key)} has the key ${JSON.stringify(k)}${path === '' ? '' : ` in ${path}`}, which is not allowed (it would reach an object's prototype).`,
        );
      }
      out[k] = toPlain(v, key, path === '' ? k : `${path}.${k}`);
    }
    return out;
  }
  if (Array.isArray(value)) return value.map((v, i) => toPlain(v, key, `${path}[${i}]`));
  return value;
}

/**
 * Runs `check` (the library's own validation of something read from the file); a TypeError or
 * RangeError it throws becomes a CheckpointFormatError with `code`, its message after `what`.
 */
export function refuse<T>(code: CheckpointFormatErrorCode, what: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) {
      throw new CheckpointFormatError(code, `Invalid checkpoint: ${what}: ${error.message}`);
    }
    throw error;
  }
}

/** `[2, 3]` as text. */
export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Throws TENSOR_DTYPE / TENSOR_SHAPE unless `tensor` has `dtype` and `shape`. `role` says what
 * the tensor is for ("parameter of numHiddens 8, vocabSize 5").
 */
export function checkTensor(
  name: string, tensor: SafetensorsTensor, dtype: string, shape: readonly number[], role: string,
): void {
  if (tensor.dtype !== dtype) {
    throw new CheckpointFormatError(
      'TENSOR_DTYPE',
      `Invalid checkpoint: tensor ${JSON.stringify(name)} is ${tensor.dtype}, expected ${dtype} (${role}).`,
      { tensor: name },
    );
  }
  const same = tensor.shape.length === shape.length && tensor.shape.every((n, d) => n === shape[d]);
  if (!same) {
    throw new CheckpointFormatError(
      'TENSOR_SHAPE',
      `Invalid checkpoint: tensor ${JSON.stringify(name)} has shape ${shapeText(tensor.shape)}, expected ${shapeText(shape)} (${role}).`,
      { tensor: name },
    );
  }
}
