import { checkNonNegativeInteger, checkStringArray, show } from '../checks.js';
import type { TokenType } from './tokenize.js';

/** Options for {@link Vocab}. */
export interface VocabOptions {
  /** Tokens seen fewer than this many times are left out (they encode to `<unk>`). Default 0. */
  readonly minFreq?: number;
  /** Tokens given the ids 1..k, right after `<unk>`, whether or not they occur. Default none. */
  readonly reservedTokens?: readonly string[];
  /**
   * What the tokens are, `'char'` or `'word'`, when known: {@link loadCorpus} records it, and
   * generation reads it to join tokens with `''` (chars) or `' '` (words). Default: unrecorded.
   */
  readonly level?: TokenType;
}

/** The plain-object form of a {@link Vocab}, as produced by `toJSON()`. */
export interface VocabJSON {
  /** Every token by id; `idxToToken[0]` is `'<unk>'`. */
  readonly idxToToken: readonly string[];
  /** `[token, count]` for every distinct token of the text, most frequent first. */
  readonly tokenFreqs: readonly (readonly [string, number])[];
  /** `'char'` or `'word'` when the vocabulary records it (absent in JSON from older versions). */
  readonly level?: TokenType;
}

const UNK = '<unk>';

/**
 * A vocabulary mapping tokens to integer ids, built as `d2l.Vocab` builds it, so a user of the
 * book gets the same ids: `<unk>` is id 0, the reserved tokens follow (ids 1..k), then every
 * token whose count is at least `minFreq`, most frequent first. Ties keep the order in which
 * tokens first appear in the text (d2l's stable sort over a `Counter`).
 *
 * @example
 * const vocab = new Vocab([['b', 'a', 'c'], ['a', 'c', 'd']], { reservedTokens: ['<pad>'] });
 * vocab.idxToToken;                  // ['<unk>', '<pad>', 'a', 'c', 'b', 'd']
 * vocab.encode(['a', 'b', 'zebra']); // [2, 4, 0]
 * vocab.decode([3, 5]);              // ['c', 'd']
 */
export class Vocab {
  #idxToToken: readonly string[];
  #tokenToIdx: Map<string, number>;
  #tokenFreqs: readonly (readonly [string, number])[];
  #level: TokenType | undefined;

  /**
   * @param tokens - A flat token list or a list of token lists (one per line), as d2l accepts.
   * @param options - `minFreq` (default 0), `reservedTokens` (default `[]`), `level` (default unrecorded).
   */
  constructor(
    tokens: readonly string[] | readonly (readonly string[])[],
    options: VocabOptions = {},
  ) {
    if (!Array.isArray(tokens)) {
      throw new TypeError(
        `Expected \`tokens\` to be an array of strings or of string arrays, got ${show(tokens)}.`,
      );
    }
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`Expected \`options\` to be an object like { minFreq: 0 }, got ${show(options)}.`);
    }
    const minFreq = checkNonNegativeInteger('minFreq', options.minFreq ?? 0);
    const reserved = checkStringArray('reservedTokens', options.reservedTokens ?? []);
    const level = checkLevel('level', options.level);

    // A Map iterates in insertion order, like Python's Counter, and Array#sort is stable, so
    // equal counts stay in order of first appearance.
    const counts = new Map<string, number>();
    const count = (token: unknown, where: string): void => {
      if (typeof token !== 'string') {
        throw new TypeError(`Expected \`${where}\` to be a string, got ${show(token)}.`);
      }
      counts.set(token, (counts.get(token) ?? 0) + 1);
    };
    tokens.forEach((item: unknown, i) => {
      if (Array.isArray(item)) item.forEach((token: unknown, j) => count(token, `tokens[${i}][${j}]`));
      else count(item, `tokens[${i}]`);
    });
    const tokenFreqs = [...counts].sort((a, b) => b[1] - a[1]);

    const idxToToken = [UNK];
    const tokenToIdx = new Map([[UNK, 0]]);
    for (const token of reserved) {
      if (tokenToIdx.has(token)) {
        throw new RangeError(
          `Expected \`reservedTokens\` to hold distinct tokens other than "${UNK}", got ${show(token)} twice.`,
        );
      }
      tokenToIdx.set(token, idxToToken.length);
      idxToToken.push(token);
    }
    for (const [token, freq] of tokenFreqs) {
      if (freq < minFreq) break; // sorted by count, so every later token is rarer
      if (tokenToIdx.has(token)) continue; // `<unk>` or a reserved token that also occurs
      tokenToIdx.set(token, idxToToken.length);
      idxToToken.push(token);
    }

    this.#idxToToken = Object.freeze(idxToToken);
    this.#tokenToIdx = tokenToIdx;
    this.#tokenFreqs = Object.freeze(tokenFreqs.map((pair) => Object.freeze(pair)));
    this.#level = level;
  }

  /**
   * `'char'` or `'word'`: what the tokens are, when recorded ({@link loadCorpus} records it);
   * `undefined` otherwise.
   *
   * @example
   * new Vocab(['a', 'b'], { level: 'char' }).level; // 'char'
   * new Vocab(['a', 'b']).level;                    // undefined
   */
  get level(): TokenType | undefined {
    return this.#level;
  }

  /** The number of ids, `<unk>` and reserved tokens included. */
  get size(): number {
    return this.#idxToToken.length;
  }

  /** The id of `<unk>`, which unknown tokens encode to: always 0. */
  get unk(): number {
    return 0;
  }

  /** Every token by id (frozen). */
  get idxToToken(): readonly string[] {
    return this.#idxToToken;
  }

  /**
   * `[token, count]` for every distinct token of the text the vocabulary was built from, most
   * frequent first, ties in order of first appearance; tokens below `minFreq` included (d2l's
   * `token_freqs`). Frozen.
   */
  get tokenFreqs(): readonly (readonly [string, number])[] {
    return this.#tokenFreqs;
  }

  /**
   * The id of `token`, or `unk` (0) when it is not in the vocabulary — d2l's `vocab[token]`,
   * unlike `Array#indexOf`, which would return -1. Use {@link Vocab.has} to test membership.
   *
   * @example
   * new Vocab(['a', 'b', 'a']).indexOf('a'); // 1
   * new Vocab(['a', 'b', 'a']).indexOf('z'); // 0
   */
  indexOf(token: string): number {
    return this.#tokenToIdx.get(token) ?? 0;
  }

  /**
   * Whether `token` has an id of its own (`'<unk>'` itself counts).
   *
   * @example
   * new Vocab(['a']).has('a'); // true
   * new Vocab(['a']).has('z'); // false
   */
  has(token: string): boolean {
    return this.#tokenToIdx.has(token);
  }

  /**
   * Maps tokens to ids; a token not in the vocabulary becomes `unk` (0).
   *
   * @example
   * new Vocab(['a', 'b', 'a']).encode(['b', 'a', 'z']); // [2, 1, 0]
   */
  encode(tokens: readonly string[]): number[] {
    checkStringArray('tokens', tokens);
    return tokens.map((token) => this.#tokenToIdx.get(token) ?? 0);
  }

  /**
   * Maps ids back to tokens. An id that is not an integer in [0, size) is an error.
   *
   * @example
   * new Vocab(['a', 'b', 'a']).decode([2, 1, 0]); // ['b', 'a', '<unk>']
   */
  decode(ids: ArrayLike<number>): string[] {
    if (ids === null || typeof ids !== 'object' || !Number.isInteger(ids.length)) {
      throw new TypeError(`Expected \`ids\` to be an array of token ids, got ${show(ids)}.`);
    }
    const tokens = new Array<string>(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id: unknown = ids[i];
      const token = typeof id === 'number' ? this.#idxToToken[id] : undefined;
      if (token === undefined || !Number.isInteger(id)) {
        const message = `Expected \`ids[${i}]\` to be a token id in [0, ${this.size}), got ${show(id)}.`;
        throw Number.isInteger(id) ? new RangeError(message) : new TypeError(message);
      }
      tokens[i] = token;
    }
    return tokens;
  }

  /**
   * A plain object that `JSON.stringify` writes and {@link Vocab.fromJSON} reads back, for
   * saving a vocabulary beside a model.
   *
   * @example
   * const saved = JSON.stringify(vocab);      // calls toJSON()
   * const same = Vocab.fromJSON(saved);       // same ids, same tokenFreqs
   */
  toJSON(): VocabJSON {
    return {
      idxToToken: [...this.#idxToToken],
      tokenFreqs: this.#tokenFreqs.map(([token, freq]) => [token, freq] as const),
      ...(this.#level === undefined ? {} : { level: this.#level }),
    };
  }

  /**
   * Rebuilds a vocabulary from `toJSON()`'s output, or from the JSON text of it. JSON without
   * a `level` (written before vocabularies recorded it) loads with `level` undefined.
   * `tokenFreqs` must be what a vocabulary records: distinct tokens, counts ≥ 1, most frequent
   * first. (It cannot be checked further against `idxToToken`: which ids were reserved tokens
   * and what `minFreq` was are not recorded.)
   *
   * @example
   * const vocab = new Vocab(['a', 'b', 'a']);
   * Vocab.fromJSON(JSON.stringify(vocab)).idxToToken; // ['<unk>', 'a', 'b']
   */
  static fromJSON(json: VocabJSON | string): Vocab {
    const data: unknown = typeof json === 'string' ? parseJSON(json) : json;
    if (data === null || typeof data !== 'object') {
      throw new TypeError(`Expected \`json\` to be a VocabJSON object, got ${show(data)}.`);
    }
    const { idxToToken, tokenFreqs, level } = data as Record<string, unknown>;
    const checkedLevel = checkLevel('json.level', level);
    checkStringArray('json.idxToToken', idxToToken);
    const tokens = idxToToken as readonly string[];
    if (tokens[0] !== UNK || new Set(tokens).size !== tokens.length) {
      throw new RangeError(
        `Expected \`json.idxToToken\` to hold distinct tokens starting with "${UNK}", got ${show(tokens[0])} first among ${tokens.length}.`,
      );
    }
    if (!Array.isArray(tokenFreqs)) {
      throw new TypeError(
        `Expected \`json.tokenFreqs\` to be an array of [token, count] pairs, got ${show(tokenFreqs)}.`,
      );
    }
    const pairs = tokenFreqs.map((pair: unknown, i): readonly [string, number] => {
      const ok =
        Array.isArray(pair) &&
        pair.length === 2 &&
        typeof pair[0] === 'string' &&
        Number.isInteger(pair[1]) &&
        (pair[1] as number) >= 0;
      if (!ok) {
        throw new TypeError(
          `Expected \`json.tokenFreqs[${i}]\` to be a [token, count] pair, got ${show(pair)}.`,
        );
      }
      return Object.freeze([pair[0] as string, pair[1] as number] as const);
    });
    checkFreqs(pairs);

    const vocab = new Vocab([]);
    vocab.#idxToToken = Object.freeze([...tokens]);
    vocab.#tokenToIdx = new Map(tokens.map((token, id) => [token, id]));
    vocab.#tokenFreqs = Object.freeze(pairs);
    vocab.#level = checkedLevel;
    return vocab;
  }
}

function checkLevel(name: string, value: unknown): TokenType | undefined {
  if (value === undefined || value === 'char' || value === 'word') return value;
  throw new RangeError(`Expected \`${name}\` to be "char" or "word", got ${show(value)}.`);
}

/** `JSON.parse`, with an error that names the argument instead of the parser's SyntaxError. */
function parseJSON(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new TypeError(`Expected \`json\` to be a VocabJSON object or its JSON text, got text that is not JSON (${reason}).`, {
      cause: error,
    });
  }
}

/** Checks `tokenFreqs` is what a vocabulary records: distinct tokens, counts ≥ 1, most frequent first. */
function checkFreqs(pairs: readonly (readonly [string, number])[]): void {
  const seen = new Set<string>();
  for (let i = 0; i < pairs.length; i++) {
    const [token, count] = pairs[i]!;
    if (seen.has(token)) {
      throw new RangeError(`Expected \`json.tokenFreqs\` to hold distinct tokens, got ${show(token)} twice (at index ${i}).`);
    }
    seen.add(token);
    if (count < 1) {
      throw new RangeError(`Expected \`json.tokenFreqs[${i}]\` to count a token of the text (≥ 1 time), got ${count}.`);
    }
    if (i > 0 && count > pairs[i - 1]![1]) {
      throw new RangeError(
        `Expected \`json.tokenFreqs\` to be sorted most frequent first, got count ${count} at index ${i} after ${pairs[i - 1]![1]}.`,
      );
    }
  }
}
