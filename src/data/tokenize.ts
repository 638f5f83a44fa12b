import { show } from '../checks.js';

/** The unit a text is split into: whitespace-separated words, or Unicode code points. */
export type TokenType = 'word' | 'char';

// The characters Python's `str.split()` treats as white space (JavaScript's `\s` differs: it
// includes U+FEFF and leaves out U+001C–U+001F and U+0085), so word tokens match d2l exactly.
const PYTHON_WHITESPACE =
  /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/**
 * Splits each line into tokens, as `d2l.tokenize` does: `'word'` splits on runs of white space
 * (Python's `line.split()`), `'char'` splits into Unicode code points (Python's `list(line)`),
 * so an emoji or any character outside the BMP is one token, not two UTF-16 halves.
 *
 * @param lines - The text, one string per line (see {@link preprocess}).
 * @param token - `'word'` or `'char'`; anything else is a RangeError.
 * @returns One array of tokens per line (an empty array for an empty line).
 *
 * @example
 * tokenize(['the time machine'], 'word'); // [['the', 'time', 'machine']]
 * tokenize(['héllo 👋'], 'char');          // [['h', 'é', 'l', 'l', 'o', ' ', '👋']]
 */
export function tokenize(lines: readonly string[], token: TokenType): string[][] {
  if (!Array.isArray(lines)) {
    throw new TypeError(`Expected \`lines\` to be an array of strings, got ${show(lines)}.`);
  }
  if (token !== 'word' && token !== 'char') {
    throw new RangeError(`Expected \`token\` to be "word" or "char", got ${show(token)}.`);
  }
  return lines.map((line: unknown, i) => {
    if (typeof line !== 'string') {
      throw new TypeError(`Expected \`lines[${i}]\` to be a string, got ${show(line)}.`);
    }
    if (token === 'char') return Array.from(line);
    return line.split(PYTHON_WHITESPACE).filter((word) => word.length > 0);
  });
}
