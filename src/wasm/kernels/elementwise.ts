import { FunctionBuilder, ValType } from '../builder.js';
import type { FunctionDef } from '../encoder.js';
import { Simd } from '../ops.js';
import { at, lanes } from './lanes.js';
import { vecScratch, vecSigmoid, vecTanh } from './math.js';

// Elementwise kernels over n floats at byte pointers.

const { i32, f32, v128 } = ValType;

/** addInto(out, a, n): out[k] += a[k]. */
export function addIntoKernel(): FunctionDef {
  const f = new FunctionBuilder('addInto', { out: i32, a: i32, n: i32 });
  const { out, a, n } = f.p;
  const kb = f.local(i32);
  lanes(f, n, kb, (w) => {
    at(f, out, kb);
    at(f, out, kb); w.load();
    at(f, a, kb); w.load();
    f.simd(Simd.f32x4_add);
    w.store();
  });
  return f.build();
}

/** fill(out, value, n): out[k] = value. */
export function fillKernel(): FunctionDef {
  const f = new FunctionBuilder('fill', { out: i32, value: f32, n: i32 });
  const { out, value, n } = f.p;
  const kb = f.local(i32);
  const v = f.local(v128);
  f.get(value).simd(Simd.f32x4_splat).set(v);
  lanes(f, n, kb, (w) => {
    at(f, out, kb).get(v);
    w.store();
  });
  return f.build();
}

/** sigmoidForward(y, x, n) / tanhForward(y, x, n): y[k] = σ(x[k]) / tanh(x[k]). */
export function activationKernel(name: 'sigmoidForward' | 'tanhForward'): FunctionDef {
  const f = new FunctionBuilder(name, { y: i32, x: i32, n: i32 });
  const { y, x, n } = f.p;
  const kb = f.local(i32);
  const v = f.local(v128);
  const t = vecScratch(f);
  lanes(f, n, kb, (w) => {
    at(f, x, kb); w.load(); f.set(v);
    at(f, y, kb);
    if (name === 'sigmoidForward') vecSigmoid(f, t, v); else vecTanh(f, t, v);
    w.store();
  });
  return f.build();
}
