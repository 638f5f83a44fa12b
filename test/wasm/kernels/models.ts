// The algorithms of src/wasm/kernels/math.ts written in JavaScript, step by step in the same
// order and precision (float32 steps with Math.fround, which rounds a float64 +, −, ·, / of two
// float32 values exactly as float32 arithmetic does): the mutation tests compare the kernels
// with them bit for bit (test/wasm/kernels/*-mutation.test.ts).

export const fr = Math.fround;
const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
const bitsOf32 = (x: number): number => { f32[0] = x; return u32[0]!; };
const fromBits32 = (b: number): number => { u32[0] = b >>> 0; return f32[0]!; };
const f64 = new Float64Array(1), i64 = new BigInt64Array(f64.buffer);
const bitsOf64 = (x: number): bigint => { f64[0] = x; return i64[0]!; };
const fromBits64 = (b: bigint): number => { i64[0] = BigInt.asIntN(64, b); return f64[0]!; };

// Vector exp (Cephes expf), one lane.
const LOG2E = 1.4426950408889634, C1 = 0.693359375, C2 = -2.12194440e-4, LO = fr(-87.3), HI = fr(88.3), ROUNDER = 12582912;
const P = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1].map(fr);

function expParts(x: number): { s: number; q: number } {
  let r = x < LO ? LO : x; // pmax(x, LO)
  r = HI < r ? HI : r; // pmin(r, HI)
  const sum = fr(fr(r * fr(LOG2E)) + ROUNDER);
  const n = fr(sum - ROUNDER);
  r = fr(fr(r - fr(n * fr(C1))) - fr(n * fr(C2)));
  let p = P[0]!;
  for (const c of P.slice(1)) p = fr(fr(p * r) + c);
  const q = fr(fr(p * fr(r * r)) + r);
  const s = fromBits32(((bitsOf32(sum) + 127) << 23) >>> 0);
  return { s, q };
}
export function vecExp(x: number): number {
  const { s, q } = expParts(x);
  const e = fr(fr(q + 1) * s);
  return x < LO ? 0 : e;
}
function vecExpm1(x: number): number {
  const { s, q } = expParts(x);
  return fr(fr(s - 1) + fr(s * q));
}
export function sigmoid32(x: number): number {
  const e = vecExp(-Math.abs(x));
  const d = fr(1 / fr(1 + e));
  return x >= 0 ? d : fr(d * e);
}
export function tanh32(x: number): number {
  const u = vecExpm1(fr(Math.abs(x) * -2));
  const t = fr(fr(0 - u) / fr(2 + u));
  return fromBits32(bitsOf32(t) | (bitsOf32(x) & 0x80000000));
}

// Float64 exp and log.
const LN2_HI = 6.93147180369123816490e-1, LN2_LO = 1.90821492927058770002e-10;
function nearest(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r; // ties to even
}
export function exp64(x: number): number {
  let r = Math.min(Math.max(x, -708), 709);
  const n = nearest(r * Math.LOG2E);
  r = r - n * LN2_HI - n * LN2_LO;
  let factorial = 1;
  for (let k = 1; k <= 13; k++) factorial *= k;
  let p = 1 / factorial;
  for (let k = 12; k >= 0; k--) {
    factorial /= k + 1;
    p = p * r + 1 / factorial;
  }
  const ni = Number.isNaN(n) ? 0n : BigInt(n);
  p *= fromBits64((ni + 1023n) << 52n);
  return x < -708 ? 0 : p;
}
export function log64(x: number): number {
  const bits = bitsOf64(x);
  let n = Number((BigInt.asUintN(64, bits) >> 52n) - 1023n);
  let r = fromBits64((bits & 0x000fffffffffffffn) | 0x3ff0000000000000n);
  if (r > Math.SQRT2) { r *= 0.5; n += 1; }
  const t = (r - 1) / (r + 1);
  const p = t * t;
  let s = 1 / 21;
  for (let k = 9; k >= 0; k--) s = s * p + 1 / (2 * k + 1);
  let v = s * t * 2;
  v += n * LN2_LO;
  v += n * LN2_HI;
  return Number.isNaN(x) ? x : v;
}

