import { describe, expect, it } from 'vitest';
import { LSTMLanguageModel } from '../../src/lstm/model.js';
import type { LSTMState, Tokens } from '../../src/lstm/inputs.js';
import { SGD } from '../../src/optim/sgd.js';
import { loadCorpus } from '../../src/data/corpus.js';
import { SeqDataLoader } from '../../src/data/loader.js';
import { train, trainEpoch, TrainingDivergedError } from '../../src/train/train.js';
import { perplexity } from '../../src/train/evaluate.js';
import { predict } from '../../src/train/predict.js';

const catLines = Array.from({ length: 1000 }, () => 'I love cat');
const cat = loadCorpus(catLines, { token: 'word', maxTokens: 10000 });

const text = ('the time traveller for so it will be convenient to speak of him was expounding a recondite ' +
  'matter to us his grey eyes shone and twinkled and his usually pale face was flushed and animated ').repeat(8);
const chars = loadCorpus([text], { token: 'char' });

describe.each(['wasm', 'js'] as const)('the mission test: "I love cat" (%s backend)', (backend) => {
  it('perplexity starts near the vocabulary size, drops below 1.1, and the model predicts "cat" after "I love"', () => {
    const { corpus, vocab } = cat;
    const model = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: 16, seed: 0, initScale: 0.1, backend });
    expect(model.backend).toBe(backend);
    const before = perplexity(model, corpus);
    expect(Math.abs(before - vocab.size)).toBeLessThan(0.1);
    const loader = new SeqDataLoader(corpus, { batchSize: 16, numSteps: 10, seed: 0 });
    const history = train(model, loader, new SGD(model.parameters(), { lr: 4 }), { epochs: 10, clipNorm: 1 });
    expect(history).toHaveLength(10);
    expect(history[0]!.perplexity).toBeLessThan(before);
    expect(history[9]!.perplexity).toBeLessThan(1.1);
    expect(perplexity(model, corpus)).toBeLessThan(1.1);
    expect(predict(model, vocab, ['I', 'love'], 1)).toEqual(['I', 'love', 'cat']);
    expect(predict(model, vocab, ['I'], 5)).toEqual(['I', 'love', 'cat', 'I', 'love', 'cat']);
  });
});

describe('training', () => {
  for (const random of [false, true]) {
    it(`${random ? 'random' : 'sequential'} batches reduce perplexity on a character corpus`, () => {
      const { corpus, vocab } = chars;
      const model = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: 32, seed: 1, initScale: 0.1 });
      const loader = new SeqDataLoader(corpus, { batchSize: 8, numSteps: 12, seed: 2, random });
      const before = perplexity(model, loader);
      const history = train(model, loader, new SGD(model.parameters(), { lr: 2 }), { epochs: 8 });
      expect(before).toBeGreaterThan(vocab.size * 0.9);
      expect(history[7]!.perplexity).toBeLessThan(before / 2);
      expect(perplexity(model, loader)).toBeLessThan(before / 2);
      for (const e of history) {
        expect(e.tokens).toBe(e.batches * 8 * 12);
        expect(e.gradNorm).toBeGreaterThan(0);
        expect(e.tokensPerSecond).toBeGreaterThan(0);
      }
    });
  }

  /** A model that records the state each batch starts from and ends with. */
  class SpyModel extends LSTMLanguageModel {
    readonly starts: Float32Array[] = [];
    readonly ends: Float32Array[] = [];
    override forwardBackward(X: Tokens, Y: Tokens, state?: LSTMState) {
      this.starts.push(Float32Array.from(state!.h));
      const result = super.forwardBackward(X, Y, state);
      this.ends.push(Float32Array.from(result.state.h));
      return result;
    }
  }

  it('carries the state across the batches of an epoch and resets it at each epoch (sequential)', () => {
    const { corpus, vocab } = chars;
    const model = new SpyModel({ vocabSize: vocab.size, numHiddens: 8, seed: 3, initScale: 0.3 });
    const loader = new SeqDataLoader(corpus, { batchSize: 4, numSteps: 10, seed: 4 });
    const history = train(model, loader, new SGD(model.parameters(), { lr: 0.5 }), { epochs: 2 });
    const perEpoch = history.map((e) => e.batches);
    let i = 0;
    for (const batches of perEpoch) {
      expect(model.starts[i]!.every((v) => v === 0)).toBe(true); // zero at the epoch's start
      for (let b = 1; b < batches; b++) {
        expect(model.starts[i + b]).toEqual(model.ends[i + b - 1]); // carried
        expect(model.starts[i + b]!.some((v) => v !== 0)).toBe(true);
      }
      i += batches;
    }
    expect(i).toBe(model.starts.length);
  });

  it('starts every batch from zero with random batches, or with statePolicy "reset"', () => {
    const { corpus, vocab } = chars;
    for (const [random, statePolicy] of [[true, 'auto'], [false, 'reset']] as const) {
      const model = new SpyModel({ vocabSize: vocab.size, numHiddens: 8, seed: 3, initScale: 0.3 });
      const loader = new SeqDataLoader(corpus, { batchSize: 4, numSteps: 10, seed: 4, random });
      trainEpoch(model, loader, new SGD(model.parameters(), { lr: 0.5 }), { statePolicy });
      expect(model.starts.length).toBeGreaterThan(3);
      for (const s of model.starts) expect(s.every((v) => v === 0)).toBe(true);
    }
  });

  it('stops on a NaN loss with a clear error, keeping the weights from before the update that broke them', () => {
    const { corpus, vocab } = chars;
    const model = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: 8, seed: 5, initScale: 0.3 });
    const loader = new SeqDataLoader(corpus, { batchSize: 4, numSteps: 10, seed: 6 });
    train(model, loader, new SGD(model.parameters(), { lr: 1 }), { epochs: 1 });
    const trained = model.flatParameters.slice();
    // A learning rate so large that weights explode: the loss goes NaN/∞ within a few batches.
    const sgd = new SGD(model.parameters(), { lr: 1e38 });
    const before: Float32Array[] = [];
    const spy = { step: () => { before.push(Float32Array.from(model.flatParameters)); sgd.step(); } };
    expect(() => train(model, loader, spy, { epochs: 3, clipNorm: 1e30 })).toThrow(TrainingDivergedError);
    expect(before.length).toBeGreaterThan(0);
    expect(model.flatParameters).toEqual(before[before.length - 1]); // restored, not the exploded ones
    expect(model.flatParameters.every(Number.isFinite)).toBe(true);
    expect(model.flatGradients.every((g) => g === 0)).toBe(true);
    // With one step already the weights overflow: the trained weights come back untouched.
    model.flatParameters.set(trained);
    expect(() => train(model, loader, new SGD(model.parameters(), { lr: 1e300 }), { epochs: 1, clipNorm: 1e30 })).toThrow(
      /Training diverged at epoch 1, batch 1: .*The model keeps the weights from before the last update/,
    );
    expect(model.flatParameters).toEqual(trained);
  });

  it('stops cleanly between minibatches when the signal aborts', () => {
    const { corpus, vocab } = chars;
    const model = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: 8, seed: 7 });
    const controller = new AbortController();
    const loader = new SeqDataLoader(corpus, { batchSize: 4, numSteps: 10, seed: 8 });
    // Abort after the third batch of the second epoch.
    let seen = 0;
    const aborting = {
      *[Symbol.iterator]() {
        for (const batch of loader) {
          yield batch;
          if (++seen === loader.numBatches + 3) controller.abort();
        }
      },
    };
    const epochs: number[] = [];
    const history = train(model, aborting, new SGD(model.parameters(), { lr: 1 }), {
      epochs: 5, signal: controller.signal, onEpoch: (e) => epochs.push(e.epoch),
    });
    expect(history).toHaveLength(2);
    expect(epochs).toEqual([1, 2]);
    expect(history[0]!.aborted).toBe(false);
    expect(history[1]).toMatchObject({ aborted: true, batches: 3 });
  });

  it('rejects bad options before training', () => {
    const { corpus, vocab } = cat;
    const model = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: 4 });
    const loader = new SeqDataLoader(corpus, { batchSize: 2, numSteps: 5 });
    const sgd = new SGD(model.parameters(), { lr: 1 });
    const params = model.flatParameters.slice();
    expect(() => train(model, loader, sgd, { epochs: 0 })).toThrow(/Expected `epochs` to be a positive integer, got 0/);
    expect(() => train(model, loader, sgd, { epochs: 1, clipNorm: -1 })).toThrow(/Expected `clipNorm` to be a positive number, got -1/);
    expect(() => train(model, loader, sgd, { epochs: 1, statePolicy: 'keep' as never })).toThrow(
      /Expected `statePolicy` to be 'auto', 'carry' or 'reset', got "keep"/,
    );
    expect(() => train(model, {} as never, sgd, { epochs: 1 })).toThrow(/Expected `loader` to be an iterable/);
    expect(() => train(model, loader, {} as never, { epochs: 1 })).toThrow(/Expected `optimizer` to have a step\(\) method/);
    expect(() => train(model, loader, sgd, { epochs: 1, onEpoch: 3 as never })).toThrow(/Expected `onEpoch` to be a function/);
    expect(model.flatParameters).toEqual(params);
  });
});

describe('train with any optimiser and a schedule', () => {
  it('sets optimizer.lr from the schedule before every step (steps and epochs from 0) and trains with Adam', async () => {
    const { Adam } = await import('../../src/optim/adam.js');
    const { stepDecay } = await import('../../src/optim/schedules.js');
    const { corpus, vocab } = chars;
    const model = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: 16, seed: 1, init: 'pytorch' });
    const loader = new SeqDataLoader(corpus, { batchSize: 8, numSteps: 12, seed: 2 });
    const adam = new Adam(model.parameters(), { lr: 1 });
    const lrs: number[] = [];
    const spy = { get lr() { return adam.lr; }, set lr(v: number) { adam.lr = v; lrs.push(v); }, step: () => adam.step() };
    const schedule = stepDecay({ lr: 1e-2, every: 1, factor: 0.5 }); // per epoch
    const history = train(model, loader, spy, { epochs: 3, schedule, clipNorm: 5 });
    const perEpoch = history.map((e) => e.batches);
    expect(lrs).toEqual(perEpoch.flatMap((n, epoch) => Array(n).fill(1e-2 * 0.5 ** epoch)));
    expect(history[2]!.loss).toBeLessThan(history[0]!.loss);
    expect(() => train(model, loader, { step() {} }, { epochs: 1, schedule })).toThrow(
      /Expected `optimizer` to have a numeric `lr` for `schedule` to set, got undefined/,
    );
  });
});
