import { describe, expect, it } from 'vitest';
import golden from '../golden/lstm-golden.json' with { type: 'json' };
import { LSTMLanguageModel } from '../../src/lstm/model.js';
import { clipGradNorm } from '../../src/optim/clip.js';
import { SGD } from '../../src/optim/sgd.js';
import type { FloatArray } from '../../src/tensor/float-array.js';
import { expectNear } from './near.js';

// Golden values computed by PyTorch (float64 autograd) with test/golden/make_golden.py.
// The float64 model must match to 1e-10 relative: both sides are exact float64 arithmetic
// that differ only in summation order. The float32 model must match to 2e-5 relative to
// the scale of each array: float32 rounding (ε ≈ 6e-8) accumulated over T = 4 steps and
// sums of H = 5 or V = 7 terms stays well below that — on both backends (the wasm kernels'
// exp is a polynomial good to a few ulp, still far inside it).
const { config } = golden;
const V = config.vocabSize, H = config.numHiddens, B = config.batchSize;
type Named = Record<string, number[]>;

function load(dtype: 'float32' | 'float64', backend: 'js' | 'wasm'): LSTMLanguageModel {
  const model = new LSTMLanguageModel({ vocabSize: V, numHiddens: H, dtype, backend });
  expect(model.backend).toBe(backend);
  for (const p of model.parameters()) {
    const g = (golden.params as Record<string, { shape: number[]; data: number[] }>)[p.name]!;
    expect(p.shape).toEqual(g.shape);
    p.data.set(g.data);
  }
  return model;
}

function state(model: LSTMLanguageModel, zero: boolean): { h: FloatArray; c: FloatArray } {
  const s = model.initState(B);
  if (!zero) {
    s.h.set(golden.h0.data);
    s.c.set(golden.c0.data);
  }
  return s;
}

const CONFIGS = [['float64', 'js', 1e-10], ['float32', 'js', 2e-5], ['float32', 'wasm', 2e-5]] as const;

for (const [dtype, backend, rel] of CONFIGS) {
  describe(`PyTorch golden values (${dtype} model, ${backend} backend, relative tolerance ${rel})`, () => {
    for (const [caseName, expected] of Object.entries(golden.cases)) {
      it(`${caseName}: loss, logits, final state, all 14 gradients, state gradients`, () => {
        const model = load(dtype, backend);
        const zero = caseName === 'zeroState';
        const { logits } = model.forward(golden.X, state(model, zero));
        expectNear(logits, expected.logits.data, rel, 'logits');
        model.zeroGrad();
        const s = state(model, zero);
        const { loss, stateGrad } = model.forwardBackward(golden.X, golden.Y, s);
        expectNear([loss], [expected.loss], rel, 'loss');
        expectNear(s.h, expected.h.data, rel, 'final h');
        expectNear(s.c, expected.c.data, rel, 'final c');
        for (const p of model.parameters()) expectNear(p.grad, (expected.grads as Named)[p.name]!, rel, `d${p.name}`);
        expectNear(stateGrad.h, expected.gradH0.data, rel, 'dh0');
        expectNear(stateGrad.c, expected.gradC0.data, rel, 'dc0');
      });
    }

    for (const run of [golden.training, golden.trainingClipLow]) {
      it(`${run.steps} SGD steps (lr ${run.lr}, clip ${run.clipNorm}): losses, pre-clip norms, final parameters`, () => {
        const model = load(dtype, backend);
        const sgd = new SGD(model.parameters(), { lr: run.lr });
        const losses: number[] = [], norms: number[] = [];
        for (let step = 0; step < run.steps; step++) {
          model.zeroGrad();
          losses.push(model.forwardBackward(golden.X, golden.Y, model.initState(B)).loss);
          norms.push(clipGradNorm(model.parameters(), run.clipNorm));
          sgd.step();
        }
        expectNear(losses, run.losses, rel, 'losses');
        expectNear(norms, run.gradNormsPreClip, rel, 'gradient norms');
        for (const p of model.parameters()) expectNear(p.data, (run.finalParams as Named)[p.name]!, rel, p.name);
      });
    }
  });
}
