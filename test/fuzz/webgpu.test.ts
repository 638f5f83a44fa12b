// Random shapes, ids and states on the webgpu backend (Dawn + SwiftShader) against js float32:
// logits, loss, final state, state gradient and every parameter gradient agree to float32
// rounding; a random bad id in a typed batch is refused before anything changes on the GPU.
// Fewer runs than the CPU fuzzers (SwiftShader is software), bounded in time.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { LSTMLanguageModel } from '../../src/lstm/model.js';
import { testDevice } from '../webgpu/device.js';
import { caseArb, CONFIGS, params, type Case } from './fuzz.js';

type Run = { loss: number; grads: ArrayLike<number>; h: ArrayLike<number>; dh0: ArrayLike<number>; logits: ArrayLike<number> };

async function run(model: LSTMLanguageModel, k: Case): Promise<Run> {
  const state = model.initState(k.B);
  state.h.set(k.h);
  state.c.set(k.cell);
  const { logits } = await model.forwardAsync(k.X, { h: state.h.slice(), c: state.c.slice() });
  model.zeroGrad();
  const { loss, stateGrad } = await model.forwardBackwardAsync(k.X, k.Y, state);
  const dh0 = stateGrad.h.slice();
  await model.sync();
  return { loss, grads: model.flatGradients.slice(), h: state.h.slice(), dh0, logits: logits.slice() };
}

const near = (a: ArrayLike<number>, b: ArrayLike<number>, rel: number): void => {
  expect(a.length).toBe(b.length);
  const scale = Math.max(1e-3, ...Array.from(b, Math.abs));
  for (let i = 0; i < b.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(rel * scale);
};

describe('fuzz: the webgpu backend agrees with js', () => {
  const models: { gpu: LSTMLanguageModel; js: LSTMLanguageModel }[] = [];
  beforeAll(async () => {
    const gpuDevice = await testDevice();
    for (const config of CONFIGS) {
      models.push({ gpu: new LSTMLanguageModel({ ...config, backend: 'webgpu', gpuDevice }), js: new LSTMLanguageModel({ ...config, backend: 'js' }) });
    }
  });

  it('random shapes, ids and states: logits, loss, final state, state gradient, every gradient (2e-5 of scale)', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (k) => {
        const m = models[k.c]!;
        const gpu = await run(m.gpu, k), js = await run(m.js, k);
        expect(Math.abs(gpu.loss - js.loss)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(js.loss)));
        near(gpu.logits, js.logits, 2e-5);
        near(gpu.h, js.h, 2e-5);
        near(gpu.dh0, js.dh0, 2e-5);
        near(gpu.grads, js.grads, 2e-5);
      }),
      params(40, 40_000),
    );
  });

  it('a random bad id in a typed batch is refused, and nothing changes on the GPU', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, fc.nat(), fc.integer({ min: -3, max: 3 }), async (k, where, delta) => {
        const model = models[k.c]!.gpu;
        const V = CONFIGS[k.c]!.vocabSize;
        await model.sync();
        const before = model.flatParameters.slice(), grads = model.flatGradients.slice();
        const data = Int32Array.from(k.X.flat());
        data[where % data.length] = delta < 0 ? delta : V + delta; // out of [0, V)
        const X = { data, batchSize: k.B, numSteps: k.T };
        await expect(model.forwardBackwardAsync(X, X)).rejects.toThrow(RangeError);
        await expect(model.lossAsync(k.X, X)).rejects.toThrow(RangeError);
        await model.sync();
        expect(model.flatParameters).toEqual(before);
        expect(model.flatGradients).toEqual(grads);
      }),
      params(15, 20_000),
    );
  });
});
