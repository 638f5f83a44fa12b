// The strict JSON parser and the metadata field readers (src/checkpoint/json.ts, fields.ts)
// exactly (issue 13: mutation testing): every escape, every whitespace character, number
// forms, each error's code, byte offset (through `byteOffset`) and message, and what
// readJsonField, refuse and checkTensor turn into CheckpointFormatErrors.
import { describe, expect, it } from 'vitest';
import { CheckpointFormatError } from '../../src/checkpoint/errors.js';
import { checkTensor, isPlainObject, readJsonField, refuse, shapeText } from '../../src/checkpoint/fields.js';
import { JsonObject, hasLoneSurrogate, parseStrictJson } from '../../src/checkpoint/json.js';

const options = { what: 'thing', byteOffset: (i: number) => i + 100 };
const parse = (text: string, extra: object = {}) => parseStrictJson(text, { ...options, ...extra });
function thrown(f: () => unknown): CheckpointFormatError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(CheckpointFormatError);
    return error as CheckpointFormatError;
  }
  throw new Error('expected a throw');
}

describe('parseStrictJson exactly', () => {
  it('decodes every escape, and keeps raw text around them', () => {
    expect(parse(String.raw`"a\"b\\c\/d\be\ff\ng\rh\ti\u0041\u00e9\uD83D\uDE42j"`)).toBe('a"b\\c/d\be\ff\ng\rh\ti' + 'Aé🙂j');
    expect(parse('"plain text with spaces ~"')).toBe('plain text with spaces ~');
    expect(parse('"\u007f\u00ff"')).toBe('\u007f\u00ff');
    expect(parse('""')).toBe('');
  });

  it('skips exactly space, tab, LF and CR between tokens', () => {
    expect(parse(' \t\n\r{ \t\n\r"a" \t\n\r: \t\n\r[ \t\n\r1 \t\n\r, \t\n\r2 \t\n\r] \t\n\r} \t\n\r')).toBeInstanceOf(JsonObject);
    expect(parse('[ ]')).toEqual([]);
    expect((parse('{ }') as JsonObject).members.size).toBe(0);
    for (const ws of ['\f', '\v', '\u00a0']) {
      expect(thrown(() => parse(`[1,${ws}2]`)).code).toBe('HEADER_JSON');
    }
  });

  it('reads every number form JSON allows', () => {
    expect(parse('[0, -0, 7, -12, 10, 1.25, -0.5, 1e3, 1E3, 1e+3, 1e-3, 2.5E-1, 90]')).toEqual([0, 0, 7, -12, 10, 1.25, -0.5, 1000, 1000, 1000, 0.001, 0.25, 90]);
    expect(parse('[123456789]', { integersOnly: true })).toEqual([123456789]);
    const e = thrown(() => parse('[1, 2e3]', { integersOnly: true }));
    expect(e.message).toBe('Invalid thing: the number 2e3 is not an integer at byte 104.');
    expect(e.offset).toBe(104);
    expect(thrown(() => parse('[1E3]', { integersOnly: true })).message).toMatch(/the number 1E3 is not an integer/);
    expect(parse('[1e0, 1e9, 1e19, 5E09, 0.09, 9.9]')).toEqual([1, 1e9, 1e19, 5e9, 0.09, 9.9]);
    for (const [text, at] of [['-a', 0], ['1.e5', 0], ['1e+', 0], ['[1.x]', 1], ['-', 0], ['-.5', 0], ['-/', 0], ['1.-', 0], ['1./', 0], ['1e.', 0], ['1e:', 0], ['1.:', 0], ['[2e/]', 1]] as const) {
      expect(thrown(() => parse(text)).message).toBe(`Invalid thing: invalid number at byte ${100 + at}.`);
    }
    expect(thrown(() => parse('00')).message).toBe('Invalid thing: unexpected "0" after the end of the JSON value at byte 101.');
  });

  it('reads true, false and null, and names what it did not expect', () => {
    expect(parse('[true, false, null]')).toEqual([true, false, null]);
    expect(thrown(() => parse('fals')).message).toBe('Invalid thing: unexpected "f" at byte 100.');
    expect(thrown(() => parse('nul')).message).toBe('Invalid thing: unexpected "n" at byte 100.');
    expect(thrown(() => parse('[1 2]')).message).toBe('Invalid thing: expected "," or "]", found "2" at byte 103.');
    expect(thrown(() => parse('[1')).message).toBe('Invalid thing: expected "," or "]", found the end of the header at byte 102.');
    expect(thrown(() => parse('{"a":1 "b":2}')).message).toBe('Invalid thing: expected "," or "}", found "\\"" at byte 107.');
    expect(thrown(() => parse('{"a" 1}')).message).toBe('Invalid thing: expected ":", found "1" at byte 105.');
    expect(thrown(() => parse('{1:2}')).message).toBe('Invalid thing: expected a key, found "1" at byte 101.');
  });

  it('string errors: control characters, bad escapes, unterminated, lone surrogates', () => {
    expect(thrown(() => parse('"a\u0001b"')).message).toBe('Invalid thing: raw control character U+0001 in a string at byte 102.');
    expect(thrown(() => parse('"\u001f"')).message).toMatch(/U\+001F in a string at byte 101\.$/);
    expect(thrown(() => parse('"\n"')).message).toMatch(/U\+000A/);
    expect(thrown(() => parse(String.raw`"a\x"`)).message).toBe('Invalid thing: invalid escape "\\\\x" at byte 102.');
    expect(thrown(() => parse('"a\\')).message).toMatch(/^Invalid thing: (invalid escape "\\\\"|unterminated string) at byte 10[02]\.$/);
    expect(thrown(() => parse(String.raw`"\u00g0"`)).message).toBe('Invalid thing: invalid \\u escape at byte 101.');
    expect(thrown(() => parse(String.raw`"ab\ud800"`)).message).toBe('Invalid thing: a string with an unpaired surrogate at byte 100.');
    expect(thrown(() => parse('"abc')).message).toBe('Invalid thing: unterminated string at byte 100.');
  });

  it('duplicate keys have their own code; every error carries the offset; depth is bounded at maxDepth (default 64)', () => {
    const dup = thrown(() => parse('{"a":1, "a":2}'));
    expect(dup.code).toBe('DUPLICATE_KEY');
    expect(dup.message).toBe('Invalid thing: duplicate key "a" at byte 108.');
    expect(dup.offset).toBe(108);
    expect(thrown(() => parse('[}')).code).toBe('HEADER_JSON');
    expect(parse('['.repeat(64) + ']'.repeat(64))).toBeInstanceOf(Array);
    expect(thrown(() => parse('['.repeat(65) + ']'.repeat(65))).message).toBe('Invalid thing: nesting deeper than 64 at byte 164.');
    expect(thrown(() => parse('{"a":{"b":{}}}', { maxDepth: 2 })).message).toBe('Invalid thing: nesting deeper than 2 at byte 110.');
    expect((parse('{"a":{"b":{}}}', { maxDepth: 3 }) as JsonObject).members.has('a')).toBe(true);
  });

  it('records each key\'s position and the object\'s', () => {
    const o = parse(' {"x": 1, "yy": {"z": []}}') as JsonObject;
    expect(o.at).toBe(1);
    expect([...o.keyAt]).toEqual([['x', 2], ['yy', 10]]);
    const inner = o.members.get('yy') as JsonObject;
    expect(inner.at).toBe(16);
    expect([...inner.keyAt]).toEqual([['z', 17]]);
  });
});

describe('hasLoneSurrogate', () => {
  it('finds a high surrogate not followed by a low one, and a low one not preceded by a high one', () => {
    expect(hasLoneSurrogate('a🙂b𝄞')).toBe(false);
    expect(hasLoneSurrogate('')).toBe(false);
    expect(hasLoneSurrogate('\ud83da')).toBe(true);
    expect(hasLoneSurrogate('a\ud83d')).toBe(true);
    expect(hasLoneSurrogate('\ude42')).toBe(true);
    expect(hasLoneSurrogate('x\ude42\ud83d')).toBe(true); // reversed pair: both lone
    expect(hasLoneSurrogate('\ud83d\ud83d\ude42')).toBe(true); // the first high is lone
    expect(hasLoneSurrogate('\ud83d\ude42\ude42')).toBe(true); // the second low is lone
    expect(hasLoneSurrogate('\udbff\udfff\ud800\udc00')).toBe(false); // the ends of both ranges
  });
});

describe('readJsonField', () => {
  it('parses an entry into plain values; absent is undefined unless required', () => {
    const metadata = { a: '{"k":[1,{"m":"n"}],"t":true}', b: '3' };
    expect(readJsonField(metadata, 'a', true)).toEqual({ k: [1, { m: 'n' }], t: true });
    expect(Object.getPrototypeOf(readJsonField(metadata, 'a', true))).toBe(Object.prototype);
    expect(readJsonField(metadata, 'b', false)).toBe(3);
    expect(readJsonField(metadata, 'c', false)).toBe(undefined);
    const e = thrown(() => readJsonField(metadata, 'c', true));
    expect(e.code).toBe('METADATA_FIELD');
    expect(e.message).toBe('Invalid checkpoint: the metadata entry "c" is missing.');
  });

  it('refuses invalid JSON, naming the entry and the character', () => {
    const e = thrown(() => readJsonField({ cfg: '{"a":1,"a":2}' }, 'cfg', true));
    expect(e.code).toBe('METADATA_FIELD');
    expect(e.message).toBe('Invalid checkpoint: the metadata entry "cfg" is not valid JSON (Invalid JSON text of metadata "cfg": duplicate key "a" at character 7.)');
  });

  it('refuses a forbidden key at the top or nested, with its path', () => {
    for (const [text, where] of [
      ['{"__proto__":1}', ''],
      ['{"a":{"constructor":1}}', ' in a'],
      ['{"a":{"b":[0,{"prototype":2}]}}', ' in a.b[1]'],
      ['[{"__proto__":{}}]', ' in [0]'],
    ] as const) {
      const key = /"(__proto__|constructor|prototype)"/.exec(text)![1];
      const e = thrown(() => readJsonField({ m: text }, 'm', true));
      expect(e.code).toBe('METADATA_FIELD');
      expect(e.message).toBe(`Invalid checkpoint: metadata "m" has the key "${key}"${where}, which is not allowed (it would reach an object's prototype).`);
    }
    expect(readJsonField({ m: '{"proto":1,"constructors":2}' }, 'm', true)).toEqual({ proto: 1, constructors: 2 });
  });
});

describe('refuse, shapeText, checkTensor, isPlainObject', () => {
  it('refuse returns the value, turns TypeError/RangeError into the code, and lets anything else through', () => {
    expect(refuse('CONFIG', 'the config', () => 5)).toBe(5);
    for (const E of [TypeError, RangeError]) {
      const e = thrown(() => refuse('VOCAB', 'the vocabulary', () => { throw new E('bad token'); }));
      expect(e.code).toBe('VOCAB');
      expect(e.message).toBe('Invalid checkpoint: the vocabulary: bad token');
    }
    const other = new Error('disk');
    expect(() => refuse('CONFIG', 'x', () => { throw other; })).toThrow(other);
    const format = new CheckpointFormatError('GAP', 'gap');
    expect(() => refuse('CONFIG', 'x', () => { throw format; })).toThrow(format);
  });

  it('shapeText', () => {
    expect(shapeText([2, 3])).toBe('[2, 3]');
    expect(shapeText([])).toBe('[]');
  });

  it('checkTensor: dtype first, then shape (rank and each size), naming the tensor and its role', () => {
    const t = (dtype: string, shape: number[]) => ({ dtype, shape, data: new Uint8Array(0) }) as never;
    expect(() => checkTensor('W', t('F32', [2, 3]), 'F32', [2, 3], 'a weight')).not.toThrow();
    const d = thrown(() => checkTensor('W', t('F64', [2, 3]), 'F32', [2, 3], 'a weight'));
    expect([d.code, d.tensor, d.message]).toEqual(['TENSOR_DTYPE', 'W', 'Invalid checkpoint: tensor "W" is F64, expected F32 (a weight).']);
    for (const shape of [[2], [2, 3, 1], [3, 2], [2, 4]]) {
      const s = thrown(() => checkTensor('b', t('F32', shape), 'F32', [2, 3], 'a bias'));
      expect([s.code, s.tensor, s.message]).toEqual(['TENSOR_SHAPE', 'b', `Invalid checkpoint: tensor "b" has shape ${shapeText(shape)}, expected [2, 3] (a bias).`]);
    }
    expect(() => checkTensor('s', t('F32', []), 'F32', [], 'a scalar')).not.toThrow();
  });

  it('isPlainObject', () => {
    expect(isPlainObject({})).toBe(true);
    expect(isPlainObject([])).toBe(false);
    expect(isPlainObject(null)).toBe(false);
    expect(isPlainObject('x')).toBe(false);
  });
});
