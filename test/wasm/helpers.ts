import { Random } from '../../src/tensor/random.js';
import type { KernelOptions } from '../../src/backend/table.js';
import { type WasmKernels, createWasmKernels, wasmSimdSupported } from '../../src/backend/wasm.js';

/** Whether the wasm tests can run; they are skipped, with a warning, where SIMD is missing. */
export const simd = wasmSimdSupported();
if (!simd) console.warn('WebAssembly SIMD is not supported here: SKIPPING the wasm kernel tests.');

/**
 * A wasm memory with the kernels on it and a bump allocator handing out regions of the one
 * Float32Array view (as a model does), each at a random offset that is usually not a
 * multiple of 4 floats, so kernels are tested on unaligned pointers. `options` chooses the
 * module variant (default: the engine's, relaxed SIMD where it has it).
 */
export class Heap {
  readonly memory = new WebAssembly.Memory({ initial: 1024 }); // 64 MiB
  readonly k: WasmKernels;
  readonly f32 = new Float32Array(this.memory.buffer);
  readonly i32 = new Int32Array(this.memory.buffer);
  readonly rng: Random;
  #top = 0;

  constructor(seed: number, options: KernelOptions = {}) {
    this.rng = new Random(seed);
    this.k = createWasmKernels(this.memory, options);
  }

  /** Element offset of a new region of n floats, filled with normal deviates · scale. */
  alloc(n: number, scale = 1): number {
    const o = this.#top + 1 + this.rng.int(7);
    this.#top = o + n;
    for (let i = 0; i < n; i++) this.f32[o + i] = this.rng.normal() * scale;
    return o;
  }

  /** Element offset of a new region of n int32 ids in [0, V). */
  allocIds(n: number, V: number): number {
    const o = this.#top + 1 + this.rng.int(7);
    this.#top = o + n;
    for (let i = 0; i < n; i++) this.i32[o + i] = this.rng.int(V);
    return o;
  }

  /** A float64 copy of everything allocated so far, to run the reference kernels on. */
  float64(): Float64Array {
    return Float64Array.from(this.f32.subarray(0, this.#top + 8));
  }

  /** A float32 copy of everything allocated so far. */
  snapshot(): Float32Array {
    return this.f32.slice(0, this.#top + 8);
  }

  /** Asserts that outside [o, o + n) nothing differs from `before` (no stray writes). */
  untouchedOutside(before: Float32Array, o: number, n: number): string | undefined {
    for (let i = 0; i < before.length; i++) {
      if (i >= o && i < o + n) continue;
      if (!Object.is(before[i], this.f32[i])) return `element ${i} outside [${o}, ${o + n}) changed`;
    }
    return undefined;
  }
}

/** Distance in float32 units in the last place between two float32 values (same sign). */
export function ulps(a: number, b: number): number {
  const v = new Float32Array([a, b]);
  const i = new Int32Array(v.buffer);
  if (Object.is(a, b)) return 0;
  if (Math.sign(a) !== Math.sign(b)) return Number.POSITIVE_INFINITY;
  return Math.abs(i[0]! - i[1]!);
}
