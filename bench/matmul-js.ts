// The TypeScript matrix products against the simple loops they replaced, GFLOP/s at the
// LSTM's shapes (B = 32, H = 256, T = 35, V = 28), Float32Array, both in the same process
// so that a noisy machine affects both alike. Median of 7 timed runs. Also checks that both
// give the same result (max relative difference, float32 rounding only).
//
//   node --import tsx bench/matmul-js.ts
import { Random } from '../src/tensor/random.js';
import { matmul, matmulNT, matmulTN } from '../src/tensor/matmul.js';
import { time } from './lib/timing.js';

type Product = (out: Float32Array, o: number, a: Float32Array, ao: number, b: Float32Array, bo: number,
  M: number, K: number, N: number, accumulate: boolean) => void;

// The baseline: the kernels as they were before register blocking (i-k-j, k-i-j, dot products).
const naive: Record<string, Product> = {
  matmul(out, o, a, ao, b, bo, M, K, N, accumulate) {
    for (let i = 0; i < M; i++) {
      const oi = o + i * N;
      if (!accumulate) out.fill(0, oi, oi + N);
      const ai = ao + i * K;
      for (let k = 0; k < K; k++) {
        const aik = a[ai + k]!;
        const bk = bo + k * N;
        for (let j = 0; j < N; j++) out[oi + j]! += aik * b[bk + j]!;
      }
    }
  },
  matmulTN(out, o, a, ao, b, bo, M, K, N, accumulate) {
    if (!accumulate) out.fill(0, o, o + M * N);
    for (let k = 0; k < K; k++) {
      const ak = ao + k * M;
      const bk = bo + k * N;
      for (let i = 0; i < M; i++) {
        const aki = a[ak + i]!;
        const oi = o + i * N;
        for (let j = 0; j < N; j++) out[oi + j]! += aki * b[bk + j]!;
      }
    }
  },
  matmulNT(out, o, a, ao, b, bo, M, K, N, accumulate) {
    for (let i = 0; i < M; i++) {
      const ai = ao + i * K;
      const oi = o + i * N;
      for (let j = 0; j < N; j++) {
        const bj = bo + j * K;
        let s = 0;
        for (let k = 0; k < K; k++) s += a[ai + k]! * b[bj + k]!;
        out[oi + j] = accumulate ? out[oi + j]! + s : s;
      }
    }
  },
};
const blocked: Record<string, Product> = { matmul, matmulTN, matmulNT };


const B = 32, H = 256, T = 35, V = 28;
const products: [string, string, number, number, number, boolean][] = [
  ['Z += H_{t-1}·W_h (1 gate)', 'matmul', B, H, H, true],
  ['logits = Hs·W_hq', 'matmul', T * B, H, V, false],
  ['dW_h += H_{t-1}ᵀ·dZ (1 gate)', 'matmulTN', H, B, H, true],
  ['dW_hq += Hsᵀ·dlogits', 'matmulTN', H, T * B, V, true],
  ['dH_{t-1} += dZ·W_hᵀ (1 gate)', 'matmulNT', B, H, H, true],
  ['dHs = dlogits·W_hqᵀ', 'matmulNT', T * B, V, H, false],
  ['Z += H_{t-1}·W_h (4 gates)', 'matmul', B, H, 4 * H, true],
  ['predict, batch 1 (4 gates)', 'matmul', 1, H, 4 * H, true],
  ['generate, batch 1 (1 gate)', 'matmul', 1, H, H, true],
  ['generate, batch 1, logits (V = 65)', 'matmul', 1, H, 65, false],
];

const rng = new Random(1);
const randn = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal() * 0.1);

console.log('TypeScript matrix products on Float32Array, GFLOP/s (2·M·K·N per call), median of 7 runs');
console.log('| product | kernel | M×K×N | before | after | speed-up | max rel. diff |');
console.log('|---|---|---|---:|---:|---:|---:|');
for (const [label, name, M, K, N, accumulate] of products) {
  // Operand shapes as stored: TN reads a as K×M, NT reads b as N×K; both have M·K and K·N elements.
  const a = randn(M * K), b = randn(K * N), out = randn(M * N);
  const expected = out.slice(), actual = out.slice();
  naive[name]!(expected, 0, a, 0, b, 0, M, K, N, accumulate);
  blocked[name]!(actual, 0, a, 0, b, 0, M, K, N, accumulate);
  let diff = 0, scale = 0;
  for (let i = 0; i < M * N; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  const flops = 2 * M * K * N;
  const before = flops / time(() => naive[name]!(out, 0, a, 0, b, 0, M, K, N, accumulate)) / 1e9;
  const after = flops / time(() => blocked[name]!(out, 0, a, 0, b, 0, M, K, N, accumulate)) / 1e9;
  console.log(`| ${label} | ${name} | ${M}×${K}×${N} | ${before.toFixed(2)} | ${after.toFixed(2)} | `
    + `${(after / before).toFixed(1)}× | ${(diff / scale).toExponential(1)} |`);
}
