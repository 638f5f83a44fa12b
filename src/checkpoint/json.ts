// A strict JSON parser for text read from files: `JSON.parse` keeps the last of two duplicate
// keys without a word (the safetensors format forbids duplicates, and a reader that keeps the
// first would see a different file), and its objects have a prototype that `__proto__`,
// `constructor` and `prototype` keys can confuse once they are copied into ordinary objects.
// Here objects are `JsonObject`s holding a Map (no prototype to pollute, order kept), duplicate
// keys are an error, nesting is bounded, lone surrogates are an error (as in serde_json, which
// the reference safetensors reader uses), and every error is a CheckpointFormatError that names
// the byte offset in the file.

import { CheckpointFormatError } from './errors.js';

/** A parsed JSON value: objects are `JsonObject`s, arrays are arrays. */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;

/** A parsed JSON object: its members in file order, and where each key starts in the text. */
export class JsonObject {
  /** Members in the order of the text. */
  readonly members = new Map<string, JsonValue>();
  /** The text index at which each member's key starts. */
  readonly keyAt = new Map<string, number>();
  /** @param at The text index of the opening `{`. */
  constructor(readonly at: number) {}
}

/** Options of `parseStrictJson`. */
export interface StrictJsonOptions {
  /** What the text is, for messages: "safetensors header". */
  what: string;
  /** Maps a text index to a byte offset in the file, for messages. */
  byteOffset: (index: number) => number;
  /** Deepest nesting of objects and arrays allowed. Default 64. */
  maxDepth?: number;
  /** Reject numbers with a fraction or an exponent (a safetensors header holds only integers). */
  integersOnly?: boolean;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * True when `s` has an unpaired UTF-16 surrogate (so it has no UTF-8 encoding).
 *
 * @example
 * hasLoneSurrogate('🙂'); // false
 * hasLoneSurrogate('\ud83d'); // true
 */
export function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s);
}

/**
 * Parses `text` as one JSON value followed only by whitespace. Throws a CheckpointFormatError
 * (code `HEADER_JSON`, or `DUPLICATE_KEY`) naming the byte offset of the problem.
 *
 * @example
 * const value = parseStrictJson('{"a":[1,2]}', { what: 'config', byteOffset: (i) => i });
 * (value as JsonObject).members.get('a'); // [1, 2]
 * parseStrictJson('{"a":1,"a":2}', { what: 'config', byteOffset: (i) => i });
 * // throws CheckpointFormatError: Invalid config: duplicate key "a" at byte 7.
 */
export function parseStrictJson(text: string, options: StrictJsonOptions): JsonValue {
  const { what, byteOffset, maxDepth = 64, integersOnly = false } = options;
  let i = 0;

  const fail = (detail: string, at: number, code: 'HEADER_JSON' | 'DUPLICATE_KEY' = 'HEADER_JSON'): never => {
    const offset = byteOffset(at);
    throw new CheckpointFormatError(code, `Invalid ${what}: ${detail} at byte ${offset}.`, { offset });
  };
  const describe = (at: number): string =>
    at >= text.length ? 'the end of the header' : `${JSON.stringify(text[at])}`;
  const skipWhitespace = (): void => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else return;
    }
  };
  const expect = (ch: string): void => {
    if (text[i] !== ch) fail(`expected ${JSON.stringify(ch)}, found ${describe(i)}`, i);
    i++;
  };

  const parseString = (): string => {
    const start = i;
    expect('"');
    let out = '';
    let runStart = i;
    for (;;) {
      if (i >= text.length) fail('unterminated string', start);
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(runStart, i);
        i++;
        break;
      }
      if (c < 0x20) fail(`raw control character U+${c.toString(16).padStart(4, '0').toUpperCase()} in a string`, i);
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += text.slice(runStart, i);
      const e = text[i + 1];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('invalid \\u escape', i);
          out += String.fromCharCode(parseInt(hex, 16));
          i += 4;
          break;
        }
        default:
          fail(`invalid escape ${JSON.stringify(`\\${e ?? ''}`)}`, i);
      }
      i += 2;
      runStart = i;
    }
    if (hasLoneSurrogate(out)) fail('a string with an unpaired surrogate', start);
    return out;
  };

  const parseNumber = (): number => {
    const start = i;
    if (text[i] === '-') i++;
    if (text[i] === '0') i++;
    else if (text[i]! >= '1' && text[i]! <= '9') while (text[i]! >= '0' && text[i]! <= '9') i++;
    else fail(`invalid number`, start);
    let fractional = false;
    if (text[i] === '.') {
      fractional = true;
      i++;
      if (!(text[i]! >= '0' && text[i]! <= '9')) fail('invalid number', start);
      while (text[i]! >= '0' && text[i]! <= '9') i++;
    }
    if (text[i] === 'e' || text[i] === 'E') {
      fractional = true;
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      if (!(text[i]! >= '0' && text[i]! <= '9')) fail('invalid number', start);
      while (text[i]! >= '0' && text[i]! <= '9') i++;
    }
    const literal = text.slice(start, i);
    if (integersOnly && fractional) fail(`the number ${literal} is not an integer`, start);
    return Number(literal) + 0; // + 0 turns -0 into 0
  };

  const parseLiteral = (word: string, value: boolean | null): boolean | null => {
    if (text.startsWith(word, i)) {
      i += word.length;
      return value;
    }
    return fail(`unexpected ${describe(i)}`, i);
  };

  const parseValue = (depth: number): JsonValue => {
    skipWhitespace();
    const c = text[i];
    if (c === '{' || c === '[') {
      if (depth >= maxDepth) fail(`nesting deeper than ${maxDepth}`, i);
      return c === '{' ? parseObject(depth + 1) : parseArray(depth + 1);
    }
    if (c === '"') return parseString();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return parseNumber();
    if (c === 't') return parseLiteral('true', true);
    if (c === 'f') return parseLiteral('false', false);
    if (c === 'n') return parseLiteral('null', null);
    return fail(`unexpected ${describe(i)}`, i);
  };

  const parseObject = (depth: number): JsonObject => {
    const object = new JsonObject(i);
    expect('{');
    skipWhitespace();
    if (text[i] === '}') {
      i++;
      return object;
    }
    for (;;) {
      skipWhitespace();
      const keyAt = i;
      if (text[i] !== '"') fail(`expected a key, found ${describe(i)}`, i);
      const key = parseString();
      if (object.members.has(key)) fail(`duplicate key ${JSON.stringify(key)}`, keyAt, 'DUPLICATE_KEY');
      skipWhitespace();
      expect(':');
      object.members.set(key, parseValue(depth));
      object.keyAt.set(key, keyAt);
      skipWhitespace();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        return object;
      }
      fail(`expected "," or "}", found ${describe(i)}`, i);
    }
  };

  const parseArray = (depth: number): JsonValue[] => {
    const array: JsonValue[] = [];
    expect('[');
    skipWhitespace();
    if (text[i] === ']') {
      i++;
      return array;
    }
    for (;;) {
      array.push(parseValue(depth));
      skipWhitespace();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === ']') {
        i++;
        return array;
      }
      fail(`expected "," or "]", found ${describe(i)}`, i);
    }
  };

  const value = parseValue(0);
  skipWhitespace();
  if (i < text.length) fail(`unexpected ${describe(i)} after the end of the JSON value`, i);
  return value;
}
