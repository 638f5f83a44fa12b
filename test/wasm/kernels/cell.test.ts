import { describe, expect, it } from 'vitest';
import { jsKernels } from '../../../src/backend/table.js';
import { Heap, simd } from '../helpers.js';

// The LSTM cell kernels against the reference run in float64 on the same float32 inputs.
// Tolerance: 1e−6 relative to the magnitude of the terms that formed each value (e.g.
// |F·C_prev| + |I·Ĉ| for C) — about 8 float32 ulp of the largest term: σ and tanh are good
// to ~2–3 ulp, and each float32 product or sum adds half an ulp. Relative to the value
// itself would be wrong where terms cancel, which no float32 code can avoid.

const TOL = 1e-6;
const SIZES = [1, 3, 4, 7, 8, 13, 8192];

function within(got: number, expected: number, scale: number, what: string): void {
  if (!(Math.abs(got - expected) <= TOL * scale + 1e-37)) throw new Error(`${what}: got ${got}, expected ${expected} (scale ${scale})`);
}

// Gate blocks contiguous (gs = n) or strided (gs > n, as the model keeps them over time).
const CASES = SIZES.flatMap((n) => [[n, n], [n, n + 5]] as const);

describe.skipIf(!simd)('wasm lstmCellForward against the reference', () => {
  for (const [n, gs] of CASES) {
    it(`n = ${n}, gate stride ${gs}`, () => {
      const h = new Heap(n + gs);
      const gates = h.alloc(3 * gs + n, 4); // pre-activations up to ±16: saturated gates included
      const cPrev = h.alloc(n, 2);
      const c = h.alloc(n);
      const tanhC = h.alloc(n);
      const hh = h.alloc(n);
      const ref = h.float64();
      const z = h.snapshot();
      jsKernels.lstmCellForward(ref, gates, ref, cPrev, ref, c, ref, tanhC, ref, hh, gs, n);
      h.k.lstmCellForward(h.f32, gates, h.f32, cPrev, h.f32, c, h.f32, tanhC, h.f32, hh, gs, n);
      for (let k = 0; k < n; k++) {
        for (let g = 0; g < 4; g++) {
          const at = gates + g * gs + k;
          within(h.f32[at]!, ref[at]!, Math.abs(ref[at]!), `gate ${g}[${k}] of ${z[at]}`);
        }
        const [I, F, O, cHat] = [0, 1, 2, 3].map((g) => ref[gates + g * gs + k]!) as [number, number, number, number];
        const cScale = Math.abs(F * z[cPrev + k]!) + Math.abs(I * cHat);
        within(h.f32[c + k]!, ref[c + k]!, cScale, `c[${k}]`);
        within(h.f32[tanhC + k]!, ref[tanhC + k]!, Math.abs(ref[tanhC + k]!) + cScale, `tanhC[${k}]`);
        within(h.f32[hh + k]!, ref[hh + k]!, O * (Math.abs(ref[tanhC + k]!) + cScale), `h[${k}]`);
      }
    });
  }

  it('saturates on extreme pre-activations without NaN', () => {
    const h = new Heap(1);
    const n = 4;
    const gates = h.alloc(4 * n);
    h.f32.set([100, -100, 1e30, -1e30, /* f */ -100, 100, 0, 1e30, /* o */ 100, 100, -100, 0, /* c */ 50, -50, 1e30, -0], gates);
    const cPrev = h.alloc(n);
    h.f32.set([3, 3, -1, 2], cPrev);
    const c = h.alloc(n);
    const tanhC = h.alloc(n);
    const hh = h.alloc(n);
    h.k.lstmCellForward(h.f32, gates, h.f32, cPrev, h.f32, c, h.f32, tanhC, h.f32, hh, n, n);
    expect([...h.f32.subarray(gates, gates + 4 * n)]).toEqual([1, 0, 1, 0, 0, 1, 0.5, 1, 1, 1, 0, 0.5, 1, -1, 1, -0]);
    expect([...h.f32.subarray(c, c + n)]).toEqual([1, 3, 0.5, 2]);
  });
});

describe.skipIf(!simd)('wasm lstmCellBackward against the reference', () => {
  for (const [n, gs] of CASES) {
    it(`n = ${n}, gate stride ${gs}`, () => {
      const h = new Heap(n + gs + 100);
      const dGates = h.alloc(3 * gs + n);
      const gates = h.alloc(3 * gs + n);
      // Activations as forward leaves them: σ ∈ (0, 1) for i, f, o and tanh ∈ (−1, 1) for Ĉ.
      for (let k = 0; k < 3 * gs + n; k++) {
        const z = h.f32[gates + k]! * 3;
        h.f32[gates + k] = k < 3 * gs ? 1 / (1 + Math.exp(-z)) : Math.tanh(z);
      }
      const cPrev = h.alloc(n, 2);
      const tanhC = h.alloc(n);
      for (let k = 0; k < n; k++) h.f32[tanhC + k] = Math.tanh(h.f32[tanhC + k]! * 3);
      const dH = h.alloc(n);
      const dC = h.alloc(n);
      const z = h.snapshot();
      const ref = h.float64();
      const before = h.snapshot();
      jsKernels.lstmCellBackward(ref, dGates, ref, gates, ref, cPrev, ref, tanhC, ref, dH, ref, dC, gs, n);
      h.k.lstmCellBackward(h.f32, dGates, h.f32, gates, h.f32, cPrev, h.f32, tanhC, h.f32, dH, h.f32, dC, gs, n);
      for (let k = 0; k < n; k++) {
        const [I, F, O, cHat] = [0, 1, 2, 3].map((g) => z[gates + g * gs + k]!) as [number, number, number, number];
        const tc = z[tanhC + k]!;
        const dh = Math.abs(z[dH + k]!);
        const dCtScale = Math.abs(z[dC + k]!) + dh * O * (1 + tc * tc);
        within(h.f32[dC + k]!, ref[dC + k]!, dCtScale * F, `dC[${k}]`);
        within(h.f32[dGates + k]!, ref[dGates + k]!, dCtScale * Math.abs(cHat) * I * (1 - I), `dZi[${k}]`);
        within(h.f32[dGates + gs + k]!, ref[dGates + gs + k]!, dCtScale * Math.abs(z[cPrev + k]!) * F * (1 - F), `dZf[${k}]`);
        within(h.f32[dGates + 2 * gs + k]!, ref[dGates + 2 * gs + k]!, dh * Math.abs(tc) * O * (1 - O), `dZo[${k}]`);
        within(h.f32[dGates + 3 * gs + k]!, ref[dGates + 3 * gs + k]!, dCtScale * I * (1 - cHat * cHat), `dZc[${k}]`);
      }
      // Only the dGates blocks and dC are written.
      const inBlock = (i: number) => i >= dGates && i < dGates + 3 * gs + n && (i - dGates) % gs < n;
      const changed = [...before.keys()].filter((i) => !Object.is(before[i], h.f32[i]));
      expect(changed.every((i) => inBlock(i) || (i >= dC && i < dC + n))).toBe(true);
    });
  }
});
