import { describe, expect, it } from 'vitest';
import { LSTMLanguageModel } from '../../src/lstm/model.js';
import { SeqDataLoader } from '../../src/data/loader.js';
import { perplexity } from '../../src/train/evaluate.js';
import { Random } from '../../src/tensor/random.js';

describe('perplexity', () => {
  const V = 6;
  const rng = new Random(1);
  const corpus = Int32Array.from({ length: 400 }, () => rng.int(V));
  const model = new LSTMLanguageModel({ vocabSize: V, numHiddens: 8, seed: 2, initScale: 0.5 });

  it('of a corpus is exp of the mean loss of predicting every next token, whatever the chunk size', () => {
    const p35 = perplexity(model, corpus);
    expect(perplexity(model, corpus, { numSteps: 7 })).toBeCloseTo(p35, 4);
    const one = model.loss([Array.from(corpus.subarray(0, 399))], [Array.from(corpus.subarray(1))]);
    expect(Math.log(p35)).toBeCloseTo(one, 5);
  });

  it('of a loader covers one epoch, and neither form touches the gradients', () => {
    model.zeroGrad();
    model.flatGradients.fill(0.25);
    const loader = new SeqDataLoader(corpus, { batchSize: 4, numSteps: 10, seed: 3 });
    const p = perplexity(model, loader);
    expect(p).toBeGreaterThan(1);
    expect(Math.abs(p - perplexity(model, corpus))).toBeLessThan(0.5);
    expect(model.flatGradients.every((g) => g === 0.25)).toBe(true);
  });

  it('rejects bad input', () => {
    expect(() => perplexity(model, [3])).toThrow(/at least 2 tokens.*got 1/);
    expect(() => perplexity(model, [1, 9])).toThrow(/Expected `data\[1\]` to be a token id in \[0, 6\), got 9/);
    expect(() => perplexity(model, [1, 1.5])).toThrow(/Expected `data` to hold integer token ids, got 1\.5/);
    expect(() => perplexity(model, corpus, { numSteps: 0 })).toThrow(/Expected `numSteps` to be a positive integer, got 0/);
    expect(() => perplexity(model, 5 as never)).toThrow(/Expected `data` to be a corpus of token ids or a loader, got 5/);
  });
});
