import type { FloatArray } from './float-array.js';

/** out[i, j] += bias[j] for every row i of the M×N matrix out (forward of `+ b`). */
export function addBias(out: FloatArray, o: number, bias: FloatArray, bo: number, M: number, N: number): void {
  for (let i = 0; i < M; i++) {
    const oi = o + i * N;
    for (let j = 0; j < N; j++) out[oi + j]! += bias[bo + j]!;
  }
}

/** dbias[j] += Σ_i dout[i, j] (backward of `+ b`: the bias gradient sums over rows). */
export function addBiasBackward(
  dbias: FloatArray, dbo: number, dout: FloatArray, o: number, M: number, N: number,
): void {
  for (let i = 0; i < M; i++) {
    const oi = o + i * N;
    for (let j = 0; j < N; j++) dbias[dbo + j]! += dout[oi + j]!;
  }
}
