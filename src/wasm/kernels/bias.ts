import { FunctionBuilder, ValType } from '../builder.js';
import type { FunctionDef } from '../encoder.js';
import { Op, Simd } from '../ops.js';
import { at, lanes } from './lanes.js';

// The bias kernels of src/tensor/bias.ts. Same additions in the same order as the
// reference, so the results are bit-identical to it.

const { i32, v128 } = ValType;

/** addBias(out, bias, M, N): out[i, j] += bias[j] for each of the M rows of out (M×N). */
export function addBiasKernel(): FunctionDef {
  const f = new FunctionBuilder('addBias', { out: i32, bias: i32, M: i32, N: i32 });
  const { out, bias, M, N } = f.p;
  const { i, row, kb } = f.locals(i32, ['i', 'row', 'kb']);
  f.for(i, { const: 0 }, M, 1, () => {
    f.get(out).get(i).get(N).op(Op.i32_mul).i32(2).op(Op.i32_shl).op(Op.i32_add).set(row);
    lanes(f, N, kb, (w) => {
      at(f, row, kb);
      at(f, row, kb); w.load();
      at(f, bias, kb); w.load();
      f.simd(Simd.f32x4_add);
      w.store();
    });
  });
  return f.build();
}

/**
 * addBiasBackward(dbias, dout, M, N): dbias[j] += Σ_i dout[i, j]. Columns are the outer
 * loop so that the running sum of a column group stays in a register, added in row order
 * starting from dbias as in the reference.
 */
export function addBiasBackwardKernel(): FunctionDef {
  const f = new FunctionBuilder('addBiasBackward', { dbias: i32, dout: i32, M: i32, N: i32 });
  const { dbias, dout, M, N } = f.p;
  const { i, p, rowBytes, kb } = f.locals(i32, ['i', 'p', 'rowBytes', 'kb']);
  const sum = f.local(v128);
  f.get(N).i32(2).op(Op.i32_shl).set(rowBytes);
  lanes(f, N, kb, (w) => {
    at(f, dbias, kb); w.load(); f.set(sum);
    at(f, dout, kb).set(p);
    f.for(i, { const: 0 }, M, 1, () => {
      f.get(sum).get(p); w.load(); f.simd(Simd.f32x4_add).set(sum);
      f.incBy(p, rowBytes);
    });
    at(f, dbias, kb).get(sum);
    w.store();
  });
  return f.build();
}
