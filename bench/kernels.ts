// Kernel micro-benchmark: GFLOP/s of each matrix product at the LSTM's shapes (B = 32,
// H = 256, T = 35, V = 28 or 4), TypeScript reference vs WebAssembly SIMD, and µs per call
// of the elementwise kernels at n = B·H = 8192. Median of several timed runs.
//
//   node --import tsx bench/kernels.ts
import { performance } from 'node:perf_hooks';
import { Random } from '../src/tensor/random.js';
import { type Kernels, jsKernels } from '../src/tensor/kernels.js';
import { createWasmKernels, wasmSimdSupported } from '../src/wasm/index.js';

if (!wasmSimdSupported()) throw new Error('WebAssembly SIMD is not supported by this engine.');

const B = 32, H = 256, T = 35;
const memory = new WebAssembly.Memory({ initial: 2048 }); // 128 MiB
const heap = new Float32Array(memory.buffer);
const ids = new Int32Array(memory.buffer);
const wasm = createWasmKernels(memory);
const rng = new Random(1);
let top = 0;
function alloc(n: number, scale = 1): number {
  const o = top;
  top += (n + 15) & ~15; // 64-byte aligned regions, as a model's allocator would give
  for (let i = 0; i < n; i++) heap[o + i] = rng.normal() * scale;
  return o;
}

/** Median seconds per call of fn, over `runs` runs each lasting ≥ minSeconds. */
function time(fn: () => void, runs = 7, minSeconds = 0.05): number {
  fn();
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) fn();
    if ((performance.now() - t0) / 1000 >= minSeconds) break;
    reps *= 2;
  }
  const samples: number[] = [];
  for (let s = 0; s < runs; s++) {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) fn();
    samples.push((performance.now() - t0) / 1000 / reps);
  }
  samples.sort((x, y) => x - y);
  return samples[runs >> 1]!;
}

type Variant = 'matmul' | 'matmulTN' | 'matmulNT';
const products: [string, Variant, number, number, number][] = [
  ['forward recurrent, 4 gates  H·W_h', 'matmul', B, H, 4 * H],
  ['forward recurrent, 1 gate', 'matmul', B, H, H],
  ['output projection (V=28)', 'matmul', T * B, H, 28],
  ['output projection (V=4)', 'matmul', T * B, H, 4],
  ['dW_h += H_{t-1}ᵀ·dZ (4 gates)', 'matmulTN', H, B, 4 * H],
  ['dW_hq += Hsᵀ·dlogits (V=28)', 'matmulTN', H, T * B, 28],
  ['dW_hq += Hsᵀ·dlogits (V=4)', 'matmulTN', H, T * B, 4],
  ['dH_{t-1} += dZ·W_hᵀ (4 gates)', 'matmulNT', B, 4 * H, H],
  ['dH_{t-1} += dZ·W_hᵀ (1 gate)', 'matmulNT', B, H, H],
  ['dHs = dlogits·W_hqᵀ (V=28)', 'matmulNT', T * B, 28, H],
  ['dHs = dlogits·W_hqᵀ (V=4)', 'matmulNT', T * B, 4, H],
];

console.log('Matrix products, GFLOP/s (2·M·K·N flops per call), median of 7 runs');
console.log('| product | kernel | M×K×N | JS | wasm | speed-up |');
console.log('|---|---|---|---:|---:|---:|');
for (const [label, variant, M, K, N] of products) {
  const a = alloc(M * K, 0.1);
  const b = alloc(K * N, 0.1);
  const out = alloc(M * N);
  const flops = 2 * M * K * N;
  const js = flops / time(() => jsKernels[variant](heap, out, heap, a, heap, b, M, K, N, true), 3) / 1e9;
  const wa = flops / time(() => wasm[variant](heap, out, heap, a, heap, b, M, K, N, true)) / 1e9;
  console.log(`| ${label} | ${variant} | ${M}×${K}×${N} | ${js.toFixed(2)} | ${wa.toFixed(1)} | ${(wa / js).toFixed(1)}× |`);
}

const n = B * H;
const gates = alloc(4 * n, 2);
const gatesCopy = heap.slice(gates, gates + 4 * n);
const dGates = alloc(4 * n);
const [cPrev, c, tanhC, h, dH, dC] = [alloc(n), alloc(n), alloc(n), alloc(n), alloc(n), alloc(n)];
const V = 28;
const logits = alloc(T * B * V, 2);
const dlogits = alloc(T * B * V);
const targets = top;
top += T * B;
for (let i = 0; i < T * B; i++) ids[targets + i] = rng.int(V);
const bias = alloc(4 * H);
const zs = alloc(B * 4 * H);

const reset = (): void => heap.set(gatesCopy, gates); // forward works in place
const elementwise: [string, (k: Kernels<Float32Array, Int32Array>) => void][] = [
  ['lstmCellForward (n = 8192)', (k) => { reset(); k.lstmCellForward(heap, gates, heap, cPrev, heap, c, heap, tanhC, heap, h, n, n); }],
  ['lstmCellBackward (n = 8192)', (k) => k.lstmCellBackward(heap, dGates, heap, gates, heap, cPrev, heap, tanhC, heap, dH, heap, dC, n, n)],
  ['addBias (32×1024)', (k) => k.addBias(heap, zs, heap, bias, B, 4 * H)],
  ['addBiasBackward (32×1024)', (k) => k.addBiasBackward(heap, bias, heap, zs, B, 4 * H)],
  ['softmaxCrossEntropy (1120×28)', (k) => { k.softmaxCrossEntropy(heap, dlogits, heap, logits, ids, targets, 1, T * B, V, 1 / (T * B)); }],
];
const resetOnly = time(reset);
console.log('\nElementwise kernels, µs per call, median of 7 runs');
console.log('| kernel | JS | wasm | speed-up |');
console.log('|---|---:|---:|---:|');
for (const [label, fn] of elementwise) {
  const extra = label.startsWith('lstmCellForward') ? resetOnly : 0; // subtract the input reset
  const js = (time(() => fn(jsKernels)) - extra) * 1e6;
  const wa = (time(() => fn(wasm)) - extra) * 1e6;
  console.log(`| ${label} | ${js.toFixed(1)} | ${wa.toFixed(1)} | ${(js / wa).toFixed(1)}× |`);
}
