// LSTMLanguageModel (src/lstm/model.ts) beyond model.test.ts: every option key, the initial
// weights drawn exactly (replayed from the seed), initState's limits, what each entry point
// reads and writes (state, dropout, aliasing), the asynchronous twins on the CPU backends,
// trainStepAsync's step, refusal and undo, parameter views across a memory growth, dispose.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { LSTMLanguageModel, type LSTMLanguageModelOptions } from '../../src/lstm/model.js';
import { parameterLayout } from '../../src/lstm/parameters.js';
import { Random } from '../../src/tensor/random.js';
import { until, workers } from '../threads/workers.js';

const rows = (rng: Random, B: number, T: number, V: number) =>
  Array.from({ length: B }, () => Array.from({ length: T }, () => rng.int(V)));
const bits = (a: ArrayLike<number>) => Array.from(a);
const pretendDevice = { createComputePipeline: () => undefined, queue: { submit: () => undefined } } as unknown as GPUDevice;

describe('options', () => {
  it('options must be an object', () => {
    expect(() => new LSTMLanguageModel(null as never)).toThrow(new TypeError('Expected `options` to be an object, got null.'));
    expect(() => new LSTMLanguageModel(5 as never)).toThrow(new TypeError('Expected `options` to be an object, got 5.'));
  });

  it('takes every documented key (a device given to js is not used), and names them all for an unknown one', () => {
    const model = new LSTMLanguageModel({
      vocabSize: 5, numHiddens: 3, numLayers: 2, dropout: 0.1, embeddingSize: 2, cell: 'lstm', init: 'pytorch', seed: 3,
      initScale: 0.1, dtype: 'float32', backend: 'js', threads: 1, createWorker: () => { throw new Error('no'); }, gpuDevice: pretendDevice,
    });
    expect(model.backend).toBe('js');
    expect(() => new LSTMLanguageModel({ vocabSize: 5, numHiddens: 3, hidden: 4 } as never)).toThrow(new TypeError(
      'Unknown option "hidden"; expected one of vocabSize, numHiddens, numLayers, dropout, embeddingSize, cell, init, seed, ' +
        'initScale, dtype, backend, threads, createWorker, gpuDevice.',
    ));
  });

  it('a model too big names its sizes, the embedding included', () => {
    expect(() => new LSTMLanguageModel({ vocabSize: 1e6, numHiddens: 256, embeddingSize: 2000, backend: 'js' }))
      .toThrow(/got vocabSize 1000000, numHiddens 256, numLayers 1, embeddingSize 2000: \d+ parameters need/);
    expect(() => new LSTMLanguageModel({ vocabSize: 1e6, numHiddens: 256, numLayers: 3, backend: 'js' }))
      .toThrow(/got vocabSize 1000000, numHiddens 256, numLayers 3: \d+ parameters need/);
  });
});

describe('initial weights, replayed from the seed', () => {
  const replay = (model: LSTMLanguageModel, seed: number, init: 'd2l' | 'pytorch', initScale: number) => {
    const rng = new Random(seed);
    const W = new Float32Array(model.flatParameters.length);
    const bound = 1 / Math.sqrt(model.numHiddens);
    for (const s of parameterLayout(model.config).specs) {
      for (let i = s.offset; i < s.offset + s.size; i++) {
        if (s.kind === 'embedding') W[i] = rng.normal();
        else if (init === 'pytorch') W[i] = (2 * rng.uniform() - 1) * bound;
        else if (s.kind === 'weight') W[i] = rng.normal() * initScale;
      }
    }
    return { W, state: rng.state };
  };

  for (const backend of ['js', 'wasm'] as const) {
    it.each([
      ['d2l', { vocabSize: 6, numHiddens: 4, numLayers: 2, embeddingSize: 3, seed: 11, initScale: 0.3 }],
      ['d2l', { vocabSize: 5, numHiddens: 3, seed: 2 }],
      ['pytorch', { vocabSize: 6, numHiddens: 4, numLayers: 2, embeddingSize: 3, seed: 12, init: 'pytorch' }],
      ['pytorch', { vocabSize: 4, numHiddens: 9, seed: 4, init: 'pytorch' }],
    ] as const)(`${backend} %s %j: every value, and the generator left where the draws end`, (init, options) => {
      const model = new LSTMLanguageModel({ ...options, backend } as LSTMLanguageModelOptions);
      const { W, state } = replay(model, options.seed, init, (options as { initScale?: number }).initScale ?? 0.01);
      expect(bits(model.flatParameters)).toEqual(bits(W));
      expect(model.generatorState).toEqual(state);
    });
  }

  it('generatorState can be set back: the same dropout masks again', () => {
    const model = new LSTMLanguageModel({ vocabSize: 5, numHiddens: 6, numLayers: 2, dropout: 0.5, seed: 1, backend: 'js' });
    const rng = new Random(3), X = rows(rng, 2, 4, 5), Y = rows(rng, 2, 4, 5);
    const start = model.generatorState;
    model.zeroGrad();
    const a = model.forwardBackward(X, Y).loss;
    const grads = model.flatGradients.slice();
    expect(model.generatorState).not.toEqual(start);
    const b = model.forwardBackward(X, Y).loss; // other masks
    expect(b).not.toBe(a);
    model.generatorState = start;
    model.zeroGrad();
    expect(model.forwardBackward(X, Y).loss).toBe(a);
    expect(model.flatGradients).toEqual(grads);
  });
});

describe('initState', () => {
  const model = new LSTMLanguageModel({ vocabSize: 3, numHiddens: 3, numLayers: 2, backend: 'js' });

  it('L·B·H zeros of the dtype, h and c apart', () => {
    const s = model.initState(1);
    expect(s.h).toEqual(new Float32Array(6));
    expect(s.c).toEqual(new Float32Array(6));
    expect(s.h).not.toBe(s.c);
    const s64 = new LSTMLanguageModel({ vocabSize: 3, numHiddens: 2, numLayers: 3, dtype: 'float64' }).initState(5);
    expect(s64.h).toEqual(new Float64Array(30));
    expect(s64.c).toBeInstanceOf(Float64Array);
  });

  it.each([
    [0, RangeError], [-2, RangeError], [2 ** 31, RangeError], [1.5, TypeError], ['2', TypeError], [NaN, TypeError], [undefined, TypeError],
  ] as const)('batchSize %s: %o naming it', (batchSize, Err) => {
    expect(() => model.initState(batchSize as never)).toThrow(Err);
    expect(() => model.initState(batchSize as never)).toThrow(/^Expected `batchSize` to be a positive integer below 2\^31, got /);
  });

  it('a state past 2 GiB per array: a RangeError with the values and bytes, before allocating', () => {
    expect(() => model.initState(2 ** 31 - 1)).toThrow(new RangeError(
      'Expected `batchSize` small enough for a state of numLayers·batchSize·numHiddens values, got 2147483647: ' +
        '12884901882 values need 51539607528 bytes per array (limit 2 GiB).',
    ));
    const m64 = new LSTMLanguageModel({ vocabSize: 3, numHiddens: 1, dtype: 'float64' });
    expect(() => m64.initState(2 ** 28 + 1)).toThrow(/got 268435457: 268435457 values need 2147483656 bytes per array/);
    // Exactly 2 GiB is taken (pages never touched cost nothing).
    expect(m64.initState(2 ** 28).h.length).toBe(2 ** 28);
    const m32 = new LSTMLanguageModel({ vocabSize: 3, numHiddens: 1, backend: 'js' });
    expect(m32.initState(2 ** 29).c.length).toBe(2 ** 29);
  });
});

describe('what the entry points read and write', () => {
  const V = 6;
  const make = (o: Partial<LSTMLanguageModelOptions> = {}) =>
    new LSTMLanguageModel({ vocabSize: V, numHiddens: 5, numLayers: 2, seed: 4, initScale: 0.4, backend: 'js', ...o });

  it('Y of another batch size is refused, naming both shapes', () => {
    const model = make();
    expect(() => model.forwardBackward([[1, 2], [3, 4]], [[1, 2], [3, 4], [5, 0]])).toThrow(
      new RangeError('Expected `Y` to have the shape of `X` (2×2), got 3×2.'),
    );
    expect(() => model.loss([[1, 2]], [[1]])).toThrow(/\(1×2\), got 1×1/);
    expect(() => model.loss([[1, 2]], [])).toThrow(/^Expected `Y` to have at least one row, got 0 rows/);
  });

  it('forward: new logits each call; no state means zeros; 2 layers carry: T + T steps = 2T steps', () => {
    const model = make();
    const rng = new Random(1), X = rows(rng, 2, 6, V);
    const first = model.forward(X.map((r) => r.slice(0, 3)));
    const kept = first.logits.slice();
    const again = model.forward(X.map((r) => r.slice(0, 3)), model.initState(2));
    expect(again.logits).not.toBe(first.logits);
    expect(bits(again.logits)).toEqual(bits(kept));
    expect(bits(again.state.h)).toEqual(bits(first.state.h));
    model.forward(X.map((r) => r.slice(3)), first.state); // carried on
    expect(bits(first.logits)).toEqual(bits(kept)); // not overwritten
    const whole = model.forward(X);
    expect(whole.logits.length).toBe(6 * 2 * V);
    whole.logits.subarray(0, 3 * 2 * V).forEach((v, i) => expect(v).toBeCloseTo(kept[i]!, 6));
    first.state.h.forEach((v, i) => expect(v).toBeCloseTo(whole.state.h[i]!, 6));
    first.state.c.forEach((v, i) => expect(v).toBeCloseTo(whole.state.c[i]!, 6));
    expect(whole.state.h.slice(10).some((v) => v !== 0)).toBe(true); // layer 1's block
  });

  it('forwardBackward leaves the final state forward leaves; the state gradient is the same call after call', () => {
    const model = make();
    const rng = new Random(2), X = rows(rng, 3, 4, V), Y = rows(rng, 3, 4, V);
    const s0 = model.initState(3);
    s0.h.fill(0.3);
    s0.c.fill(-0.2);
    const s1 = { h: s0.h.slice(), c: s0.c.slice() };
    const f = model.forward(X, s0);
    const fb = model.forwardBackward(X, Y, s1);
    expect(fb.state).toBe(s1);
    expect(bits(s1.h)).toEqual(bits(f.state.h));
    expect(bits(s1.c)).toEqual(bits(f.state.c));
    const dh = fb.stateGrad.h.slice(), dc = fb.stateGrad.c.slice();
    expect(dh.length).toBe(2 * 3 * 5);
    expect(dh.some((v) => v !== 0) && dc.some((v) => v !== 0)).toBe(true);
    const s2 = { h: s0.h.slice().fill(0.3), c: s0.c.slice().fill(-0.2) };
    const fb2 = model.forwardBackward(X, Y, s2);
    expect(bits(fb2.stateGrad.h)).toEqual(bits(dh));
    expect(bits(fb2.stateGrad.c)).toEqual(bits(dc));
    expect(fb2.loss).toBe(fb.loss);
    expect(fb.loss).toBeCloseTo(model.loss(X, Y, { h: s0.h.slice().fill(0.3), c: s0.c.slice().fill(-0.2) }), 6);
  });

  it('dropout only in forwardBackward while training; loss and forward never apply it', () => {
    const model = make({ dropout: 0.5 });
    const plain = make();
    const rng = new Random(3), X = rows(rng, 2, 5, V), Y = rows(rng, 2, 5, V);
    const reference = plain.loss(X, Y);
    expect(model.loss(X, Y)).toBe(reference);
    expect(bits(model.forward(X).logits)).toEqual(bits(plain.forward(X).logits));
    model.training = false;
    plain.zeroGrad();
    model.zeroGrad();
    expect(model.forwardBackward(X, Y).loss).toBe(plain.forwardBackward(X, Y).loss);
    expect(bits(model.flatGradients)).toEqual(bits(plain.flatGradients));
    expect(model.loss(X, Y)).toBe(reference);
    model.training = true;
    expect(model.forwardBackward(X, Y).loss).not.toBe(reference);
    expect(model.loss(X, Y)).toBe(reference);
  });

  it('an embedding gets its gradient (the rows of the ids seen)', () => {
    const model = make({ embeddingSize: 3 });
    model.zeroGrad();
    model.forwardBackward([[1, 2, 1]], [[2, 1, 0]]);
    const dE = model.parameters()[0]!;
    expect(dE.name).toBe('W_embed');
    const row = (v: number) => Array.from(dE.grad.subarray(3 * v, 3 * v + 3));
    expect(row(1).some((g) => g !== 0) && row(2).some((g) => g !== 0)).toBe(true);
    expect(row(0).concat(row(3), row(4), row(5)).every((g) => g === 0)).toBe(true);
  });

  it('the async twins compute at once on the CPU backends: the sync results', async () => {
    for (const backend of ['js', 'wasm'] as const) {
      const a = make({ backend, dropout: 0.2 }), b = make({ backend, dropout: 0.2 });
      const rng = new Random(5), X = rows(rng, 2, 3, V), Y = rows(rng, 2, 3, V);
      expect(bits((await a.forwardAsync(X)).logits)).toEqual(bits(b.forward(X).logits));
      expect(await a.lossAsync(X, Y)).toBe(b.loss(X, Y));
      const fa = await a.forwardBackwardAsync(X, Y), fb = b.forwardBackward(X, Y);
      expect(fa.loss).toBe(fb.loss);
      expect(bits(fa.state.h)).toEqual(bits(fb.state.h));
      expect(bits(a.flatGradients)).toEqual(bits(b.flatGradients));
      expect(a.hostStale).toBe(false);
      await a.sync(); // nothing to do
      a.upload();
      expect(a.hostStale).toBe(false);
      expect(bits(a.flatGradients)).toEqual(bits(b.flatGradients));
    }
  });
});

describe('trainStepAsync on the CPU backends', () => {
  const V = 5;
  const make = () => new LSTMLanguageModel({ vocabSize: V, numHiddens: 4, seed: 6, initScale: 0.5, backend: 'js' });
  const data = () => {
    const rng = new Random(7);
    return { X: rows(rng, 2, 3, V), Y: rows(rng, 2, 3, V) };
  };
  /** Plain SGD with lr 0.1, as a custom optimiser: it records its calls. */
  const sgd = (model: LSTMLanguageModel, extra: Record<string, unknown> = {}) => {
    const log: string[] = [];
    return {
      log,
      step() {
        log.push('step');
        const W = model.flatParameters, G = model.flatGradients;
        for (let i = 0; i < W.length; i++) W[i] = W[i]! - 0.1 * G[i]!;
      },
      ...extra,
    };
  };

  it('zeroGrad, forwardBackward, the norm before clipping, clipping, step: as done by hand', async () => {
    const a = make(), b = make();
    const { X, Y } = data();
    a.flatGradients.fill(7); // zeroed first
    const opt = sgd(a);
    const r = await a.trainStepAsync(X, Y, undefined, opt, { clipNorm: 0.01 });
    b.zeroGrad();
    const { loss } = b.forwardBackward(X, Y);
    const norm = Math.sqrt(Array.from(b.flatGradients).reduce((s, g) => s + g * g, 0));
    expect(r.loss).toBe(loss);
    expect(r.gradNorm).toBeCloseTo(norm, 6);
    expect(r.gradNorm).toBeGreaterThan(0.05);
    expect(r.stepped).toBe(true);
    expect(opt.log).toEqual(['step']);
    const clipped = Math.sqrt(Array.from(a.flatGradients).reduce((s, g) => s + g * g, 0));
    expect(clipped).toBeCloseTo(0.01, 6);
    const scale = 0.01 / r.gradNorm;
    a.flatParameters.forEach((w, i) => expect(w).toBeCloseTo(b.flatParameters[i]! - 0.1 * scale * b.flatGradients[i]!, 6));
    const r2 = await a.trainStepAsync(X, Y, undefined, opt, { clipValue: 1e-4 });
    expect(r2.stepped).toBe(true);
    expect(a.flatGradients.every((g) => Math.abs(g) <= 1e-4 + 1e-12)).toBe(true);
  });

  it('a non-finite loss: no step, nothing changed', async () => {
    const model = make();
    model.flatParameters[model.flatParameters.length - V] = NaN; // b_q[0]
    const before = bits(model.flatParameters);
    const opt = sgd(model);
    const r = await model.trainStepAsync([[1, 2]], [[2, 3]], undefined, opt);
    expect(r.stepped).toBe(false);
    expect(r.loss).toBeNaN();
    expect(opt.log).toEqual([]);
    expect(bits(model.flatParameters)).toEqual(before);
  });

  it('a step that makes a weight non-finite is undone: the weights before that step, the optimiser state put back', async () => {
    const model = make();
    const { X, Y } = data();
    let blowUp = false, version = 0;
    const loaded: unknown[] = [], asked: unknown[] = [];
    const opt = sgd(model, {
      stateDict(into?: unknown) {
        asked.push(into);
        return { version: ++version };
      },
      loadStateDict(state: unknown) {
        loaded.push(state);
      },
    });
    const plainStep = opt.step;
    opt.step = () => {
      plainStep();
      if (blowUp) model.flatParameters[3] = Infinity;
    };
    expect((await model.trainStepAsync(X, Y, undefined, opt)).stepped).toBe(true);
    const afterFirst = bits(model.flatParameters);
    blowUp = true;
    const r = await model.trainStepAsync(X, Y, undefined, opt);
    expect(r.stepped).toBe(false);
    expect(Number.isFinite(r.loss) && Number.isFinite(r.gradNorm)).toBe(true);
    expect(bits(model.flatParameters)).toEqual(afterFirst);
    expect(asked).toEqual([undefined, { version: 1 }]); // the saved state's arrays are reused
    expect(loaded).toEqual([{ version: 2 }]);
  });

  it('an optimiser with loadStateDict but no stateDict: nothing saved or loaded, the weights put back', async () => {
    const model = make();
    const { X, Y } = data();
    const before = bits(model.flatParameters);
    let loads = 0;
    const opt = { loadStateDict: () => { loads++; }, step: () => { model.flatParameters[1] = NaN; } };
    const r = await model.trainStepAsync(X, Y, undefined, opt);
    expect(r.stepped).toBe(false);
    expect(loads).toBe(0);
    expect(bits(model.flatParameters)).toEqual(before);
  });

  it('an optimiser with stateDict but no loadStateDict: its state is not saved, the weights still put back', async () => {
    const model = make();
    const { X, Y } = data();
    const before = bits(model.flatParameters);
    let saved = 0;
    const opt = {
      stateDict: () => ((saved++), {}),
      step: () => { model.flatParameters[0] = NaN; },
    };
    const r = await model.trainStepAsync(X, Y, model.initState(2), opt);
    expect(r.stepped).toBe(false);
    expect(saved).toBe(0);
    expect(bits(model.flatParameters)).toEqual(before);
  });
});

describe('parameter views', () => {
  it('wasm: a parameter first read after the first call (which moves the region) is a live view; one view per generation', () => {
    const model = new LSTMLanguageModel({ vocabSize: 4, numHiddens: 3, backend: 'wasm', seed: 1 });
    const p = model.parameters()[1]!; // W_hi, not read yet
    model.forward([[1, 2]]);
    expect(p.data.length).toBe(9);
    expect(p.data).toBe(p.data);
    expect(p.grad).toBe(p.grad);
    expect(p.data.buffer).toBe(model.flatParameters.buffer);
    expect(bits(p.data)).toEqual(bits(model.flatParameters.subarray(12, 21)));
    expect(p.grad.byteOffset - model.flatGradients.byteOffset).toBe(4 * 12);
    const view = p as unknown as { offset: number; size: number };
    expect(view.offset).toBe(12);
    expect(view.size).toBe(9);
  });
});

describe('threads', () => {
  it('a model on two threads gives one thread\'s results; dispose stops its worker and it computes on', async () => {
    const w = workers();
    const model = new LSTMLanguageModel({ vocabSize: 5, numHiddens: 8, seed: 2, threads: 2, createWorker: w.create });
    const one = new LSTMLanguageModel({ vocabSize: 5, numHiddens: 8, seed: 2 });
    expect(model.threads).toBe(2);
    const rng = new Random(8), X = rows(rng, 4, 3, 5), Y = rows(rng, 4, 3, 5);
    await until(() => (model.forward(X), true), 50);
    const ref = one.forwardBackward(X, Y);
    model.zeroGrad();
    expect(model.forwardBackward(X, Y).loss).toBeCloseTo(ref.loss, 6);
    expect(bits(model.flatGradients)).toEqual(bits(one.flatGradients));
    model.dispose();
    expect(await w.exited[0]).toBeTypeOf('number');
    expect(model.loss(X, Y)).toBeCloseTo(one.loss(X, Y), 6);
  });

  it('a model dropped without dispose() stops its worker when it is garbage-collected', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const w = workers();
    await (async () => {
      const model = new LSTMLanguageModel({ vocabSize: 5, numHiddens: 8, threads: 2, createWorker: w.create });
      model.loss([[1, 2, 3]], [[2, 3, 0]]);
    })();
    let exited = false;
    void w.exited[0]!.then(() => { exited = true; });
    await until(() => {
      gc();
      return exited;
    }, 5000);
    expect(exited).toBe(true);
  });
});
