import { describe, expect, it } from 'vitest';
import { CheckpointFormatError } from '../../src/checkpoint/errors.js';
import { hasLoneSurrogate, JsonObject, parseStrictJson, type JsonValue } from '../../src/checkpoint/json.js';
import { Random } from '../../src/tensor/random.js';

const options = { what: 'config', byteOffset: (i: number) => i };

/** A JsonValue as the plain value JSON.parse would give (objects as entries, to keep key order). */
function plain(value: JsonValue): unknown {
  if (value instanceof JsonObject) return { entries: [...value.members].map(([k, v]) => [k, plain(v)]) };
  if (Array.isArray(value)) return value.map(plain);
  return value;
}
function fromJSONParse(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromJSONParse);
  if (value !== null && typeof value === 'object') {
    return { entries: Object.keys(value).map((k) => [k, fromJSONParse((value as Record<string, unknown>)[k])]) };
  }
  return value;
}

function randomValue(rng: Random, depth: number): unknown {
  const kind = rng.int(depth > 3 ? 5 : 7);
  const strings = ['', 'a', 'é', '🙂', '"\\/\b\f\n\r\t', '\u0000\u001f', 'key', '𝄞x'];
  switch (kind) {
    case 0: return null;
    case 1: return rng.int(2) === 1;
    case 2: return [0, -0.5, 1e-300, 12345678901, -7, 3.14159, 1e21, 2 ** 53 - 1][rng.int(8)];
    case 3: return strings[rng.int(strings.length)];
    case 4: return rng.normal();
    case 5: return Array.from({ length: rng.int(4) }, () => randomValue(rng, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let k = rng.int(4); k > 0; k--) o[`${strings[rng.int(strings.length)]}${rng.int(3)}`] = randomValue(rng, depth + 1);
      return o;
    }
  }
}

describe('parseStrictJson', () => {
  it('runs its @example', () => {
    const value = parseStrictJson('{"a":[1,2]}', options);
    expect((value as JsonObject).members.get('a')).toEqual([1, 2]);
    expect(() => parseStrictJson('{"a":1,"a":2}', options)).toThrow(/^Invalid config: duplicate key "a" at byte 7\.$/);
    expect(hasLoneSurrogate('🙂')).toBe(false);
    expect(hasLoneSurrogate('\ud83d')).toBe(true);
  });

  it('agrees with JSON.parse on 500 random documents, with and without whitespace', () => {
    const rng = new Random(5);
    for (let k = 0; k < 500; k++) {
      const value = randomValue(rng, 0);
      for (const text of [JSON.stringify(value), JSON.stringify(value, null, 2), ` \n\t${JSON.stringify(value)}\r\n `]) {
        expect(plain(parseStrictJson(text, options))).toEqual(fromJSONParse(JSON.parse(text)));
      }
    }
  });

  it('keeps key order (integer-like keys included) and never touches a prototype', () => {
    const value = parseStrictJson('{"b":1,"2":2,"__proto__":{"polluted":true},"constructor":3}', options) as JsonObject;
    expect([...value.members.keys()]).toEqual(['b', '2', '__proto__', 'constructor']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects what JSON forbids, and duplicates, depth, fractions when asked, lone surrogates', () => {
    const bad: [string, RegExp][] = [
      ['', /unexpected the end of the header at byte 0/],
      ['{"a":1,}', /expected a key, found "\}" at byte 7/],
      ['[1,]', /unexpected "\]" at byte 3/],
      ['01', /unexpected "1" after the end of the JSON value at byte 1/],
      ['-', /invalid number at byte 0/],
      ['1.', /invalid number at byte 0/],
      ['1e', /invalid number at byte 0/],
      ['.5', /unexpected "\." at byte 0/],
      ['NaN', /unexpected "N" at byte 0/],
      ['tru', /unexpected "t" at byte 0/],
      ["'a'", /unexpected "'" at byte 0/],
      ['"abc', /unterminated string at byte 0/],
      ['"\\u12"', /invalid \\u escape at byte 1/],
      ['"\\udc00"', /unpaired surrogate at byte 0/],
      ['{"a":{"b":1,"b":2}}', /duplicate key "b" at byte 12/],
      ['[[[[[]]]]]', /nesting deeper than 4 at byte 4/],
    ];
    for (const [text, message] of bad) {
      let thrown: unknown;
      try {
        parseStrictJson(text, { ...options, maxDepth: 4 });
      } catch (error) {
        thrown = error;
      }
      expect(thrown, text).toBeInstanceOf(CheckpointFormatError);
      expect((thrown as Error).message, text).toMatch(message);
    }
    expect(parseStrictJson('[1.5,2e3,-0]', options)).toEqual([1.5, 2000, 0]);
    expect(Object.is((parseStrictJson('[-0]', options) as number[])[0], 0)).toBe(true);
    expect(() => parseStrictJson('[1.5]', { ...options, integersOnly: true })).toThrow(/the number 1\.5 is not an integer at byte 1/);
    expect(parseStrictJson('[[[[]]]]', { ...options, maxDepth: 4 })).toEqual([[[[]]]]);
  });
});
