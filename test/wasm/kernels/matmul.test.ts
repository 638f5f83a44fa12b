import { describe, expect, it } from 'vitest';
import { jsKernels } from '../../../src/backend/table.js';
import { createWasmKernels, WASM_SCRATCH_BYTES } from '../../../src/backend/wasm.js';
import { Heap, simd } from '../helpers.js';

// Each wasm product is compared with the reference kernel run in float64 on the same
// float32 inputs. Tolerance, per output: 2·(K + 2)·2⁻²⁴ · (Σ_k |a_ik·b_kj| + |out_ij| if
// accumulating) — the worst-case rounding bound of a float32 sum of K products in any
// order (Higham's γ_K, doubled for margin). It is tight enough that any indexing mistake
// (an O(1) relative error) fails, and it cannot fail on a correct kernel by bad luck.

type Variant = 'matmul' | 'matmulTN' | 'matmulNT';

const SHAPES: [number, number, number][] = [
  [1, 1, 1], [1, 1, 5], [1, 5, 1], [2, 3, 4], [3, 5, 7], [4, 8, 8], [5, 9, 13], [7, 3, 2], [8, 16, 9],
  [13, 17, 29], [4, 4, 12], [9, 1, 17], [33, 37, 41], [32, 64, 100], [6, 0, 5],
  // The LSTM's shapes (B = 32, H = 256, V = 28 or 4; T·B = 1120).
  [32, 256, 1024], [1120, 256, 28], [256, 32, 1024], [256, 1120, 4], [32, 1024, 256], [1120, 28, 256], [1120, 4, 256],
  // Around the cache blocks of matmul and matmulTN (row bands of 64, k chunks of 128).
  [17, 127, 9], [1, 128, 12], [17, 129, 20], [63, 257, 13], [64, 255, 8], [65, 300, 19], [129, 130, 4], [16, 256, 256],
];

// Element (i, j) strides of the operands as each variant stores them.
const layout = {
  matmul: (M: number, K: number, N: number) => ({ a: (i: number, k: number) => i * K + k, b: (k: number, j: number) => k * N + j }),
  matmulTN: (M: number, K: number, N: number) => ({ a: (i: number, k: number) => k * M + i, b: (k: number, j: number) => k * N + j }),
  matmulNT: (M: number, K: number, N: number) => ({ a: (i: number, k: number) => i * K + k, b: (k: number, j: number) => j * K + k }),
};

function check(variant: Variant, M: number, K: number, N: number, accumulate: boolean, seed: number): void {
  const h = new Heap(seed);
  const a = h.alloc(M * K);
  const b = h.alloc(K * N);
  const o = h.alloc(M * N);
  const before = h.snapshot();
  const ref = h.float64();
  jsKernels[variant](ref, o, ref, a, ref, b, M, K, N, accumulate);
  h.k[variant](h.f32, o, h.f32, a, h.f32, b, M, K, N, accumulate);
  const at = layout[variant](M, K, N);
  const gamma = 2 * (K + 2) * 2 ** -24;
  let worst = 0;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let scale = accumulate ? Math.abs(before[o + i * N + j]!) : 0;
      for (let k = 0; k < K; k++) scale += Math.abs(before[a + at.a(i, k)]! * before[b + at.b(k, j)]!);
      const err = Math.abs(h.f32[o + i * N + j]! - ref[o + i * N + j]!);
      worst = Math.max(worst, err / (gamma * scale || Number.MIN_VALUE));
      if (!(err <= gamma * scale)) {
        throw new Error(`${variant} ${M}×${K}×${N} acc=${accumulate}: out[${i}, ${j}] = ${h.f32[o + i * N + j]}, expected ${ref[o + i * N + j]}`);
      }
    }
  }
  expect(worst).toBeLessThanOrEqual(1);
  expect(h.untouchedOutside(before, o, M * N)).toBeUndefined();
}

describe.skipIf(!simd)('wasm matmul kernels against the reference', () => {
  for (const variant of ['matmul', 'matmulTN', 'matmulNT'] as const) {
    describe(variant, () => {
      for (const [M, K, N] of SHAPES) {
        it(`${M}×${K}×${N}, overwriting and accumulating`, () => {
          check(variant, M, K, N, false, M * 1000 + K * 10 + N);
          check(variant, M, K, N, true, M * 1000 + K * 10 + N + 1);
        });
      }
    });
  }

  // A model's part always makes the same calls, but on rows split across threads and at any
  // alignment: each output must not depend on either.
  it('gives bit-identical rows whatever the alignment and however the rows are split', () => {
    const [M, K, N] = [37, 301, 70];
    for (const variant of ['matmul', 'matmulNT'] as const) {
      const h = new Heap(11);
      const a = h.alloc(M * K);
      const b = h.alloc(K * N);
      const o = h.alloc(M * N);
      const o0 = h.f32.slice(o, o + M * N);
      h.k[variant](h.f32, o, h.f32, a, h.f32, b, M, K, N, true);
      for (const shift of [1, 2, 3]) {
        const [a2, b2, o2] = [h.alloc(M * K + shift) + shift, h.alloc(K * N + shift) + shift, h.alloc(M * N + shift) + shift];
        h.f32.copyWithin(a2, a, a + M * K);
        h.f32.copyWithin(b2, b, b + K * N);
        h.f32.set(o0, o2);
        for (const [i0, i1] of [[0, 16], [16, 17], [17, M]] as const) {
          h.k[variant](h.f32, o2 + i0 * N, h.f32, a2 + i0 * K, h.f32, b2, i1 - i0, K, N, true);
        }
        expect(h.f32.subarray(o2, o2 + M * N)).toEqual(h.f32.subarray(o, o + M * N));
      }
    }
  });

  // matmulStrided / matmulNTStrided compute a block of columns [j0, j1) of a product whose
  // rows are ld = H apart (the recurrence split by hidden units): each block must equal the
  // same columns of the whole product (itself checked against the reference above) bit for
  // bit, at any alignment and block boundary, and write nothing outside its block.
  const STRIDED: [number, number, number][] = [
    [1, 1, 5], [1, 64, 64], [2, 33, 40], [3, 17, 29], [4, 40, 72], [5, 130, 37], [8, 16, 9], [13, 257, 70],
    [67, 129, 24], [1, 512, 256], [2, 256, 512],
  ];
  // matmulTNStrided: a block of rows [i0, i1) of a weight gradient aᵀ·b whose operands' rows
  // are ld = H apart: each equal to the same rows of the whole matmulTN, bit for bit, with and
  // without packed panels (H ≥ 512: scratch), writing nothing outside its block.
  for (const [K, H] of [[1, 5], [33, 40], [130, 37], [257, 70], [9, 520]] as const) {
    it(`matmulTNStrided ${H}×${K}×${H}: row blocks equal the whole matmulTN bit for bit`, () => {
      const h = new Heap(K * 7 + H);
      const a = h.alloc(K * H), b = h.alloc(K * H), o = h.alloc(H * H);
      // The scratch at the memory's end, past what snapshots compare.
      const packed = createWasmKernels(h.memory, { scratch: h.memory.buffer.byteLength - WASM_SCRATCH_BYTES });
      const start = h.f32.slice(o, o + H * H);
      for (const accumulate of [false, true]) {
        h.f32.set(start, o);
        h.k.matmulTN(h.f32, o, h.f32, a, h.f32, b, H, K, H, accumulate);
        const expected = h.f32.slice(o, o + H * H);
        for (const k of [h.k, packed]) {
          for (const cuts of [[0, H], [0, 1, H], [0, 8, 13, H].filter((c) => c <= H), [0, Math.floor(H / 2), H]]) {
            h.f32.set(start, o);
            for (let p = 0; p + 1 < cuts.length; p++) {
              const i0 = cuts[p]!, i1 = cuts[p + 1]!;
              if (i1 === i0) continue;
              const check = cuts.length === 3 && !accumulate; // (a snapshot of the heap is slow: a few)
              const before = check ? h.snapshot() : undefined;
              k.matmulTNStrided(h.f32, o + i0 * H, h.f32, a + i0, h.f32, b, i1 - i0, K, H, H, accumulate);
              if (before) expect(h.untouchedOutside(before, o + i0 * H, (i1 - i0) * H)).toBeUndefined();
            }
            const got = h.f32.subarray(o, o + H * H);
            expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(expected.buffer))).toBe(true);
          }
        }
      }
    });
  }

  for (const [whole, strided] of [['matmul', 'matmulStrided'], ['matmulNT', 'matmulNTStrided']] as const) {
    for (const [M, K, H] of STRIDED) {
      it(`${strided} ${M}×${K}×${H}: column blocks equal the whole ${whole} bit for bit`, () => {
        const h = new Heap(M * 131 + K * 7 + H);
        const a = h.alloc(M * K);
        const b = h.alloc(K * H);
        const o = h.alloc(M * H);
        const start = h.f32.slice(o, o + M * H);
        for (const accumulate of [false, true]) {
          h.f32.set(start, o);
          h.k[whole](h.f32, o, h.f32, a, h.f32, b, M, K, H, accumulate);
          const expected = h.f32.slice(o, o + M * H);
          const half = Math.floor(H / 2);
          for (const cuts of [[0, H], [0, 1, H], [0, 8, 13, H], [0, half - (half % 4), H], [0, half | 1, H]]) {
            if (cuts.some((c, i) => i > 0 && c < cuts[i - 1]!)) continue;
            h.f32.set(start, o);
            for (let p = 0; p + 1 < cuts.length; p++) {
              const j0 = cuts[p]!, j1 = cuts[p + 1]!;
              if (j1 === j0) continue;
              const before = h.snapshot();
              const bAt = whole === 'matmul' ? b + j0 : b + j0 * K;
              h.k[strided](h.f32, o + j0, h.f32, a, h.f32, bAt, M, K, j1 - j0, H, accumulate);
              for (let i = 0; i < M; i++) {
                for (let j = 0; j < H; j++) {
                  const q = o + i * H + j;
                  if (j < j0 || j >= j1) expect(h.f32[q]).toBe(before[q]);
                }
              }
              expect(h.untouchedOutside(before, o, M * H)).toBeUndefined();
            }
            expect(h.f32.subarray(o, o + M * H)).toEqual(expected);
          }
        }
      });
    }
  }

  it('is deterministic: the same inputs give bit-identical outputs', () => {
    const h = new Heap(7);
    const [M, K, N] = [33, 70, 45];
    const a = h.alloc(M * K);
    const b = h.alloc(K * N);
    const o1 = h.alloc(M * N);
    const o2 = h.alloc(M * N);
    h.k.matmulNT(h.f32, o1, h.f32, a, h.f32, b, M, K, N, false);
    h.k.matmulNT(h.f32, o2, h.f32, a, h.f32, b, M, K, N, false);
    expect(h.f32.subarray(o1, o1 + M * N)).toEqual(h.f32.subarray(o2, o2 + M * N));
  });
});
