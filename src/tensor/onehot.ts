import type { FloatArray } from './float-array.js';

// A one-hot row times a matrix is a row of that matrix: X·W, with X (M×V) one-hot, is a
// gather of M rows of W (V×N). These kernels are that product and its backward without ever
// building X — mathematically identical, V times cheaper. Ids are trusted: callers validate.

/** out (M×V) = one-hot of ids[io + i·stride] for i in [0, M). */
export function oneHot(
  out: FloatArray, o: number, ids: ArrayLike<number>, io: number, stride: number, M: number, V: number,
): void {
  out.fill(0, o, o + M * V);
  for (let i = 0; i < M; i++) out[o + i * V + ids[io + i * stride]!] = 1;
}

/** out[i, :] (+)= W[ids[io + i·stride], :] — the product onehot(ids)·W, W being V×N. */
export function gatherRows(
  out: FloatArray, o: number,
  w: FloatArray, wo: number,
  ids: ArrayLike<number>, io: number, stride: number,
  M: number, N: number, accumulate: boolean,
): void {
  for (let i = 0; i < M; i++) {
    const oi = o + i * N;
    const wi = wo + ids[io + i * stride]! * N;
    if (accumulate) for (let j = 0; j < N; j++) out[oi + j]! += w[wi + j]!;
    else for (let j = 0; j < N; j++) out[oi + j] = w[wi + j]!;
  }
}

/** dW[ids[io + i·stride], :] += dout[i, :] — the backward of gatherRows (onehot(ids)ᵀ·dout). */
export function scatterAddRows(
  dw: FloatArray, dwo: number,
  dout: FloatArray, o: number,
  ids: ArrayLike<number>, io: number, stride: number,
  M: number, N: number,
): void {
  for (let i = 0; i < M; i++) {
    const oi = o + i * N;
    const wi = dwo + ids[io + i * stride]! * N;
    for (let j = 0; j < N; j++) dw[wi + j]! += dout[oi + j]!;
  }
}
