import { describe, expect, it } from 'vitest';
import { sigmoid } from '../../../src/tensor/activations.js';
import { mul } from '../../../src/tensor/elementwise.js';
import { encodeModule } from '../../../src/wasm/encoder.js';
import { activationKernel } from '../../../src/wasm/kernels/elementwise.js';
import { Heap, simd, ulps } from '../helpers.js';

// The f32x4 σ and tanh that the cell kernels inline, exposed by a probe module on the heap's memory.
type Activation = (y: Float32Array, yo: number, x: Float32Array, xo: number, n: number) => void;
function probe(h: Heap): Record<'sigmoidForward' | 'tanhForward', Activation> {
  const bytes = encodeModule([activationKernel('sigmoidForward'), activationKernel('tanhForward')], { shared: false });
  const x = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory: h.memory } }).exports as Record<string, (...a: number[]) => void>;
  const wrap = (name: string): Activation => (y, yo, xs, xo, n) => x[name]!(y.byteOffset + 4 * yo, xs.byteOffset + 4 * xo, n);
  return { sigmoidForward: wrap('sigmoidForward'), tanhForward: wrap('tanhForward') };
}

// σ and tanh are compared with float64 Math on the same float32 inputs. Tolerance: relative
// 1e−6 (≈ 8 float32 ulp): the f32x4 exp is good to about 1 ulp and each of the few float32
// operations around it adds at most half an ulp. Results below 1.2e−38 (σ(x) for x < −87.3)
// are flushed to 0, which the check allows as an absolute error under 1.2e−38.

const SPECIAL = [
  0, -0, 1e-40, -1e-40, 1e-30, -1e-30, 1e-7, -1e-7, 1e-3, 0.1, -0.1, 0.3465, -0.3466, 0.5, 1, -1, 2.5, 5, -5, 9, -9,
  20, -20, 44, -44, 50, -50, 87, -87, 88, -88, 89, -89, 100, -100, 1e30, -1e30, Infinity, -Infinity,
];

function inputs(): number[] {
  const xs = [...SPECIAL];
  for (let i = 0; i <= 4000; i++) xs.push(-40 + (80 * i) / 4000);
  for (let e = -38; e <= 1; e += 0.05) xs.push(10 ** e, -(10 ** e));
  return xs;
}

function run(name: 'sigmoidForward' | 'tanhForward', xs: readonly number[]): Float32Array {
  const h = new Heap(1);
  const x = h.alloc(xs.length);
  h.f32.set(xs, x);
  const y = h.alloc(xs.length);
  probe(h)[name](h.f32, y, h.f32, x, xs.length);
  return h.f32.slice(y, y + xs.length);
}

describe.skipIf(!simd)('wasm activations', () => {
  const xs = Float32Array.from(inputs());

  for (const [name, fn] of [['sigmoidForward', sigmoid], ['tanhForward', Math.tanh]] as const) {
    it(`${name} is within 1e−6 relative of float64 Math`, () => {
      const y = run(name, [...xs]);
      let worstUlps = 0;
      xs.forEach((x, i) => {
        const expected = fn(x);
        const got = y[i]!;
        const ok = Math.abs(got - expected) <= 1e-6 * Math.abs(expected) || (Math.abs(expected) < 1.2e-38 && Math.abs(got) < 1.2e-38);
        if (!ok) throw new Error(`${name}(${x}) = ${got}, expected ${expected}`);
        if (Math.abs(expected) >= 1.2e-38) worstUlps = Math.max(worstUlps, ulps(got, Math.fround(expected)));
      });
      expect(worstUlps).toBeLessThanOrEqual(8);
    });
  }

  it('saturates exactly, keeps the sign of zero and passes NaN through', () => {
    const s = run('sigmoidForward', [100, -100, Infinity, -Infinity, 0, -0, NaN, 1e30, -1e30]);
    expect([...s]).toEqual([1, 0, 1, 0, 0.5, 0.5, NaN, 1, 0]);
    const t = run('tanhForward', [50, -50, 20, -20, Infinity, -Infinity, 0, -0, NaN, 1e30, -1e30, 1e-30]);
    expect([...t]).toEqual([1, -1, 1, -1, 1, -1, 0, -0, NaN, 1, -1, Math.fround(1e-30)]);
  });

  it('handles every length, including the scalar tail (n mod 4 ≠ 0)', () => {
    for (const n of [0, 1, 2, 3, 5, 6, 7, 9]) {
      const h = new Heap(n);
      const x = h.alloc(n, 3);
      const y = h.alloc(n);
      const before = h.snapshot();
      probe(h).tanhForward(h.f32, y, h.f32, x, n);
      for (let i = 0; i < n; i++) expect(h.f32[y + i]).toBeCloseTo(Math.tanh(h.f32[x + i]!), 6);
      expect(h.untouchedOutside(before, y, n)).toBeUndefined();
    }
  });
});

describe.skipIf(!simd)('wasm mul', () => {
  it('multiplies exactly as the float32 reference, in place too, for every length', () => {
    for (const n of [0, 1, 3, 4, 7, 8192 + 3]) {
      const h = new Heap(n + 5);
      const a = h.alloc(n), b = h.alloc(n), o = h.alloc(n);
      const expected = new Float32Array(n);
      mul(expected, 0, h.f32.slice(a, a + n), 0, h.f32.slice(b, b + n), 0, n);
      const before = h.snapshot();
      h.k.mul(h.f32, o, h.f32, a, h.f32, b, n);
      expect(h.f32.slice(o, o + n)).toEqual(expected);
      expect(h.untouchedOutside(before, o, n)).toBeUndefined();
      h.k.mul(h.f32, a, h.f32, a, h.f32, b, n); // in place: out = a
      expect(h.f32.slice(a, a + n)).toEqual(expected);
    }
  });
});
