// encodeSafetensors' argument errors, decodeSafetensors' byte offsets and codes, and
// checkFinite's names, pinned where the existing tests left them open (issue 13: mutation
// testing). Every file is built inside a test, so a broken encoder fails tests here instead of
// failing this file's import.
import { describe, expect, it } from 'vitest';
import { CheckpointFormatError, type CheckpointFormatErrorCode } from '../../src/checkpoint/errors.js';
import { checkFinite, decodeSafetensors, encodeSafetensors, firstNonFinite } from '../../src/checkpoint/safetensors.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A safetensors file with this header text (unpadded) and these data bytes. */
function file(header: string | Uint8Array, data: Uint8Array | number = 0): Uint8Array {
  const text = typeof header === 'string' ? utf8(header) : header;
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + text.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(body, 8 + text.length);
  return out;
}

const entry = (dtype: string, shape: unknown[], begin: unknown, end: unknown): string =>
  `{"dtype":"${dtype}","shape":[${shape.map((d) => JSON.stringify(d)).join(',')}],"data_offsets":[${JSON.stringify(begin)},${JSON.stringify(end)}]}`;

function rejection(bytes: Uint8Array, limits?: { maxHeaderBytes?: number }): CheckpointFormatError {
  let thrown: unknown;
  try {
    decodeSafetensors(bytes, limits);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(CheckpointFormatError);
  return thrown as CheckpointFormatError;
}

function expectRejected(bytes: Uint8Array, code: CheckpointFormatErrorCode, message: string, offset: number | undefined) {
  const error = rejection(bytes);
  expect([error.code, error.message, error.offset]).toEqual([code, message, offset]);
  return error;
}

describe('encodeSafetensors: argument errors', () => {
  const f32 = (n: number) => new Float32Array(n);

  it('a tensor that is not an object, in a Map or a list', () => {
    expect(() => encodeSafetensors(new Map([['w', null]]) as never)).toThrow(
      new TypeError('Expected `tensors.get("w")` to be { dtype, shape, data }, got null.'));
    expect(() => encodeSafetensors(new Map([['w', 5]]) as never)).toThrow(
      new TypeError('Expected `tensors.get("w")` to be { dtype, shape, data }, got 5.'));
    expect(() => encodeSafetensors([null] as never)).toThrow(
      new TypeError('Expected `tensors[0].name` to be a string, got undefined.'));
    expect(() => encodeSafetensors(new Map([['w', { dtype: 'F32', shape: [2], data: f32(3) }]]) as never)).toThrow(
      new RangeError('Expected `tensors.get("w").data` to have 2 elements (shape [2]), got 3.'));
  });

  it('"__metadata__" as a tensor name in a Map', () => {
    expect(() => encodeSafetensors(new Map([['__metadata__', { dtype: 'F32', shape: [1], data: f32(1) }]]) as never)).toThrow(
      new RangeError('Expected no tensor named "__metadata__" (a reserved key).'));
  });

  it('a dtype that only converts to a dtype name', () => {
    for (const dtype of [['F32'], { toString: () => 'F32' }]) {
      expect(() => encodeSafetensors([{ name: 'w', dtype, shape: [1], data: f32(1) }] as never)).toThrow(
        /^Expected `tensors\[0\]\.dtype` to be one of F64, F32, F16, BF16, I64, U64, I32, U32, I16, U16, I8, U8, BOOL, got /);
    }
  });

  it('a shape entry that is not a non-negative safe integer, or too many elements', () => {
    for (const [d, shown] of [['2', '"2"'], [2.5, '2.5'], [-1, '-1'], [2 ** 53, '9007199254740992']] as const) {
      const shape = [d, d];
      expect(() => encodeSafetensors([{ name: 'w', dtype: 'F32', shape, data: f32(4) }] as never)).toThrow(
        new TypeError(`Expected \`tensors[0].shape[0]\` to be a non-negative integer, got ${shown}.`));
    }
    const big = 2 ** 26;
    expect(() => encodeSafetensors([{ name: 'w', dtype: 'F32', shape: [big, big, big], data: f32(1) }])).toThrow(
      new RangeError(`Expected \`tensors[0].shape\` to have fewer than 2^53 elements, got [${big}, ${big}, ${big}].`));
    // 0 is a size: an empty tensor.
    const empty = decodeSafetensors(encodeSafetensors([{ name: 'e', dtype: 'F32', shape: [3, 0], data: f32(0) }]));
    expect(empty.tensors.get('e')).toEqual({ dtype: 'F32', shape: [3, 0], data: f32(0) });
  });

  it('metadata: a Map is read, anything but an object or a Map is refused, values must be well-formed', () => {
    const w = [{ name: 'w', dtype: 'U8', shape: [1], data: Uint8Array.of(7) }] as const;
    const fromMap = decodeSafetensors(encodeSafetensors(w as never, new Map([['a', 'x'], ['b', 'y']])));
    expect({ ...fromMap.metadata }).toEqual({ a: 'x', b: 'y' });
    for (const [bad, shown] of [[null, 'null'], ['abc', '"abc"'], [5, '5']] as const) {
      expect(() => encodeSafetensors(w as never, bad as never)).toThrow(
        new TypeError(`Expected \`metadata\` to be an object of strings, got ${shown}.`));
    }
    expect(() => encodeSafetensors(w as never, { a: 'x\ud800' })).toThrow(
      new RangeError('Expected `metadata["a"]` to be well-formed Unicode (an unpaired surrogate).'));
  });
});

describe('every dtype round-trips, inside a test', () => {
  it('I64, U64, I32, U32 (the fixtures of safetensors.test.ts are built at import)', () => {
    const tensors = [
      { name: 'a', dtype: 'I64', shape: [2], data: BigInt64Array.of(-(2n ** 63n), 5n) },
      { name: 'b', dtype: 'U64', shape: [1], data: BigUint64Array.of(2n ** 64n - 1n) },
      { name: 'c', dtype: 'I32', shape: [1], data: Int32Array.of(-7) },
      { name: 'd', dtype: 'U32', shape: [1], data: Uint32Array.of(2 ** 32 - 1) },
    ] as const;
    const back = decodeSafetensors(encodeSafetensors(tensors as never)).tensors;
    for (const { name, dtype, shape, data } of tensors) expect(back.get(name)).toEqual({ dtype, shape, data });
  });
});

describe('decodeSafetensors: codes, messages and byte offsets', () => {
  it('names limits.maxHeaderBytes', () => {
    expect(() => decodeSafetensors(file('{}'), { maxHeaderBytes: 0 })).toThrow(/^Expected `limits\.maxHeaderBytes` to be /);
  });

  it('the length field and the first byte', () => {
    expectRejected(new Uint8Array(5), 'TRUNCATED', 'Truncated safetensors file: 5 bytes, fewer than the 8 of its header length field.', 5);
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 200_000_000n, true);
    expectRejected(huge, 'HEADER_TOO_LARGE',
      'Invalid safetensors file: the header length field (bytes [0, 8)) declares 200000000 bytes, more than the limit of 100000000.', 0);
    // An empty header is refused as empty even when the data begin with "{".
    expectRejected(file('', utf8('{}')), 'HEADER_JSON', 'Invalid safetensors header: it must begin with "{", found an empty header at byte 8.', 8);
    expectRejected(file('\t{}'), 'HEADER_JSON', 'Invalid safetensors header: it must begin with "{", found byte 0x09 at byte 8.', 8);
  });

  it('a header that is valid JSON but not UTF-8 (a bad byte inside a string)', () => {
    const header = utf8('{"__metadata__":{"a":"xx"}}');
    header[22] = 0xff; // the first x
    expectRejected(file(header), 'HEADER_ENCODING', `Invalid safetensors header: bytes [8, ${8 + header.length}) are not valid UTF-8.`, 8);
  });

  it('byte offsets count UTF-8 bytes: 1, 2, 3 and 4 bytes per character, at every boundary', () => {
    // U+007F, U+0080, U+07FF, U+0800, U+D7FF, U+E000, U+FFFF (3), U+10000 = D800 DC00, U+10FFFF = DBFF DFFF (4).
    const name = '\u007f\u0080\u07ff\u0800\ud7ff\ue000\uffff\u{10000}\u{10ffff}';
    const header = `{"__metadata__":{"k":"${name}"},"${name}":${entry('X1', [1], 0, 1)}}`;
    const keyIndex = header.lastIndexOf(`"${name}"`);
    const offset = 8 + utf8(header.slice(0, keyIndex)).length;
    expect(offset).toBe(8 + 25 + (1 + 2 + 2 + 3 + 3 + 3 + 3 + 4 + 4)); // the reference count, by hand
    const error = expectRejected(file(header, 1), 'DTYPE',
      `Invalid safetensors header: tensor ${JSON.stringify(name)} (at byte ${offset}) has an unknown or unsupported dtype "X1" (supported: F64, F32, F16, BF16, I64, U64, I32, U32, I16, U16, I8, U8, BOOL).`,
      offset);
    expect(error.tensor).toBe(name);
  });

  it('strings in messages are cut after 40 characters', () => {
    const d40 = 'D'.repeat(40), d41 = 'D'.repeat(41);
    expect(rejection(file(`{"w":${entry(d40, [1], 0, 1)}}`, 1)).message).toContain(`dtype "${d40}" (supported`);
    expect(rejection(file(`{"w":${entry(d41, [1], 0, 1)}}`, 1)).message).toContain(`dtype "${d40}…" (supported`);
  });

  it('shape entries: an integer above 2^53, a count that overflows', () => {
    expectRejected(file(`{"w":${entry('U8', [2 ** 60], 0, 1)}}`, 1), 'SHAPE',
      `Invalid safetensors header: tensor "w" (at byte 9) has shape[0] = ${String(2 ** 60)}, not a non-negative safe integer.`, 9);
    expectRejected(file(`{"w":${entry('U8', ['2'], 0, 2)}}`, 2), 'SHAPE',
      'Invalid safetensors header: tensor "w" (at byte 9) has shape[0] = "2", not a non-negative safe integer.', 9);
    const big = 2 ** 26;
    expectRejected(file(`{"w":${entry('U8', [big, big, big], 0, 1)}}`, 1), 'SHAPE',
      `Invalid safetensors header: tensor "w" (at byte 9) has a shape [${big}, ${big}, ${big}] whose element count overflows 2^53.`, 9);
  });

  it('data_offsets that are not non-negative integers', () => {
    expectRejected(file(`{"w":${entry('U8', [4], '0', '4')}}`, 4), 'TENSOR_ENTRY',
      'Invalid safetensors header: tensor "w" (at byte 9) has a data_offsets begin "0" that is not a non-negative safe integer.', 9);
    expectRejected(file(`{"w":${entry('U8', [4], 0, -4)}}`, 4), 'TENSOR_ENTRY',
      'Invalid safetensors header: tensor "w" (at byte 9) has a data_offsets end -4 that is not a non-negative safe integer.', 9);
  });

  it('an empty tensor sharing its begin with the next one tiles the data, in either header order', () => {
    const a = entry('U8', [1], 0, 1), e = entry('U8', [0], 1, 1), b = entry('U8', [2], 1, 3);
    for (const header of [`{"a":${a},"e":${e},"b":${b}}`, `{"a":${a},"b":${b},"e":${e}}`, `{"b":${b},"e":${e},"a":${a}}`]) {
      const { tensors } = decodeSafetensors(file(header, Uint8Array.of(1, 2, 3)));
      expect([...tensors.keys()]).toEqual(['a', 'e', 'b']); // the order of the data: by begin, then end
      expect(tensors.get('b')!.data).toEqual(Uint8Array.of(2, 3));
      expect(tensors.get('e')!.data).toEqual(new Uint8Array(0));
    }
  });

  it('offsets of trailing bytes and of bad metadata', () => {
    const header = `{"a":${entry('U8', [1], 0, 1)}}`, dataStart = 8 + header.length;
    expectRejected(file(header, 3), 'GAP',
      `Invalid safetensors file: data bytes [1, 3) (file bytes [${dataStart + 1}, ${dataStart + 3})) at the end belong to no tensor; the format forbids holes.`, dataStart + 1);
    expectRejected(file('{"w":1,"__metadata__":"pt"}'), 'TENSOR_ENTRY',
      'Invalid safetensors header: tensor "w" (at byte 9) must be an object { dtype, shape, data_offsets }, got 1.', 9);
    expectRejected(file('{ "__metadata__":"pt"}'), 'METADATA',
      'Invalid safetensors header: "__metadata__" (at byte 10) must be an object of strings, got "pt".', 10);
    expectRejected(file('{"__metadata__":{"a":"b", "constructor":"x"}}'), 'FORBIDDEN_KEY',
      'Invalid safetensors header: the metadata key "constructor" (at byte 34) is not allowed.', 34);
    expectRejected(file('{"__metadata__":{"a":"b", "c":2}}'), 'METADATA',
      'Invalid safetensors header: metadata "c" (at byte 34) must be a string, got 2.', 34);
  });
});

describe('firstNonFinite / checkFinite on 16-bit floats', () => {
  const t = (dtype: 'F16' | 'BF16', ...bits: number[]) => ({ dtype, shape: [bits.length], data: Uint16Array.from(bits) });

  it('each format has its own exponent: 0x7c00 is F16 Infinity but a finite BF16 (2^121)', () => {
    expect(firstNonFinite(t('F16', 0x3c00, 0x7c00))).toBe(1);
    expect(firstNonFinite(t('BF16', 0x3f80, 0x7c00, 0x7f00))).toBe(-1);
    expect(firstNonFinite(t('F16', 0x3c00, 0x7bff))).toBe(-1);
    expect(firstNonFinite(t('BF16', 0x7f80))).toBe(0);
  });

  it('names NaN, Infinity and -Infinity by each format’s mantissa bits', () => {
    const cases: ['F16' | 'BF16', number, string][] = [
      ['F16', 0x7c00, 'Infinity'], ['F16', 0xfc00, '-Infinity'], ['F16', 0x7e00, 'NaN'], ['F16', 0x7c01, 'NaN'], ['F16', 0xfe00, 'NaN'],
      ['BF16', 0x7f80, 'Infinity'], ['BF16', 0xff80, '-Infinity'], ['BF16', 0x7fc0, 'NaN'], ['BF16', 0x7f81, 'NaN'],
    ];
    for (const [dtype, bits, name] of cases) {
      expect(() => checkFinite('x', t(dtype, 0, bits)), `${dtype} ${bits.toString(16)}`).toThrow(
        `Tensor "x" has ${name} at index 1 (position [1] of shape [2]).`);
    }
  });
});
