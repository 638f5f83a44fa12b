import { afterAll, describe, expect, it } from 'vitest';
import golden from '../golden/lstm-deep-golden.json' with { type: 'json' };
import { LSTMLanguageModel } from '../../src/lstm/model.js';
import { nodeWorkerFactory } from '../../node/index.js';
import { expectNear } from './near.js';

// Stacked layers against the real PyTorch modules: torch.nn.LSTM(num_layers = 2 or 3) +
// nn.Linear, the second case after nn.Embedding (test/golden/make_golden.py, float64
// autograd, weights mapped onto our per-gate tensors as docs/pytorch.md describes), dropout
// 0. Tolerances as the one-layer golden test: 1e-10 relative in float64, 2e-5 in float32
// (relative to the scale of each array), on both backends, one and two threads.
type Case = (typeof golden.cases)[keyof typeof golden.cases];
type Named = Record<string, number[]>;

const models: LSTMLanguageModel[] = [];
afterAll(() => models.forEach((m) => m.dispose()));

function load(c: Case, dtype: 'float32' | 'float64', backend: 'js' | 'wasm', threads: number): LSTMLanguageModel {
  const { vocabSize, numHiddens, numLayers, embeddingSize } = c.config;
  const model = new LSTMLanguageModel({
    vocabSize, numHiddens, numLayers, embeddingSize: embeddingSize ?? undefined, dtype, backend, threads, createWorker: nodeWorkerFactory,
  });
  models.push(model);
  expect(model.threads).toBe(threads);
  expect(model.parameters().map((p) => p.name)).toEqual(c.paramOrder);
  for (const p of model.parameters()) {
    const g = (c.params as Record<string, { shape: number[]; data: number[] }>)[p.name]!;
    expect(p.shape, p.name).toEqual(g.shape);
    p.data.set(g.data);
  }
  return model;
}

const CONFIGS = [
  ['float64', 'js', 1, 1e-10], ['float32', 'js', 1, 2e-5], ['float32', 'wasm', 1, 2e-5], ['float32', 'wasm', 2, 2e-5],
] as const;

for (const [dtype, backend, threads, rel] of CONFIGS) {
  describe(`nn.LSTM(num_layers) golden values (${dtype}, ${backend}, ${threads} thread${threads > 1 ? 's' : ''}, tolerance ${rel})`, () => {
    for (const [name, c] of Object.entries(golden.cases)) {
      it(`${name}: logits, loss, final state, every gradient, state gradients`, async () => {
        const model = load(c, dtype, backend, threads);
        // Parts whose worker has not started run on the model's thread: give the workers time to start.
        if (threads > 1) await new Promise((resolve) => setTimeout(resolve, 300));
        const B = c.config.batchSize;
        const state = () => {
          const s = model.initState(B);
          s.h.set(c.h0.data);
          s.c.set(c.c0.data);
          return s;
        };
        const { logits } = model.forward(c.X, state());
        expectNear(logits, c.logits.data, rel, 'logits');
        model.zeroGrad();
        const s = state();
        const { loss, stateGrad } = model.forwardBackward(c.X, c.Y, s);
        expectNear([loss], [c.loss], rel, 'loss');
        expectNear(s.h, c.h.data, rel, 'final h');
        expectNear(s.c, c.c.data, rel, 'final c');
        for (const p of model.parameters()) expectNear(p.grad, (c.grads as Named)[p.name]!, rel, `d${p.name}`);
        expectNear(stateGrad.h, c.gradH0.data, rel, 'dh0');
        expectNear(stateGrad.c, c.gradC0.data, rel, 'dc0');
      });
    }
  });
}
