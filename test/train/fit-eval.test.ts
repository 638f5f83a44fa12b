import { describe, expect, it } from 'vitest';
import { LSTMLanguageModel } from '../../src/lstm/model.js';
import { Adam } from '../../src/optim/adam.js';
import { loadCorpus } from '../../src/data/corpus.js';
import { SeqDataLoader } from '../../src/data/loader.js';
import { splitCorpus } from '../../src/data/split.js';
import { fit } from '../../src/train/fit.js';

const text = 'the time traveller for so it will be convenient to speak of him was expounding a recondite matter '.repeat(12);
const { corpus, vocab } = loadCorpus([text], { token: 'char' });
const split = splitCorpus(corpus, { valFraction: 0.2, batchSize: 4, numSteps: 10 });

describe('fit: evaluation steps', () => {
  it('evaluates once when an evalEvery step is also an epoch end (a second one would count against patience)', async () => {
    const loader = new SeqDataLoader(split.train, { batchSize: 4, numSteps: 10, seed: 1 });
    const n = loader.numBatches;
    const model = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: 8, seed: 1, backend: 'js' });
    const result = await fit(model, loader, new Adam(model.parameters(), { lr: 1e-2 }), {
      epochs: 3, validation: split.validation, evalEvery: n, patience: 2,
    });
    const steps = result.evaluations.map((e) => e.step);
    expect(steps).toEqual([n, 2 * n, 3 * n]); // not [n, n, 2n, 2n, 3n, 3n]
    expect(result.stopReason).toBe('epochs');
  });

  it('still evaluates at an epoch end that is not an evalEvery step', async () => {
    const loader = new SeqDataLoader(split.train, { batchSize: 4, numSteps: 10, seed: 1 });
    const n = loader.numBatches;
    const model = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: 8, seed: 1, backend: 'js' });
    const result = await fit(model, loader, new Adam(model.parameters(), { lr: 1e-2 }), {
      epochs: 1, validation: split.validation, evalEvery: n + 1,
    });
    expect(result.evaluations.map((e) => [e.step, e.atEpochEnd])).toEqual([[n, true]]);
  });
});
