import { describe, expect, it } from 'vitest';
import { tokenize } from '../../src/data/tokenize.js';

describe('tokenize', () => {
  it('runs its @example', () => {
    expect(tokenize(['the time machine'], 'word')).toEqual([['the', 'time', 'machine']]);
    expect(tokenize(['héllo 👋'], 'char')).toEqual([['h', 'é', 'l', 'l', 'o', ' ', '👋']]);
  });

  it('splits characters into code points, not UTF-16 halves', () => {
    const [chars] = tokenize(['héllo 👋'], 'char');
    expect(chars).toHaveLength(7);
    expect('héllo 👋'.length).toBe(8); // the emoji is a surrogate pair
    expect(tokenize(['𝔸b'], 'char')).toEqual([['𝔸', 'b']]);
  });

  it('splits words on runs of white space like Python str.split()', () => {
    expect(tokenize(['  a\tb \n c  ', '', '   '], 'word')).toEqual([['a', 'b', 'c'], [], []]);
    // U+00A0 and U+3000 are white space for Python; U+FEFF is not (it is for JS's \s).
    expect(tokenize(['a\u00a0b\u3000c\ufeffd\x1fe'], 'word')).toEqual([['a', 'b', 'c\ufeffd', 'e']]);
  });

  it('keeps one (possibly empty) array per line', () => {
    expect(tokenize(['ab', '', 'c'], 'char')).toEqual([['a', 'b'], [], ['c']]);
    expect(tokenize([], 'word')).toEqual([]);
  });

  it('rejects bad input, naming the argument', () => {
    expect(() => tokenize(['a'], 'byte' as 'char')).toThrow(
      new RangeError('Expected `token` to be "word" or "char", got "byte".'),
    );
    expect(() => tokenize(['a'], undefined as unknown as 'char')).toThrow(
      /^Expected `token` to be "word" or "char", got undefined\.$/,
    );
    expect(() => tokenize('abc' as unknown as string[], 'char')).toThrow(TypeError);
    expect(() => tokenize('abc' as unknown as string[], 'char')).toThrow(
      /^Expected `lines` to be an array of strings, got "abc"\.$/,
    );
    expect(() => tokenize(['a', 3] as unknown as string[], 'word')).toThrow(
      /^Expected `lines\[1\]` to be a string, got 3\.$/,
    );
  });
});
