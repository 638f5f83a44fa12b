import { FunctionBuilder, ValType } from '../builder.js';
import type { FunctionDef } from '../encoder.js';
import { Op, Simd } from '../ops.js';
import { at, lanes } from './lanes.js';

// The one-hot products of src/tensor/onehot.ts as row copies. The ids are int32 in the same
// memory: row i uses ids[i·stride] (byte pointer `ids`, stride in elements). Bit-identical
// to the reference.

const { i32 } = ValType;

/** Pushes the byte address of row ids[i·stride] of the N-column matrix at `base`. */
function idRow(f: FunctionBuilder, base: number, ids: number, i: number, stride: number, N: number): void {
  f.get(base);
  f.get(ids).get(i).get(stride).op(Op.i32_mul).i32(2).op(Op.i32_shl).op(Op.i32_add).i32Load();
  f.get(N).op(Op.i32_mul).i32(2).op(Op.i32_shl).op(Op.i32_add);
}

/** gatherRows(out, w, ids, stride, M, N, accumulate): out[i, :] (+)= w[ids[i·stride], :]. */
export function gatherRowsKernel(): FunctionDef {
  const f = new FunctionBuilder('gatherRows', { out: i32, w: i32, ids: i32, stride: i32, M: i32, N: i32, accumulate: i32 });
  const { out, w, ids, stride, M, N, accumulate } = f.p;
  const { i, src, dst, kb } = f.locals(i32, ['i', 'src', 'dst', 'kb']);
  f.for(i, { const: 0 }, M, 1, () => {
    idRow(f, w, ids, i, stride, N);
    f.set(src);
    f.get(out).get(i).get(N).op(Op.i32_mul).i32(2).op(Op.i32_shl).op(Op.i32_add).set(dst);
    f.get(accumulate).if(
      () => lanes(f, N, kb, (x) => {
        at(f, dst, kb);
        at(f, dst, kb); x.load();
        at(f, src, kb); x.load();
        f.simd(Simd.f32x4_add);
        x.store();
      }),
      () => lanes(f, N, kb, (x) => {
        at(f, dst, kb);
        at(f, src, kb); x.load();
        x.store();
      }),
    );
  });
  return f.build();
}

/** scatterAddRows(dw, dout, ids, stride, M, N): dw[ids[i·stride], :] += dout[i, :]. */
export function scatterAddRowsKernel(): FunctionDef {
  const f = new FunctionBuilder('scatterAddRows', { dw: i32, dout: i32, ids: i32, stride: i32, M: i32, N: i32 });
  const { dw, dout, ids, stride, M, N } = f.p;
  const { i, src, dst, kb } = f.locals(i32, ['i', 'src', 'dst', 'kb']);
  f.for(i, { const: 0 }, M, 1, () => {
    idRow(f, dw, ids, i, stride, N);
    f.set(dst);
    f.get(dout).get(i).get(N).op(Op.i32_mul).i32(2).op(Op.i32_shl).op(Op.i32_add).set(src);
    lanes(f, N, kb, (x) => {
      at(f, dst, kb);
      at(f, dst, kb); x.load();
      at(f, src, kb); x.load();
      f.simd(Simd.f32x4_add);
      x.store();
    });
  });
  return f.build();
}
