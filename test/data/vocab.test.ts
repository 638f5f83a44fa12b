import { describe, expect, it } from 'vitest';
import { preprocess } from '../../src/data/corpus.js';
import { tokenize } from '../../src/data/tokenize.js';
import { Vocab } from '../../src/data/vocab.js';
import { readTimeMachine } from './timemachine.js';

describe('Vocab', () => {
  it('runs its @examples', () => {
    const vocab = new Vocab([['b', 'a', 'c'], ['a', 'c', 'd']], { reservedTokens: ['<pad>'] });
    expect(vocab.idxToToken).toEqual(['<unk>', '<pad>', 'a', 'c', 'b', 'd']);
    expect(vocab.encode(['a', 'b', 'zebra'])).toEqual([2, 4, 0]);
    expect(vocab.decode([3, 5])).toEqual(['c', 'd']);
    const small = new Vocab(['a', 'b', 'a']);
    expect(small.indexOf('a')).toBe(1);
    expect(small.indexOf('z')).toBe(0);
    expect(small.encode(['b', 'a', 'z'])).toEqual([2, 1, 0]);
    expect(small.decode([2, 1, 0])).toEqual(['b', 'a', '<unk>']);
    expect(Vocab.fromJSON(JSON.stringify(small)).idxToToken).toEqual(['<unk>', 'a', 'b']);
    expect(new Vocab(['a']).has('a')).toBe(true);
    expect(new Vocab(['a']).has('z')).toBe(false);
  });

  it('orders tokens by descending frequency after <unk>', () => {
    const vocab = new Vocab('x y z z y z w'.split(' '));
    expect(vocab.idxToToken).toEqual(['<unk>', 'z', 'y', 'x', 'w']);
    expect(vocab.tokenFreqs).toEqual([['z', 3], ['y', 2], ['x', 1], ['w', 1]]);
    expect(vocab.size).toBe(5);
  });

  it('breaks ties by first appearance in the corpus (stable sort over a Counter)', () => {
    // Counts: d 2, a 2, c 1, b 1 — first seen in the order d, c, a, b.
    const vocab = new Vocab([['d', 'c'], ['a', 'd', 'b', 'a']]);
    expect(vocab.idxToToken).toEqual(['<unk>', 'd', 'a', 'c', 'b']);
    // Reversing the text reverses the order among equals.
    expect(new Vocab(['a', 'b', 'c']).idxToToken).toEqual(['<unk>', 'a', 'b', 'c']);
    expect(new Vocab(['c', 'b', 'a']).idxToToken).toEqual(['<unk>', 'c', 'b', 'a']);
  });

  it('accepts a flat list or a list of lines alike', () => {
    const lines = [['a', 'b'], [], ['b']];
    expect(new Vocab(lines).toJSON()).toEqual(new Vocab(lines.flat()).toJSON());
    expect(new Vocab([]).idxToToken).toEqual(['<unk>']);
  });

  it('leaves out tokens rarer than minFreq, which then encode to <unk>', () => {
    const tokens = 'a a a b b c'.split(' ');
    expect(new Vocab(tokens, { minFreq: 0 }).idxToToken).toEqual(['<unk>', 'a', 'b', 'c']);
    expect(new Vocab(tokens, { minFreq: 1 }).idxToToken).toEqual(['<unk>', 'a', 'b', 'c']);
    const vocab = new Vocab(tokens, { minFreq: 2 });
    expect(vocab.idxToToken).toEqual(['<unk>', 'a', 'b']);
    expect(vocab.encode(['c', 'b'])).toEqual([0, 2]);
    expect(vocab.has('c')).toBe(false);
    expect(vocab.tokenFreqs).toEqual([['a', 3], ['b', 2], ['c', 1]]); // all counts kept, as d2l
    expect(new Vocab(tokens, { minFreq: 4 }).idxToToken).toEqual(['<unk>']);
  });

  it('puts reserved tokens right after <unk>, once, whether or not they occur', () => {
    const vocab = new Vocab(['x', '<eos>', 'y', 'y'], { reservedTokens: ['<pad>', '<eos>'] });
    expect(vocab.idxToToken).toEqual(['<unk>', '<pad>', '<eos>', 'y', 'x']);
    expect(vocab.indexOf('<pad>')).toBe(1);
    expect(vocab.indexOf('<eos>')).toBe(2);
    // Reserved tokens survive minFreq.
    expect(new Vocab(['x'], { reservedTokens: ['<bos>'], minFreq: 5 }).idxToToken).toEqual([
      '<unk>',
      '<bos>',
    ]);
  });

  it('maps unknown tokens to unk = 0, and <unk> in the text to the same id', () => {
    const vocab = new Vocab(['<unk>', 'a', '<unk>', '<unk>']);
    expect(vocab.unk).toBe(0);
    expect(vocab.idxToToken).toEqual(['<unk>', 'a']);
    expect(vocab.encode(['<unk>', 'never seen', 'a'])).toEqual([0, 0, 1]);
    expect(vocab.indexOf('never seen')).toBe(vocab.unk);
  });

  it('round-trips encode and decode', () => {
    const text = 'the quick brown fox jumps over the lazy dog the end'.split(' ');
    const vocab = new Vocab(text);
    expect(vocab.decode(vocab.encode(text))).toEqual(text);
    expect(vocab.decode(Int32Array.from(vocab.encode(text)))).toEqual(text);
    for (let id = 0; id < vocab.size; id++) expect(vocab.indexOf(vocab.decode([id])[0]!)).toBe(id);
  });

  it('exposes frozen views', () => {
    const vocab = new Vocab(['a', 'b']);
    expect(Object.isFrozen(vocab.idxToToken)).toBe(true);
    expect(Object.isFrozen(vocab.tokenFreqs)).toBe(true);
    expect(Object.isFrozen(vocab.tokenFreqs[0])).toBe(true);
  });

  it('round-trips through JSON', () => {
    const vocab = new Vocab([['b', 'a', 'c', 'a'], ['<pad>', 'ö', '👋', 'c']], {
      reservedTokens: ['<pad>', '<bos>'],
      minFreq: 1,
    });
    const text = JSON.stringify(vocab);
    for (const copy of [Vocab.fromJSON(text), Vocab.fromJSON(vocab.toJSON())]) {
      expect(copy).toBeInstanceOf(Vocab);
      expect(copy.idxToToken).toEqual(vocab.idxToToken);
      expect(copy.tokenFreqs).toEqual(vocab.tokenFreqs);
      expect(copy.size).toBe(vocab.size);
      expect(copy.encode(['a', '👋', 'zz', '<bos>'])).toEqual(vocab.encode(['a', '👋', 'zz', '<bos>']));
      expect(JSON.stringify(copy)).toBe(text);
    }
    expect(JSON.parse(text)).toEqual({
      idxToToken: ['<unk>', '<pad>', '<bos>', 'a', 'c', 'b', 'ö', '👋'],
      tokenFreqs: [['a', 2], ['c', 2], ['b', 1], ['<pad>', 1], ['ö', 1], ['👋', 1]],
    });
  });

  it('rejects bad input, naming the argument', () => {
    expect(() => new Vocab('abc' as unknown as string[])).toThrow(
      /^Expected `tokens` to be an array of strings or of string arrays, got "abc"\.$/,
    );
    expect(() => new Vocab(['a', 1] as unknown as string[])).toThrow(
      /^Expected `tokens\[1\]` to be a string, got 1\.$/,
    );
    expect(() => new Vocab([['a'], ['b', null]] as unknown as string[][])).toThrow(
      /^Expected `tokens\[1\]\[1\]` to be a string, got null\.$/,
    );
    expect(() => new Vocab(['a'], { minFreq: -1 })).toThrow(RangeError);
    expect(() => new Vocab(['a'], { minFreq: -1 })).toThrow(
      /^Expected `minFreq` to be a non-negative integer, got -1\.$/,
    );
    expect(() => new Vocab(['a'], { minFreq: 1.5 })).toThrow(TypeError);
    expect(() => new Vocab(['a'], { minFreq: 1.5 })).toThrow(
      /^Expected `minFreq` to be a non-negative integer, got 1\.5\.$/,
    );
    expect(() => new Vocab(['a'], { reservedTokens: '<pad>' as unknown as string[] })).toThrow(
      /^Expected `reservedTokens` to be an array of strings, got "<pad>"\.$/,
    );
    expect(() => new Vocab(['a'], { reservedTokens: ['<pad>', '<pad>'] })).toThrow(
      /^Expected `reservedTokens` to hold distinct tokens other than "<unk>", got "<pad>" twice\.$/,
    );
    expect(() => new Vocab(['a'], { reservedTokens: ['<unk>'] })).toThrow(RangeError);

    const vocab = new Vocab(['a', 'b']);
    expect(() => vocab.decode([0, 3])).toThrow(RangeError);
    expect(() => vocab.decode([0, 3])).toThrow(/^Expected `ids\[1\]` to be a token id in \[0, 3\), got 3\.$/);
    expect(() => vocab.decode([-1])).toThrow(/^Expected `ids\[0\]` to be a token id in \[0, 3\), got -1\.$/);
    expect(() => vocab.decode([1.5])).toThrow(TypeError);
    expect(() => vocab.decode([NaN])).toThrow(/got NaN\.$/);
    expect(() => vocab.decode(['1'] as unknown as number[])).toThrow(/got "1"\.$/);
    expect(() => vocab.decode(7 as unknown as number[])).toThrow(
      /^Expected `ids` to be an array of token ids, got 7\.$/,
    );
    expect(() => vocab.encode('ab' as unknown as string[])).toThrow(
      /^Expected `tokens` to be an array of strings, got "ab"\.$/,
    );
    expect(() => vocab.encode(['a', 2] as unknown as string[])).toThrow(
      /^Expected `tokens\[1\]` to be a string, got 2\.$/,
    );

    expect(() => Vocab.fromJSON('null')).toThrow(/^Expected `json` to be a VocabJSON object, got null\.$/);
    expect(() => Vocab.fromJSON({ idxToToken: ['a'], tokenFreqs: [] })).toThrow(
      /^Expected `json\.idxToToken` to hold distinct tokens starting with "<unk>", got "a" first among 1\.$/,
    );
    expect(() => Vocab.fromJSON({ idxToToken: ['<unk>', 'a', 'a'], tokenFreqs: [] })).toThrow(RangeError);
    expect(() => Vocab.fromJSON({ tokenFreqs: [] } as unknown as string)).toThrow(
      /^Expected `json\.idxToToken` to be an array of strings, got undefined\.$/,
    );
    expect(() => Vocab.fromJSON({ idxToToken: ['<unk>'] } as unknown as string)).toThrow(
      /^Expected `json\.tokenFreqs` to be an array of \[token, count\] pairs, got undefined\.$/,
    );
    expect(() =>
      Vocab.fromJSON({ idxToToken: ['<unk>'], tokenFreqs: [['a', -1]] } as unknown as string),
    ).toThrow(/^Expected `json\.tokenFreqs\[0\]` to be a \[token, count\] pair, got an array of length 2\.$/);
  });

  it('records the token level when given one, keeps it through JSON, and loads JSON without it', () => {
    const chars = new Vocab(['a', 'b'], { level: 'char' });
    expect(chars.level).toBe('char');
    expect(new Vocab(['a']).level).toBeUndefined();
    expect(chars.toJSON().level).toBe('char');
    expect('level' in new Vocab(['a']).toJSON()).toBe(false);
    expect(Vocab.fromJSON(JSON.stringify(chars)).level).toBe('char');
    expect(Vocab.fromJSON(new Vocab(['a', 'b'], { level: 'word' }).toJSON()).level).toBe('word');
    const old = Vocab.fromJSON({ idxToToken: ['<unk>', 'a'], tokenFreqs: [['a', 1]] });
    expect(old.level).toBeUndefined();
    expect(old.idxToToken).toEqual(['<unk>', 'a']);
    expect(() => new Vocab(['a'], { level: 'line' as 'char' })).toThrow(/^Expected `level` to be "char" or "word", got "line"\.$/);
    expect(() => Vocab.fromJSON({ idxToToken: ['<unk>'], tokenFreqs: [], level: 3 } as unknown as string)).toThrow(
      /^Expected `json\.level` to be "char" or "word", got 3\.$/,
    );
  });

  it('rejects options that are not an object, and JSON text that is not JSON, naming the argument (issue 13)', () => {
    expect(() => new Vocab(['a'], null as unknown as object)).toThrow(TypeError);
    expect(() => new Vocab(['a'], null as unknown as object)).toThrow(
      /^Expected `options` to be an object like \{ minFreq: 0 \}, got null\.$/,
    );
    expect(() => new Vocab(['a'], 3 as unknown as object)).toThrow(/^Expected `options` .*, got 3\.$/);
    expect(() => Vocab.fromJSON('{"idxToToken": ["<unk>"')).toThrow(TypeError);
    expect(() => Vocab.fromJSON('{"idxToToken": ["<unk>"')).toThrow(
      /^Expected `json` to be a VocabJSON object or its JSON text, got text that is not JSON \(.+\)\.$/,
    );
    let cause: unknown;
    try {
      Vocab.fromJSON('nope');
    } catch (error) {
      cause = (error as Error).cause;
    }
    expect(cause).toBeInstanceOf(SyntaxError);
    expect(() => Vocab.fromJSON('')).toThrow(TypeError);
    expect(() => Vocab.fromJSON('"text"')).toThrow(/^Expected `json` to be a VocabJSON object, got "text"\.$/);
    expect(() => Vocab.fromJSON(7 as unknown as string)).toThrow(/^Expected `json` to be a VocabJSON object, got 7\.$/);
  });

  it('fromJSON checks tokenFreqs is what a vocabulary records: [token, count ≥ 1] pairs, distinct, most frequent first', () => {
    const json = (tokenFreqs: unknown) => ({ idxToToken: ['<unk>', 'a', 'b'], tokenFreqs }) as unknown as string;
    expect(Vocab.fromJSON(json([['a', 2], ['b', 2], ['c', 1]])).tokenFreqs).toEqual([['a', 2], ['b', 2], ['c', 1]]);
    expect(Vocab.fromJSON(json([])).tokenFreqs).toEqual([]);
    const bad: [unknown, RegExp, ErrorConstructor][] = [
      [[['a', 2], ['b', 3]], /^Expected `json\.tokenFreqs` to be sorted most frequent first, got count 3 at index 1 after 2\.$/, RangeError],
      [[['a', 2], ['a', 1]], /^Expected `json\.tokenFreqs` to hold distinct tokens, got "a" twice \(at index 1\)\.$/, RangeError],
      [[['a', 0]], /^Expected `json\.tokenFreqs\[0\]` to count a token of the text \(≥ 1 time\), got 0\.$/, RangeError],
      [[['a', 1, 2]], /^Expected `json\.tokenFreqs\[0\]` to be a \[token, count\] pair, got an array of length 3\.$/, TypeError],
      [[['a']], /^Expected `json\.tokenFreqs\[0\]` to be a \[token, count\] pair, got an array of length 1\.$/, TypeError],
      [[[1, 1]], /^Expected `json\.tokenFreqs\[0\]` to be a \[token, count\] pair, got an array of length 2\.$/, TypeError],
      [[['a', 1.5]], /^Expected `json\.tokenFreqs\[0\]` to be a \[token, count\] pair/, TypeError],
      [[['a', '1']], /^Expected `json\.tokenFreqs\[0\]` to be a \[token, count\] pair/, TypeError],
      [[['b', 1], 'a'], /^Expected `json\.tokenFreqs\[1\]` to be a \[token, count\] pair, got "a"\.$/, TypeError],
      [[{ 0: 'a', 1: 1, length: 2 }], /^Expected `json\.tokenFreqs\[0\]` to be a \[token, count\] pair, got an object\.$/, TypeError],
      ['a', /^Expected `json\.tokenFreqs` to be an array of \[token, count\] pairs, got "a"\.$/, TypeError],
    ];
    for (const [freqs, message, type] of bad) {
      expect(() => Vocab.fromJSON(json(freqs))).toThrow(type);
      expect(() => Vocab.fromJSON(json(freqs))).toThrow(message);
    }
  });

  it('fromJSON keeps the ids, the order and the counts it is given, and copies them', () => {
    const idxToToken = ['<unk>', '<pad>', 'x', 'y'];
    const tokenFreqs: [string, number][] = [['x', 3], ['<pad>', 2], ['y', 2], ['z', 1]];
    const vocab = Vocab.fromJSON({ idxToToken, tokenFreqs, level: 'word' });
    idxToToken[2] = 'changed';
    tokenFreqs[0]![1] = 99;
    expect(vocab.idxToToken).toEqual(['<unk>', '<pad>', 'x', 'y']);
    expect(vocab.tokenFreqs).toEqual([['x', 3], ['<pad>', 2], ['y', 2], ['z', 1]]);
    expect(vocab.size).toBe(4);
    expect(vocab.level).toBe('word');
    expect(vocab.encode(['y', 'x', '<pad>', 'z', '<unk>'])).toEqual([3, 2, 1, 0, 0]);
    expect(vocab.has('z')).toBe(false);
    expect(vocab.decode([3, 0])).toEqual(['y', '<unk>']);
    expect(Object.isFrozen(vocab.idxToToken)).toBe(true);
    expect(Object.isFrozen(vocab.tokenFreqs)).toBe(true);
    expect(Object.isFrozen(vocab.tokenFreqs[0])).toBe(true);
  });

  it('counts tokens exactly, and keeps tokens whose count equals minFreq', () => {
    const vocab = new Vocab([['c', 'a'], ['b', 'a', 'c', 'a']], { minFreq: 2 });
    expect(vocab.tokenFreqs).toEqual([['a', 3], ['c', 2], ['b', 1]]);
    expect(vocab.idxToToken).toEqual(['<unk>', 'a', 'c']);
    expect(new Vocab(['a', 'a', 'b'], { minFreq: 3 }).idxToToken).toEqual(['<unk>']);
    expect(new Vocab([]).idxToToken).toEqual(['<unk>']);
    expect(new Vocab([]).size).toBe(1);
    expect(new Vocab(['a']).unk).toBe(0);
    // A reserved token that occurs in the text keeps its reserved id and is counted.
    const reserved = new Vocab(['b', '<eos>', 'b', '<eos>', 'b'], { reservedTokens: ['<eos>'] });
    expect(reserved.idxToToken).toEqual(['<unk>', '<eos>', 'b']);
    expect(reserved.tokenFreqs).toEqual([['b', 3], ['<eos>', 2]]);
    expect(() => new Vocab(['a'], { reservedTokens: ['<unk>'] })).toThrow(
      /^Expected `reservedTokens` to hold distinct tokens other than "<unk>", got "<unk>" twice\.$/,
    );
  });

  it('decode rejects ids past the end and non-integers, and accepts typed arrays', () => {
    const vocab = new Vocab(['a', 'b']);
    expect(vocab.decode(Int32Array.of(2, 1, 0))).toEqual(['b', 'a', '<unk>']);
    expect(vocab.decode([])).toEqual([]);
    expect(() => vocab.decode([3])).toThrow(RangeError);
    expect(() => vocab.decode([2.5])).toThrow(/^Expected `ids\[0\]` to be a token id in \[0, 3\), got 2\.5\.$/);
    expect(() => vocab.decode({ length: 1.5 } as unknown as number[])).toThrow(TypeError);
    expect(() => vocab.decode(null as unknown as number[])).toThrow(/^Expected `ids` to be an array of token ids, got null\.$/);
    expect(() => vocab.decode('ab' as unknown as number[])).toThrow(/^Expected `ids` to be an array of token ids, got "ab"\.$/);
    expect(() => vocab.decode([null] as unknown as number[])).toThrow(TypeError);
  });

  describe("on d2l's Time Machine text", () => {
    const lines = preprocess(readTimeMachine());

    it('has 28 characters, in the order d2l prints, over 170,580 tokens', () => {
      const tokens = tokenize(lines, 'char');
      expect(tokens.flat()).toHaveLength(170_580);
      const vocab = new Vocab(tokens);
      expect(vocab.size).toBe(28);
      expect(vocab.idxToToken.slice(0, 11)).toEqual(['<unk>', ' ', 'e', 't', 'a', 'i', 'n', 'o', 's', 'h', 'r']);
      expect(vocab.idxToToken.slice(11)).toEqual(['d', 'l', 'm', 'u', 'c', 'f', 'w', 'g', 'y', 'p', 'b', 'v', 'k', 'x', 'z', 'j', 'q']);
    });

    it('has 4,580 word entries over 32,775 tokens', () => {
      const tokens = tokenize(lines, 'word');
      expect(tokens.flat()).toHaveLength(32_775);
      const vocab = new Vocab(tokens);
      expect(vocab.size).toBe(4_580);
      expect(vocab.idxToToken.slice(0, 11)).toEqual(['<unk>', 'the', 'i', 'and', 'of', 'a', 'to', 'was', 'in', 'that', 'my']);
      expect(vocab.tokenFreqs.at(-1)).toEqual(['brittle', 1]);
    });
  });
});
