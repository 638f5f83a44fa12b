// train()/trainEpoch() arguments and messages exactly (issue 13: Stryker survivors in
// src/train/train.ts after train-mutation.test.ts): each refused model, loader, optimiser,
// options object, signal and schedule with its whole message (a function with the right method
// is not the object asked for; a string is iterable but not a loader), a signal aborted before
// the first batch, the empty loader's whole message, and both forms of the divergence message.
import { describe, expect, it } from 'vitest';
import { SeqDataLoader } from '../../src/data/loader.js';
import { LSTMLanguageModel } from '../../src/lstm/model.js';
import { constantLr } from '../../src/optim/schedules.js';
import { SGD } from '../../src/optim/sgd.js';
import { divergedMessage, train, trainEpoch, TrainingDivergedError } from '../../src/train/train.js';

const V = 5, H = 4;
const corpus = Int32Array.from({ length: 60 }, (_, i) => (i * 7) % V);
const setup = () => {
  const model = new LSTMLanguageModel({ vocabSize: V, numHiddens: H, seed: 2, backend: 'js' });
  const loader = new SeqDataLoader(corpus, { batchSize: 2, numSteps: 4 });
  return { model, loader, sgd: new SGD(model.parameters(), { lr: 0.1 }) };
};

describe('the loop arguments', () => {
  const { model, loader, sgd } = setup();
  const before = model.flatParameters.slice();
  const models: [unknown, string][] = [
    [null, 'null'], [5, '5'], [{}, 'an object'], [{ forwardBackward: 1 }, 'an object'],
    [Object.assign(() => 0, { forwardBackward: () => 0 }), 'a function'],
  ];
  const loaders: [unknown, string][] = [[null, 'null'], [5, '5'], ['abc', '"abc"'], [{}, 'an object'], [Object.assign(() => 0, { [Symbol.iterator]: () => [][Symbol.iterator]() }), 'a function']];
  const optimizers: [unknown, string][] = [[null, 'null'], [{}, 'an object'], [{ step: 1 }, 'an object'], [Object.assign(() => 0, { step: () => 0 }), 'a function']];

  it('refuses a model, loader or optimiser of the wrong kind, naming it, before anything changes', () => {
    for (const run of [(m: unknown, l: unknown, o: unknown) => trainEpoch(m as never, l as never, o as never), (m: unknown, l: unknown, o: unknown) => train(m as never, l as never, o as never, { epochs: 1 })]) {
      for (const [bad, text] of models) {
        expect(() => run(bad, loader, sgd)).toThrow(TypeError);
        expect(() => run(bad, loader, sgd)).toThrow(`Expected \`model\` to be an LSTMLanguageModel, got ${text}.`);
      }
      for (const [bad, text] of loaders) {
        expect(() => run(model, bad, sgd)).toThrow(TypeError);
        expect(() => run(model, bad, sgd)).toThrow(`Expected \`loader\` to be an iterable of { X, Y } batches, got ${text}.`);
      }
      for (const [bad, text] of optimizers) {
        expect(() => run(model, loader, bad)).toThrow(TypeError);
        expect(() => run(model, loader, bad)).toThrow(`Expected \`optimizer\` to have a step() method, got ${text}.`);
      }
    }
    expect(model.flatParameters).toEqual(before);
  });

  it('refuses options that are not an object', () => {
    for (const [bad, text] of [[null, 'null'], [5, '5'], ['x', '"x"']] as const) {
      expect(() => trainEpoch(model, loader, sgd, bad as never)).toThrow(new TypeError(`Expected \`options\` to be an object, got ${text}.`));
      expect(() => train(model, loader, sgd, bad as never)).toThrow(new TypeError(`Expected \`options\` to be an object like { epochs: 10 }, got ${text}.`));
    }
    expect(model.flatParameters).toEqual(before);
  });

  it('refuses a signal that is not an AbortSignal-like object; accepts one with `aborted`', () => {
    for (const [bad, text] of [[null, 'null'], [5, '5'], [true, 'true'], ['aborted', '"aborted"'], [{}, 'an object']] as const) {
      expect(() => trainEpoch(model, loader, sgd, { signal: bad as never })).toThrow(TypeError);
      expect(() => trainEpoch(model, loader, sgd, { signal: bad as never })).toThrow(`Expected \`signal\` to be an AbortSignal, got ${text}.`);
    }
    expect(model.flatParameters).toEqual(before);
    expect(trainEpoch(model, loader, sgd, { signal: { aborted: false } as AbortSignal }).batches).toBe(7);
  });

  it('refuses a schedule without lrAt (a function carrying one included), and an optimiser without a numeric lr', () => {
    const { model: m, loader: l, sgd: o } = setup();
    const w = m.flatParameters.slice();
    for (const [bad, text] of [[null, 'null'], [5, '5'], [{}, 'an object'], [{ lrAt: 1 }, 'an object'], [Object.assign(() => 0.1, { lrAt: () => 0.1 }), 'a function']] as const) {
      expect(() => trainEpoch(m, l, o, { schedule: bad as never })).toThrow(TypeError);
      expect(() => trainEpoch(m, l, o, { schedule: bad as never })).toThrow(`Expected \`schedule\` to be a schedule (an object with lrAt({ step, epoch })), got ${text}.`);
      // Checked with the arguments, before any batch: also when there is none.
      expect(() => trainEpoch(m, [], o, { schedule: bad as never })).toThrow(`Expected \`schedule\` to be a schedule (an object with lrAt({ step, epoch })), got ${text}.`);
    }
    const noLr = { step: () => undefined };
    expect(() => trainEpoch(m, l, noLr, { schedule: constantLr({ lr: 0.1 }) })).toThrow(
      new TypeError('Expected `optimizer` to have a numeric `lr` for `schedule` to set, got undefined.'),
    );
    expect(m.flatParameters).toEqual(w);
  });
});

describe('figures and messages', () => {
  it('a signal aborted before the first batch: no batch, no update, NaN figures, aborted (not an error)', () => {
    const { model, loader, sgd } = setup();
    const before = model.flatParameters.slice();
    const controller = new AbortController();
    controller.abort();
    const stats = trainEpoch(model, loader, sgd, { signal: controller.signal });
    expect(stats).toMatchObject({ epoch: 1, batches: 0, tokens: 0, aborted: true, tokensPerSecond: 0 });
    expect([stats.loss, stats.perplexity, stats.gradNorm].every(Number.isNaN)).toBe(true);
    expect(model.flatParameters).toEqual(before);
    const history = train(model, loader, sgd, { epochs: 3, signal: controller.signal });
    expect(history.map((s) => [s.epoch, s.batches, s.aborted])).toEqual([[1, 0, true]]);
  });

  it('a loader without a batch: the whole message', () => {
    const { model, sgd } = setup();
    expect(() => trainEpoch(model, [], sgd)).toThrow(new RangeError(
      'Expected `loader` to yield at least one batch per epoch, got none in epoch 1 (is the corpus shorter than batchSize·numSteps + 1 tokens?).',
    ));
  });

  it('the divergence message says which check fired', () => {
    const tail = 'The model keeps the weights from before the last update (the last finite ones, with a finite loss), ' +
      'and the optimiser its state from then; try a smaller learning rate or clipNorm.';
    expect(divergedMessage('epoch 2, batch 3', 1.5, 2.25)).toBe(
      `Training diverged at epoch 2, batch 3: the update made a weight non-finite (loss 1.5, gradient norm 2.25). ${tail}`,
    );
    for (const [loss, norm] of [[NaN, 1], [1, Infinity], [-Infinity, NaN]]) {
      expect(divergedMessage('step 1', loss!, norm!)).toBe(
        `Training diverged at step 1: non-finite loss or gradient (loss ${loss}, gradient norm ${norm}). ${tail}`,
      );
    }
  });

  it('an update that overflows a weight: the weights from before it, and the message for it', () => {
    const { model, loader } = setup();
    const before = model.flatParameters.slice();
    const overflow = { lr: 0.1, step: () => { model.flatParameters[0] = Infinity; } };
    let error: unknown;
    try {
      trainEpoch(model, loader, overflow);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TrainingDivergedError);
    expect((error as Error).message).toMatch(/^Training diverged at epoch 1, batch 1: the update made a weight non-finite \(loss \d+\.\d+, gradient norm \d+\.\d+\)\. The model keeps/);
    expect(model.flatParameters).toEqual(before);
  });
});
