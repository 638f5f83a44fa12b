import { describe, expect, it } from 'vitest';
import { jsKernels } from '../../../src/backend/table.js';
import { Heap, simd } from '../helpers.js';

// The bias and one-hot kernels perform the same float32 additions in the same order as the
// reference, so they must agree with it bit for bit (the reference run on Float32Array).

const SHAPES: [number, number][] = [[1, 1], [1, 5], [3, 4], [7, 9], [32, 1024], [1120, 28], [5, 3], [2, 13]];

describe.skipIf(!simd)('wasm bias kernels against the reference, bit for bit', () => {
  for (const [M, N] of SHAPES) {
    it(`addBias and addBiasBackward, ${M}×${N}`, () => {
      const h = new Heap(M * 31 + N);
      const bias = h.alloc(N);
      const out = h.alloc(M * N);
      const ref = h.snapshot();
      const before = h.snapshot();
      jsKernels.addBias(ref, out, ref, bias, M, N);
      h.k.addBias(h.f32, out, h.f32, bias, M, N);
      expect(h.f32.slice(out, out + M * N)).toEqual(ref.slice(out, out + M * N));
      expect(h.untouchedOutside(before, out, M * N)).toBeUndefined();

      const before2 = h.snapshot();
      jsKernels.addBiasBackward(ref, bias, ref, out, M, N);
      h.k.addBiasBackward(h.f32, bias, h.f32, out, M, N);
      expect(h.f32.slice(bias, bias + N)).toEqual(ref.slice(bias, bias + N));
      expect(h.untouchedOutside(before2, bias, N)).toBeUndefined();
    });
  }
});
