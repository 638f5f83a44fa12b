import type { FloatArray } from './float-array.js';

// Matrix products on row-major matrices addressed as (array, offset) pairs, so that a
// kernel can read a block of a larger buffer (one time step of a workspace, one parameter of
// the flat parameter array) without creating a view. Dimensions: out is M×N, the reduction
// runs over K. With `accumulate` the product is added to out, otherwise it overwrites it.
// Kernels validate nothing and allocate nothing.

/** out[M×N] (+)= a[M×K] · b[K×N]. */
export function matmul(
  out: FloatArray, o: number,
  a: FloatArray, ao: number,
  b: FloatArray, bo: number,
  M: number, K: number, N: number,
  accumulate: boolean,
): void {
  for (let i = 0; i < M; i++) {
    const oi = o + i * N;
    if (!accumulate) out.fill(0, oi, oi + N);
    const ai = ao + i * K;
    // i-k-j order: the inner loop streams one row of b and one row of out.
    for (let k = 0; k < K; k++) {
      const aik = a[ai + k]!;
      const bk = bo + k * N;
      for (let j = 0; j < N; j++) out[oi + j]! += aik * b[bk + j]!;
    }
  }
}

/** out[M×N] (+)= aᵀ · b, where a is stored K×M and b is K×N (weight gradients: Xᵀ·dY). */
export function matmulTN(
  out: FloatArray, o: number,
  a: FloatArray, ao: number,
  b: FloatArray, bo: number,
  M: number, K: number, N: number,
  accumulate: boolean,
): void {
  if (!accumulate) out.fill(0, o, o + M * N);
  // k-i-j order: row k of a gives one scalar per output row, row k of b is streamed.
  for (let k = 0; k < K; k++) {
    const ak = ao + k * M;
    const bk = bo + k * N;
    for (let i = 0; i < M; i++) {
      const aki = a[ak + i]!;
      const oi = o + i * N;
      for (let j = 0; j < N; j++) out[oi + j]! += aki * b[bk + j]!;
    }
  }
}

/** out[M×N] (+)= a · bᵀ, where a is M×K and b is stored N×K (input gradients: dY·Wᵀ). */
export function matmulNT(
  out: FloatArray, o: number,
  a: FloatArray, ao: number,
  b: FloatArray, bo: number,
  M: number, K: number, N: number,
  accumulate: boolean,
): void {
  for (let i = 0; i < M; i++) {
    const ai = ao + i * K;
    const oi = o + i * N;
    // Each output is a dot product of two contiguous rows.
    for (let j = 0; j < N; j++) {
      const bj = bo + j * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += a[ai + k]! * b[bj + k]!;
      out[oi + j] = accumulate ? out[oi + j]! + s : s;
    }
  }
}
