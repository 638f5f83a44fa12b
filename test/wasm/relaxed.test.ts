import { describe, expect, it } from 'vitest';
import { jsKernels } from '../../src/backend/table.js';
import { createWasmKernels, kernelModuleBytes, WASM_SCRATCH_BYTES, wasmRelaxedSimdSupported } from '../../src/backend/wasm.js';
import { Heap, simd } from './helpers.js';

// The relaxed-SIMD variant of the module (f32x4.relaxed_madd in the products), FORCED here
// whatever the default. It runs only where the engine validates relaxed SIMD (Node ≥ 22,
// Chrome ≥ 114): `npm test` runs it under Node 22 (scripts/test-relaxed.mjs, which installs
// one from the npm registry if needed); the main vitest run on Node 20 excludes this file.

const relaxed = simd && wasmRelaxedSimdSupported();
if (!relaxed && process.env.LSTM_LM_RELAXED === '1') {
  // scripts/test-relaxed.mjs runs this file under Node ≥ 22: there it must run, not skip.
  throw new Error(`Expected an engine with relaxed SIMD (Node ≥ 22) under LSTM_LM_RELAXED=1, got Node ${process.version}.`);
}
if (!relaxed) {
  console.warn(
    `SKIPPING the relaxed-SIMD kernel tests: this engine (Node ${process.version}) does not validate ` +
      'f32x4.relaxed_madd (relaxed SIMD ships in Node ≥ 22 and Chrome ≥ 114). Run test/wasm under Node 22 to test that path.',
  );
}

type Variant = 'matmul' | 'matmulTN' | 'matmulNT';
const SHAPES: [number, number, number][] = [
  [1, 1, 1], [1, 5, 1], [1, 7, 65], [1, 256, 256], [1, 300, 1027], [2, 9, 13], [3, 129, 33], [5, 9, 13], [7, 3, 2],
  [13, 17, 29], [33, 37, 41], [32, 256, 1024], [1120, 256, 28], [256, 32, 1024], [32, 1024, 256], [65, 300, 19], [6, 0, 5],
];
const layout = {
  matmul: (M: number, K: number, N: number) => ({ a: (i: number, k: number) => i * K + k, b: (k: number, j: number) => k * N + j }),
  matmulTN: (M: number, K: number, N: number) => ({ a: (i: number, k: number) => k * M + i, b: (k: number, j: number) => k * N + j }),
  matmulNT: (M: number, K: number, N: number) => ({ a: (i: number, k: number) => i * K + k, b: (k: number, j: number) => j * K + k }),
};

/**
 * The relaxed product against the float64 reference, with the bound test/wasm/kernels/matmul
 * uses for the plain one: 2·(K + 2)·2⁻²⁴ · (Σ_k |a·b| (+ |out|)). A fused multiply-add rounds
 * once where mul then add rounds twice, so the plain bound holds a fortiori. Returns how many
 * outputs differ from the plain module's (the fusion at work; 0 on a CPU without FMA).
 */
function check(variant: Variant, M: number, K: number, N: number, accumulate: boolean, seed: number): number {
  const h = new Heap(seed, { relaxed: true });
  expect(h.k.relaxed).toBe(true);
  const a = h.alloc(M * K), b = h.alloc(K * N), o = h.alloc(M * N), p = h.alloc(M * N);
  h.f32.copyWithin(p, o, o + M * N);
  const before = h.snapshot();
  const ref = h.float64();
  jsKernels[variant](ref, o, ref, a, ref, b, M, K, N, accumulate);
  h.k[variant](h.f32, o, h.f32, a, h.f32, b, M, K, N, accumulate);
  expect(h.untouchedOutside(before, o, M * N)).toBeUndefined();
  createWasmKernels(h.memory, { relaxed: false })[variant](h.f32, p, h.f32, a, h.f32, b, M, K, N, accumulate);
  const at = layout[variant](M, K, N);
  const gamma = 2 * (K + 2) * 2 ** -24;
  let differ = 0;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let scale = accumulate ? Math.abs(before[o + i * N + j]!) : 0;
      for (let k = 0; k < K; k++) scale += Math.abs(before[a + at.a(i, k)]! * before[b + at.b(k, j)]!);
      const got = h.f32[o + i * N + j]!;
      if (!(Math.abs(got - ref[o + i * N + j]!) <= gamma * scale)) {
        throw new Error(`relaxed ${variant} ${M}×${K}×${N} acc=${accumulate}: out[${i}, ${j}] = ${got}, expected ${ref[o + i * N + j]}`);
      }
      if (!Object.is(got, h.f32[p + i * N + j])) differ++;
    }
  }
  return differ;
}

describe('relaxed SIMD', () => {
  it('is refused clearly where the engine lacks it, and used by default where it has it', () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    if (relaxed) {
      expect(createWasmKernels(memory).relaxed).toBe(true);
      expect(createWasmKernels(memory, { relaxed: false }).relaxed).toBe(false);
      expect(WebAssembly.validate(kernelModuleBytes(true, { relaxed: true }))).toBe(true);
    } else {
      expect(createWasmKernels(memory).relaxed).toBe(false);
      expect(() => createWasmKernels(memory, { relaxed: true })).toThrow(/relaxed SIMD .*lacks it/);
      expect(() => kernelModuleBytes(false, { relaxed: true })).toThrow(/relaxed SIMD/);
    }
  });

  it('changes only the products: the plain and relaxed modules differ, relaxed_madd (0xFD 0x85 0x02) only in the relaxed one', () => {
    if (!simd) return;
    const has = (bytes: Uint8Array): boolean => bytes.some((x, i) => x === 0xfd && bytes[i + 1] === 0x85 && bytes[i + 2] === 0x02);
    expect(has(kernelModuleBytes(false, { relaxed: false }))).toBe(false);
    if (relaxed) expect(has(kernelModuleBytes(false, { relaxed: true }))).toBe(true);
  });
});

describe.skipIf(!relaxed)(`relaxed-SIMD products against the reference${relaxed ? '' : ` — SKIPPED: Node ${process.version} lacks relaxed SIMD`}`, () => {
  for (const variant of ['matmul', 'matmulTN', 'matmulNT'] as const) {
    it(`${variant}: every shape within the plain bound, overwriting and accumulating`, () => {
      let differ = 0, total = 0;
      for (const [M, K, N] of SHAPES) {
        differ += check(variant, M, K, N, false, M * 1000 + K * 10 + N);
        differ += check(variant, M, K, N, true, M * 1000 + K * 10 + N + 1);
        total += 2 * M * N;
      }
      console.log(`relaxed ${variant}: ${differ} of ${total} outputs differ from the plain module (fused rounding)`);
    });
  }

  it('is deterministic and a row does not depend on the rows around it', () => {
    const h = new Heap(3, { relaxed: true });
    const [M, K, N] = [37, 301, 70];
    const a = h.alloc(M * K), b = h.alloc(K * N), o1 = h.alloc(M * N), o2 = h.alloc(M * N);
    h.k.matmul(h.f32, o1, h.f32, a, h.f32, b, M, K, N, false);
    for (const [i0, i1] of [[0, 16], [16, 17], [17, 19], [19, M]] as const) {
      h.k.matmul(h.f32, o2 + i0 * N, h.f32, a + i0 * K, h.f32, b, i1 - i0, K, N, false);
    }
    expect(h.f32.subarray(o2, o2 + M * N)).toEqual(h.f32.subarray(o1, o1 + M * N));
  });

  it('packed panels (an instance with scratch) give the same bits as the products in place', () => {
    const h = new Heap(5, { relaxed: true });
    const s = (h.alloc(WASM_SCRATCH_BYTES / 4 + 4) + 3) & ~3; // 16-byte aligned
    const packed = createWasmKernels(h.memory, { relaxed: true, scratch: 4 * s });
    const shapes: [Variant, number, number, number][] = [
      ['matmul', 32, 300, 1024], ['matmul', 7, 9, 515], ['matmulTN', 600, 140, 520], ['matmulTN', 520, 9, 13], ['matmulTN', 9, 130, 517],
    ];
    for (const [variant, M, K, N] of shapes) {
      const a = h.alloc(M * K), b = h.alloc(K * N), o1 = h.alloc(M * N), o2 = h.alloc(M * N);
      h.f32.copyWithin(o2, o1, o1 + M * N);
      h.k[variant](h.f32, o1, h.f32, a, h.f32, b, M, K, N, true);
      packed[variant](h.f32, o2, h.f32, a, h.f32, b, M, K, N, true);
      expect(h.f32.subarray(o2, o2 + M * N)).toEqual(h.f32.subarray(o1, o1 + M * N));
    }
  });
});
