// The safetensors container: the one-file format that Hugging Face and PyTorch users load with
// `safetensors`. Layout (https://github.com/huggingface/safetensors, README "Format"):
//
//   [0, 8)          N, the header length: unsigned 64-bit little-endian
//   [8, 8 + N)      the header: UTF-8 JSON object, starting with "{", padded with spaces
//                   { "__metadata__": { string: string }?,
//                     name: { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] }, … }
//   [8 + N, end)    the data: each tensor's elements row-major little-endian at
//                   [8 + N + begin, 8 + N + end); the ranges tile the data exactly (no holes)
//
// The writer keeps the caller's tensor order (offsets ascending in that order) and pads the header
// to a multiple of 8 bytes as the reference writer does, so every tensor's data is 8-byte aligned
// in the file. The reader treats the file as hostile: every number in the header is checked
// against the file before it is used, and tensor data are only allocated (fresh, aligned copies)
// after the whole header has been checked, so nothing beyond the file's own size is allocated
// and nothing is half-read. See docs/checkpoint-format.md for the rules it enforces.

import { checkPositiveInteger, show } from '../checks.js';
import { CheckpointFormatError } from './errors.js';
import { hasLoneSurrogate, JsonObject, parseStrictJson, type JsonValue } from './json.js';

/** The element types this library reads and writes (the safetensors names). */
export type SafetensorsDtype =
  | 'F64' | 'F32' | 'F16' | 'BF16'
  | 'I64' | 'U64' | 'I32' | 'U32' | 'I16' | 'U16' | 'I8' | 'U8' | 'BOOL';

/**
 * The typed array that holds each dtype's elements. F16 and BF16 are kept as their raw 16-bit
 * patterns (JavaScript has no such arrays); BOOL as bytes (0 or 1 when written by PyTorch).
 */
export interface SafetensorsArrays {
  F64: Float64Array;
  F32: Float32Array;
  F16: Uint16Array;
  BF16: Uint16Array;
  I64: BigInt64Array;
  U64: BigUint64Array;
  I32: Int32Array;
  U32: Uint32Array;
  I16: Int16Array;
  U16: Uint16Array;
  I8: Int8Array;
  U8: Uint8Array;
  BOOL: Uint8Array;
}

/** One tensor: its dtype, its shape (`[]` for a scalar) and its elements, row-major. */
export type SafetensorsTensor<D extends SafetensorsDtype = SafetensorsDtype> = {
  [K in D]: { dtype: K; shape: readonly number[]; data: SafetensorsArrays[K] };
}[D];

/** A tensor with its name, as `encodeSafetensors` takes them in a list. */
export type NamedSafetensorsTensor = SafetensorsTensor & { name: string };

/** What `decodeSafetensors` returns. */
export interface DecodedSafetensors {
  /** `__metadata__` (an object without prototype; empty when the file has none). */
  metadata: Record<string, string>;
  /** The tensors in the order of their data in the file, each with freshly allocated data. */
  tensors: Map<string, SafetensorsTensor>;
}

/** Limits of `decodeSafetensors`. */
export interface SafetensorsLimits {
  /** Largest header accepted, in bytes. Default `MAX_HEADER_BYTES` (100 MB). */
  maxHeaderBytes?: number;
}

/**
 * The default cap on the header length: 100 MB, the reference implementation's limit.
 *
 * @example
 * decodeSafetensors(bytes, { maxHeaderBytes: MAX_HEADER_BYTES / 100 }); // a tighter cap
 */
export const MAX_HEADER_BYTES = 100_000_000;

interface DtypeInfo {
  size: number;
  /** `Symbol.toStringTag` of the array type (checked instead of `instanceof`: works across realms). */
  tag: string;
  make: (buffer: ArrayBuffer) => SafetensorsArrays[SafetensorsDtype];
}

const DTYPES: Readonly<Record<SafetensorsDtype, DtypeInfo>> = {
  F64: { size: 8, tag: 'Float64Array', make: (b) => new Float64Array(b) },
  F32: { size: 4, tag: 'Float32Array', make: (b) => new Float32Array(b) },
  F16: { size: 2, tag: 'Uint16Array', make: (b) => new Uint16Array(b) },
  BF16: { size: 2, tag: 'Uint16Array', make: (b) => new Uint16Array(b) },
  I64: { size: 8, tag: 'BigInt64Array', make: (b) => new BigInt64Array(b) },
  U64: { size: 8, tag: 'BigUint64Array', make: (b) => new BigUint64Array(b) },
  I32: { size: 4, tag: 'Int32Array', make: (b) => new Int32Array(b) },
  U32: { size: 4, tag: 'Uint32Array', make: (b) => new Uint32Array(b) },
  I16: { size: 2, tag: 'Int16Array', make: (b) => new Int16Array(b) },
  U16: { size: 2, tag: 'Uint16Array', make: (b) => new Uint16Array(b) },
  I8: { size: 1, tag: 'Int8Array', make: (b) => new Int8Array(b) },
  U8: { size: 1, tag: 'Uint8Array', make: (b) => new Uint8Array(b) },
  BOOL: { size: 1, tag: 'Uint8Array', make: (b) => new Uint8Array(b) },
};

/**
 * The dtypes this library reads and writes.
 *
 * @example
 * SAFETENSORS_DTYPES.includes('F32'); // true
 * SAFETENSORS_DTYPES.includes('F8_E4M3'); // false: such files are refused with code 'DTYPE'
 */
export const SAFETENSORS_DTYPES = Object.freeze(Object.keys(DTYPES) as SafetensorsDtype[]);

/** Names that would reach an object's prototype if used as keys: refused as names and keys. */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

const METADATA_KEY = '__metadata__';
const ENTRY_KEYS = ['dtype', 'shape', 'data_offsets'] as const;

// Typed arrays use the host's byte order; the format is little-endian. Big-endian hosts swap.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function isDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, value);
}

/** Reverses the bytes of each `size`-byte element of `bytes`, in place. */
function swapBytes(bytes: Uint8Array, size: number): void {
  for (let e = 0; e < bytes.length; e += size) {
    for (let a = e, b = e + size - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

interface PreparedTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: readonly number[];
  bytes: Uint8Array;
}

function checkKey(what: string, key: unknown): string {
  if (typeof key !== 'string') throw new TypeError(`Expected ${what} to be a string, got ${show(key)}.`);
  if (FORBIDDEN_KEYS.has(key)) {
    throw new RangeError(`Expected ${what} not to be ${show(key)} (a reader's objects would misread it).`);
  }
  if (hasLoneSurrogate(key)) {
    throw new RangeError(`Expected ${what} to be well-formed Unicode, got ${show(key)} (an unpaired surrogate).`);
  }
  return key;
}

function prepareTensor(where: string, name: string, tensor: unknown): PreparedTensor {
  if (tensor === null || typeof tensor !== 'object') {
    throw new TypeError(`Expected \`${where}\` to be { dtype, shape, data }, got ${show(tensor)}.`);
  }
  const { dtype, shape, data } = tensor as { dtype?: unknown; shape?: unknown; data?: unknown };
  if (!isDtype(dtype)) {
    throw new TypeError(
      `Expected \`${where}.dtype\` to be one of ${SAFETENSORS_DTYPES.join(', ')}, got ${show(dtype)}.`,
    );
  }
  if (!Array.isArray(shape)) {
    throw new TypeError(`Expected \`${where}.shape\` to be an array of non-negative integers, got ${show(shape)}.`);
  }
  let count = 1;
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d] as unknown;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
      throw new TypeError(`Expected \`${where}.shape[${d}]\` to be a non-negative integer, got ${show(n)}.`);
    }
    count *= n;
  }
  if (!Number.isSafeInteger(count)) {
    throw new RangeError(`Expected \`${where}.shape\` to have fewer than 2^53 elements, got [${shape.join(', ')}].`);
  }
  const info = DTYPES[dtype];
  const tag = ArrayBuffer.isView(data) ? (data as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] : undefined;
  if (tag !== info.tag) {
    throw new TypeError(`Expected \`${where}.data\` to be a ${info.tag} (dtype ${dtype}), got ${show(data)}.`);
  }
  const view = data as SafetensorsArrays[SafetensorsDtype];
  if (view.length !== count) {
    throw new RangeError(
      `Expected \`${where}.data\` to have ${count} elements (shape [${shape.join(', ')}]), got ${view.length}.`,
    );
  }
  // The data may be a view into a larger (possibly shared) buffer: take exactly its bytes.
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  return { name, dtype, shape: shape as number[], bytes };
}

function prepareTensors(
  tensors: readonly NamedSafetensorsTensor[] | ReadonlyMap<string, SafetensorsTensor>,
): PreparedTensor[] {
  const prepared: PreparedTensor[] = [];
  if (tensors instanceof Map) {
    for (const [name, tensor] of tensors as ReadonlyMap<unknown, unknown>) {
      const key = checkKey('every key of `tensors`', name);
      if (key === METADATA_KEY) throw new RangeError(`Expected no tensor named "${METADATA_KEY}" (a reserved key).`);
      prepared.push(prepareTensor(`tensors.get(${JSON.stringify(key)})`, key, tensor));
    }
    return prepared;
  }
  if (!Array.isArray(tensors)) {
    throw new TypeError(`Expected \`tensors\` to be an array of { name, dtype, shape, data } or a Map, got ${show(tensors)}.`);
  }
  const seen = new Set<string>();
  for (let t = 0; t < tensors.length; t++) {
    const tensor = tensors[t] as unknown;
    const name = checkKey(`\`tensors[${t}].name\``, (tensor as { name?: unknown } | null)?.name);
    if (name === METADATA_KEY) {
      throw new RangeError(`Expected \`tensors[${t}].name\` not to be "${METADATA_KEY}" (a reserved key).`);
    }
    if (seen.has(name)) throw new RangeError(`Expected \`tensors[${t}].name\` to be unique, got ${show(name)} twice.`);
    seen.add(name);
    prepared.push(prepareTensor(`tensors[${t}]`, name, tensor));
  }
  return prepared;
}

function metadataEntries(metadata: unknown): [string, string][] {
  let source: Iterable<[unknown, unknown]>;
  if (metadata instanceof Map) source = metadata as Map<unknown, unknown>;
  else if (metadata !== null && typeof metadata === 'object' && !Array.isArray(metadata)) source = Object.entries(metadata);
  else throw new TypeError(`Expected \`metadata\` to be an object of strings, got ${show(metadata)}.`);
  const entries: [string, string][] = [];
  for (const [key, value] of source) {
    const k = checkKey('every key of `metadata`', key);
    if (typeof value !== 'string') {
      throw new TypeError(`Expected \`metadata[${JSON.stringify(k)}]\` to be a string, got ${show(value)}.`);
    }
    if (hasLoneSurrogate(value)) {
      throw new RangeError(`Expected \`metadata[${JSON.stringify(k)}]\` to be well-formed Unicode (an unpaired surrogate).`);
    }
    entries.push([k, value]);
  }
  return entries;
}

/**
 * Writes tensors and string metadata as a safetensors file. Deterministic: the same input gives
 * the same bytes. The header is compact JSON (as the reference writer's): `__metadata__` first
 * (only when `metadata` is given), then the tensors in the given order, each
 * `{"dtype","shape","data_offsets"}`, padded with spaces to a multiple of 8 bytes; the data
 * follow in the same order, little-endian on any host. The reference writer orders tensors by
 * dtype alignment then name instead; readers accept any order.
 *
 * Throws a TypeError or RangeError naming the argument for a bad name (`__proto__`,
 * `constructor`, `prototype`, `__metadata__`, a duplicate, an unpaired surrogate), dtype, shape,
 * data type (F32 needs a Float32Array, …) or length, or metadata value.
 *
 * @param tensors A list of `{ name, dtype, shape, data }`, or a Map from name to `{ dtype, shape, data }`.
 * @param metadata String → string pairs stored under `__metadata__`.
 * @example
 * const bytes = encodeSafetensors(
 *   [{ name: 'w', dtype: 'F32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }],
 *   { format: 'pt' },
 * );
 * decodeSafetensors(bytes).tensors.get('w')?.data; // Float32Array [1, 2, 3, 4]
 */
export function encodeSafetensors(
  tensors: readonly NamedSafetensorsTensor[] | ReadonlyMap<string, SafetensorsTensor>,
  metadata?: Readonly<Record<string, string>> | ReadonlyMap<string, string>,
): Uint8Array {
  const prepared = prepareTensors(tensors);
  const members: string[] = [];
  if (metadata !== undefined) {
    const pairs = metadataEntries(metadata).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
    members.push(`"${METADATA_KEY}":{${pairs.join(',')}}`);
  }
  let dataLength = 0;
  for (const t of prepared) {
    const begin = dataLength;
    dataLength += t.bytes.length;
    members.push(
      `${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${begin},${dataLength}]}`,
    );
  }
  const json = new TextEncoder().encode(`{${members.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  if (headerLength > MAX_HEADER_BYTES) {
    throw new RangeError(
      `Expected the safetensors header to be at most ${MAX_HEADER_BYTES} bytes (readers refuse more), got ${headerLength}: too many tensors or too much metadata.`,
    );
  }
  const out = new Uint8Array(8 + headerLength + dataLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength, true); // the high 32 bits stay 0: headerLength < 2^32
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const t of prepared) {
    out.set(t.bytes, at);
    if (!LITTLE_ENDIAN) swapBytes(out.subarray(at, at + t.bytes.length), DTYPES[t.dtype].size);
    at += t.bytes.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading

interface Entry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/** Number of UTF-8 bytes in `text.slice(0, end)`, to turn a text index into a byte offset. */
function utf8Length(text: string, end: number): number {
  let n = 0;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4; // a pair (the decoder guarantees well-formed text): 4 bytes for 2 code units
      i++;
    } else n += 3;
  }
  return n;
}

function describeJson(value: JsonValue): string {
  if (value instanceof JsonObject) return 'an object';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}

function bytesText(begin: number, end: number): string {
  return `[${begin}, ${end})`;
}

/**
 * Reads a safetensors file, treating it as hostile. Throws a `CheckpointFormatError` that says
 * what is wrong and where (tensor name, byte offset) for: a file shorter than its length field or
 * its header, a header above `limits.maxHeaderBytes` (100 MB), a header that is not UTF-8 or not
 * a JSON object (duplicate keys included), a tensor entry without exactly `dtype`, `shape` and
 * `data_offsets` of the right types, an unknown dtype, a shape that is not a list of non-negative
 * safe integers, a byte range that is out of bounds or is not the element count times the dtype
 * size, ranges that overlap or leave gaps (the data must be tiled exactly), `__metadata__` that
 * is not string → string, and `__proto__`, `constructor` or `prototype` as a tensor name or
 * metadata key. Tensor data are copied into fresh typed arrays (aligned, host byte order) only
 * after every check has passed. Tensor values are not checked: see `checkFinite`.
 *
 * @param bytes The whole file.
 * @param limits `maxHeaderBytes`: the largest header accepted (default 100 MB).
 * @example
 * const bytes = encodeSafetensors([{ name: 'b', dtype: 'F64', shape: [], data: new Float64Array([0.5]) }]);
 * const { tensors, metadata } = decodeSafetensors(bytes);
 * tensors.get('b'); // { dtype: 'F64', shape: [], data: Float64Array [0.5] }
 * Object.keys(metadata); // []
 */
export function decodeSafetensors(bytes: Uint8Array | ArrayBuffer, limits: SafetensorsLimits = {}): DecodedSafetensors {
  const file = bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : bytes;
  if (!(file instanceof Uint8Array)) {
    throw new TypeError(`Expected \`bytes\` to be a Uint8Array or an ArrayBuffer, got ${show(bytes)}.`);
  }
  const maxHeaderBytes = checkPositiveInteger('limits.maxHeaderBytes', limits.maxHeaderBytes ?? MAX_HEADER_BYTES);

  // The length field.
  if (file.length < 8) {
    throw new CheckpointFormatError(
      'TRUNCATED',
      `Truncated safetensors file: ${file.length} bytes, fewer than the 8 of its header length field.`,
      { offset: file.length },
    );
  }
  const field = new DataView(file.buffer, file.byteOffset, 8);
  const declared = field.getBigUint64(0, true);
  if (declared > BigInt(maxHeaderBytes)) {
    throw new CheckpointFormatError(
      'HEADER_TOO_LARGE',
      `Invalid safetensors file: the header length field (bytes [0, 8)) declares ${declared} bytes, more than the limit of ${maxHeaderBytes}.`,
      { offset: 0 },
    );
  }
  const headerLength = Number(declared);
  const dataStart = 8 + headerLength;
  if (dataStart > file.length) {
    throw new CheckpointFormatError(
      'TRUNCATED',
      `Truncated safetensors file: the header length field declares ${headerLength} bytes, but only ${file.length - 8} follow it (the file is ${file.length} bytes).`,
      { offset: file.length },
    );
  }
  if (headerLength === 0 || file[8] !== 0x7b) {
    throw new CheckpointFormatError(
      'HEADER_JSON',
      `Invalid safetensors header: it must begin with "{", found ${headerLength === 0 ? 'an empty header' : `byte 0x${file[8]!.toString(16).padStart(2, '0')}`} at byte 8.`,
      { offset: 8 },
    );
  }

  // The header.
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(file.subarray(8, dataStart));
  } catch {
    throw new CheckpointFormatError(
      'HEADER_ENCODING',
      `Invalid safetensors header: bytes ${bytesText(8, dataStart)} are not valid UTF-8.`,
      { offset: 8 },
    );
  }
  const byteOffset = (index: number): number => 8 + utf8Length(text, index);
  const root = parseStrictJson(text, {
    what: 'safetensors header',
    byteOffset,
    maxDepth: 8,
    integersOnly: true,
  });
  if (!(root instanceof JsonObject)) {
    // Unreachable after the "{" check, kept so that the types say so.
    throw new CheckpointFormatError('HEADER_JSON', 'Invalid safetensors header: not a JSON object.', { offset: 8 });
  }

  const dataLength = file.length - dataStart;
  const metadata = Object.create(null) as Record<string, string>;
  const entries: Entry[] = [];
  // Byte offsets for messages are worked out only on failure (a scan of the header each time).
  for (const [name, value] of root.members) {
    const at = (): number => byteOffset(root.keyAt.get(name)!);
    if (name === METADATA_KEY) readMetadata(value, at, byteOffset, metadata);
    else entries.push(readEntry(name, value, at, dataLength, dataStart));
  }

  // The ranges must tile [0, dataLength): sorted by offset, each begins where the last ended.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let last: Entry | undefined;
  for (const e of entries) {
    if (e.begin < covered) {
      throw new CheckpointFormatError(
        'OVERLAP',
        `Invalid safetensors file: tensor ${JSON.stringify(e.name)} (data bytes ${bytesText(e.begin, e.end)}, file bytes ${bytesText(dataStart + e.begin, dataStart + e.end)}) overlaps tensor ${JSON.stringify(last!.name)} (data bytes ${bytesText(last!.begin, last!.end)}).`,
        { tensor: e.name, offset: dataStart + e.begin },
      );
    }
    if (e.begin > covered) {
      throw new CheckpointFormatError(
        'GAP',
        `Invalid safetensors file: data bytes ${bytesText(covered, e.begin)} (file bytes ${bytesText(dataStart + covered, dataStart + e.begin)}) belong to no tensor, before tensor ${JSON.stringify(e.name)}; the format forbids holes.`,
        { tensor: e.name, offset: dataStart + covered },
      );
    }
    covered = e.end;
    last = e;
  }
  if (covered !== dataLength) {
    throw new CheckpointFormatError(
      'GAP',
      `Invalid safetensors file: data bytes ${bytesText(covered, dataLength)} (file bytes ${bytesText(dataStart + covered, file.length)}) at the end belong to no tensor; the format forbids holes.`,
      { offset: dataStart + covered },
    );
  }

  // Every check has passed: copy the data out. The copies total exactly dataLength bytes.
  const tensors = new Map<string, SafetensorsTensor>();
  for (const e of entries) {
    const info = DTYPES[e.dtype];
    const buffer = new ArrayBuffer(e.end - e.begin);
    const copy = new Uint8Array(buffer);
    copy.set(file.subarray(dataStart + e.begin, dataStart + e.end));
    if (!LITTLE_ENDIAN) swapBytes(copy, info.size);
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: info.make(buffer) } as SafetensorsTensor);
  }
  return { metadata, tensors };
}

function readMetadata(
  value: JsonValue,
  at: () => number,
  byteOffset: (index: number) => number,
  metadata: Record<string, string>,
): void {
  if (!(value instanceof JsonObject)) {
    throw new CheckpointFormatError(
      'METADATA',
      `Invalid safetensors header: "${METADATA_KEY}" (at byte ${at()}) must be an object of strings, got ${describeJson(value)}.`,
      { offset: at() },
    );
  }
  for (const [key, v] of value.members) {
    const keyAt = (): number => byteOffset(value.keyAt.get(key)!);
    if (FORBIDDEN_KEYS.has(key)) {
      throw new CheckpointFormatError(
        'FORBIDDEN_KEY',
        `Invalid safetensors header: the metadata key ${JSON.stringify(key)} (at byte ${keyAt()}) is not allowed.`,
        { offset: keyAt() },
      );
    }
    if (typeof v !== 'string') {
      throw new CheckpointFormatError(
        'METADATA',
        `Invalid safetensors header: metadata ${JSON.stringify(key)} (at byte ${keyAt()}) must be a string, got ${describeJson(v)}.`,
        { offset: keyAt() },
      );
    }
    metadata[key] = v;
  }
}

function readEntry(name: string, value: JsonValue, at: () => number, dataLength: number, dataStart: number): Entry {
  type Code = 'FORBIDDEN_KEY' | 'TENSOR_ENTRY' | 'DTYPE' | 'SHAPE' | 'SIZE_MISMATCH' | 'OUT_OF_BOUNDS';
  const fail = (code: Code, detail: string): never => {
    const offset = at();
    const message = `Invalid safetensors header: tensor ${JSON.stringify(name)} (at byte ${offset}) ${detail}.`;
    throw new CheckpointFormatError(code, message, { tensor: name, offset });
  };
  if (FORBIDDEN_KEYS.has(name)) fail('FORBIDDEN_KEY', 'has a name that is not allowed');
  if (!(value instanceof JsonObject)) {
    return fail('TENSOR_ENTRY', `must be an object { dtype, shape, data_offsets }, got ${describeJson(value)}`);
  }
  for (const key of ENTRY_KEYS) if (!value.members.has(key)) fail('TENSOR_ENTRY', `has no "${key}"`);
  for (const key of value.members.keys()) {
    if (!(ENTRY_KEYS as readonly string[]).includes(key)) fail('TENSOR_ENTRY', `has an unexpected key ${JSON.stringify(key)}`);
  }
  const dtype = value.members.get('dtype')!;
  if (typeof dtype !== 'string') fail('TENSOR_ENTRY', `has a "dtype" that is not a string: ${describeJson(dtype)}`);
  if (!isDtype(dtype)) {
    return fail('DTYPE', `has an unknown or unsupported dtype ${describeJson(dtype)} (supported: ${SAFETENSORS_DTYPES.join(', ')})`);
  }

  const shape = value.members.get('shape')!;
  if (!Array.isArray(shape)) return fail('SHAPE', `has a "shape" that is not an array: ${describeJson(shape)}`);
  let count = 1;
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d]!;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
      fail('SHAPE', `has shape[${d}] = ${describeJson(n)}, not a non-negative safe integer`);
    }
    count *= n as number;
    if (!Number.isSafeInteger(count)) fail('SHAPE', `has a shape [${shape.join(', ')}] whose element count overflows 2^53`);
  }

  const offsets = value.members.get('data_offsets')!;
  if (!Array.isArray(offsets) || offsets.length !== 2) {
    return fail('TENSOR_ENTRY', `has "data_offsets" that are not [begin, end]: ${describeJson(offsets)}`);
  }
  const [begin, end] = offsets as [JsonValue, JsonValue];
  for (const [label, n] of [['begin', begin], ['end', end]] as const) {
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
      fail('TENSOR_ENTRY', `has a data_offsets ${label} ${describeJson(n)} that is not a non-negative safe integer`);
    }
  }
  const b = begin as number, e = end as number;
  if (e < b) fail('OUT_OF_BOUNDS', `has data_offsets [${b}, ${e}] that end before they begin`);
  if (e > dataLength) {
    fail(
      'OUT_OF_BOUNDS',
      `has data_offsets [${b}, ${e}] past the end of the data (${dataLength} bytes, file bytes ${bytesText(dataStart, dataStart + dataLength)})`,
    );
  }
  const size = DTYPES[dtype].size;
  if (e - b !== count * size) {
    fail(
      'SIZE_MISMATCH',
      `spans ${e - b} bytes (data_offsets [${b}, ${e}]), but ${dtype} [${shape.join(', ')}] is ${count} × ${size} = ${count * size} bytes`,
    );
  }
  return { name, dtype, shape: shape as number[], begin: b, end: e };
}

// ---------------------------------------------------------------------------------------------
// Values

/**
 * Throws a `CheckpointFormatError` (code `NON_FINITE`) naming the tensor, the index and the
 * position of its first NaN or ±Infinity. Float dtypes only (F64, F32, and the bit patterns of
 * F16 and BF16); other dtypes always pass. The container does not check values (the format
 * allows NaN); a checkpoint reader calls this for weights that must be finite.
 *
 * @example
 * const w = { dtype: 'F32', shape: [2], data: new Float32Array([1, NaN]) } as const;
 * checkFinite('w', w); // throws: Tensor "w" has NaN at index 1 (position [1] of shape [2]).
 */
export function checkFinite(name: string, tensor: SafetensorsTensor): void {
  const index = firstNonFinite(tensor);
  if (index < 0) return;
  const { shape } = tensor;
  const position: number[] = [];
  let rest = index;
  for (let d = shape.length - 1; d >= 0; d--) {
    position.unshift(rest % shape[d]!);
    rest = Math.floor(rest / shape[d]!);
  }
  throw new CheckpointFormatError(
    'NON_FINITE',
    `Tensor ${JSON.stringify(name)} has ${nonFiniteName(tensor, index)} at index ${index} (position [${position.join(', ')}] of shape [${shape.join(', ')}]).`,
    { tensor: name },
  );
}

/**
 * The index of the first NaN or ±Infinity in a float tensor, or -1 (always -1 for integer dtypes).
 *
 * @example
 * firstNonFinite({ dtype: 'F64', shape: [3], data: new Float64Array([0, Infinity, NaN]) }); // 1
 */
export function firstNonFinite(tensor: SafetensorsTensor): number {
  switch (tensor.dtype) {
    case 'F64':
    case 'F32': {
      const data = tensor.data;
      for (let i = 0; i < data.length; i++) if (data[i]! - data[i]! !== 0) return i; // NaN and ±Inf give NaN
      return -1;
    }
    case 'F16':
    case 'BF16': {
      const exponent = tensor.dtype === 'F16' ? 0x7c00 : 0x7f80; // all ones: Inf or NaN
      const data = tensor.data;
      for (let i = 0; i < data.length; i++) if ((data[i]! & exponent) === exponent) return i;
      return -1;
    }
    default:
      return -1;
  }
}

function nonFiniteName(tensor: SafetensorsTensor, index: number): string {
  if (tensor.dtype === 'F16' || tensor.dtype === 'BF16') {
    const bits = tensor.data[index]!;
    const mantissa = tensor.dtype === 'F16' ? 0x03ff : 0x007f;
    if ((bits & mantissa) !== 0) return 'NaN';
    return bits & 0x8000 ? '-Infinity' : 'Infinity';
  }
  return String(tensor.data[index]);
}
