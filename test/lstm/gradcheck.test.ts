import { describe, expect, it } from 'vitest';
import { LSTMLanguageModel } from '../../src/lstm/model.js';
import type { LSTMState } from '../../src/lstm/inputs.js';
import { Random } from '../../src/tensor/random.js';

// Finite-difference check of the whole model: every one of the 14 parameters and the
// incoming state, in float64. Central differences with ε = 1e-6 have truncation error
// O(ε²·f''') ≈ 1e-12 and rounding error O(1e-16/ε) ≈ 1e-10 on a loss of order 1, so a
// relative tolerance of 1e-6 (on |analytic − numeric| / max(1e-3, |analytic| + |numeric|))
// leaves a wide margin while any real mistake (a transposed index, a missing term,
// a gradient overwritten instead of added) shows up as an error of order 1.
const V = 5, H = 4, B = 2, T = 4;
const EPS = 1e-6;
const TOL = 1e-6;

function setup(seed: number) {
  // initScale 0.5 so that the gates are far from their linear regime.
  const model = new LSTMLanguageModel({ vocabSize: V, numHiddens: H, seed, initScale: 0.5, dtype: 'float64' });
  const rng = new Random(seed + 100);
  // Non-zero biases too, so that their gradients are not a special case.
  for (const p of model.parameters()) if (p.name.startsWith('b_')) for (let i = 0; i < p.data.length; i++) p.data[i] = rng.normal() * 0.5;
  const ids = () => Array.from({ length: B }, () => Array.from({ length: T }, () => rng.int(V)));
  return { model, X: ids(), Y: ids(), rng };
}

function relErr(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(1e-3, Math.abs(a) + Math.abs(b));
}

function randomState(model: LSTMLanguageModel, rng: Random): LSTMState {
  const s = model.initState(B);
  for (let i = 0; i < B * H; i++) {
    s.h[i] = rng.normal() * 0.5;
    s.c[i] = rng.normal();
  }
  return s;
}

for (const carried of [false, true]) {
  describe(`whole-model gradient check (float64, ${carried ? 'carried-in' : 'zero'} state)`, () => {
    const { model, X, Y, rng } = setup(carried ? 7 : 3);
    const state0 = carried ? randomState(model, rng) : model.initState(B);
    const copyState = (): LSTMState => ({ h: state0.h.slice(), c: state0.c.slice() });
    const lossAt = (state: LSTMState = copyState()): number => model.forwardBackward(X, Y, state).loss;

    model.zeroGrad();
    const result = model.forwardBackward(X, Y, copyState());
    const dh0 = result.stateGrad.h.slice();
    const dc0 = result.stateGrad.c.slice();
    const analytic = model.flatGradients.slice();

    for (const p of model.parameters()) {
      it(`${p.name} ${JSON.stringify(p.shape)}`, () => {
        const base = p.grad.byteOffset / p.grad.BYTES_PER_ELEMENT;
        let worst = 0;
        for (let i = 0; i < p.data.length; i++) {
          const v = p.data[i]!;
          p.data[i] = v + EPS;
          const up = lossAt();
          p.data[i] = v - EPS;
          const down = lossAt();
          p.data[i] = v;
          worst = Math.max(worst, relErr(analytic[base + i]!, (up - down) / (2 * EPS)));
        }
        expect(worst).toBeLessThan(TOL);
      });
    }

    it('the incoming state h and c', () => {
      let worst = 0;
      let nonzero = 0;
      for (const [key, grad] of [['h', dh0], ['c', dc0]] as const) {
        for (let i = 0; i < B * H; i++) {
          const nudged = (delta: number): number => {
            const s = copyState();
            s[key][i]! += delta;
            return lossAt(s);
          };
          const numeric = (nudged(EPS) - nudged(-EPS)) / (2 * EPS);
          if (Math.abs(numeric) > 1e-6) nonzero++;
          worst = Math.max(worst, relErr(grad[i]!, numeric));
        }
      }
      expect(nonzero).toBeGreaterThan(B * H); // the check is not vacuous
      expect(worst).toBeLessThan(TOL);
    });
  });
}
