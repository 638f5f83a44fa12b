import { FunctionBuilder, ValType, type Local } from '../builder.js';
import type { FunctionDef } from '../encoder.js';
import { Op, Simd } from '../ops.js';
import { type Width, at, lanes } from './lanes.js';
import { vecScratch, vecSigmoid, vecTanh } from './math.js';

// The LSTM cell's elementwise step of src/tensor/lstm-cell.ts, forward and backward, four
// elements at a time. A step's gates are four n-element blocks (i, f, o, c), block k at
// element gates + k·gs.

const { i32, v128 } = ValType;

/** Sets g[1..3] = gates + 4·k·gs, the byte pointers of the f, o and c gate blocks. */
function gateBlocks(f: FunctionBuilder, gates: Local, gs: Local): Local[] {
  const g = [gates, f.local(i32), f.local(i32), f.local(i32)];
  for (let k = 1; k < 4; k++) f.get(g[k - 1]!).get(gs).i32(2).op(Op.i32_shl).op(Op.i32_add).set(g[k]!);
  return g;
}

/**
 * lstmCellForward(gates, cPrev, c, tanhC, h, gs, n):
 *   I = σ(Z_i)  F = σ(Z_f)  O = σ(Z_o)  Ĉ = tanh(Z_c)   (in place in gates)
 *   C = F ⊙ C_prev + I ⊙ Ĉ     tC = tanh(C)     H = O ⊙ tC
 */
export function lstmCellForwardKernel(): FunctionDef {
  const f = new FunctionBuilder('lstmCellForward', { gates: i32, cPrev: i32, c: i32, tanhC: i32, h: i32, gs: i32, n: i32 });
  const { gates, cPrev, c, tanhC, h, gs, n } = f.p;
  const g = gateBlocks(f, gates, gs);
  const kb = f.local(i32);
  const { z, cNew } = f.locals(v128, ['z', 'cNew']);
  const t = vecScratch(f);
  // Separate passes rather than one: small loop bodies keep V8's registers for the arithmetic
  // (one fused loop with five inlined exps ran 1.5× slower).
  const inPlace = (base: Local, activation: typeof vecSigmoid) => (w: Width): void => {
    at(f, base, kb); w.load(); f.set(z);
    at(f, base, kb);
    activation(f, t, z);
    w.store();
  };
  for (let k = 0; k < 3; k++) lanes(f, n, kb, inPlace(g[k]!, vecSigmoid));
  lanes(f, n, kb, inPlace(g[3]!, vecTanh));
  lanes(f, n, kb, (w) => {
    at(f, g[1]!, kb); w.load(); at(f, cPrev, kb); w.load(); f.simd(Simd.f32x4_mul);
    at(f, g[0]!, kb); w.load(); at(f, g[3]!, kb); w.load(); f.simd(Simd.f32x4_mul);
    f.simd(Simd.f32x4_add).set(cNew);
    at(f, c, kb).get(cNew); w.store();
    at(f, tanhC, kb);
    vecTanh(f, t, cNew);
    f.tee(z);
    w.store();
    at(f, h, kb); at(f, g[2]!, kb); w.load(); f.get(z).simd(Simd.f32x4_mul); w.store();
  });
  return f.build();
}

/**
 * lstmCellBackward(dGates, gates, cPrev, tanhC, dH, dC, gs, n):  (both gate sets with stride gs)
 *   dO = dH ⊙ tC                  dC_t = dC + dH ⊙ O ⊙ (1 − tC²)
 *   dF = dC_t ⊙ C_prev   dI = dC_t ⊙ Ĉ   dĈ = dC_t ⊙ I   dC_prev = dC_t ⊙ F  (into dC)
 *   dZ_i = dI ⊙ I(1−I)  dZ_f = dF ⊙ F(1−F)  dZ_o = dO ⊙ O(1−O)  dZ_c = dĈ ⊙ (1−Ĉ²)
 * 1 − y² is computed as (1 − y)(1 + y), which keeps its relative accuracy as |y| → 1.
 */
export function lstmCellBackwardKernel(): FunctionDef {
  const f = new FunctionBuilder('lstmCellBackward', {
    dGates: i32, gates: i32, cPrev: i32, tanhC: i32, dH: i32, dC: i32, gs: i32, n: i32,
  });
  const { dGates, gates, cPrev, tanhC, dH, dC, gs, n } = f.p;
  const g = gateBlocks(f, gates, gs);
  const dg = gateBlocks(f, dGates, gs);
  const kb = f.local(i32);
  const { I, F, O, cHat, tc, dh, dCt } = f.locals(v128, ['I', 'F', 'O', 'cHat', 'tc', 'dh', 'dCt']);
  const mul = (): void => { f.simd(Simd.f32x4_mul); };
  const oneMinusSquare = (y: Local): void => {
    f.f32x4(1).get(y).simd(Simd.f32x4_sub).f32x4(1).get(y).simd(Simd.f32x4_add); mul();
  };
  const oneMinus = (y: Local): void => { f.f32x4(1).get(y).simd(Simd.f32x4_sub); };
  lanes(f, n, kb, (w) => {
    const load = (p: Local, into: Local): void => { at(f, p, kb); w.load(); f.set(into); };
    load(g[0]!, I); load(g[1]!, F); load(g[2]!, O); load(g[3]!, cHat); load(tanhC, tc); load(dH, dh);
    // dC_t = dC + dH ⊙ O ⊙ (1 − tC²)
    at(f, dC, kb); w.load();
    f.get(dh).get(O); mul(); oneMinusSquare(tc); mul();
    f.simd(Simd.f32x4_add).set(dCt);
    // dZ_i = (dC_t ⊙ Ĉ) ⊙ I(1−I)
    at(f, dg[0]!, kb).get(dCt).get(cHat); mul(); f.get(I); mul(); oneMinus(I); mul(); w.store();
    // dZ_f = (dC_t ⊙ C_prev) ⊙ F(1−F)
    at(f, dg[1]!, kb).get(dCt); at(f, cPrev, kb); w.load(); mul(); f.get(F); mul(); oneMinus(F); mul(); w.store();
    // dZ_o = (dH ⊙ tC) ⊙ O(1−O)
    at(f, dg[2]!, kb).get(dh).get(tc); mul(); f.get(O); mul(); oneMinus(O); mul(); w.store();
    // dZ_c = (dC_t ⊙ I) ⊙ (1−Ĉ²)
    at(f, dg[3]!, kb).get(dCt).get(I); mul(); oneMinusSquare(cHat); mul(); w.store();
    // dC_prev = dC_t ⊙ F
    at(f, dC, kb).get(dCt).get(F); mul(); w.store();
  });
  return f.build();
}
