// predict()/predictText() exactly (issue 13: Stryker survivors of src/train/predict.ts): the
// argument checks name what is wrong, and the argmax takes the first of equal logits.
import { describe, expect, it } from 'vitest';
import { LSTMLanguageModel } from '../../src/lstm/model.js';
import { Vocab } from '../../src/data/vocab.js';
import { predict, predictText } from '../../src/train/predict.js';

describe('predict, exactly', () => {
  const vocab = new Vocab(['a', 'b', 'c', 'a']);
  const model = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: 3, seed: 1, backend: 'js' });

  it('names a bad model, vocab, prefix or count', () => {
    for (const bad of [undefined, null, 5, {}]) {
      expect(() => predict(bad as never, vocab, ['a'], 1)).toThrow(/^Expected `model` to be an LSTMLanguageModel, got /);
      expect(() => predict(model, bad as never, ['a'], 1)).toThrow(/^Expected `vocab` to be a Vocab, got /);
    }
    expect(() => predict(model, vocab, ['a', 1] as never, 1)).toThrow(TypeError);
    expect(() => predict(model, vocab, ['a', 1] as never, 1)).toThrow(/^Expected `prefix` to be an array of token strings, got an array of length 2\.$/);
    expect(() => predict(model, vocab, 'a' as never, 1)).toThrow(/^Expected `prefix` to be an array of token strings, got "a"\.$/);
    expect(() => predict(model, vocab, [], 1)).toThrow(/^Expected `prefix` to hold at least one token, got 0\.$/);
    for (const n of [-1, 1.5, NaN, '2']) {
      expect(() => predict(model, vocab, ['a'], n as never)).toThrow(/^Expected `numPreds` to be a non-negative integer, got /);
    }
    expect(() => predict(model, new Vocab(['a']), ['a'], 1)).toThrow(/^Expected `vocab` to have the model's 4 tokens, got 2\.$/);
    expect(() => predictText(model, vocab, 5 as never, 1, 'char')).toThrow(/^Expected `prefix` to be a string, got 5\.$/);
    expect(predict(model, vocab, ['a', 'zebra'], 0)).toEqual(['a', 'zebra']);
  });

  it('takes the first of equal logits (all weights 0: every prediction is id 0)', () => {
    const flat = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: 3, seed: 1, backend: 'js' });
    flat.flatParameters.fill(0);
    expect(predict(flat, vocab, ['b'], 3)).toEqual(['b', '<unk>', '<unk>', '<unk>']);
    expect(predictText(flat, vocab, 'ab', 2, 'char')).toBe('ab<unk><unk>');
  });

  it('predicts the largest logit (the output bias picks it)', () => {
    const biased = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: 3, seed: 1, backend: 'js' });
    biased.flatParameters.fill(0);
    const b_q = biased.parameters().find((p) => p.name === 'b_q')!;
    b_q.data.set([0, 0.5, 0.25, 2]); // ids: <unk>, a, b, c
    expect(vocab.idxToToken[3]).toBe('c');
    expect(predict(biased, vocab, ['a'], 2)).toEqual(['a', 'c', 'c']);
    expect(predictText(biased, vocab, 'a b', 1, 'word')).toBe('a b c');
  });

  it('warms up on the prefix but its last token, then feeds each prediction back: the same as stepping by hand', () => {
    const words = new Vocab('a b c d e f a b'.split(' '));
    const m = new LSTMLanguageModel({ vocabSize: words.size, numHiddens: 5, seed: 7, initScale: 1.5, backend: 'js' });
    const prefix = ['a', 'c', 'f', 'b'];
    const ids = words.encode(prefix);
    const state = m.initState(1);
    for (const id of ids.slice(0, -1)) m.forward([[id]], state);
    let last = ids.at(-1)!;
    const expected: number[] = [];
    for (let i = 0; i < 6; i++) {
      const { logits } = m.forward([[last]], state);
      last = Array.from(logits).indexOf(Math.max(...logits));
      expected.push(last);
    }
    expect(predict(m, words, prefix, 6)).toEqual([...prefix, ...words.decode(expected)]);
  });
});
