// Random option objects for the model and the optimisers, and random bad calls: only TypeError
// or RangeError ever comes out, a message that names something, and a rejected call changes
// nothing (weights, gradients, the generator, the optimiser's state).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LSTMLanguageModel } from '../../src/lstm/model.js';
import { parameterCount } from '../../src/lstm/parameters.js';
import { SGD } from '../../src/optim/sgd.js';
import { Adam } from '../../src/optim/adam.js';
import { AdamW } from '../../src/optim/adamw.js';
import { RMSprop } from '../../src/optim/rmsprop.js';
import { clipGradNorm, clipGradValue } from '../../src/optim/clip.js';
import { hostile, isArgumentError, params } from './fuzz.js';

const small = fc.integer({ min: 1, max: 6 });

/** Valid options, then (half the time) one of them, or an unknown key, replaced by a hostile value. */
function withOneBad<T extends Record<string, unknown>>(valid: fc.Arbitrary<T>, keys: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .tuple(valid, fc.option(fc.tuple(fc.constantFrom(...keys, 'typo'), hostile), { freq: 2 }))
    .map(([options, bad]) => (bad === null ? options : { ...options, [bad[0]]: bad[1] }));
}

const modelKeys = ['vocabSize', 'numHiddens', 'numLayers', 'dropout', 'embeddingSize', 'init', 'seed', 'initScale', 'dtype', 'backend', 'threads', 'cell'];
const modelOptions = withOneBad(
  fc.record(
    {
      vocabSize: small,
      numHiddens: small,
      numLayers: fc.integer({ min: 1, max: 3 }),
      dropout: fc.double({ min: 0, max: 0.9, noNaN: true }),
      embeddingSize: fc.oneof(small, fc.constant(null)),
      init: fc.constantFrom('d2l', 'pytorch'),
      seed: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      initScale: fc.double({ min: 1e-3, max: 2, noNaN: true }),
      dtype: fc.constantFrom('float32', 'float64'),
      backend: fc.constantFrom('js', 'wasm', 'auto'),
      threads: fc.constant(1),
      cell: fc.constant('lstm'),
    },
    { requiredKeys: ['vocabSize', 'numHiddens'] },
  ),
  modelKeys,
);

describe('fuzz: model options', () => {
  it('new LSTMLanguageModel(random options): a model, or a TypeError/RangeError that names an option', () => {
    let built = 0, refused = 0;
    fc.assert(
      fc.property(modelOptions, (options) => {
        let model: LSTMLanguageModel | undefined;
        try {
          model = new LSTMLanguageModel(options as never);
        } catch (error) {
          expect(isArgumentError(error), `${String(error)} for ${JSON.stringify(options)}`).toBe(true);
          expect((error as Error).message).toMatch(/`[\w.[\]]+`|option "\w+"|got vocabSize \d+/);
          refused++;
          return;
        }
        try {
          built++;
          expect(model.flatParameters.every(Number.isFinite)).toBe(true); // issue 13: initScale 1e39 gave ±∞ silently
          expect(Number.isFinite(model.loss([[0]], [[0]]))).toBe(true);
        } finally {
          model.dispose();
        }
      }),
      params(1500, 8000),
    );
    expect(built).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });

  // Found by this suite: `new LSTMLanguageModel({ vocabSize: 6, numHiddens: 2, numLayers: 1e9 })`
  // ran out of memory (the process died) because parameterLayout() built 13·L parameter specs
  // before the size was checked against the memory limit; the model now checks
  // parameterCount(config) first.
  it('numLayers 1e9 is a RangeError naming the size and the limit, before any allocation', () => {
    for (const backend of ['js', 'wasm'] as const) {
      const make = () => new LSTMLanguageModel({ vocabSize: 6, numHiddens: 2, numLayers: 1e9, backend });
      expect(make).toThrow(RangeError);
      expect(make).toThrow(/got vocabSize 6, numHiddens 2, numLayers 1000000000: \d+ parameters need [\d.]+ GiB/);
    }
  });

  // Found by this suite after the closed-form count landed: with numHiddens 3.0119847968646633e234
  // (an integer as far as Number.isInteger can tell) parameterCount() was NaN — (L − 1)·4·(2H² + H)
  // is 0·∞ for one layer — so the storage's `bytes > limit` check passed and initialisation
  // looped over an infinite tensor: the constructor never returned. Now the count is ∞ and the
  // checks are NaN-safe.
  it('parameterCount of a huge size is a number (∞), not NaN, and the model refuses it', () => {
    expect(parameterCount({ vocabSize: 6, numHiddens: 3.0119847968646633e234 })).toBe(Infinity);
    for (const backend of ['js', 'wasm'] as const) {
      expect(() => new LSTMLanguageModel({ vocabSize: 6, numHiddens: 3.0119847968646633e234, backend })).toThrow(RangeError);
      expect(() => new LSTMLanguageModel({ vocabSize: 6, numHiddens: 2 ** 60, embeddingSize: 2 ** 60, backend })).toThrow(RangeError);
    }
  });

  it('random bad calls on a model: TypeError/RangeError, and nothing changes', () => {
    const model = new LSTMLanguageModel({ vocabSize: 5, numHiddens: 4, numLayers: 2, seed: 1, backend: 'js' });
    model.zeroGrad();
    model.flatGradients.fill(0.5);
    const weights = model.flatParameters.slice(), grads = model.flatGradients.slice();
    const generator = JSON.stringify(model.generatorState);
    const badTokens = fc.oneof(
      hostile,
      fc.array(fc.array(fc.oneof(fc.integer({ min: -2, max: 8 }), hostile), { minLength: 0, maxLength: 3 }), { maxLength: 3 }),
      fc.record({ data: fc.oneof(hostile, fc.constant(Int32Array.of(1, 7))), batchSize: hostile, numSteps: hostile }),
    );
    const badState = fc.oneof(hostile, fc.record({ h: hostile, c: hostile }));
    fc.assert(
      fc.property(fc.constantFrom('forward', 'loss', 'forwardBackward', 'initState'), badTokens, badTokens, fc.option(badState), (method, X, Y, state) => {
        try {
          if (method === 'forward') model.forward(X as never, (state ?? undefined) as never);
          else if (method === 'initState') model.initState(X as never);
          else model[method](X as never, Y as never, (state ?? undefined) as never);
        } catch (error) {
          expect(isArgumentError(error), String(error)).toBe(true);
          expect(model.flatParameters).toEqual(weights);
          expect(model.flatGradients).toEqual(grads);
          expect(JSON.stringify(model.generatorState)).toBe(generator);
          return;
        }
        // Accepted by chance (valid ids and shapes): put the gradients back for the next run.
        model.flatGradients.set(grads);
        expect(model.flatParameters).toEqual(weights);
      }),
      params(1500, 6000),
    );
  });
});

describe('fuzz: optimiser options', () => {
  const optimisers = { SGD, Adam, AdamW, RMSprop } as const;
  const optimOptions = withOneBad(
    fc.record(
      {
        lr: fc.double({ min: 1e-4, max: 1, noNaN: true }),
        weightDecay: fc.double({ min: 0, max: 0.1, noNaN: true }),
      },
      { requiredKeys: ['lr'] },
    ),
    ['lr', 'weightDecay', 'momentum', 'nesterov', 'betas', 'eps', 'alpha', 'centered', 'amsgrad', 'maximize'],
  );

  it('constructors, the lr setter, loadStateDict and the clips: only TypeError/RangeError, and a rejected call changes nothing', () => {
    const model = new LSTMLanguageModel({ vocabSize: 4, numHiddens: 3, seed: 2, backend: 'js' });
    const P = model.parameters();
    model.flatGradients.fill(0.25);
    let built = 0, refused = 0;
    fc.assert(
      fc.property(fc.constantFrom(...(Object.keys(optimisers) as (keyof typeof optimisers)[])), optimOptions, hostile, hostile, (name, options, lr, junk) => {
        let opt: InstanceType<(typeof optimisers)[typeof name]>;
        try {
          opt = new optimisers[name](P, options as never);
        } catch (error) {
          expect(isArgumentError(error), String(error)).toBe(true);
          refused++;
          return;
        }
        built++;
        opt.step();
        const state = JSON.stringify(opt.stateDict(), (_, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v));
        const lrBefore = opt.lr;
        for (const attempt of [
          () => { opt.lr = lr as never; },
          () => opt.loadStateDict(junk as never),
          () => opt.loadStateDict({ ...opt.stateDict(), state: junk } as never),
          () => opt.loadStateDict({ ...opt.stateDict(), step: junk } as never),
        ]) {
          try {
            attempt();
          } catch (error) {
            expect(isArgumentError(error), String(error)).toBe(true);
            expect(opt.lr).toBe(lrBefore);
            expect(JSON.stringify(opt.stateDict(), (_, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v))).toBe(state);
            continue;
          }
          opt.lr = lrBefore; // an accepted lr: back to the recorded one
        }
        const grads = model.flatGradients.slice();
        for (const clip of [clipGradNorm, clipGradValue]) {
          try {
            clip(P, junk as never);
          } catch (error) {
            expect(isArgumentError(error), String(error)).toBe(true);
            expect(model.flatGradients).toEqual(grads);
          }
          model.flatGradients.set(grads);
        }
      }),
      params(1500, 6000),
    );
    expect(built).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });
});
