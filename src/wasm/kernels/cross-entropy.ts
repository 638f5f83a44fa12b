import { FunctionBuilder, ValType } from '../builder.js';
import type { FunctionDef } from '../encoder.js';
import { Op } from '../ops.js';
import { f64Exp, f64Log, f64Scratch } from './math.js';

const { i32, f32, f64 } = ValType;

/**
 * softmaxCrossEntropy(dlogits, logits, targets, stride, M, V, scale) → summed loss (f64),
 * the fused forward and backward of src/tensor/cross-entropy.ts, computed as it is: in
 * float64 scalars per row (V is small; this is not where time goes), shifted by the row
 * maximum. dlogits may alias logits: each row reads its target logit before writing.
 */
export function softmaxCrossEntropyKernel(): FunctionDef {
  const f = new FunctionBuilder(
    'softmaxCrossEntropy',
    { dlogits: i32, logits: i32, targets: i32, stride: i32, M: i32, V: i32, scale: f64 },
    [f64],
  );
  const { dlogits, logits, targets, stride, M, V, scale } = f.p;
  const { i, j, rowBytes, pl, pd, y } = f.locals(i32, ['i', 'j', 'rowBytes', 'pl', 'pd', 'y']);
  const { max, v } = f.locals(f32, ['max', 'v']);
  const { maxD, sum, logSum, loss } = f.locals(f64, ['maxD', 'sum', 'logSum', 'loss']);
  const t = f64Scratch(f);
  // logits[row + j] as float64.
  const logit = (): void => { f.get(pl).get(j).i32(2).op(Op.i32_shl).op(Op.i32_add).f32Load().op(Op.f64_promote_f32); };
  // for (j = 0; j < V; j++) body(): the passes over a row.
  const eachLogit = (body: () => void): void => { f.for(j, { const: 0 }, V, 1, body); };

  f.get(V).i32(2).op(Op.i32_shl).set(rowBytes);
  f.for(i, { const: 0 }, M, 1, () => {
    f.get(logits).get(i).get(rowBytes).op(Op.i32_mul).op(Op.i32_add).set(pl);
    f.get(dlogits).get(i).get(rowBytes).op(Op.i32_mul).op(Op.i32_add).set(pd);
    // max = the largest logit, skipping NaN as `>` does in the reference.
    f.f32(-Infinity).set(max);
    eachLogit(() => {
      f.get(pl).get(j).i32(2).op(Op.i32_shl).op(Op.i32_add).f32Load().set(v);
      f.get(v).get(max).get(v).get(max).op(Op.f32_gt).op(Op.select).set(max);
    });
    f.get(max).op(Op.f64_promote_f32).set(maxD);
    f.f64(0).set(sum);
    eachLogit(() => {
      f.get(sum);
      logit(); f.get(maxD).op(Op.f64_sub); f64Exp(f, t);
      f.op(Op.f64_add).set(sum);
    });
    f.get(targets).get(i).get(stride).op(Op.i32_mul).i32(2).op(Op.i32_shl).op(Op.i32_add).i32Load().set(y);
    f.get(sum); f64Log(f, t); f.set(logSum);
    // loss += logSum − (logits[y] − max), read before the row is overwritten.
    f.get(loss).get(logSum);
    f.get(pl).get(y).i32(2).op(Op.i32_shl).op(Op.i32_add).f32Load().op(Op.f64_promote_f32).get(maxD).op(Op.f64_sub);
    f.op(Op.f64_sub).op(Op.f64_add).set(loss);
    eachLogit(() => {
      f.get(pd).get(j).i32(2).op(Op.i32_shl).op(Op.i32_add);
      logit(); f.get(maxD).op(Op.f64_sub).get(logSum).op(Op.f64_sub); f64Exp(f, t);
      f.get(scale).op(Op.f64_mul).op(Op.f32_demote_f64).f32Store();
    });
    // dlogits[y] −= scale.
    f.get(pd).get(y).i32(2).op(Op.i32_shl).op(Op.i32_add);
    f.get(pd).get(y).i32(2).op(Op.i32_shl).op(Op.i32_add).f32Load().op(Op.f64_promote_f32);
    f.get(scale).op(Op.f64_sub).op(Op.f32_demote_f64).f32Store();
  });
  f.get(loss);
  return f.build();
}
