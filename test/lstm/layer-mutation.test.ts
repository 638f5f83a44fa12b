// The layer phases (src/lstm/layer.ts) against PyTorch in every split, on one thread (issue 13:
// mutation testing — parts beyond the threads run in turn on the model's thread, where Stryker
// can see them): the recurrence split by batch rows and by hidden units, every phase in 1, 2, 3
// and 5 parts, the deep golden cases (2 layers; 3 layers after an embedding) in float64 on js.
import { afterEach, describe, it } from 'vitest';
import golden from '../golden/lstm-deep-golden.json' with { type: 'json' };
import { LSTMLanguageModel } from '../../src/lstm/model.js';
import { SPLIT_RULE } from '../../src/lstm/runner.js';
import { expectNear } from './near.js';

type Case = (typeof golden.cases)[keyof typeof golden.cases];
type Named = Record<string, number[]>;

const saved = { ...SPLIT_RULE };
afterEach(() => {
  Object.assign(SPLIT_RULE, saved);
});

function load(c: Case): LSTMLanguageModel {
  const { vocabSize, numHiddens, numLayers, embeddingSize } = c.config;
  const model = new LSTMLanguageModel({ vocabSize, numHiddens, numLayers, embeddingSize: embeddingSize ?? undefined, dtype: 'float64', backend: 'js' });
  for (const p of model.parameters()) p.data.set((c.params as Record<string, { data: number[] }>)[p.name]!.data);
  return model;
}

for (const force of ['rows', 'columns'] as const) {
  for (const parts of [1, 2, 3, 5]) {
    describe(`the recurrence split by ${force}, every phase in ${parts} part${parts > 1 ? 's' : ''}`, () => {
      for (const [name, c] of Object.entries(golden.cases)) {
        it(`${name}: logits, loss, final state, every gradient, state gradients (twice: gradients accumulate)`, () => {
          SPLIT_RULE.force = force;
          SPLIT_RULE.forceParts = parts;
          const model = load(c);
          const B = c.config.batchSize;
          const state = () => {
            const s = model.initState(B);
            s.h.set(c.h0.data);
            s.c.set(c.c0.data);
            return s;
          };
          const rel = 1e-10;
          const s0 = state();
          expectNear(model.forward(c.X, s0).logits, c.logits.data, rel, 'logits');
          expectNear(s0.h, c.h.data, rel, 'final h (forward)');
          expectNear(s0.c, c.c.data, rel, 'final c (forward)');
          model.zeroGrad();
          for (const times of [1, 2]) {
            const s = state();
            const { loss, stateGrad } = model.forwardBackward(c.X, c.Y, s);
            expectNear([loss], [c.loss], rel, 'loss');
            expectNear(s.h, c.h.data, rel, 'final h');
            expectNear(s.c, c.c.data, rel, 'final c');
            for (const p of model.parameters()) {
              expectNear(p.grad, (c.grads as Named)[p.name]!.map((g) => g * times), rel, `d${p.name} (call ${times})`);
            }
            // The state gradients are the call's own, not accumulated.
            expectNear(stateGrad.h, c.gradH0.data, rel, 'dh0');
            expectNear(stateGrad.c, c.gradC0.data, rel, 'dc0');
          }
        });
      }
    });
  }
}

// H = 20 leaves the split by units three blocks (8, 8 and 4 units), which the golden cases'
// H = 5 cannot: every split must give the numbers of one part split by rows, bit for bit (the
// loss to its last bits, as it is summed part by part) —
// that one checked against float64 finite differences here too, with dropout on (training) and
// the layers above reading the masked outputs.
describe('H = 20, dropout, an embedding: every split equals one part, bit for bit', () => {
  const V = 7, H = 20, E = 4, L = 2, B = 3, T = 4;
  const X = [[1, 2, 3, 4], [5, 6, 0, 1], [2, 2, 3, 6]], Y = [[2, 3, 4, 5], [6, 0, 1, 2], [2, 3, 6, 6]];
  function run(force: 'rows' | 'columns', parts: number) {
    SPLIT_RULE.force = force;
    SPLIT_RULE.forceParts = parts;
    const model = new LSTMLanguageModel({ vocabSize: V, numHiddens: H, numLayers: L, embeddingSize: E, dropout: 0.3, seed: 5, initScale: 0.4, dtype: 'float64', backend: 'js' });
    const s = model.initState(B);
    for (let i = 0; i < s.h.length; i++) {
      s.h[i] = Math.sin(i) * 0.5;
      s.c[i] = Math.cos(i);
    }
    const masks = model.generatorState;
    const r = model.forwardBackward(X, Y, s);
    const logits = Array.from(model.forward(X, { h: s.h.slice(), c: s.c.slice() }).logits);
    return { model, masks, loss: r.loss, h: Array.from(s.h), c: Array.from(s.c), grads: Array.from(model.flatGradients), dh: Array.from(r.stateGrad.h), dc: Array.from(r.stateGrad.c), logits };
  }

  it('the split by rows in 1 part: the gradient of the loss under the same masks (finite differences)', () => {
    SPLIT_RULE.force = 'rows';
    SPLIT_RULE.forceParts = 1;
    const { model, masks, grads } = run('rows', 1);
    const W = model.flatParameters;
    const lossAt = () => {
      model.generatorState = masks;
      const s = model.initState(B);
      for (let i = 0; i < s.h.length; i++) {
        s.h[i] = Math.sin(i) * 0.5;
        s.c[i] = Math.cos(i);
      }
      return model.forwardBackward(X, Y, s).loss;
    };
    // Every 7th scalar (all kinds of tensor, every layer) is enough to see a wrong term.
    for (let i = 0; i < W.length; i += 7) {
      const v = W[i]!;
      W[i] = v + 1e-6;
      const up = lossAt();
      W[i] = v - 1e-6;
      const down = lossAt();
      W[i] = v;
      const fd = (up - down) / 2e-6;
      if (Math.abs(fd - grads[i]!) > 1e-6 * Math.max(1, Math.abs(fd))) throw new Error(`flat[${i}]: analytic ${grads[i]}, finite differences ${fd}`);
    }
  });

  it('rows in 2, 3, 5 parts and columns in 1, 2, 3, 5 parts', () => {
    const ref = run('rows', 1);
    for (const [force, parts] of [['rows', 2], ['rows', 3], ['rows', 5], ['columns', 1], ['columns', 2], ['columns', 3], ['columns', 5]] as const) {
      const got = run(force, parts);
      // The loss is summed part by part, so its last bits depend on the parts (docs/mutation.md).
      if (Math.abs(got.loss - ref.loss) > 1e-13 * ref.loss) throw new Error(`${force} in ${parts} parts: loss ${got.loss}, one part ${ref.loss}`);
      for (const key of ['h', 'c', 'grads', 'dh', 'dc', 'logits'] as const) {
        if (JSON.stringify(got[key]) !== JSON.stringify(ref[key])) throw new Error(`${force} in ${parts} parts: ${key} differs`);
      }
    }
  });
});
