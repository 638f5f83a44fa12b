import { FunctionBuilder, ValType, type Local } from '../builder.js';
import { Op, OpFC, Simd } from '../ops.js';

// Transcendental functions, emitted inline: WebAssembly has no exp or log instruction.
//
// Vector (f32x4) exp, after Cephes expf: x = n·ln2 + r with n = round(x·log2 e) and
// |r| ≤ ln2/2 (Cody–Waite: ln2 = C1 + C2, C1 with 9 significant bits so n·C1 is exact),
// e^r − 1 = r + r²·P(r) with P of degree 5 (≈ 1 ulp), and 2^n built in the exponent bits.
// Keeping e^r − 1 separate gives expm1 without cancellation, which tanh needs near 0.
// x is clamped to [−87.3, 88.3] so that 2^n stays a normal float (n ∈ [−126, 127]); exp
// flushes results below e^−87.3 ≈ 1.2e−38 to 0 and saturates at e^88.3 ≈ 2.1e38.
// NaN propagates: pmin/pmax (NaN as first operand), the rounding and the polynomial keep it.

const { f64, i64, v128 } = ValType;

const LOG2E = 1.4426950408889634;
const C1 = 0.693359375;
const C2 = -2.12194440e-4;
const EXP_LO = -87.3;
const EXP_HI = 88.3;
const ROUNDER = 12582912; // 1.5·2²³
const P = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];

/** Locals for the vector functions, allocated once per kernel and reused by every call. */
export interface VecScratch { x: Local; n: Local; r: Local; s: Local; q: Local; e: Local; d: Local }

export function vecScratch(f: FunctionBuilder): VecScratch {
  const v = (): Local => f.local(v128);
  return { x: v(), n: v(), r: v(), s: v(), q: v(), e: v(), d: v() };
}

/** From x in t.x, sets t.s = 2^n and t.q = e^r − 1, so that e^x = s·(1 + q). */
function expParts(f: FunctionBuilder, t: VecScratch): void {
  // pmax/pmin are single instructions on x64 (max/min must order NaNs and ±0: several);
  // with x as the first operand they still return a NaN x.
  f.get(t.x).f32x4(EXP_LO).simd(Simd.f32x4_pmax).f32x4(EXP_HI).simd(Simd.f32x4_pmin).set(t.r);
  // n = round(x·log2 e) by adding and subtracting 1.5·2²³: the sum's low mantissa bits then
  // hold n itself, which gives 2^n below without a float → int conversion.
  f.get(t.r).f32x4(LOG2E).simd(Simd.f32x4_mul).f32x4(ROUNDER).simd(Simd.f32x4_add).set(t.s);
  f.get(t.s).f32x4(ROUNDER).simd(Simd.f32x4_sub).set(t.n);
  f.get(t.r).get(t.n).f32x4(C1).simd(Simd.f32x4_mul).simd(Simd.f32x4_sub);
  f.get(t.n).f32x4(C2).simd(Simd.f32x4_mul).simd(Simd.f32x4_sub).set(t.r);
  // Horner: P(r), then q = P·r² + r.
  f.f32x4(P[0]!);
  for (const c of P.slice(1)) f.get(t.r).simd(Simd.f32x4_mul).f32x4(c).simd(Simd.f32x4_add);
  f.get(t.r).get(t.r).simd(Simd.f32x4_mul).simd(Simd.f32x4_mul).get(t.r).simd(Simd.f32x4_add).set(t.q);
  // 2^n: the biased exponent n + 127 shifted into bits 23–30. The bits of n + 1.5·2²³ are
  // 0x4B400000 + n, whose top bits the shift discards.
  f.get(t.s).i32x4(127).simd(Simd.i32x4_add).i32(23).simd(Simd.i32x4_shl).set(t.s);
}

/** Pushes e^x for the vector in t.x. */
export function vecExp(f: FunctionBuilder, t: VecScratch): void {
  expParts(f, t);
  f.get(t.q).f32x4(1).simd(Simd.f32x4_add).get(t.s).simd(Simd.f32x4_mul);
  // Below the clamp the true value is under 1.2e−38: flush it to 0 (NaN compares false, stays).
  f.get(t.x).f32x4(EXP_LO).simd(Simd.f32x4_lt).simd(Simd.v128_andnot);
}

/** Pushes e^x − 1 for the vector in t.x, as (2^n − 1) + 2^n·q: no cancellation near 0. */
function vecExpm1(f: FunctionBuilder, t: VecScratch): void {
  expParts(f, t);
  f.get(t.s).f32x4(1).simd(Simd.f32x4_sub).get(t.s).get(t.q).simd(Simd.f32x4_mul).simd(Simd.f32x4_add);
}

/**
 * Pushes σ(x) for the vector x: with e = e^−|x| ∈ (0, 1] (never overflows),
 * σ = 1/(1 + e) for x ≥ 0 and e/(1 + e) for x < 0 — relative accuracy on both tails.
 * σ(−100) = 0, σ(100) = 1.
 */
export function vecSigmoid(f: FunctionBuilder, t: VecScratch, x: Local): void {
  f.get(x).simd(Simd.f32x4_abs).simd(Simd.f32x4_neg).set(t.x);
  vecExp(f, t);
  f.set(t.e);
  f.f32x4(1).f32x4(1).get(t.e).simd(Simd.f32x4_add).simd(Simd.f32x4_div).set(t.d);
  f.get(t.d).get(t.e).get(t.d).simd(Simd.f32x4_mul);
  f.get(x).f32x4(0).simd(Simd.f32x4_ge).simd(Simd.v128_bitselect);
}

/**
 * Pushes tanh(x) for the vector x: with u = e^−2|x| − 1 ∈ (−1, 0] from expm1,
 * tanh|x| = −u / (2 + u), then x's sign is copied on. Relative accuracy holds near 0
 * (u ≈ −2|x| exactly, no 1 − e cancellation) and tanh(±50) = ±1.
 */
export function vecTanh(f: FunctionBuilder, t: VecScratch, x: Local): void {
  f.get(x).simd(Simd.f32x4_abs).f32x4(-2).simd(Simd.f32x4_mul).set(t.x);
  vecExpm1(f, t);
  f.set(t.e);
  // 0 − u rather than −u: u = 0 must give +0, so that tanh(+0) = +0 after the sign is copied.
  f.f32x4(0).get(t.e).simd(Simd.f32x4_sub).f32x4(2).get(t.e).simd(Simd.f32x4_add).simd(Simd.f32x4_div);
  f.get(x).f32x4(-0).simd(Simd.v128_and).simd(Simd.v128_or);
}

// Scalar float64 exp and log for the softmax, where a row is short (V) and the loss is
// summed in float64 as in the reference: matching Math.exp/Math.log to float64 rounding
// makes the float32 outputs agree with the reference almost always bit for bit.

const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;

/** Locals for the float64 functions. */
export interface F64Scratch { x: Local; n: Local; r: Local; p: Local; bits: Local }

export function f64Scratch(f: FunctionBuilder): F64Scratch {
  return { x: f.local(f64), n: f.local(f64), r: f.local(f64), p: f.local(f64), bits: f.local(i64) };
}

/**
 * Pops x, pushes e^x (float64): n = round(x·log2 e), r = x − n·ln2 (hi/lo), e^r by its
 * Taylor series to r¹³ (truncation < 5e−18 for |r| ≤ ln2/2), times 2^n. x below −708
 * gives 0 (the result would be subnormal; it only ever becomes a float32 0 here).
 */
export function f64Exp(f: FunctionBuilder, t: F64Scratch): void {
  f.set(t.x);
  f.get(t.x).f64(-708).op(Op.f64_max).f64(709).op(Op.f64_min).set(t.r);
  f.get(t.r).f64(Math.LOG2E).op(Op.f64_mul).op(Op.f64_nearest).set(t.n);
  f.get(t.r).get(t.n).f64(LN2_HI).op(Op.f64_mul).op(Op.f64_sub).get(t.n).f64(LN2_LO).op(Op.f64_mul).op(Op.f64_sub).set(t.r);
  let factorial = 1;
  for (let k = 1; k <= 13; k++) factorial *= k;
  f.f64(1 / factorial);
  for (let k = 12; k >= 0; k--) {
    factorial /= k + 1;
    f.get(t.r).op(Op.f64_mul).f64(1 / factorial).op(Op.f64_add);
  }
  f.get(t.n).fc(OpFC.i64_trunc_sat_f64_s).i64(1023).op(Op.i64_add).i64(52).op(Op.i64_shl).op(Op.f64_reinterpret_i64);
  f.op(Op.f64_mul).set(t.p);
  f.f64(0).get(t.p).get(t.x).f64(-708).op(Op.f64_lt).op(Op.select);
}

/**
 * Pops y, pushes ln y (float64) for a positive normal y or NaN: y = m·2^e with
 * m ∈ [√½, √2), ln m = 2 atanh t with t = (m − 1)/(m + 1), |t| ≤ 0.172, summed to t²¹.
 */
export function f64Log(f: FunctionBuilder, t: F64Scratch): void {
  f.set(t.x);
  f.get(t.x).op(Op.i64_reinterpret_f64).set(t.bits);
  // n = unbiased exponent, r = mantissa in [1, 2).
  f.get(t.bits).i64(52).op(Op.i64_shr_u).i64(1023).op(Op.i64_sub).op(Op.f64_convert_i64_s).set(t.n);
  f.get(t.bits).i64(0x000fffffffffffffn).op(Op.i64_and).i64(0x3ff0000000000000n).op(Op.i64_or).op(Op.f64_reinterpret_i64).set(t.r);
  f.get(t.r).f64(Math.SQRT2).op(Op.f64_gt).if(() => {
    f.get(t.r).f64(0.5).op(Op.f64_mul).set(t.r);
    f.get(t.n).f64(1).op(Op.f64_add).set(t.n);
  });
  f.get(t.r).f64(1).op(Op.f64_sub).get(t.r).f64(1).op(Op.f64_add).op(Op.f64_div).set(t.r); // t
  // p = t² ; series S = Σ_{k=0}^{10} p^k / (2k + 1) by Horner.
  f.get(t.r).get(t.r).op(Op.f64_mul).set(t.p);
  f.f64(1 / 21);
  for (let k = 9; k >= 0; k--) f.get(t.p).op(Op.f64_mul).f64(1 / (2 * k + 1)).op(Op.f64_add);
  f.get(t.r).op(Op.f64_mul).f64(2).op(Op.f64_mul);
  f.get(t.n).f64(LN2_LO).op(Op.f64_mul).op(Op.f64_add);
  f.get(t.n).f64(LN2_HI).op(Op.f64_mul).op(Op.f64_add).set(t.p);
  // NaN in, NaN out (the bit manipulation above would not keep it): select(x, ln, x ≠ x).
  f.get(t.x).get(t.p).get(t.x).get(t.x).op(Op.f64_ne).op(Op.select);
}

