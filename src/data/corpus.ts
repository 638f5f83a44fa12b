import { show } from '../checks.js';
import { tokenize, type TokenType } from './tokenize.js';
import { Vocab } from './vocab.js';

/**
 * Normalises raw text the way d2l's `read_time_machine` does, line by line: every run of
 * characters other than the ASCII letters A–Z and a–z becomes one space, then the line is
 * trimmed and lower-cased (Python: `re.sub('[^A-Za-z]+', ' ', line).strip().lower()`).
 * Lines end at `\n`, `\r\n` or `\r`, as in Python's text mode; a final line break does not
 * start an extra empty line, so the result has as many lines as `f.readlines()`.
 *
 * @param text - The raw text, e.g. the contents of `timemachine.txt`.
 * @returns One normalised string per line (empty lines stay, as empty strings).
 *
 * @example
 * preprocess('The Time Machine, by H. G. Wells\r\n\r\nI.\n');
 * // ['the time machine by h g wells', '', 'i']
 */
export function preprocess(text: string): string[] {
  if (typeof text !== 'string') {
    throw new TypeError(`Expected \`text\` to be a string, got ${show(text)}.`);
  }
  const lines = text.split(/\r\n|\r|\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line) => line.replace(/[^A-Za-z]+/g, ' ').trim().toLowerCase());
}

/** Options for {@link loadCorpus}. */
export interface LoadCorpusOptions {
  /** Split lines into `'word'`s or `'char'`s (Unicode code points). */
  readonly token: TokenType;
  /** When > 0, the corpus is cut to its first `maxTokens` ids (the vocabulary still covers the whole text). Default -1: no cut. */
  readonly maxTokens?: number;
  /** Passed to {@link Vocab}. Default 0. */
  readonly minFreq?: number;
  /** Passed to {@link Vocab}. Default none. */
  readonly reservedTokens?: readonly string[];
}

/** What {@link loadCorpus} returns. */
export interface LoadedCorpus {
  /** The ids of every token of every line, in order, lines concatenated without separators. */
  readonly corpus: Int32Array;
  /** The vocabulary built from all the tokens; its `level` records `token`. */
  readonly vocab: Vocab;
}

/**
 * Tokenises lines, builds their vocabulary and encodes every token of every line into one
 * flat corpus of ids, as d2l's `load_corpus_time_machine` does.
 *
 * @example
 * const { corpus, vocab } = loadCorpus(preprocess('Hello, hello world!'), { token: 'word' });
 * vocab.idxToToken;    // ['<unk>', 'hello', 'world']
 * Array.from(corpus);  // [1, 1, 2]
 */
export function loadCorpus(lines: readonly string[], options: LoadCorpusOptions): LoadedCorpus {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`Expected \`options\` to be an object with a \`token\`, got ${show(options)}.`);
  }
  const maxTokens = options.maxTokens ?? -1;
  if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens)) {
    throw new TypeError(`Expected \`maxTokens\` to be an integer, got ${show(maxTokens)}.`);
  }
  const tokens = tokenize(lines, options.token);
  const vocab = new Vocab(tokens, {
    minFreq: options.minFreq,
    reservedTokens: options.reservedTokens,
    level: options.token,
  });
  const all = Int32Array.from(tokens.flat(), (token) => vocab.indexOf(token));
  const corpus = maxTokens > 0 && maxTokens < all.length ? all.slice(0, maxTokens) : all;
  return { corpus, vocab };
}
