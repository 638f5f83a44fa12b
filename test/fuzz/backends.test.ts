// Random shapes, ids and states across backends and thread counts (issue 13): one thread and
// two threads agree bit for bit; js and wasm agree to float32 rounding. Then the faults the
// review found, with random sizes: sequences of T ≥ 5042 on two threads, and a worker that
// dies at a random kernel call.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LSTMLanguageModel } from '../../src/lstm/model.js';
import { wasmSimdSupported } from '../../src/backend/wasm.js';
import { nodeWorkerFactory } from '../../node/index.js';
import { atKernelCall, workers } from '../threads/workers.js';
import { caseArb, CONFIGS, params, type Case } from './fuzz.js';

const simd = wasmSimdSupported();
const settle = () => new Promise((resolve) => setTimeout(resolve, 300)); // workers start

type Run = { loss: number; grads: Float32Array | Float64Array; h: Float32Array | Float64Array; logits: Float32Array | Float64Array };

function run(model: LSTMLanguageModel, k: Case): Run {
  const state = model.initState(k.B);
  state.h.set(k.h);
  state.c.set(k.cell);
  const logits = model.forward(k.X, { h: state.h.slice(), c: state.c.slice() }).logits.slice();
  model.zeroGrad();
  const { loss } = model.forwardBackward(k.X, k.Y, state);
  return { loss, grads: model.flatGradients.slice(), h: state.h.slice(), logits };
}

describe.skipIf(!simd)('fuzz: backends and threads agree', () => {
  const models: { js: LSTMLanguageModel; one: LSTMLanguageModel; two: LSTMLanguageModel }[] = [];
  beforeAll(async () => {
    for (const config of CONFIGS) {
      models.push({
        js: new LSTMLanguageModel({ ...config, backend: 'js' }),
        one: new LSTMLanguageModel({ ...config, backend: 'wasm', threads: 1 }),
        two: new LSTMLanguageModel({ ...config, backend: 'wasm', threads: 2, createWorker: nodeWorkerFactory }),
      });
    }
    await settle();
  });
  afterAll(() => models.forEach((m) => m.two.dispose()));

  it('random shapes, ids and states: two threads = one thread bit for bit (the loss to a few ulps); js = wasm to float32 rounding', () => {
    expect(models.every((m) => m.two.threads === 2)).toBe(true);
    fc.assert(
      fc.property(caseArb, (k) => {
        const m = models[k.c]!;
        const one = run(m.one, k), two = run(m.two, k), js = run(m.js, k);
        expect(two.grads).toEqual(one.grads);
        // The loss is summed per part (one kernel call per part of the rows), so its last bits
        // depend on how the rows are split: found by this suite, e.g. 2.248705932571415 on two
        // threads against 2.2487059325714154 on one (2 layers, B 1, T 3). Gradients, logits and
        // states, and so training, are bit-identical.
        expect(Math.abs(two.loss - one.loss)).toBeLessThanOrEqual(4 * Number.EPSILON * Math.abs(one.loss));
        expect(two.grads).toEqual(one.grads);
        expect(two.h).toEqual(one.h);
        expect(two.logits).toEqual(one.logits);
        expect(Math.abs(js.loss - one.loss)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(one.loss)));
        const scale = Math.max(1e-3, ...Array.from(one.grads, Math.abs));
        for (let i = 0; i < one.grads.length; i++) expect(Math.abs(js.grads[i]! - one.grads[i]!)).toBeLessThanOrEqual(2e-5 * scale);
        for (let i = 0; i < one.h.length; i++) expect(Math.abs(js.h[i]! - one.h[i]!)).toBeLessThanOrEqual(1e-5);
      }),
      params(300, 12_000),
    );
  });

  it('a random bad id in a typed batch is refused on every backend, and nothing changes', () => {
    fc.assert(
      fc.property(caseArb, fc.nat(), fc.integer({ min: -3, max: 3 }), (k, where, delta) => {
        const m = models[k.c]!;
        const V = CONFIGS[k.c]!.vocabSize;
        const data = Int32Array.from(k.X.flat());
        data[where % data.length] = delta < 0 ? delta : V + delta; // out of [0, V)
        const X = { data, batchSize: k.B, numSteps: k.T };
        for (const model of [m.js, m.one, m.two]) {
          const before = model.flatParameters.slice();
          model.flatGradients.fill(0.125);
          expect(() => model.forwardBackward(X, X)).toThrow(RangeError);
          expect(() => model.loss(k.X, X)).toThrow(RangeError);
          expect(model.flatParameters).toEqual(before);
          expect(model.flatGradients.every((g) => g === 0.125)).toBe(true);
        }
      }),
      params(100, 4000),
    );
  });
});

describe.skipIf(!simd)('fuzz: thread faults', () => {
  const options = { vocabSize: 4, numHiddens: 8, seed: 3, initScale: 0.5 };
  const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-6 * Math.abs(b));

  it('long sequences (5042 ≤ T ≤ 7000) on two threads agree with one thread, and so do the short calls after them', async () => {
    const one = new LSTMLanguageModel({ ...options, threads: 1 });
    const two = new LSTMLanguageModel({ ...options, threads: 2, createWorker: nodeWorkerFactory });
    try {
      await settle();
      const cases = fc.sample(fc.record({ T: fc.integer({ min: 5042, max: 7000 }), a: fc.integer({ min: 1, max: 3 }), b: fc.nat(3) }), { numRuns: 3, seed: 0x13 });
      for (const { T, a, b } of cases) {
        const X = [Array.from({ length: T }, (_, t) => (t * a + b) % 4)];
        const Y = [Array.from({ length: T }, (_, t) => (t * (a + 2) + 1) % 4)];
        close(two.loss(X, Y), one.loss(X, Y));
        close(two.loss([[b, 1]], [[2, a]]), one.loss([[b, 1]], [[2, a]]));
      }
    } finally {
      two.dispose();
    }
  });

  it('a worker that dies at a random kernel call: that call throws clearly or completes, and later calls agree with one thread', async () => {
    const X = [[0, 1, 2, 3, 0, 1], [3, 2, 1, 0, 3, 2]];
    const Y = [[1, 2, 3, 0, 1, 2], [2, 1, 0, 3, 2, 1]];
    const one = new LSTMLanguageModel({ ...options, threads: 1 });
    for (const n of fc.sample(fc.integer({ min: 1, max: 40 }), { numRuns: 3, seed: 0x13 })) {
      const w = workers(atKernelCall(n, 'process.exit(1);'));
      const model = new LSTMLanguageModel({ ...options, threads: 2, createWorker: w.create });
      try {
        await settle();
        for (let call = 0; call < 4; call++) {
          try {
            close(model.loss(X, Y), one.loss(X, Y));
          } catch (error) {
            expect(String(error)).toMatch(/A kernel worker stopped \(terminated, crashed or out of memory\)/);
          }
        }
        close(model.loss(X, Y), one.loss(X, Y)); // by now the worker is gone and its parts run here
      } finally {
        model.dispose();
      }
    }
  });
});
