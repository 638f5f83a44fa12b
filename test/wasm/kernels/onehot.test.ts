import { describe, expect, it } from 'vitest';
import { jsKernels } from '../../../src/backend/table.js';
import { Heap, simd } from '../helpers.js';

// Row copies and additions in the reference's order: bit-identical to it.
// Ids are read at ids[io + i·stride]; stride 3 reads one column of a row-major id matrix.

const CASES: [number, number, number, number][] = [
  // M, N, V, stride
  [1, 1, 1, 1], [5, 3, 4, 1], [7, 9, 28, 3], [32, 256, 28, 1], [35, 256, 4, 32], [13, 6, 5, 2],
];

describe.skipIf(!simd)('wasm one-hot kernels against the reference, bit for bit', () => {
  for (const [M, N, V, stride] of CASES) {
    it(`gatherRows (both ways) and scatterAddRows, M=${M} N=${N} V=${V} stride=${stride}`, () => {
      const h = new Heap(M + N + V);
      const w = h.alloc(V * N);
      const ids = h.allocIds(M * stride + 2, V);
      const io = ids + 1;
      for (const accumulate of [false, true]) {
        const out = h.alloc(M * N);
        const ref = h.snapshot();
        const before = h.snapshot();
        jsKernels.gatherRows(ref, out, ref, w, h.i32, io, stride, M, N, accumulate);
        h.k.gatherRows(h.f32, out, h.f32, w, h.i32, io, stride, M, N, accumulate);
        expect(h.f32.slice(out, out + M * N)).toEqual(ref.slice(out, out + M * N));
        expect(h.untouchedOutside(before, out, M * N)).toBeUndefined();
      }
      const dout = h.alloc(M * N);
      const ref = h.snapshot();
      const before = h.snapshot();
      jsKernels.scatterAddRows(ref, w, ref, dout, h.i32, io, stride, M, N);
      h.k.scatterAddRows(h.f32, w, h.f32, dout, h.i32, io, stride, M, N);
      expect(h.f32.slice(w, w + V * N)).toEqual(ref.slice(w, w + V * N));
      expect(h.untouchedOutside(before, w, V * N)).toBeUndefined();
    });
  }
});
