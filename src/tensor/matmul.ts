import type { FloatArray } from './float-array.js';

// Matrix products on row-major matrices addressed as (array, offset) pairs, so that a
// kernel can read a block of a larger buffer (one time step of a workspace, one parameter of
// the flat parameter array) without creating a view. Dimensions: out is M×N, the reduction
// runs over K. With `accumulate` the product is added to out, otherwise it overwrites it.
// Kernels validate nothing and allocate nothing.
//
// The products differ only in how they step through their operands, so all of them call
// one strided kernel, `gemm`, which finds element (i, k) of the left operand at
// a[ao + i·ai + k·ak], element (k, j) of the right operand at b[bo + k·bk + j·bj] and
// writes element (i, j) of out at out[o + i·ld + j]. matmulStrided and matmulNTStrided compute
// a block of columns of a wider product (ld > N): the recurrence split by hidden units;
// matmulTNStrided a block of rows of a weight gradient: the weight gradients over many threads.

/** out[M×N] (+)= a[M×K] · b[K×N]. */
export function matmul(
  out: FloatArray, o: number,
  a: FloatArray, ao: number,
  b: FloatArray, bo: number,
  M: number, K: number, N: number,
  accumulate: boolean,
): void {
  gemm(out, o, N, a, ao, K, 1, b, bo, N, 1, M, K, N, accumulate);
}

/**
 * out[M×N] (+)= a[M×K] · b[K×N] where out and b have rows `ld` apart (ld ≥ N): columns
 * [j0, j0 + N) of a product with ld columns, given out and b at their column j0. Each output
 * is summed exactly as by matmul.
 *
 * @example
 * // columns 4…7 of out[2×8] = a[2×3] · b[3×8]
 * matmulStrided(out, 4, a, 0, b, 4, 2, 3, 4, 8, false);
 */
export function matmulStrided(
  out: FloatArray, o: number,
  a: FloatArray, ao: number,
  b: FloatArray, bo: number,
  M: number, K: number, N: number, ld: number,
  accumulate: boolean,
): void {
  gemm(out, o, ld, a, ao, K, 1, b, bo, ld, 1, M, K, N, accumulate);
}

/** out[M×N] (+)= aᵀ · b, where a is stored K×M and b is K×N (weight gradients: Xᵀ·dY). */
export function matmulTN(
  out: FloatArray, o: number,
  a: FloatArray, ao: number,
  b: FloatArray, bo: number,
  M: number, K: number, N: number,
  accumulate: boolean,
): void {
  gemm(out, o, N, a, ao, 1, M, b, bo, N, 1, M, K, N, accumulate);
}

/**
 * out[M×N] (+)= aᵀ · b, a stored K×M and b K×N, where out, a and b all have rows `ld` apart
 * (ld ≥ M, N): rows [i0, i0 + M) of a weight gradient Xᵀ·dY with ld columns, given out at its
 * row i0 and a at its column i0 — the weight gradients split by rows over many threads. Each
 * output is summed exactly as by matmulTN.
 *
 * @example
 * // rows 2…3 of out[4×4] = aᵀ · b, a stored 3×4, b 3×4
 * matmulTNStrided(out, 2 * 4, a, 2, b, 0, 2, 3, 4, 4, false);
 */
export function matmulTNStrided(
  out: FloatArray, o: number,
  a: FloatArray, ao: number,
  b: FloatArray, bo: number,
  M: number, K: number, N: number, ld: number,
  accumulate: boolean,
): void {
  gemm(out, o, ld, a, ao, 1, ld, b, bo, ld, 1, M, K, N, accumulate);
}

/** out[M×N] (+)= a · bᵀ, where a is M×K and b is stored N×K (input gradients: dY·Wᵀ). */
export function matmulNT(
  out: FloatArray, o: number,
  a: FloatArray, ao: number,
  b: FloatArray, bo: number,
  M: number, K: number, N: number,
  accumulate: boolean,
): void {
  gemm(out, o, N, a, ao, K, 1, b, bo, 1, K, M, K, N, accumulate);
}

/**
 * out[M×N] (+)= a · bᵀ, a M×K and b stored N×K, where out has rows `ld` apart (ld ≥ N):
 * columns [j0, j0 + N) of a product with ld columns, given out at its column j0 and b at its
 * row j0. Each output is summed exactly as by matmulNT.
 *
 * @example
 * // columns 4…7 of out[2×8] = a[2×3] · bᵀ, b stored 8×3
 * matmulNTStrided(out, 4, a, 0, b, 4 * 3, 2, 3, 4, 8, false);
 */
export function matmulNTStrided(
  out: FloatArray, o: number,
  a: FloatArray, ao: number,
  b: FloatArray, bo: number,
  M: number, K: number, N: number, ld: number,
  accumulate: boolean,
): void {
  gemm(out, o, ld, a, ao, K, 1, b, bo, 1, K, M, K, N, accumulate);
}

/**
 * out[M×N] (+)= A·B with A(i, k) = a[ao + i·ai + k·ak], B(k, j) = b[bo + k·bk + j·bj] and
 * out(i, j) at out[o + i·ld + j].
 *
 * Register blocking: each pass over k computes a 4×4 block of out in 16 local variables, so
 * every element loaded from a or b feeds four multiply-adds instead of one, and out is
 * read and written once per block instead of once per k. In V8 this is about 4× the
 * simple loops (≈ 4 GFLOP/s against ≈ 1 on Float32Array at the LSTM's shapes; see
 * bench/matmul-js.ts). Wider blocks (4×8, 8×4) measured no faster: the sums no longer fit
 * in registers. A copy of the kernel specialised to matmul's unit strides measured no
 * faster than these strided loads, so one kernel serves all three products.
 *
 * The sums are kept in locals (doubles), so Float32 results are rounded once, at the store.
 */
function gemm(
  out: FloatArray, o: number, ld: number,
  a: FloatArray, ao: number, ai: number, ak: number,
  b: FloatArray, bo: number, bk: number, bj: number,
  M: number, K: number, N: number,
  accumulate: boolean,
): void {
  const M4 = M - (M % 4), N4 = N - (N % 4); // rows and columns covered by whole 4×4 blocks
  for (let i = 0; i < M4; i += 4) {
    for (let j = 0; j < N4; j += 4) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
      let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      // pa walks column k of A's rows i…i+3, pb walks row k of B's columns j…j+3.
      for (let k = 0, pa = ao + i * ai, pb = bo + j * bj; k < K; k++, pa += ak, pb += bk) {
        const a0 = a[pa]!, a1 = a[pa + ai]!, a2 = a[pa + 2 * ai]!, a3 = a[pa + 3 * ai]!;
        const b0 = b[pb]!, b1 = b[pb + bj]!, b2 = b[pb + 2 * bj]!, b3 = b[pb + 3 * bj]!;
        c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
        c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
        c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
        c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
      }
      let p = o + i * ld + j; // out(i, j), then one row down per line
      if (accumulate) { c00 += out[p]!; c01 += out[p + 1]!; c02 += out[p + 2]!; c03 += out[p + 3]!; }
      out[p] = c00; out[p + 1] = c01; out[p + 2] = c02; out[p + 3] = c03;
      p += ld;
      if (accumulate) { c10 += out[p]!; c11 += out[p + 1]!; c12 += out[p + 2]!; c13 += out[p + 3]!; }
      out[p] = c10; out[p + 1] = c11; out[p + 2] = c12; out[p + 3] = c13;
      p += ld;
      if (accumulate) { c20 += out[p]!; c21 += out[p + 1]!; c22 += out[p + 2]!; c23 += out[p + 3]!; }
      out[p] = c20; out[p + 1] = c21; out[p + 2] = c22; out[p + 3] = c23;
      p += ld;
      if (accumulate) { c30 += out[p]!; c31 += out[p + 1]!; c32 += out[p + 2]!; c33 += out[p + 3]!; }
      out[p] = c30; out[p + 1] = c31; out[p + 2] = c32; out[p + 3] = c33;
    }
  }
  // What the blocks leave: the last N % 4 columns of the first M4 rows, one dot product per
  // output (none at the LSTM's shapes, where N is a multiple of 4), then the last M % 4 rows,
  // a row at a time — the whole product when M = 1 (generation, predict: batch 1).
  for (let i = 0; i < M4; i++) {
    for (let j = N4; j < N; j++) {
      let s = 0;
      for (let k = 0, pa = ao + i * ai, pb = bo + j * bj; k < K; k++, pa += ak, pb += bk) s += a[pa]! * b[pb]!;
      const p = o + i * ld + j;
      out[p] = accumulate ? out[p]! + s : s;
    }
  }
  for (let i = M4; i < M; i++) rowTimesMatrix(out, o + i * ld, a, ao + i * ai, ak, b, bo, bk, bj, K, N, accumulate);
}

/**
 * out[1×N] (+)= A(i, ·)·B for one row of A, starting at a[ao] with stride ak: the
 * matrix-vector product of batch 1. Eight outputs per pass over k, in eight independent sums
 * (one sum per output is a chain of dependent additions that runs at the adder's latency;
 * eight keep it busy): ≈3× the one-sum loop in V8 at 1×256·256×256 (bench/matmul-js.ts).
 * Every output is still Σ_k in k order from 0 in a double, plus out when accumulating, as in
 * the 4×4 blocks, so a row's result does not depend on M or on where the row falls.
 */
function rowTimesMatrix(
  out: FloatArray, o: number,
  a: FloatArray, ao: number, ak: number,
  b: FloatArray, bo: number, bk: number, bj: number,
  K: number, N: number,
  accumulate: boolean,
): void {
  const N8 = N - (N % 8);
  for (let j = 0; j < N8; j += 8) {
    let c0 = 0, c1 = 0, c2 = 0, c3 = 0, c4 = 0, c5 = 0, c6 = 0, c7 = 0;
    for (let k = 0, pa = ao, pb = bo + j * bj; k < K; k++, pa += ak, pb += bk) {
      const x = a[pa]!;
      c0 += x * b[pb]!; c1 += x * b[pb + bj]!; c2 += x * b[pb + 2 * bj]!; c3 += x * b[pb + 3 * bj]!;
      c4 += x * b[pb + 4 * bj]!; c5 += x * b[pb + 5 * bj]!; c6 += x * b[pb + 6 * bj]!; c7 += x * b[pb + 7 * bj]!;
    }
    const p = o + j;
    if (accumulate) {
      c0 += out[p]!; c1 += out[p + 1]!; c2 += out[p + 2]!; c3 += out[p + 3]!;
      c4 += out[p + 4]!; c5 += out[p + 5]!; c6 += out[p + 6]!; c7 += out[p + 7]!;
    }
    out[p] = c0; out[p + 1] = c1; out[p + 2] = c2; out[p + 3] = c3;
    out[p + 4] = c4; out[p + 5] = c5; out[p + 6] = c6; out[p + 7] = c7;
  }
  for (let j = N8; j < N; j++) {
    let s = 0;
    for (let k = 0, pa = ao, pb = bo + j * bj; k < K; k++, pa += ak, pb += bk) s += a[pa]! * b[pb]!;
    out[o + j] = accumulate ? out[o + j]! + s : s;
  }
}
