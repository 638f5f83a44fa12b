import { expect } from 'vitest';
import type { Kernels } from '../../src/backend/table.js';
import { createWasmKernels } from '../../src/backend/wasm.js';

// The phase the pool tests run (pool.test.ts with real workers, pool-mutation.test.ts with
// fake ones), on a small shared memory: each part runs T steps of an accumulating product and
// a cross-entropy over its own region — its bits depend on the order of every call, and the
// cross-entropies' return values are what the pool sums. `reference` runs the parts one after
// another on this thread: what every pool must reproduce, bit for bit.

export const M = 2, K = 4, N = 3; // each step: out (M×N) += a_t (M×K) · b (K×N), then a cross-entropy over out
export const A = 0, B_ = A + 4 * M * K, IDS = B_ + K * N, REGIONS = IDS + M; // element offsets
export const region = (part: number): number => REGIONS + part * 2 * M * N; // out, then dlogits

export function setup() {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true });
  const f = new Float32Array(memory.buffer);
  const ids = new Int32Array(memory.buffer);
  for (let i = 0; i < 4 * M * K; i++) f[A + i] = Math.sin(i + 1) * 1e-3;
  for (let i = 0; i < K * N; i++) f[B_ + i] = Math.cos(i + 1);
  ids[IDS] = 1;
  ids[IDS + 1] = 2;
  return { memory, local: createWasmKernels(memory), f, ids };
}

export interface PhaseHooks {
  /** Runs as part 0 starts (after the other parts were posted, before they are waited for). */
  before0?: () => void;
  /** Runs before each step of each part; may throw to interrupt it. */
  fail?: (part: number, t: number) => void;
  /** The cross-entropies' scale (default 1 / T). */
  scale?: number;
}

/** A phase of T steps per part. */
export function phase(f: Float32Array, ids: Int32Array, T: number, hooks: PhaseHooks = {}) {
  const scale = hooks.scale ?? 1 / T;
  return (k: Kernels, part: number): number => {
    if (part === 0) hooks.before0?.();
    const out = region(part), dl = out + M * N;
    let loss = 0;
    for (let t = 0; t < T; t++) {
      hooks.fail?.(part, t);
      k.matmul(f, out, f, A + (t % 4) * M * K, f, B_, M, K, N, true);
      loss += k.softmaxCrossEntropy(f, dl, f, out, ids, IDS, 1, M, N, scale);
    }
    return loss;
  };
}

/** The same phase's parts run one after another here. */
export function reference(T: number, parts: number, hooks: Pick<PhaseHooks, 'scale'> = {}): { total: number; bytes: Float32Array } {
  const { local, f, ids } = setup();
  const run = phase(f, ids, T, hooks);
  let total = run(local, 0);
  for (let p = 1; p < parts; p++) total += run(local, p);
  return { total, bytes: f.slice(REGIONS, region(parts)) };
}

/** The same total and the same bytes (bit for bit: −0 is not 0, NaN payloads count). */
export function expectSame(actual: { total: number; bytes: Float32Array }, expected: { total: number; bytes: Float32Array }): void {
  expect(Object.is(actual.total, expected.total)).toBe(true);
  expect(Buffer.from(actual.bytes.buffer, actual.bytes.byteOffset, actual.bytes.byteLength)
    .equals(Buffer.from(expected.bytes.buffer, expected.bytes.byteOffset, expected.bytes.byteLength))).toBe(true);
}
