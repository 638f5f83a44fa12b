import { describe, expect, it } from 'vitest';
import { LSTMLanguageModel } from '../../src/lstm/model.js';
import { Vocab } from '../../src/data/vocab.js';
import { predict, predictText } from '../../src/train/predict.js';

describe('predict', () => {
  const vocab = new Vocab('abcab'.split(''));
  const model = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: 6, seed: 4, initScale: 0.8 });

  it('is greedy argmax after warming up on the prefix (d2l predict_ch8)', () => {
    const out = predict(model, vocab, ['a', 'b'], 4);
    expect(out.slice(0, 2)).toEqual(['a', 'b']);
    expect(out).toHaveLength(6);
    // Reference: one token at a time, the state carried, argmax of the last logits.
    const state = model.initState(1);
    let last = vocab.indexOf('a');
    model.forward([[last]], state);
    last = vocab.indexOf('b');
    const expected = ['a', 'b'];
    for (let i = 0; i < 4; i++) {
      const { logits } = model.forward([[last]], state);
      last = Array.from(logits).indexOf(Math.max(...logits));
      expected.push(vocab.idxToToken[last]!);
    }
    expect(out).toEqual(expected);
  });

  it('maps unknown prefix tokens to <unk>, returns the prefix for 0 predictions, joins text', () => {
    expect(predict(model, vocab, ['z'], 0)).toEqual(['z']);
    expect(predict(model, vocab, ['z', 'a'], 2).slice(2)).toEqual(predict(model, vocab, ['<unk>', 'a'], 2).slice(2));
    expect(predictText(model, vocab, 'ab', 3, 'char')).toBe(predict(model, vocab, ['a', 'b'], 3).join(''));
    expect(predictText(model, vocab, 'a  b', 2, 'word')).toBe(predict(model, vocab, ['a', 'b'], 2).join(' '));
  });

  it('rejects bad input', () => {
    expect(() => predict(model, vocab, [], 1)).toThrow(/Expected `prefix` to hold at least one token, got 0/);
    expect(() => predictText(model, vocab, '', 1, 'char')).toThrow(RangeError);
    expect(() => predict(model, vocab, ['a'], -1)).toThrow(/Expected `numPreds` to be a non-negative integer, got -1/);
    expect(() => predict(model, new Vocab(['a']), ['a'], 1)).toThrow(/Expected `vocab` to have the model's 4 tokens, got 2/);
    expect(() => predict(model, vocab, 'ab' as never, 1)).toThrow(/Expected `prefix` to be an array of token strings/);
  });
});
