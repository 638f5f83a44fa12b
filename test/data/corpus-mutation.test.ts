// tokenize's word separators and loadCorpus's options check, pinned where the existing tests
// left them open (issue 13: mutation testing).
import { describe, expect, it } from 'vitest';
import { loadCorpus } from '../../src/data/corpus.js';
import { tokenize } from '../../src/data/tokenize.js';

describe('tokenize(…, "word") splits exactly where Python str.split() does', () => {
  // Python 3: [hex(c) for c in range(0x110000) if chr(c).isspace()], 29 code points.
  const PYTHON_SPACE = [0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680,
    0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
    0x2028, 0x2029, 0x202f, 0x205f, 0x3000];

  it('on each of its white-space characters', () => {
    for (const c of PYTHON_SPACE) {
      expect(tokenize([`ab${String.fromCodePoint(c)}cd`], 'word'), `U+${c.toString(16)}`).toEqual([['ab', 'cd']]);
    }
  });

  it('on nothing else: letters that look like escapes stay in the word', () => {
    // 'aVb\x0bc'.split() == ['aVb', 'c'] (a \V in the class would be the letter V).
    expect(tokenize(['aVb\x0bc', 'Tab Nail Free Rest'], 'word')).toEqual([['aVb', 'c'], ['Tab', 'Nail', 'Free', 'Rest']]);
    const notSpace = [0x0, 0x8, 0xe, 0x1b, 0x21, 0x84, 0x86, 0x9f, 0xa1, 0x167f, 0x1681, 0x1fff, 0x200b,
      0x2027, 0x202a, 0x202e, 0x2030, 0x205e, 0x2060, 0x2fff, 0x3001, 0xfeff];
    for (const c of notSpace) {
      const word = `a${String.fromCodePoint(c)}b`;
      expect(tokenize([word], 'word'), `U+${c.toString(16)}`).toEqual([[word]]);
    }
  });
});

describe('loadCorpus options', () => {
  it('refuses null options with our TypeError, not an engine error', () => {
    expect(() => loadCorpus(['a'], null as unknown as { token: 'char' })).toThrow(
      new TypeError('Expected `options` to be an object with a `token`, got null.'),
    );
  });
});
