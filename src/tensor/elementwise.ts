import type { FloatArray } from './float-array.js';

/**
 * out[o + k] = a[ao + k] · b[bo + k] for k in [0, n); `out` may be `a` or `b` (in place).
 * Dropout uses it both ways: forward multiplies a layer's output by its mask (0 or 1/(1−p)),
 * backward multiplies the gradient reaching the dropped output by the same mask.
 */
export function mul(out: FloatArray, o: number, a: FloatArray, ao: number, b: FloatArray, bo: number, n: number): void {
  for (let k = 0; k < n; k++) out[o + k] = a[ao + k]! * b[bo + k]!;
}
