// The recurrence's forward product when it is split by hidden units (planSplit's `byUnits`),
// as each part runs it at every step: Z_g[:, j0:j0+J] += H_{t-1} · W_hg[:, j0:j0+J] for the
// four gates, B = 32, H = 1024, in H/J parts one after another on this thread, GFLOP/s:
//   in place — W_hg's column block read where it is (matmulStrided, rows H floats apart: every
//              one of its H rows on its own 4 KiB page, 4·J bytes of it used), as layer.ts does;
//   packed   — the same block stored contiguously (H×J), as a per-call copy by each part could
//              make it (not built: it needs a product whose out rows are ld apart and b's N).
//
//   node --import tsx bench/units.ts
import { createWasmKernels, WASM_SCRATCH_BYTES, wasmSimdSupported } from '../src/backend/wasm.js';
import { time } from './lib/timing.js';

if (!wasmSimdSupported()) throw new Error('WebAssembly SIMD is not supported by this engine.');
const memory = new WebAssembly.Memory({ initial: 8192 }); // 512 MiB
const f = new Float32Array(memory.buffer);
const B = 32, H = 1024, HH = H * H;
const A = 0, W = 1 << 20, OUT = W + 4 * HH, PACKED = OUT + 4 * B * H;
for (let i = 0; i < PACKED + 4 * HH; i++) f[i] = Math.sin(i) * 0.1;
const k = createWasmKernels(memory, { scratch: memory.buffer.byteLength - WASM_SCRATCH_BYTES });
const rate = (seconds: number): string => ((4 * 2 * B * H * H) / seconds / 1e9).toFixed(1);

console.log(`B = ${B}, H = ${H}: the four gates' products of one step, GFLOP/s (median of 5)`);
console.log('| parts | J | in place | packed |');
console.log('|---:|---:|---:|---:|');
for (const J of [1024, 512, 128, 64]) {
  const parts = H / J;
  const inPlace = time(() => {
    for (let p = 0; p < parts; p++) {
      for (let g = 0; g < 4; g++) k.matmulStrided(f, OUT + g * B * H + p * J, f, A, f, W + g * HH + p * J, B, H, J, H, true);
    }
  }, 5, 0.3);
  const packed = time(() => {
    for (let p = 0; p < parts; p++) {
      for (let g = 0; g < 4; g++) k.matmul(f, OUT + g * B * H + p * B * J, f, A, f, PACKED + g * HH + p * H * J, B, H, J, true);
    }
  }, 5, 0.3);
  console.log(`| ${parts} | ${J} | ${rate(inPlace)} | ${rate(packed)} |`);
}
