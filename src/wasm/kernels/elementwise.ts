import { FunctionBuilder, ValType } from '../builder.js';
import type { FunctionDef } from '../encoder.js';
import { Simd } from '../ops.js';
import { at, lanes } from './lanes.js';
import { vecScratch, vecSigmoid, vecTanh } from './math.js';

// Elementwise kernels over n floats at byte pointers.

const { i32, v128 } = ValType;

/** mul(out, a, b, n): out[k] = a[k] · b[k] (out may alias a or b). */
export function mulKernel(): FunctionDef {
  const f = new FunctionBuilder('mul', { out: i32, a: i32, b: i32, n: i32 });
  const { out, a, b, n } = f.p;
  const kb = f.local(i32);
  lanes(f, n, kb, (w) => {
    at(f, out, kb);
    at(f, a, kb); w.load();
    at(f, b, kb); w.load();
    f.simd(Simd.f32x4_mul);
    w.store();
  });
  return f.build();
}

/**
 * sigmoidForward(y, x, n) / tanhForward(y, x, n): y[k] = σ(x[k]) / tanh(x[k]). Not in the
 * kernel set (the cell kernels inline them): a probe that exposes the f32x4 σ and tanh to
 * their accuracy tests (test/wasm/kernels/elementwise.test.ts).
 */
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
