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

// The wasm backend computes in float32, where finite differences are too coarse to check
// anything. So its analytic gradients are checked against float64 finite differences of the
// same model (the js backend in float64, parameters and state rounded to float32 first so
// that both evaluate the same point). Tolerance 1e-4 of each array's largest numeric
// gradient: float32 rounding through T = 4 steps stays near 1e-6 of it; an error in a wasm
// kernel is of the order of the gradient itself.
describe.each([false, true])('wasm backend against float64 finite differences (carried state: %s)', (carried) => {
  const { model: reference, X, Y, rng } = setup(carried ? 11 : 13);
  for (let i = 0; i < reference.flatParameters.length; i++) reference.flatParameters[i] = Math.fround(reference.flatParameters[i]!);
  const state0 = carried ? randomState(reference, rng) : reference.initState(B);
  for (const a of [state0.h, state0.c]) for (let i = 0; i < a.length; i++) a[i] = Math.fround(a[i]!);
  const copyState = (): LSTMState => ({ h: state0.h.slice(), c: state0.c.slice() });
  const numeric = (data: Float32Array | Float64Array, i: number, lossAt: () => number): number => {
    const v = data[i]!;
    data[i] = v + EPS;
    const up = lossAt();
    data[i] = v - EPS;
    const down = lossAt();
    data[i] = v;
    return (up - down) / (2 * EPS);
  };

  const wasm = new LSTMLanguageModel({ vocabSize: V, numHiddens: H, initScale: 0, backend: 'wasm' });
  wasm.flatParameters.set(reference.flatParameters);
  wasm.zeroGrad();
  const ws = { h: Float32Array.from(state0.h), c: Float32Array.from(state0.c) };
  const { stateGrad } = wasm.forwardBackward(X, Y, ws);
  const dState = { h: stateGrad.h.slice(), c: stateGrad.c.slice() };

  const expectClose = (analytic: ArrayLike<number>, expected: number[], what: string): void => {
    const scale = Math.max(...expected.map(Math.abs));
    expect(scale, `${what} is not vacuous`).toBeGreaterThan(1e-6);
    for (let i = 0; i < expected.length; i++) {
      if (Math.abs(analytic[i]! - expected[i]!) > 1e-4 * scale) {
        expect.fail(`${what}[${i}]: wasm ${analytic[i]}, float64 finite difference ${expected[i]}`);
      }
    }
  };

  it('all 14 parameters', () => {
    const refParams = reference.parameters();
    wasm.parameters().forEach((p, k) => {
      const data = refParams[k]!.data;
      const expected = Array.from(data, (_, i) => numeric(data, i, () => reference.loss(X, Y, copyState())));
      expectClose(p.grad, expected, p.name);
    });
  });

  it('the incoming state', () => {
    for (const key of ['h', 'c'] as const) {
      const expected = Array.from(state0[key], (_, i) => numeric(state0[key], i, () => reference.loss(X, Y, copyState())));
      expectClose(dState[key], expected, `d${key}0`);
    }
  });
});
