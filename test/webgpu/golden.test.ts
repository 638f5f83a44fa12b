// The webgpu backend against PyTorch's golden values (test/golden/make_golden.py), on Dawn +
// SwiftShader: d2l's one-layer model and nn.LSTM(num_layers = 2, 3) (+ nn.Embedding), and
// d2l's SGD trajectories with clipping run as whole GPU training steps (trainStepAsync), with
// the tolerance of the float32 CPU backends (2e-5 relative to each array's scale).
import { describe, expect, it } from 'vitest';
import golden from '../golden/lstm-golden.json' with { type: 'json' };
import deep from '../golden/lstm-deep-golden.json' with { type: 'json' };
import { LSTMLanguageModel } from '../../src/lstm/model.js';
import { SGD } from '../../src/optim/sgd.js';
import { expectNear } from '../lstm/near.js';
import { testDevice } from './device.js';

type Named = Record<string, number[]>;
type Params = Record<string, { shape: number[]; data: number[] }>;
const rel = 2e-5;

async function load(options: ConstructorParameters<typeof LSTMLanguageModel>[0], params: Params): Promise<LSTMLanguageModel> {
  const model = new LSTMLanguageModel({ ...options, backend: 'webgpu', gpuDevice: await testDevice() });
  for (const p of model.parameters()) p.data.set(params[p.name]!.data);
  model.upload();
  return model;
}

interface Case {
  X: number[][]; Y: number[][]; h0?: { data: number[] }; c0?: { data: number[] };
  logits: { data: number[] }; loss: number; h: { data: number[] }; c: { data: number[] };
  grads: unknown; gradH0: { data: number[] }; gradC0: { data: number[] };
}

async function check(model: LSTMLanguageModel, c: Case, B: number, h0: number[] | null, c0: number[] | null): Promise<void> {
  const state = () => {
    const s = model.initState(B);
    if (h0 !== null) s.h.set(h0);
    if (c0 !== null) s.c.set(c0);
    return s;
  };
  const { logits } = await model.forwardAsync(c.X, state());
  expectNear(logits, c.logits.data, rel, 'logits');
  const s1 = state();
  expectNear([await model.lossAsync(c.X, c.Y, s1)], [c.loss], rel, 'loss (lossAsync)');
  expectNear(s1.h, c.h.data, rel, 'final h (lossAsync)');
  model.zeroGrad();
  const s = state();
  const { loss, stateGrad } = await model.forwardBackwardAsync(c.X, c.Y, s);
  expectNear([loss], [c.loss], rel, 'loss');
  expectNear(s.h, c.h.data, rel, 'final h');
  expectNear(s.c, c.c.data, rel, 'final c');
  await model.sync();
  for (const p of model.parameters()) expectNear(p.grad, (c.grads as Named)[p.name]!, rel, `d${p.name}`);
  expectNear(stateGrad.h, c.gradH0.data, rel, 'dh0');
  expectNear(stateGrad.c, c.gradC0.data, rel, 'dc0');
}

describe('webgpu backend: PyTorch golden values (float32, tolerance 2e-5)', () => {
  for (const [name, expected] of Object.entries(golden.cases)) {
    it(`d2l's model, ${name}: logits, loss, final state, all 14 gradients, state gradients`, async () => {
      const { vocabSize, numHiddens, batchSize } = golden.config;
      const model = await load({ vocabSize, numHiddens }, golden.params as Params);
      const zero = name === 'zeroState';
      await check(model, { ...expected, X: golden.X, Y: golden.Y } as Case, batchSize,
        zero ? null : golden.h0.data, zero ? null : golden.c0.data);
    });
  }

  for (const run of [golden.training, golden.trainingClipLow]) {
    it(`d2l's model, ${run.steps} SGD steps on the GPU (lr ${run.lr}, clip ${run.clipNorm}): losses, pre-clip norms, final parameters`, async () => {
      const { vocabSize, numHiddens, batchSize } = golden.config;
      const model = await load({ vocabSize, numHiddens }, golden.params as Params);
      const sgd = new SGD(model.parameters(), { lr: run.lr });
      const losses: number[] = [], norms: number[] = [];
      for (let step = 0; step < run.steps; step++) {
        const r = await model.trainStepAsync(golden.X, golden.Y, model.initState(batchSize), sgd, { clipNorm: run.clipNorm });
        expect(r.stepped).toBe(true);
        losses.push(r.loss);
        norms.push(r.gradNorm);
      }
      expectNear(losses, run.losses, rel, 'losses');
      expectNear(norms, run.gradNormsPreClip, rel, 'gradient norms');
      await model.sync();
      for (const p of model.parameters()) expectNear(p.data, (run.finalParams as Named)[p.name]!, rel, p.name);
    });
  }

  for (const [name, c] of Object.entries(deep.cases)) {
    it(`nn.LSTM ${name}: logits, loss, final state, every gradient, state gradients`, async () => {
      const { vocabSize, numHiddens, numLayers, embeddingSize, batchSize } = c.config;
      const model = await load({ vocabSize, numHiddens, numLayers, embeddingSize: embeddingSize ?? undefined }, c.params as Params);
      await check(model, c as unknown as Case, batchSize, c.h0.data, c.c0.data);
    });
  }
});
