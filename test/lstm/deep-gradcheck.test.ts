import { describe, expect, it } from 'vitest';
import { LSTMLanguageModel } from '../../src/lstm/model.js';
import type { LSTMState } from '../../src/lstm/inputs.js';
import { Random } from '../../src/tensor/random.js';

// Finite-difference check (float64, js) of a 3-layer model with an embedding: every
// parameter and the incoming state of every layer, with dropout off and with dropout on
// under a fixed mask (the model's generator is set back to the same state before every
// evaluation, so each one draws the same masks). Tolerances and step as gradcheck.test.ts.
const V = 5, H = 3, E = 3, L = 3, B = 2, T = 3;
const EPS = 1e-6;
const TOL = 1e-6;

const relErr = (a: number, b: number): number => Math.abs(a - b) / Math.max(1e-3, Math.abs(a) + Math.abs(b));

for (const dropout of [0, 0.4]) {
  describe(`3-layer model with an embedding, gradient check (float64, dropout ${dropout})`, () => {
    const model = new LSTMLanguageModel({
      vocabSize: V, numHiddens: H, numLayers: L, embeddingSize: E, dropout, seed: 9, initScale: 0.5, dtype: 'float64', backend: 'js',
    });
    const rng = new Random(21);
    for (const p of model.parameters()) for (let i = 0; i < p.data.length; i++) p.data[i] = rng.normal() * 0.5;
    const ids = () => Array.from({ length: B }, () => Array.from({ length: T }, () => rng.int(V)));
    const X = ids(), Y = ids();
    const state0 = model.initState(B);
    for (let i = 0; i < L * B * H; i++) {
      state0.h[i] = rng.normal() * 0.5;
      state0.c[i] = rng.normal();
    }
    const copyState = (): LSTMState => ({ h: state0.h.slice(), c: state0.c.slice() });
    const masks = model.generatorState;
    const lossAt = (state: LSTMState = copyState()): number => {
      model.generatorState = masks;
      return model.forwardBackward(X, Y, state).loss;
    };

    model.zeroGrad();
    model.generatorState = masks;
    const result = model.forwardBackward(X, Y, copyState());
    const dh0 = result.stateGrad.h.slice(), dc0 = result.stateGrad.c.slice();
    const analytic = model.flatGradients.slice();

    it('the masks are fixed and not vacuous', () => {
      expect(lossAt()).toBe(result.loss);
      model.generatorState = masks;
      const other = model.loss(X, Y, copyState()); // evaluation: no dropout
      if (dropout > 0) expect(other).not.toBe(result.loss);
      else expect(other).toBe(result.loss);
    });

    for (const p of model.parameters()) {
      it(`${p.name} ${JSON.stringify(p.shape)}`, () => {
        const base = p.grad.byteOffset / p.grad.BYTES_PER_ELEMENT;
        let worst = 0, nonzero = 0;
        for (let i = 0; i < p.data.length; i++) {
          const v = p.data[i]!;
          p.data[i] = v + EPS;
          const up = lossAt();
          p.data[i] = v - EPS;
          const down = lossAt();
          p.data[i] = v;
          const numeric = (up - down) / (2 * EPS);
          if (Math.abs(numeric) > 1e-7) nonzero++;
          worst = Math.max(worst, relErr(analytic[base + i]!, numeric));
        }
        expect(nonzero).toBeGreaterThan(0);
        expect(worst).toBeLessThan(TOL);
      });
    }

    it('the incoming state h and c of every layer', () => {
      let worst = 0;
      for (const [key, grad] of [['h', dh0], ['c', dc0]] as const) {
        for (let l = 0; l < L; l++) {
          let nonzero = 0;
          for (let i = l * B * H; i < (l + 1) * B * H; i++) {
            const nudged = (delta: number): number => {
              const s = copyState();
              s[key][i]! += delta;
              return lossAt(s);
            };
            const numeric = (nudged(EPS) - nudged(-EPS)) / (2 * EPS);
            if (Math.abs(numeric) > 1e-7) nonzero++;
            worst = Math.max(worst, relErr(grad[i]!, numeric));
          }
          expect(nonzero, `layer ${l} ${key}`).toBeGreaterThan(0);
        }
      }
      expect(worst).toBeLessThan(TOL);
    });
  });
}
