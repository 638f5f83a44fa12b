// The WebAssembly binary format, just the parts the kernels need: LEB128 integers, value
// types, and a module made of type, import (one memory), function, global, export and code
// sections.
// Reference: https://webassembly.github.io/spec/core/binary/

/** Value types and their one-byte codes. */
export const ValType = {
  i32: 0x7f,
  i64: 0x7e,
  f32: 0x7d,
  f64: 0x7c,
  v128: 0x7b,
} as const;
export type ValType = (typeof ValType)[keyof typeof ValType];

/**
 * Unsigned LEB128: 7 bits a byte, low group first, high bit set on every byte but the last.
 * Takes a uint32 (an index, a size, a memory offset); anything else is a generator bug, thrown
 * rather than wrapped (`>>> 0` would encode Infinity or 2.5 as a valid, wrong number).
 */
export function unsignedLeb128(value: number): number[] {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** 32) {
    throw new RangeError(`Expected a uint32 for LEB128, got ${String(value)}.`);
  }
  let v = value >>> 0;
  const out: number[] = [];
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/**
 * Signed LEB128 (two's complement, sign-extended from the last byte's bit 6). Takes a bigint
 * so that i64 constants are exact; numbers must be safe integers.
 */
export function signedLeb128(value: number | bigint): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n; // arithmetic shift: keeps the sign
    const done = (v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** IEEE 754 little-endian bytes of a float32 / float64 constant. */
export function f32Bytes(value: number): number[] {
  return [...new Uint8Array(new Float32Array([value]).buffer)];
}
export function f64Bytes(value: number): number[] {
  return [...new Uint8Array(new Float64Array([value]).buffer)];
}

/** A function ready to be placed in a module: its signature, extra locals and body code. */
export interface FunctionDef {
  name: string;
  params: readonly ValType[];
  results: readonly ValType[];
  /** Locals beyond the parameters, in index order. */
  locals: readonly ValType[];
  /** The instructions, ending with `end`. */
  code: readonly number[];
  exported: boolean;
}

/** How the module imports its memory: always as `env.memory`, owned by the caller. */
export interface MemoryImport {
  /** Shared memories (for threads) must declare a maximum; 65536 pages accepts any memory. */
  shared: boolean;
}

const MAGIC_AND_VERSION = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const Section = { type: 1, import: 2, function: 3, global: 6, export: 7, code: 10 } as const;
const FUNC_TYPE = 0x60;
const EXTERNAL_FUNC = 0x00;
const EXTERNAL_MEMORY = 0x02;
const EXTERNAL_GLOBAL = 0x03;
const MUTABLE = 0x01;
const I32_CONST = 0x41;
const END = 0x0b;

function vector(items: readonly number[][]): number[] {
  return [...unsignedLeb128(items.length), ...items.flat()];
}

function name(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...unsignedLeb128(bytes.length), ...bytes];
}

function section(id: number, payload: number[]): number[] {
  return [id, ...unsignedLeb128(payload.length), ...payload];
}

/** Locals are encoded as runs of (count, type). */
function localRuns(locals: readonly ValType[]): number[][] {
  const runs: number[][] = [];
  let i = 0;
  while (i < locals.length) {
    let j = i;
    while (j < locals.length && locals[j] === locals[i]) j++;
    runs.push([...unsignedLeb128(j - i), locals[i]!]);
    i = j;
  }
  return runs;
}

/**
 * Encodes a module whose functions are `functions`, in that order (function index = position;
 * there are no imported functions), importing one memory as `env.memory`. `globals` names
 * mutable i32 globals (index = position), each starting at 0 and exported under its name:
 * per-instance values the host sets (`instance.exports[name].value = …`).
 */
export function encodeModule(functions: readonly FunctionDef[], memory: MemoryImport, globals: readonly string[] = []): Uint8Array<ArrayBuffer> {
  // Identical signatures share one type entry.
  const types: string[] = [];
  const typeIndex = functions.map((f) => {
    const key = JSON.stringify([f.params, f.results]);
    let t = types.indexOf(key);
    if (t < 0) t = types.push(key) - 1;
    return t;
  });
  const typeEntries = types.map((key) => {
    const [params, results] = JSON.parse(key) as [number[], number[]];
    return [FUNC_TYPE, ...unsignedLeb128(params.length), ...params, ...unsignedLeb128(results.length), ...results];
  });
  // Limits: flag 0 = min only; flag 3 = shared with min and max.
  const limits = memory.shared ? [0x03, ...unsignedLeb128(0), ...unsignedLeb128(65536)] : [0x00, ...unsignedLeb128(0)];
  const imports = [[...name('env'), ...name('memory'), EXTERNAL_MEMORY, ...limits]];
  const exports = [
    ...functions.flatMap((f, i) => (f.exported ? [[...name(f.name), EXTERNAL_FUNC, ...unsignedLeb128(i)]] : [])),
    ...globals.map((g, i) => [...name(g), EXTERNAL_GLOBAL, ...unsignedLeb128(i)]),
  ];
  const globalEntries = globals.map(() => [ValType.i32, MUTABLE, I32_CONST, 0x00, END]);
  const bodies = functions.map((f) => {
    const body = [...vector(localRuns(f.locals)), ...f.code];
    return [...unsignedLeb128(body.length), ...body];
  });
  return new Uint8Array([
    ...MAGIC_AND_VERSION,
    ...section(Section.type, vector(typeEntries)),
    ...section(Section.import, vector(imports)),
    ...section(Section.function, vector(typeIndex.map((t) => unsignedLeb128(t)))),
    ...(globals.length > 0 ? section(Section.global, vector(globalEntries)) : []),
    ...section(Section.export, vector(exports)),
    ...section(Section.code, vector(bodies)),
  ]);
}
