import { describe, expect, it } from 'vitest';
import { wasmRelaxedSimdSupported } from '../../../src/backend/wasm.js';
import { Heap, simd } from '../helpers.js';

// matmul and matmulTN at few rows (batch-1 generation: M = 1; numSamples 2–3) and the rows
// outside the 4-row blocks of any M are streamed along b's rows (src/wasm/kernels/matmul.ts).
// Each output is still one float32 sum in k order — out (accumulate) or 0, then + a·b rounded
// to float32 at each multiply and add — so the kernel is compared BIT FOR BIT with that sum
// computed here with Math.fround, on every path: streamed rows (pairs and a single row, U = 4
// or 8 rows of k per pass and the K mod U rest), 4-row blocks, vector and single-lane columns,
// k chunks of 128, row bands of 64 — on the plain module (relaxed SIMD fuses the multiply-add;
// test/wasm/relaxed.test.ts checks that variant). And on both variants a row gives the same
// bits whether it is computed alone (streamed) or inside a 4-row block of a bigger product, as
// the kernel did before: how a thread split cuts the rows never changes a row's result.

const fround = Math.fround;

/** out (+)= a·b as float32 k-order sums; a(i, k) at a + i·ai + k·ak. */
function float32Reference(
  f: Float32Array, o: number, a: number, ai: number, ak: number, b: number, M: number, K: number, N: number, acc: boolean,
): Float32Array {
  const r = new Float32Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = acc ? f[o + i * N + j]! : 0;
      for (let k = 0; k < K; k++) s = fround(s + fround(f[a + i * ai + k * ak]! * f[b + k * N + j]!));
      r[i * N + j] = s;
    }
  }
  return r;
}

function firstDifference(x: Float32Array, y: Float32Array, N: number): string | undefined {
  for (let e = 0; e < x.length; e++) {
    if (!Object.is(x[e], y[e])) return `out[${Math.floor(e / N)}, ${e % N}] = ${x[e]}, expected ${y[e]}`;
  }
  return undefined;
}

const MS = [1, 2, 3, 5, 6, 7, 65, 67];
const KS = [0, 1, 3, 4, 7, 8, 9, 12, 127, 128, 129, 300];
const NS = [1, 3, 4, 5, 8, 9, 31, 33, 65];

describe.skipIf(!simd)('wasm matmul at few rows: bit-identical float32 k-order sums', () => {
  for (const variant of ['matmul', 'matmulTN'] as const) {
    for (const M of MS) {
      it(`${variant}, M = ${M}, every K in [${KS.join(', ')}] × N in [${NS.join(', ')}], overwriting and accumulating`, () => {
        for (const K of KS) {
          const h = new Heap(M * 1000 + K, { relaxed: false });
          for (const N of NS) {
            for (const acc of [false, true]) {
              const a = h.alloc(M * K), b = h.alloc(K * N), o = h.alloc(M * N);
              const [ai, ak] = variant === 'matmul' ? [K, 1] : [1, M];
              const want = float32Reference(h.f32, o, a, ai, ak, b, M, K, N, acc);
              const guards = [h.f32[o - 1], h.f32[o + M * N]]; // alloc leaves a gap on each side
              h.k[variant](h.f32, o, h.f32, a, h.f32, b, M, K, N, acc);
              const diff = firstDifference(h.f32.subarray(o, o + M * N), want, N);
              if (diff !== undefined) throw new Error(`${variant} ${M}×${K}×${N} acc=${acc}: ${diff}`);
              expect([h.f32[o - 1], h.f32[o + M * N]]).toEqual(guards);
            }
          }
        }
      });
    }
  }

  const variants = wasmRelaxedSimdSupported() ? [false, true] : [false];
  it.each(variants)('computes a row alone (streamed) with the same bits as inside a 4-row block (relaxed: %s)', (relaxed) => {
    for (const [K, N] of [[256, 256], [512, 512], [512, 65], [1024, 65], [300, 1027], [7, 5]] as const) {
      const M = 8;
      const h = new Heap(K + N, { relaxed });
      const a = h.alloc(M * K), b = h.alloc(K * N), o = h.alloc(M * N), o1 = h.alloc(M * N);
      h.f32.copyWithin(o1, o, o + M * N);
      h.k.matmul(h.f32, o, h.f32, a, h.f32, b, M, K, N, true); // rows 0–7 in two 4-row blocks
      for (let i = 0; i < M; i++) h.k.matmul(h.f32, o1 + i * N, h.f32, a + i * K, h.f32, b, 1, K, N, true);
      expect(firstDifference(h.f32.subarray(o1, o1 + M * N), h.f32.subarray(o, o + M * N), N)).toBeUndefined();
      // Pairs and triples of rows too (streamed two at a time, then one).
      h.f32.copyWithin(o1, o, o + M * N);
      const o2 = h.alloc(M * N);
      h.f32.fill(0, o2, o2 + M * N);
      h.k.matmul(h.f32, o2, h.f32, a, h.f32, b, 3, K, N, false);
      h.k.matmul(h.f32, o2 + 3 * N, h.f32, a + 3 * K, h.f32, b, 2, K, N, false);
      h.k.matmul(h.f32, o2 + 5 * N, h.f32, a + 5 * K, h.f32, b, 3, K, N, false);
      const o3 = h.alloc(M * N);
      h.k.matmul(h.f32, o3, h.f32, a, h.f32, b, M, K, N, false);
      expect(firstDifference(h.f32.subarray(o2, o2 + M * N), h.f32.subarray(o3, o3 + M * N), N)).toBeUndefined();
    }
  });
});
