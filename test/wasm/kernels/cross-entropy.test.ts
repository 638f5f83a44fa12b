import { describe, expect, it } from 'vitest';
import { jsKernels } from '../../../src/backend/table.js';
import { Heap, simd, ulps } from '../helpers.js';

// The wasm softmax cross-entropy computes in float64 like the reference, with its own exp
// and log good to a few float64 ulp. Tolerances: the loss (a float64 sum) to 1e−12 relative;
// each float32 gradient to 1 ulp of the reference's (they differ only when the float64 value
// falls within ~1e−15 of a float32 rounding boundary).

const CASES: [number, number, number][] = [
  // M, V, logit scale
  [1, 1, 1], [1, 4, 1], [3, 5, 2], [35, 28, 3], [1120, 28, 1], [1120, 4, 5], [9, 7, 1000],
];

describe.skipIf(!simd)('wasm softmaxCrossEntropy against the reference', () => {
  for (const [M, V, scale] of CASES) {
    for (const alias of [false, true]) {
      it(`M=${M} V=${V} logits·${scale}${alias ? ', dlogits aliasing logits' : ''}`, () => {
        const h = new Heap(M * V + scale);
        const logits = h.alloc(M * V, scale);
        const dlogits = alias ? logits : h.alloc(M * V);
        const stride = 2;
        const targets = h.allocIds(M * stride, V);
        const ref = h.snapshot();
        const before = h.snapshot();
        const expected = jsKernels.softmaxCrossEntropy(ref, dlogits, ref, logits, h.i32, targets, stride, M, V, 1 / M);
        const loss = h.k.softmaxCrossEntropy(h.f32, dlogits, h.f32, logits, h.i32, targets, stride, M, V, 1 / M);
        expect(Math.abs(loss - expected)).toBeLessThanOrEqual(1e-12 * Math.abs(expected) + 1e-300);
        let worst = 0;
        for (let i = dlogits; i < dlogits + M * V; i++) worst = Math.max(worst, ulps(h.f32[i]!, ref[i]!));
        expect(worst).toBeLessThanOrEqual(1);
        expect(h.untouchedOutside(before, dlogits, M * V)).toBeUndefined();
      });
    }
  }

  it('keeps NaN logits visible as NaN, like the reference', () => {
    const h = new Heap(1);
    const logits = h.alloc(8);
    h.f32[logits + 2] = NaN;
    const targets = h.allocIds(2, 4);
    const loss = h.k.softmaxCrossEntropy(h.f32, logits, h.f32, logits, h.i32, targets, 1, 2, 4, 0.5);
    expect(loss).toBeNaN();
    expect(h.f32[logits]).toBeNaN();
    expect(Number.isFinite(h.f32[logits + 4]!)).toBe(true);
  });
});
