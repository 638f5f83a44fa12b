import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import golden from '../golden/safetensors-golden.json' with { type: 'json' };
import { CheckpointFormatError, type CheckpointFormatErrorCode } from '../../src/checkpoint/errors.js';
import {
  checkFinite,
  decodeSafetensors,
  encodeSafetensors,
  firstNonFinite,
  MAX_HEADER_BYTES,
  SAFETENSORS_DTYPES,
  type NamedSafetensorsTensor,
  type SafetensorsDtype,
  type SafetensorsTensor,
} from '../../src/checkpoint/safetensors.js';
import { Random } from '../../src/tensor/random.js';

const GOLDEN_FILE = new URL('../golden/safetensors-golden.safetensors', import.meta.url);
const GOLDEN_SCRIPT = new URL('../golden/make_safetensors_golden.py', import.meta.url).pathname;
const PYTHON = '/usr/bin/python3';

const hex = (a: ArrayBufferView): string =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A tensor of `dtype` with `count` elements of varied values drawn from `rng`. */
function sample(dtype: SafetensorsDtype, shape: number[], rng: Random): SafetensorsTensor {
  const count = shape.reduce((a, b) => a * b, 1);
  const bytes = new Uint8Array(count * { F64: 8, I64: 8, U64: 8, F32: 4, I32: 4, U32: 4, F16: 2, BF16: 2, I16: 2, U16: 2, I8: 1, U8: 1, BOOL: 1 }[dtype]);
  for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(256);
  const b = bytes.buffer;
  switch (dtype) {
    case 'F64': return { dtype, shape, data: new Float64Array(b) };
    case 'F32': return { dtype, shape, data: new Float32Array(b) };
    case 'F16': return { dtype, shape, data: new Uint16Array(b) };
    case 'BF16': return { dtype, shape, data: new Uint16Array(b) };
    case 'I64': return { dtype, shape, data: new BigInt64Array(b) };
    case 'U64': return { dtype, shape, data: new BigUint64Array(b) };
    case 'I32': return { dtype, shape, data: new Int32Array(b) };
    case 'U32': return { dtype, shape, data: new Uint32Array(b) };
    case 'I16': return { dtype, shape, data: new Int16Array(b) };
    case 'U16': return { dtype, shape, data: new Uint16Array(b) };
    case 'I8': return { dtype, shape, data: new Int8Array(b) };
    case 'U8': return { dtype, shape, data: new Uint8Array(b) };
    case 'BOOL': return { dtype, shape, data: bytes.map((x) => x & 1) };
  }
}

/** A file from a header text (padded to 8 with spaces unless `pad` is false) and data bytes. */
function file(header: string, data: Uint8Array | number = 0, pad = true): Uint8Array {
  let text = utf8(header);
  if (pad && text.length % 8) text = utf8(header + ' '.repeat(8 - (text.length % 8)));
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + text.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(body, 8 + text.length);
  return out;
}

const entry = (dtype: string, shape: unknown[], begin: number | string, end: number | string): string =>
  `{"dtype":"${dtype}","shape":[${shape.join(',')}],"data_offsets":[${begin},${end}]}`;

/** Decodes and returns the CheckpointFormatError thrown (fails the test if none or another). */
function rejection(bytes: Uint8Array): CheckpointFormatError {
  try {
    decodeSafetensors(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(CheckpointFormatError);
    return error as CheckpointFormatError;
  }
  throw new Error('expected the file to be rejected');
}

function expectRejected(bytes: Uint8Array, code: CheckpointFormatErrorCode, message: RegExp): CheckpointFormatError {
  const error = rejection(bytes);
  expect(error.message).toMatch(message);
  expect(error.code).toBe(code);
  expect(error.name).toBe('CheckpointFormatError');
  return error;
}

describe('the @examples', () => {
  it('runs the @examples of encodeSafetensors, decodeSafetensors, checkFinite, firstNonFinite, CheckpointFormatError', () => {
    const bytes = encodeSafetensors(
      [{ name: 'w', dtype: 'F32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }],
      { format: 'pt' },
    );
    expect(decodeSafetensors(bytes).tensors.get('w')?.data).toEqual(new Float32Array([1, 2, 3, 4]));
    expect(() => decodeSafetensors(bytes, { maxHeaderBytes: MAX_HEADER_BYTES / 100 })).not.toThrow();
    const scalar = encodeSafetensors([{ name: 'b', dtype: 'F64', shape: [], data: new Float64Array([0.5]) }]);
    const { tensors, metadata } = decodeSafetensors(scalar);
    expect(tensors.get('b')).toEqual({ dtype: 'F64', shape: [], data: new Float64Array([0.5]) });
    expect(Object.keys(metadata)).toEqual([]);
    const w = { dtype: 'F32', shape: [2], data: new Float32Array([1, NaN]) } as const;
    expect(() => checkFinite('w', w)).toThrow(/^Tensor "w" has NaN at index 1 \(position \[1\] of shape \[2\]\)\.$/);
    expect(firstNonFinite({ dtype: 'F64', shape: [3], data: new Float64Array([0, Infinity, NaN]) })).toBe(1);
    expect(SAFETENSORS_DTYPES.includes('F32')).toBe(true);
    expect(SAFETENSORS_DTYPES.includes('F8_E4M3' as SafetensorsDtype)).toBe(false);
    expect(rejection(new Uint8Array([1, 2, 3])).code).toBe('TRUNCATED');
  });
});

describe('encodeSafetensors / decodeSafetensors: round trips', () => {
  it('every dtype, bit-exact, in the given order, with metadata', () => {
    const rng = new Random(10);
    const tensors: NamedSafetensorsTensor[] = SAFETENSORS_DTYPES.map(
      (dtype, i) => ({ name: `t${i}.${dtype}`, ...sample(dtype, [2, 3], rng) }) as NamedSafetensorsTensor,
    );
    const metadata = { format: 'lstm-lm', config: '{"numHiddens":16}', empty: '' };
    const bytes = encodeSafetensors(tensors, metadata);
    const decoded = decodeSafetensors(bytes);
    expect([...decoded.tensors.keys()]).toEqual(tensors.map((t) => t.name));
    for (const t of tensors) {
      const d = decoded.tensors.get(t.name)!;
      expect(d.dtype).toBe(t.dtype);
      expect(d.shape).toEqual([2, 3]);
      expect(d.data.constructor).toBe(t.data.constructor);
      expect(hex(d.data)).toBe(hex(t.data)); // bits, so NaN payloads and -0 are compared too
    }
    expect({ ...decoded.metadata }).toEqual(metadata);
    expect(Object.getPrototypeOf(decoded.metadata)).toBe(null);
  });

  it('an empty tensor, scalars, unicode names, a Map, no metadata', () => {
    const tensors = new Map<string, SafetensorsTensor>([
      ['empty', { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) }],
      ['scalar', { dtype: 'F64', shape: [], data: new Float64Array([-0.5]) }],
      ['héllo→世界🙂', { dtype: 'I64', shape: [], data: new BigInt64Array([-(2n ** 63n)]) }],
      ['', { dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) }],
    ]);
    const bytes = encodeSafetensors(tensors);
    expect(new TextDecoder().decode(bytes.subarray(8, 16))).toBe('{"empty"'); // no __metadata__
    const { tensors: back, metadata } = decodeSafetensors(bytes);
    expect(Object.keys(metadata)).toEqual([]);
    expect([...back.keys()]).toEqual([...tensors.keys()]);
    expect(back.get('empty')).toEqual({ dtype: 'F32', shape: [0, 4], data: new Float32Array(0) });
    expect(back.get('scalar')).toEqual({ dtype: 'F64', shape: [], data: new Float64Array([-0.5]) });
    expect(back.get('héllo→世界🙂')!.data).toEqual(new BigInt64Array([-(2n ** 63n)]));
    expect(back.get('')!.data).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('is deterministic, pads the header with spaces to 8 bytes, and aligns the data', () => {
    const rng = new Random(2);
    for (const name of ['a', 'ab', 'abc', 'abcd', 'abcde', 'abcdef', 'abcdefg', 'abcdefgh']) {
      const t: NamedSafetensorsTensor = { name, ...sample('F64', [3], rng) } as NamedSafetensorsTensor;
      const a = encodeSafetensors([t], { k: name });
      expect(encodeSafetensors([t], { k: name })).toEqual(a);
      const n = Number(new DataView(a.buffer).getBigUint64(0, true));
      expect(n % 8).toBe(0);
      const header = new TextDecoder().decode(a.subarray(8, 8 + n));
      expect(header).toMatch(/^\{.*\} *$/);
      expect(header.length - header.trimEnd().length).toBeLessThan(8);
      expect(a.length).toBe(8 + n + 24);
    }
  });

  it('writes exactly the bytes of the reference implementation\'s own test vectors', () => {
    // safetensors (Rust) tensor.rs tests `test_serialization` and `test_empty`.
    const attn = encodeSafetensors([{ name: 'attn.0', dtype: 'F32', shape: [1, 2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) }]);
    expect(hex(attn)).toBe(
      '4000000000000000' +
        hex(utf8('{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}')) +
        '000000000000803f0000004000004040000080400000a040',
    );
    expect([...encodeSafetensors([])]).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    expect([...encodeSafetensors([], { framework: 'pt' })]).toEqual([
      40, 0, 0, 0, 0, 0, 0, 0, ...utf8('{"__metadata__":{"framework":"pt"}}'), 32, 32, 32, 32, 32,
    ]);
  });

  it('reads data at any byte offset of any buffer, and returns fresh aligned copies', () => {
    const w = new Float64Array([1.5, -2.25, 3]);
    const bytes = encodeSafetensors([
      { name: 'odd', dtype: 'U8', shape: [3], data: new Uint8Array([7, 8, 9]) },
      { name: 'w', dtype: 'F64', shape: [3], data: w }, // at an odd data offset: 3
    ]);
    const big = new Uint8Array(bytes.length + 1);
    big.set(bytes, 1);
    const view = big.subarray(1); // the whole file starts at an odd address
    const decoded = decodeSafetensors(view);
    const d = decoded.tensors.get('w')!.data as Float64Array;
    expect(d).toEqual(w);
    expect(d.byteOffset).toBe(0);
    expect(d.buffer.byteLength).toBe(24); // its own buffer, not the file's
    big.fill(0);
    expect(d).toEqual(w);
    expect(decodeSafetensors(bytes.slice().buffer).tensors.get('w')!.data).toEqual(w); // an ArrayBuffer
  });

  it('scales linearly: 20000 tensors in one file, and an error in the last of them', () => {
    const many: NamedSafetensorsTensor[] = Array.from({ length: 20_000 }, (_, i) => ({
      name: `layer${i}.w`, dtype: 'F32', shape: [2], data: new Float32Array([i, -i]),
    }));
    const start = performance.now();
    const bytes = encodeSafetensors(many, { note: 'x'.repeat(100_000) });
    const back = decodeSafetensors(bytes);
    expect(back.tensors.size).toBe(20_000);
    expect(back.tensors.get('layer19999.w')!.data).toEqual(new Float32Array([19999, -19999]));
    // The byte offset of an error is worked out once, on failure, not per tensor.
    const text = new TextDecoder().decode(bytes.subarray(8, bytes.length - 160_000));
    const broken = file(text.trimEnd().replace(/"F32","shape":\[2\],"data_offsets":\[159992,160000\]/, '"F32","shape":[3],"data_offsets":[159992,160000]'), bytes.subarray(bytes.length - 160_000));
    expect(() => decodeSafetensors(broken)).toThrow(/tensor "layer19999\.w" \(at byte \d+\) spans 8 bytes/);
    expect(performance.now() - start).toBeLessThan(5_000);
  });

  it('writes a view into a larger (or shared) buffer as exactly its own elements', () => {
    const flat = new Float32Array([9, 1, 2, 3, 9]);
    const bytes = encodeSafetensors([{ name: 'v', dtype: 'F32', shape: [3], data: flat.subarray(1, 4) }]);
    expect(decodeSafetensors(bytes).tensors.get('v')!.data).toEqual(new Float32Array([1, 2, 3]));
    // Parameters of the threaded backend live in a SharedArrayBuffer.
    const shared = new Float32Array(new SharedArrayBuffer(20)).fill(7);
    const fromShared = encodeSafetensors([{ name: 's', dtype: 'F32', shape: [2], data: shared.subarray(2, 4) }]);
    expect(decodeSafetensors(fromShared).tensors.get('s')!.data).toEqual(new Float32Array([7, 7]));
  });
});

describe('golden file built by hand in Python (test/golden/make_safetensors_golden.py)', () => {
  type GoldenTensor = { name: string; dtype: string; shape: number[]; hex: string; values: (number | string)[] };
  const goldenTensors = golden.tensors as GoldenTensor[];
  const goldenBytes = new Uint8Array(readFileSync(GOLDEN_FILE));

  it('we read what the reference writer layout wrote: names, dtypes, shapes, bytes, values, metadata', () => {
    expect(goldenBytes.length).toBe(golden.fileLength);
    const { tensors, metadata } = decodeSafetensors(goldenBytes);
    expect({ ...metadata }).toEqual(golden.metadata);
    expect([...tensors.keys()]).toEqual(goldenTensors.map((t) => t.name)); // data order
    for (const g of goldenTensors) {
      const t = tensors.get(g.name)!;
      expect(t.dtype, g.name).toBe(g.dtype);
      expect(t.shape, g.name).toEqual(g.shape);
      expect(hex(t.data), g.name).toBe(g.hex);
      if (t.dtype === 'F16' || t.dtype === 'BF16') continue; // raw bits: compared by hex above
      const values = Array.from(t.data as ArrayLike<number | bigint>, (v) =>
        typeof v === 'bigint' ? String(v) : Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : v,
      );
      expect(values, g.name).toEqual(g.values);
    }
    expect((tensors.get('step')!.data as BigInt64Array)[0]).toBe(9007199254740993n);
    expect(Object.is((tensors.get('weight')!.data as Float32Array)[1], -0)).toBe(true);
  });

  it('re-encoding in the file\'s order with the same metadata gives the reference bytes exactly', () => {
    const { tensors, metadata } = decodeSafetensors(goldenBytes);
    const again = encodeSafetensors(tensors, metadata);
    expect(hex(again)).toBe(hex(goldenBytes));
  });

  const hasTorch =
    spawnSync(PYTHON, ['-c', 'import torch, numpy'], { timeout: 30_000, env: { ...process.env, OPENBLAS_NUM_THREADS: '1' } })
      .status === 0;
  if (!hasTorch) console.warn(`skipping the Python reader check: ${PYTHON} with torch and numpy is not available`);

  it.skipIf(!hasTorch)('the Python reference reader (numpy/torch) reads what we write, in our own order', () => {
    const { tensors, metadata } = decodeSafetensors(goldenBytes);
    const ours = new Map([...tensors].reverse()); // not the reference writer's order: readers accept any
    const bytes = encodeSafetensors(ours, metadata);
    expect(hex(bytes)).not.toBe(hex(goldenBytes));
    const dir = mkdtempSync(join(tmpdir(), 'safetensors-'));
    try {
      const path = join(dir, 'ours.safetensors');
      writeFileSync(path, bytes);
      const result = spawnSync(
        PYTHON,
        [GOLDEN_SCRIPT, '--check', path, new URL('../golden/safetensors-golden.json', import.meta.url).pathname],
        { encoding: 'utf8', timeout: 60_000, env: { ...process.env, OPENBLAS_NUM_THREADS: '1' } },
      );
      expect(result.stdout + result.stderr).toMatch(/^OK 18 tensors/);
      expect(result.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('encodeSafetensors: argument errors name the argument', () => {
  const f32 = (n: number): Float32Array => new Float32Array(n);
  it.each([
    [() => encodeSafetensors('x' as never), TypeError, /Expected `tensors` to be an array of \{ name, dtype, shape, data \} or a Map, got "x"/],
    [() => encodeSafetensors([{ name: 3, dtype: 'F32', shape: [1], data: f32(1) } as never]), TypeError, /Expected `tensors\[0\]\.name` to be a string, got 3/],
    [() => encodeSafetensors([{ name: '__proto__', dtype: 'F32', shape: [1], data: f32(1) }]), RangeError, /Expected `tensors\[0\]\.name` not to be "__proto__"/],
    [() => encodeSafetensors([{ name: 'constructor', dtype: 'F32', shape: [1], data: f32(1) }]), RangeError, /not to be "constructor"/],
    [() => encodeSafetensors([{ name: '__metadata__', dtype: 'F32', shape: [1], data: f32(1) }]), RangeError, /not to be "__metadata__" \(a reserved key\)/],
    [() => encodeSafetensors([{ name: '\ud800', dtype: 'F32', shape: [1], data: f32(1) }]), RangeError, /well-formed Unicode/],
    [() => encodeSafetensors([{ name: 'a', dtype: 'F32', shape: [1], data: f32(1) }, { name: 'a', dtype: 'F32', shape: [1], data: f32(1) }]), RangeError, /Expected `tensors\[1\]\.name` to be unique, got "a" twice/],
    [() => encodeSafetensors([{ name: 'a', dtype: 'F8' as never, shape: [1], data: f32(1) }]), TypeError, /Expected `tensors\[0\]\.dtype` to be one of F64, F32, .*got "F8"/],
    [() => encodeSafetensors([{ name: 'a', dtype: 'F32', shape: 1 as never, data: f32(1) }]), TypeError, /Expected `tensors\[0\]\.shape` to be an array of non-negative integers, got 1/],
    [() => encodeSafetensors([{ name: 'a', dtype: 'F32', shape: [2, -1], data: f32(1) }]), TypeError, /Expected `tensors\[0\]\.shape\[1\]` to be a non-negative integer, got -1/],
    [() => encodeSafetensors([{ name: 'a', dtype: 'F32', shape: [2], data: new Float64Array(2) as never }]), TypeError, /Expected `tensors\[0\]\.data` to be a Float32Array \(dtype F32\), got a Float64Array/],
    [() => encodeSafetensors([{ name: 'a', dtype: 'F32', shape: [2, 3], data: f32(5) }]), RangeError, /Expected `tensors\[0\]\.data` to have 6 elements \(shape \[2, 3\]\), got 5/],
    [() => encodeSafetensors(new Map([['prototype', { dtype: 'F32', shape: [1], data: f32(1) }]]) as never), RangeError, /Expected every key of `tensors` not to be "prototype"/],
    [() => encodeSafetensors([], { a: 1 } as never), TypeError, /Expected `metadata\["a"\]` to be a string, got 1/],
    [() => encodeSafetensors([], JSON.parse('{"__proto__":"x"}')), RangeError, /Expected every key of `metadata` not to be "__proto__"/],
    [() => encodeSafetensors([], ['x'] as never), TypeError, /Expected `metadata` to be an object of strings, got an array of length 1/],
  ])('%#', (call, type, message) => {
    expect(call).toThrow(type);
    expect(call).toThrow(message);
  });
});

describe('decodeSafetensors: hostile files are rejected, saying what and where', () => {
  const f32x2 = entry('F32', [2], 0, 8);

  it('too short, or a header running past the end', () => {
    expectRejected(new Uint8Array(0), 'TRUNCATED', /^Truncated safetensors file: 0 bytes, fewer than the 8 of its header length field\.$/);
    expectRejected(new Uint8Array(7), 'TRUNCATED', /7 bytes, fewer than the 8/);
    const whole = file(`{"w":${f32x2}}`, 8);
    const error = expectRejected(whole.subarray(0, 30), 'TRUNCATED', /the header length field declares 56 bytes, but only 22 follow it \(the file is 30 bytes\)/);
    expect(error.offset).toBe(30);
    // Truncated inside the data: the tensors no longer fit.
    expectRejected(whole.subarray(0, whole.length - 1), 'OUT_OF_BOUNDS', /tensor "w" \(at byte 9\) has data_offsets \[0, 8\] past the end of the data \(7 bytes/);
  });

  it('a header length that is absurd, or above the limit (checked before anything is read)', () => {
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
    expectRejected(huge, 'HEADER_TOO_LARGE', /declares 18446744073709551615 bytes, more than the limit of 100000000/);
    new DataView(huge.buffer).setBigUint64(0, BigInt(MAX_HEADER_BYTES + 1), true);
    expectRejected(huge, 'HEADER_TOO_LARGE', /declares 100000001 bytes/);
    const ok = file(`{"w":${f32x2}}`, 8);
    expect(() => decodeSafetensors(ok, { maxHeaderBytes: 56 })).not.toThrow();
    expect(() => decodeSafetensors(ok, { maxHeaderBytes: 55 })).toThrow(/declares 56 bytes, more than the limit of 55/);
    expect(() => decodeSafetensors(ok, { maxHeaderBytes: 0 })).toThrow(RangeError);
    expect(() => decodeSafetensors('x' as never)).toThrow(/Expected `bytes` to be a Uint8Array or an ArrayBuffer, got "x"/);
  });

  it('a header that is not UTF-8 or not a JSON object', () => {
    expectRejected(file(''), 'HEADER_JSON', /must begin with "\{", found an empty header at byte 8/);
    expectRejected(file('[]'), 'HEADER_JSON', /must begin with "\{", found byte 0x5b at byte 8/);
    expectRejected(file(' {}'), 'HEADER_JSON', /found byte 0x20 at byte 8/);
    const bad = file('{"w\u00e9":1}');
    bad[13] = 0xff; // the second byte of é
    expectRejected(bad, 'HEADER_ENCODING', /header: bytes \[8, 24\) are not valid UTF-8/);
    expectRejected(file('{"a":}'), 'HEADER_JSON', /^Invalid safetensors header: unexpected "\}" at byte 13\.$/);
    expectRejected(file('{"a":1'), 'HEADER_JSON', /expected "," or "\}", found the end of the header at byte 16/); // padding skipped
    expectRejected(file('{"a":1', 0, false), 'HEADER_JSON', /expected "," or "\}", found the end of the header at byte 14/);
    expectRejected(file('{} x'), 'HEADER_JSON', /unexpected "x" after the end of the JSON value at byte 11/);
    expectRejected(file('{"a":"\u0001"}'), 'HEADER_JSON', /raw control character U\+0001 in a string at byte 14/);
    expectRejected(file('{"a":"\\ud800"}'), 'HEADER_JSON', /a string with an unpaired surrogate at byte 13/);
    expectRejected(file('{"a":"\\x"}'), 'HEADER_JSON', /invalid escape "\\\\x" at byte 14/);
    expectRejected(file(`{"w":${entry('F32', [2], 0, '8.0')}}`, 8), 'HEADER_JSON', /the number 8\.0 is not an integer at byte \d+/);
    expectRejected(file(`{"w":${entry('F32', [2], 0, '8e0')}}`, 8), 'HEADER_JSON', /the number 8e0 is not an integer/);
    expectRejected(file(`{"w":${entry('F32', [2], 0, '08')}}`, 8), 'HEADER_JSON', /expected "," or "\]", found "8"/);
    expectRejected(file(`{"a":${'['.repeat(20)}${']'.repeat(20)}}`), 'HEADER_JSON', /nesting deeper than 8 at byte 20/);
    // Byte offsets count UTF-8 bytes, not characters: "é" is 2 bytes, "🙂" is 4.
    expectRejected(file('{"é🙂":}'), 'HEADER_JSON', /unexpected "\}" at byte 18/);
  });

  it('duplicate keys, at the top or inside an entry (JSON.parse would silently keep the last)', () => {
    const error = expectRejected(
      file(`{"w":${entry('U8', [4], 0, 4)},"w":${entry('F32', [1], 0, 4)}}`, 4),
      'DUPLICATE_KEY',
      /^Invalid safetensors header: duplicate key "w" at byte 61\.$/,
    );
    expect(error.offset).toBe(61);
    expectRejected(file(`{"w":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 4), 'DUPLICATE_KEY', /duplicate key "dtype"/);
    expectRejected(file('{"__metadata__":{"a":"1","a":"2"}}'), 'DUPLICATE_KEY', /duplicate key "a" at byte 33/);
  });

  it('__proto__, constructor and prototype as tensor names or metadata keys', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const e = expectRejected(file(`{"${key}":${f32x2}}`, 8), 'FORBIDDEN_KEY', new RegExp(`tensor "${key}" \\(at byte 9\\) has a name that is not allowed`));
      expect(e.tensor).toBe(key);
      expectRejected(file(`{"__metadata__":{"${key}":"x"}}`), 'FORBIDDEN_KEY', new RegExp(`the metadata key "${key}" \\(at byte 25\\) is not allowed`));
    }
    expect(({} as Record<string, unknown>).x).toBeUndefined(); // nothing polluted along the way
  });

  it('a tensor entry with missing or extra keys, or wrong types', () => {
    expectRejected(file('{"w":5}'), 'TENSOR_ENTRY', /tensor "w" \(at byte 9\) must be an object \{ dtype, shape, data_offsets \}, got 5/);
    expectRejected(file('{"w":{"dtype":"F32","data_offsets":[0,0]}}'), 'TENSOR_ENTRY', /tensor "w" \(at byte 9\) has no "shape"/);
    expectRejected(file('{"w":{"shape":[],"data_offsets":[0,0]}}'), 'TENSOR_ENTRY', /has no "dtype"/);
    expectRejected(file('{"w":{"dtype":"F32","shape":[0]}}'), 'TENSOR_ENTRY', /has no "data_offsets"/);
    expectRejected(file('{"w":{"dtype":"F32","shape":[0],"data_offsets":[0,0],"offset":1}}'), 'TENSOR_ENTRY', /has an unexpected key "offset"/);
    expectRejected(file('{"w":{"dtype":"F32","shape":[0],"data_offsets":[0,0],"__proto__":{}}}'), 'TENSOR_ENTRY', /has an unexpected key "__proto__"/);
    expectRejected(file('{"w":{"dtype":32,"shape":[0],"data_offsets":[0,0]}}'), 'TENSOR_ENTRY', /has a "dtype" that is not a string: 32/);
    expectRejected(file(`{"w":${entry('F32', [0], 0, '0,0')}}`), 'TENSOR_ENTRY', /has "data_offsets" that are not \[begin, end\]: an array of length 3/);
    expectRejected(file('{"w":{"dtype":"F32","shape":[0],"data_offsets":"0-0"}}'), 'TENSOR_ENTRY', /not \[begin, end\]: "0-0"/);
    expectRejected(file(`{"w":${entry('F32', [2], -8, 0)}}`, 8), 'TENSOR_ENTRY', /has a data_offsets begin -8 that is not a non-negative safe integer/);
    expectRejected(file(`{"w":${entry('F32', [2], 0, '9007199254740993')}}`, 8), 'TENSOR_ENTRY', /data_offsets end 9007199254740992 that is not a non-negative safe integer/);
    expectRejected(file(`{"w":${entry('F32', [2], 0, 'null')}}`, 8), 'TENSOR_ENTRY', /data_offsets end null/);
  });

  it('an unknown dtype, a bad shape', () => {
    expectRejected(file(`{"w":${entry('F8_E4M3', [8], 0, 8)}}`, 8), 'DTYPE', /tensor "w" \(at byte 9\) has an unknown or unsupported dtype "F8_E4M3" \(supported: F64, F32/);
    expectRejected(file(`{"w":${entry('float32', [2], 0, 8)}}`, 8), 'DTYPE', /dtype "float32"/);
    expectRejected(file('{"w":{"dtype":"F32","shape":2,"data_offsets":[0,8]}}', 8), 'SHAPE', /has a "shape" that is not an array: 2/);
    expectRejected(file(`{"w":${entry('F32', [2, -1], 0, 8)}}`, 8), 'SHAPE', /has shape\[1\] = -1, not a non-negative safe integer/);
    expectRejected(file(`{"w":${entry('F32', ['"2"'], 0, 8)}}`, 8), 'SHAPE', /has shape\[0\] = "2"/);
    expectRejected(file(`{"w":${entry('F32', [2 ** 30, 2 ** 30, 2 ** 30, 0], 0, 0)}}`), 'SHAPE', /whose element count overflows 2\^53/);
  });

  it('a byte span that is not the element count times the dtype size (no allocation from the shape)', () => {
    const e = expectRejected(
      file(`{"w":${entry('F32', [3], 0, 8)}}`, 8),
      'SIZE_MISMATCH',
      /tensor "w" \(at byte 9\) spans 8 bytes \(data_offsets \[0, 8\]\), but F32 \[3\] is 3 × 4 = 12 bytes/,
    );
    expect(e.tensor).toBe('w');
    // A shape claiming 2^50 elements with a 8-byte span: refused, nothing of that size allocated.
    expectRejected(file(`{"w":${entry('F64', [2 ** 25, 2 ** 25], 0, 8)}}`, 8), 'SIZE_MISMATCH', /F64 \[33554432, 33554432\] is 1125899906842624 × 8/);
  });

  it('offsets out of bounds or reversed', () => {
    const e = expectRejected(
      file(`{"w":${entry('F32', [2], 4, 12)}}`, 8),
      'OUT_OF_BOUNDS',
      /tensor "w" \(at byte 9\) has data_offsets \[4, 12\] past the end of the data \(8 bytes, file bytes \[64, 72\)\)/,
    );
    expect(e.offset).toBe(9);
    expectRejected(file(`{"w":${entry('F32', [0], 8, 4)}}`, 8), 'OUT_OF_BOUNDS', /has data_offsets \[8, 4\] that end before they begin/);
  });

  it('overlapping or duplicate ranges, gaps, trailing bytes (the data must be tiled exactly)', () => {
    const e = expectRejected(
      file(`{"a":${entry('F32', [2], 0, 8)},"b":${entry('F32', [2], 4, 12)}}`, 12),
      'OVERLAP',
      /tensor "b" \(data bytes \[4, 12\), file bytes \[124, 132\)\) overlaps tensor "a" \(data bytes \[0, 8\)\)/,
    );
    expect([e.tensor, e.offset]).toEqual(['b', 124]);
    expectRejected(file(`{"a":${f32x2},"b":${f32x2}}`, 8), 'OVERLAP', /tensor "b" .* overlaps tensor "a"/);
    expectRejected(file(`{"a":${entry('F32', [2], 0, 8)},"z":${entry('F32', [0], 4, 4)}}`, 8), 'OVERLAP', /tensor "z" .* overlaps tensor "a"/);
    const gap = expectRejected(
      file(`{"a":${entry('F32', [1], 0, 4)},"b":${entry('F32', [1], 8, 12)}}`, 12),
      'GAP',
      /data bytes \[4, 8\) \(file bytes \[124, 128\)\) belong to no tensor, before tensor "b"; the format forbids holes/,
    );
    expect(gap.offset).toBe(124);
    expectRejected(file(`{"a":${entry('F32', [1], 4, 8)}}`, 8), 'GAP', /data bytes \[0, 4\) .* before tensor "a"/);
    expectRejected(file(`{"a":${entry('F32', [1], 0, 4)}}`, 8), 'GAP', /data bytes \[4, 8\) \(file bytes \[68, 72\)\) at the end belong to no tensor/);
    expectRejected(file('{}', 1), 'GAP', /data bytes \[0, 1\) .* at the end/);
    // Offsets in any header order are fine when they tile the data.
    const shuffled = decodeSafetensors(file(`{"b":${entry('U8', [1], 1, 2)},"a":${entry('U8', [1], 0, 1)}}`, new Uint8Array([5, 6])));
    expect([...shuffled.tensors]).toEqual([['a', { dtype: 'U8', shape: [1], data: new Uint8Array([5]) }], ['b', { dtype: 'U8', shape: [1], data: new Uint8Array([6]) }]]);
  });

  it('__metadata__ that is not string → string', () => {
    expectRejected(file('{"__metadata__":"pt"}'), 'METADATA', /"__metadata__" \(at byte 9\) must be an object of strings, got "pt"/);
    expectRejected(file('{"__metadata__":[]}'), 'METADATA', /got an array of length 0/);
    expectRejected(file('{"__metadata__":{"a":1}}'), 'METADATA', /metadata "a" \(at byte 25\) must be a string, got 1/);
    expectRejected(file('{"__metadata__":{"a":{"b":"c"}}}'), 'METADATA', /metadata "a" .* must be a string, got an object/);
  });
});

describe('checkFinite / firstNonFinite', () => {
  it('finds the first NaN or ±Infinity in every float dtype and names its position', () => {
    expect(firstNonFinite({ dtype: 'F32', shape: [3], data: new Float32Array([1, -0, 3e38]) })).toBe(-1);
    expect(firstNonFinite({ dtype: 'F64', shape: [3], data: new Float64Array([1, Infinity, NaN]) })).toBe(1);
    expect(firstNonFinite({ dtype: 'F16', shape: [3], data: new Uint16Array([0x3c00, 0x7bff, 0xfc00]) })).toBe(2);
    expect(firstNonFinite({ dtype: 'BF16', shape: [2], data: new Uint16Array([0x3f80, 0x7fc0]) })).toBe(1);
    expect(firstNonFinite({ dtype: 'I32', shape: [1], data: new Int32Array([-1]) })).toBe(-1);
    const w = { dtype: 'F32', shape: [2, 3], data: new Float32Array([0, 1, 2, 3, NaN, 5]) } as const;
    expect(() => checkFinite('W_xi', w)).toThrow(/^Tensor "W_xi" has NaN at index 4 \(position \[1, 1\] of shape \[2, 3\]\)\.$/);
    expect(() => checkFinite('b', { dtype: 'F64', shape: [], data: new Float64Array([-Infinity]) })).toThrow(/has -Infinity at index 0 \(position \[\] of shape \[\]\)/);
    expect(() => checkFinite('h', { dtype: 'F16', shape: [1], data: new Uint16Array([0x7c00]) })).toThrow(/has Infinity at index 0/);
    try {
      checkFinite('W_xi', w);
    } catch (error) {
      expect(error).toBeInstanceOf(CheckpointFormatError);
      expect((error as CheckpointFormatError).code).toBe('NON_FINITE');
      expect((error as CheckpointFormatError).tensor).toBe('W_xi');
    }
  });
});

describe('fuzz: random damage to a real file decodes or throws CheckpointFormatError, never anything else, never slowly', () => {
  const rng0 = new Random(7);
  const base = encodeSafetensors(
    [
      { name: 'W_xi', ...sample('F32', [4, 3], rng0) },
      { name: 'layer1.W_hi', ...sample('F64', [3, 3], rng0) },
      { name: 'optimizer.W_xi.m', ...sample('F32', [4, 3], rng0) },
      { name: 'rng', ...sample('U32', [4], rng0) },
      { name: 'step', ...sample('I64', [], rng0) },
      { name: 'empty', dtype: 'F32', shape: [0], data: new Float32Array(0) },
    ] as NamedSafetensorsTensor[],
    { format: 'lstm-lm', version: '1', config: '{"vocabSize":28,"numHiddens":3}', vocab: '["a","b","é"]' },
  );
  const headerLength = Number(new DataView(base.buffer).getBigUint64(0, true));
  const headerText = new TextDecoder().decode(base.subarray(8, 8 + headerLength));
  const data = base.subarray(8 + headerLength);

  /** Decodes `bytes` and returns the outcome ('decoded' or the error code) and the time taken. */
  function decodeTimed(bytes: Uint8Array): [string, number] {
    const start = performance.now();
    let outcome = 'decoded';
    try {
      const { tensors } = decodeSafetensors(bytes);
      let total = 0;
      for (const t of tensors.values()) total += t.data.byteLength;
      expect(total).toBeLessThanOrEqual(bytes.length); // never more than the file holds
    } catch (error) {
      if (!(error instanceof CheckpointFormatError)) throw error; // anything else fails the test
      outcome = error.code;
    }
    return [outcome, performance.now() - start];
  }

  // No hang and no slow path: every case must decode in well under a millisecond's work. The
  // machine is shared, so a case over 20 ms (a GC pause, another process) is timed twice more
  // and judged by its fastest run.
  function run(cases: Uint8Array[]): Map<string, number> {
    const outcomes = new Map<string, number>();
    let slowest = 0;
    for (const bytes of cases) {
      const [outcome, ms] = decodeTimed(bytes);
      const best = ms < 20 ? ms : Math.min(ms, decodeTimed(bytes)[1], decodeTimed(bytes)[1]);
      slowest = Math.max(slowest, best);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    expect(slowest).toBeLessThan(20);
    return outcomes;
  }

  it('4000 truncations, byte flips, insertions and deletions anywhere in the file', () => {
    const rng = new Random(2024);
    const cases: Uint8Array[] = [];
    for (let k = 0; k < 4000; k++) {
      let bytes = base.slice();
      const edits = 1 + rng.int(3);
      for (let e = 0; e < edits; e++) {
        // Aim most edits at the length field and header, where the parsing is.
        const at = Math.min(bytes.length, rng.uniform() < 0.8 ? rng.int(8 + headerLength) : rng.int(bytes.length + 1));
        switch (rng.int(5)) {
          case 0: bytes = bytes.slice(0, rng.int(bytes.length + 1)); break;
          case 1: if (at < bytes.length) bytes[at] = rng.int(256); break;
          case 2: if (at < bytes.length) bytes[at]! ^= 1 << rng.int(8); break;
          case 3: { const b = new Uint8Array(bytes.length + 1); b.set(bytes.subarray(0, at)); b[at] = rng.int(256); b.set(bytes.subarray(at), at + 1); bytes = b; break; }
          case 4: if (at < bytes.length) { const b = new Uint8Array(Math.max(0, bytes.length - 1)); b.set(bytes.subarray(0, at)); b.set(bytes.subarray(at + 1), at); bytes = b.subarray(0, bytes.length - 1); break; }
        }
      }
      cases.push(bytes);
    }
    const outcomes = run(cases);
    expect(outcomes.get('TRUNCATED')).toBeGreaterThan(0);
    expect(outcomes.get('HEADER_JSON')).toBeGreaterThan(0);
  }, 20_000);

  it('3000 edits of the header text with a correct length field, to reach the checks behind the JSON', () => {
    const rng = new Random(99);
    const alphabet = '{}[],:"0123456789-.e aF_I\\u';
    const cases: Uint8Array[] = [];
    for (let k = 0; k < 3000; k++) {
      let text = headerText.trimEnd();
      const edits = 1 + rng.int(3);
      for (let e = 0; e < edits; e++) {
        const at = rng.int(text.length + 1);
        const members = [...text.matchAll(/"[^"]*":\{"dtype[^}]*\}/g)];
        const offsets = [...text.matchAll(/"data_offsets":\[\d+,\d+\]/g)];
        switch (rng.int(6)) {
          case 0: text = text.slice(0, at) + alphabet[rng.int(alphabet.length)]! + text.slice(at); break;
          case 1: text = text.slice(0, at) + text.slice(at + 1 + rng.int(4)); break;
          case 2: { // a digit changed: offsets and shapes that no longer agree
            const digits = [...text.matchAll(/\d/g)];
            const d = digits[rng.int(digits.length)]!;
            text = text.slice(0, d.index) + String(rng.int(10)) + text.slice(d.index + 1);
            break;
          }
          case 3: { // a member duplicated or moved
            const from = rng.int(text.length), len = rng.int(60);
            text = text.slice(0, at) + text.slice(from, from + len) + text.slice(at);
            break;
          }
          case 4: { // one tensor's range copied over another's: overlaps and holes
            const a = offsets[rng.int(offsets.length)], b = offsets[rng.int(offsets.length)];
            if (a && b) text = text.slice(0, b.index) + a[0] + text.slice(b.index + b[0].length);
            break;
          }
          case 5: { // a tensor dropped from the header: its bytes become a hole
            const m = members[rng.int(members.length)];
            if (m) text = (text.slice(0, m.index) + text.slice(m.index + m[0].length)).replace(',,', ',').replace('{,', '{').replace(',}', '}');
            break;
          }
        }
      }
      const tail = rng.uniform() < 0.2 ? data.subarray(0, rng.int(data.length + 1)) : data;
      cases.push(file(text, tail, rng.uniform() < 0.9));
    }
    const outcomes = run(cases);
    for (const code of ['decoded', 'HEADER_JSON', 'DUPLICATE_KEY', 'TENSOR_ENTRY', 'DTYPE', 'SIZE_MISMATCH', 'OUT_OF_BOUNDS', 'OVERLAP', 'GAP'] as const) {
      expect(outcomes.get(code), `${code} in ${JSON.stringify([...outcomes])}`).toBeGreaterThan(0);
    }
  }, 20_000);
});
