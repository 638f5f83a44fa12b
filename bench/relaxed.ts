// GFLOP/s of the matrix products, plain SIMD against relaxed SIMD (f32x4.relaxed_madd), both
// module variants in one process on the same buffers. Needs an engine with relaxed SIMD:
//
//   /tmp/node22/node_modules/.bin/node --import tsx bench/relaxed.ts
//
// Shapes: one training step's products at H = 256 and 1024 (B = 32, T = 35, N = T·B = 1120,
// V = 28; the per-step ones cycle over 4 gate weights as training does) and the batch-1
// products of generation (1×H·H×H over 12 weights, 1×H·H×65). Median of 7 runs each.
import os from 'node:os';
import { Random } from '../src/tensor/random.js';
import { createWasmKernels, WASM_SCRATCH_BYTES, wasmRelaxedSimdSupported, wasmSimdSupported } from '../src/backend/wasm.js';
import { time } from './lib/timing.js';

if (!wasmSimdSupported()) throw new Error('WebAssembly SIMD is not supported by this engine.');
if (!wasmRelaxedSimdSupported()) throw new Error(`Node ${process.version} lacks relaxed SIMD: run this under Node ≥ 22.`);

const memory = new WebAssembly.Memory({ initial: 4096 }); // 256 MiB
const heap = new Float32Array(memory.buffer);
// Each instance its own scratch (packed panels, as a model's kernels have), at the memory's end.
const scratch = (k: number): number => memory.buffer.byteLength - (k + 1) * WASM_SCRATCH_BYTES;
const plain = createWasmKernels(memory, { relaxed: false, scratch: scratch(0) }).exports;
const relaxed = createWasmKernels(memory, { relaxed: true, scratch: scratch(1) }).exports;
const rng = new Random(1);
let top = 0;
function alloc(n: number): number {
  const o = top;
  top += (n + 15) & ~15;
  for (let i = 0; i < n; i++) heap[o + i] = rng.normal() * 0.1;
  return o;
}

type Variant = 'matmul' | 'matmulTN' | 'matmulNT';
const N = 35 * 32, V = 28;
const shapes: [string, Variant, number, number, number, number][] = [];
for (const H of [256, 1024]) {
  shapes.push(
    [`Z_g += H_{t-1}·W_hg, H=${H}`, 'matmul', 32, H, H, 4],
    [`dH_{t-1} += dZ_g·W_hgᵀ, H=${H}`, 'matmulNT', 32, H, H, 4],
    [`dW_hg += H_prevᵀ·dZ_g, H=${H}`, 'matmulTN', H, N, H, 1],
    [`Y = Hs·W_hq, H=${H}`, 'matmul', N, H, V, 1],
  );
}
for (const H of [256, 512]) shapes.push([`batch 1: z += h·W_hg, H=${H}`, 'matmul', 1, H, H, 12], [`batch 1: y = h·W_hq, H=${H}`, 'matmul', 1, H, 65, 1]);

console.log(`Products, GFLOP/s, plain vs relaxed SIMD, median of 7 runs, node ${process.version}, ` +
  `${os.cpus()[0]?.model ?? '?'}, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log('| product | kernel | M×K×N | plain | relaxed | relaxed/plain |');
console.log('|---|---|---|---:|---:|---:|');
for (const [label, variant, M, K, Nn, copies] of shapes) {
  const mark = top;
  const a = alloc(M * K);
  const bs = Array.from({ length: copies }, () => alloc(K * Nn));
  const out = alloc(M * Nn);
  const flops = 2 * M * K * Nn;
  let g = 0;
  const run = (x: typeof plain) => (): void => {
    x[variant](4 * out, 4 * a, 4 * bs[g]!, M, K, Nn, 1);
    g = (g + 1) % copies;
  };
  const p = flops / time(run(plain)) / 1e9;
  const r = flops / time(run(relaxed)) / 1e9;
  console.log(`| ${label} | ${variant} | ${M}×${K}×${Nn} | ${p.toFixed(1)} | ${r.toFixed(1)} | ${(r / p).toFixed(2)}× |`);
  top = mark;
}
