import { describe, expect, it } from 'vitest';
import { loadCorpus, preprocess } from '../../src/data/corpus.js';
import { readTimeMachine } from './timemachine.js';

describe('preprocess', () => {
  it('runs its @example', () => {
    expect(preprocess('The Time Machine, by H. G. Wells\r\n\r\nI.\n')).toEqual([
      'the time machine by h g wells',
      '',
      'i',
    ]);
  });

  it('turns every run of non-letters into one space, trims and lower-cases each line', () => {
    expect(preprocess("  It's 1895 -- Mr. Filby!  ")).toEqual(['it s mr filby']);
    expect(preprocess('Ünïcödé café')).toEqual(['n c d caf']); // only ASCII letters survive, as in d2l
    expect(preprocess('42')).toEqual(['']);
  });

  it('splits lines like Python readlines() in text mode', () => {
    expect(preprocess('')).toEqual([]);
    expect(preprocess('a')).toEqual(['a']);
    expect(preprocess('a\n')).toEqual(['a']);
    expect(preprocess('a\n\n')).toEqual(['a', '']);
    expect(preprocess('a\rb\r\nc\nd')).toEqual(['a', 'b', 'c', 'd']);
  });

  it('rejects a non-string', () => {
    expect(() => preprocess(['a'] as unknown as string)).toThrow(TypeError);
    expect(() => preprocess(['a'] as unknown as string)).toThrow(
      /^Expected `text` to be a string, got an array of length 1\.$/,
    );
  });
});

describe('loadCorpus', () => {
  it('runs its @example', () => {
    const { corpus, vocab } = loadCorpus(preprocess('Hello, hello world!'), { token: 'word' });
    expect(vocab.idxToToken).toEqual(['<unk>', 'hello', 'world']);
    expect(Array.from(corpus)).toEqual([1, 1, 2]);
  });

  it('concatenates every token of every line, in order, as an Int32Array', () => {
    const { corpus, vocab } = loadCorpus(['ab', '', 'ba c'], { token: 'char' });
    expect(corpus).toBeInstanceOf(Int32Array);
    expect(vocab.decode(corpus)).toEqual(['a', 'b', 'b', 'a', ' ', 'c']);
  });

  it('cuts the corpus to maxTokens when it is > 0 but builds the vocabulary from all of it', () => {
    const lines = ['a b', 'c d e'];
    const full = loadCorpus(lines, { token: 'word' });
    expect(full.corpus).toHaveLength(5);
    for (const maxTokens of [0, -1, 5, 99]) {
      expect(loadCorpus(lines, { token: 'word', maxTokens }).corpus).toEqual(full.corpus);
    }
    const cut = loadCorpus(lines, { token: 'word', maxTokens: 2 });
    expect(Array.from(cut.corpus)).toEqual(Array.from(full.corpus.subarray(0, 2)));
    expect(cut.vocab.idxToToken).toEqual(full.vocab.idxToToken);
  });

  it('passes minFreq and reservedTokens to the vocabulary', () => {
    const { corpus, vocab } = loadCorpus(['a a b'], { token: 'word', minFreq: 2, reservedTokens: ['<pad>'] });
    expect(vocab.idxToToken).toEqual(['<unk>', '<pad>', 'a']);
    expect(Array.from(corpus)).toEqual([2, 2, 0]);
  });

  it('records the token level on the vocabulary', () => {
    expect(loadCorpus(['ab'], { token: 'char' }).vocab.level).toBe('char');
    expect(loadCorpus(['a b'], { token: 'word' }).vocab.level).toBe('word');
  });

  it('rejects bad input, naming the argument', () => {
    expect(() => loadCorpus(['a'], { token: 'x' as 'char' })).toThrow(
      /^Expected `token` to be "word" or "char", got "x"\.$/,
    );
    expect(() => loadCorpus(['a'], undefined as unknown as { token: 'char' })).toThrow(
      /^Expected `options` to be an object with a `token`, got undefined\.$/,
    );
    expect(() => loadCorpus(['a'], { token: 'char', maxTokens: 2.5 })).toThrow(TypeError);
    expect(() => loadCorpus(['a'], { token: 'char', maxTokens: 2.5 })).toThrow(
      /^Expected `maxTokens` to be an integer, got 2\.5\.$/,
    );
    expect(() => loadCorpus(['a'], { token: 'char', minFreq: -2 })).toThrow(
      /^Expected `minFreq` to be a non-negative integer, got -2\.$/,
    );
    expect(() => loadCorpus('a' as unknown as string[], { token: 'char' })).toThrow(
      /^Expected `lines` to be an array of strings, got "a"\.$/,
    );
  });

  describe("on d2l's Time Machine text", () => {
    const lines = preprocess(readTimeMachine());

    it('has as many lines as Python readlines()', () => {
      expect(lines).toHaveLength(3221);
      expect(lines[0]).toBe('the time machine by h g wells');
    });

    it('gives d2l\'s character corpus: 170,580 ids over a 28-entry vocabulary', () => {
      const { corpus, vocab } = loadCorpus(lines, { token: 'char' });
      expect(corpus).toHaveLength(170_580);
      expect(vocab.size).toBe(28);
      expect(Array.from(corpus.subarray(0, 10))).toEqual([3, 9, 2, 1, 3, 5, 13, 2, 1, 13]); // "the time m"
      expect(corpus.reduce((a, b) => Math.max(a, b))).toBe(27);
      expect(corpus.reduce((a, b) => Math.min(a, b))).toBe(1); // every character is in the vocabulary
    });

    it('gives d2l\'s word corpus: 32,775 ids over a 4,580-entry vocabulary', () => {
      const { corpus, vocab } = loadCorpus(lines, { token: 'word' });
      expect(corpus).toHaveLength(32_775);
      expect(vocab.size).toBe(4_580);
      expect(loadCorpus(lines, { token: 'word', minFreq: 5 }).vocab.size).toBe(825);
    });

    it('cuts to maxTokens like load_corpus_time_machine(max_tokens=10000)', () => {
      const { corpus, vocab } = loadCorpus(lines, { token: 'char', maxTokens: 10_000 });
      expect(corpus).toHaveLength(10_000);
      expect(vocab.size).toBe(28);
    });
  });
});
