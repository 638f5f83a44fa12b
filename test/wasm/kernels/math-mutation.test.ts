import { describe, expect, it } from 'vitest';
import { FunctionBuilder, ValType } from '../../../src/wasm/builder.js';
import { encodeModule } from '../../../src/wasm/encoder.js';
import { activationKernel } from '../../../src/wasm/kernels/elementwise.js';
import { f64Exp, f64Log, f64Scratch } from '../../../src/wasm/kernels/math.js';
import { simd } from '../helpers.js';
import { exp64, log64, sigmoid32, tanh32 } from './models.js';

// The inline exp and log of src/wasm/kernels/math.ts, BIT FOR BIT against the same algorithms
// written here in JavaScript (float32 steps with Math.fround, which rounds a float64 +, −, ·, /
// of two float32 values exactly as float32 arithmetic does). Any change to a constant, a
// coefficient, a clamp, the order of an operation or a series' length changes some bits. Each
// algorithm is also checked against Math, so that agreeing with the simulation means being right.
// Every module is built inside its test (no cache shared between tests).

const fr = Math.fround;

function scalarProbe(kind: 'exp' | 'log'): (x: number) => number {
  const f = new FunctionBuilder(kind, { x: ValType.f64 }, [ValType.f64]);
  const t = f64Scratch(f);
  f.get(f.p.x);
  if (kind === 'exp') f64Exp(f, t); else f64Log(f, t);
  const bytes = encodeModule([f.build()], { shared: false });
  const memory = new WebAssembly.Memory({ initial: 1 });
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports[kind] as (x: number) => number;
}

function vectorProbe(name: 'sigmoidForward' | 'tanhForward', xs: readonly number[]): Float32Array {
  const memory = new WebAssembly.Memory({ initial: 2 });
  const bytes = encodeModule([activationKernel(name)], { shared: false });
  const run = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports[name] as (...a: number[]) => void;
  const h = new Float32Array(memory.buffer);
  const n = xs.length, x = 3, y = x + n + 5;
  h.fill(-7.25);
  h.set(xs, x);
  run(4 * y, 4 * x, n);
  expect(h[y - 1]).toBe(-7.25);
  expect(h[y + n]).toBe(-7.25);
  return h.slice(y, y + n);
}

const SPECIAL = [
  0, -0, 1e-40, -1e-40, 1e-30, -1e-30, 1e-7, -1e-7, 1e-3, -1e-3, 0.1, -0.1, 0.3465, -0.3466, 0.5, -0.5, 1, -1, 2.5, -2.5,
  5, -5, 9, -9, 20, -20, 44, -44, 87, -87, 87.3, -87.3, 87.4, -87.4, 88, -88, 88.3, -88.3, 89, -89, 100, -100, 1e30, -1e30,
  Infinity, -Infinity,
];
function grid(): number[] {
  const xs = [...SPECIAL];
  for (let i = 0; i <= 2000; i++) xs.push(-60 + (120 * i) / 2000);
  for (let e = -38; e <= 2; e += 0.1) xs.push(10 ** e, -(10 ** e));
  return xs.map(fr);
}

describe.skipIf(!simd)('vector σ and tanh, bit for bit with their algorithm', () => {
  for (const [name, model, reference] of [
    ['sigmoidForward', sigmoid32, (x: number) => 1 / (1 + Math.exp(-x))],
    ['tanhForward', tanh32, Math.tanh],
  ] as const) {
    it(name, () => {
      const xs = grid();
      const y = vectorProbe(name, xs);
      for (let i = 0; i < xs.length; i++) {
        const expected = model(xs[i]!);
        if (!Object.is(y[i], expected)) throw new Error(`${name}(${xs[i]}) = ${y[i]}, the algorithm gives ${expected}`);
        // …and the algorithm is right (relative 1e−6, or both under the flush limit).
        const want = reference(xs[i]!);
        expect(Math.abs(expected - want) <= 1e-6 * Math.abs(want) || Math.abs(want) < 1.2e-38).toBe(true);
      }
      const nan = vectorProbe(name, [NaN, 1, NaN, -1, NaN]);
      expect([nan[0], nan[2], nan[4]]).toEqual([NaN, NaN, NaN]);
      expect(nan[1]).toBe(model(1));
      expect(nan[3]).toBe(model(-1));
    });
  }

  it('σ saturates to exactly 0 and 1, tanh to ±1 and keeps the sign of zero', () => {
    expect([...vectorProbe('sigmoidForward', [-88, -100, -1e30, 100, 0, -0])]).toEqual([0, 0, 0, 1, 0.5, 0.5]);
    expect(Object.is(vectorProbe('tanhForward', [-0])[0], -0)).toBe(true);
    expect(Object.is(vectorProbe('tanhForward', [0])[0], 0)).toBe(true);
    expect([...vectorProbe('tanhForward', [-50, 50, -1e30])]).toEqual([-1, 1, -1]);
  });
});

describe.skipIf(!simd)('float64 exp and log, bit for bit with their algorithm', () => {
  it('exp', () => {
    const exp = scalarProbe('exp');
    const xs = [0, -0, 1e-300, -1e-300, 1e-8, 0.5, -0.5, 0.34657359027997264, 0.3465735902799727, 1, -1, Math.LN2, 3.5, -3.5,
      10, -10, 100, -100, 700, -700, 708, -708, -708.0000001, -707.9999999, 709, 709.5, -709, -745, -800, 1000, Infinity, -Infinity];
    for (let i = 0; i <= 4000; i++) xs.push(-720 + (1440 * i) / 4000);
    for (let i = 0; i <= 400; i++) xs.push((i - 200) * Math.LN2 / 2); // the round-to-even ties of n
    for (const x of xs) {
      const got = exp(x);
      if (!Object.is(got, exp64(x))) throw new Error(`exp(${x}) = ${got}, the algorithm gives ${exp64(x)}`);
      if (x >= -708 && x <= 709) expect(Math.abs(got - Math.exp(x))).toBeLessThanOrEqual(4e-16 * Math.exp(x));
    }
    expect(exp(-709)).toBe(0);
    expect(exp(-Infinity)).toBe(0);
    expect(exp(NaN)).toBeNaN();
  });

  it('log', () => {
    const log = scalarProbe('log');
    const xs = [1, 2, 0.5, Math.SQRT2, Math.SQRT2 * (1 + 2 ** -52), Math.SQRT2 * (1 - 2 ** -52), Math.SQRT1_2, Math.E, 10, 0.1,
      1 + 1e-12, 1 - 1e-12, 1e-300, 2.2250738585072014e-308, 1e300, 1.7976931348623157e308, 3, 28, 1120];
    for (let i = 1; i <= 4000; i++) xs.push(i / 97, 97 / i, 2 ** ((i - 2000) / 7));
    for (const x of xs) {
      const got = log(x);
      if (!Object.is(got, log64(x))) throw new Error(`log(${x}) = ${got}, the algorithm gives ${log64(x)}`);
      expect(Math.abs(got - Math.log(x))).toBeLessThanOrEqual(4e-16 * Math.max(1, Math.abs(Math.log(x))));
    }
    expect(log(NaN)).toBeNaN();
    expect(log(1)).toBe(0);
  });
});
