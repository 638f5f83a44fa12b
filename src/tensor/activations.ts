import type { FloatArray } from './float-array.js';

// Elementwise nonlinearities, forward and backward side by side. Backward kernels take the
// forward *output* (y), which is all either derivative needs, and add into dx.

/** y[i] = σ(x[i]) for i in [0, n). Safe for large |x| (exp never overflows to NaN). */
export function sigmoidForward(y: FloatArray, yo: number, x: FloatArray, xo: number, n: number): void {
  for (let i = 0; i < n; i++) y[yo + i] = sigmoid(x[xo + i]!);
}

/** dx[i] += dy[i] · y[i] · (1 − y[i]), where y = σ(x). */
export function sigmoidBackward(
  dx: FloatArray, dxo: number, y: FloatArray, yo: number, dy: FloatArray, dyo: number, n: number,
): void {
  for (let i = 0; i < n; i++) {
    const s = y[yo + i]!;
    dx[dxo + i]! += dy[dyo + i]! * s * (1 - s);
  }
}

/** y[i] = tanh(x[i]) for i in [0, n). */
export function tanhForward(y: FloatArray, yo: number, x: FloatArray, xo: number, n: number): void {
  for (let i = 0; i < n; i++) y[yo + i] = Math.tanh(x[xo + i]!);
}

/** dx[i] += dy[i] · (1 − y[i]²), where y = tanh(x). */
export function tanhBackward(
  dx: FloatArray, dxo: number, y: FloatArray, yo: number, dy: FloatArray, dyo: number, n: number,
): void {
  for (let i = 0; i < n; i++) {
    const t = y[yo + i]!;
    dx[dxo + i]! += dy[dyo + i]! * (1 - t * t);
  }
}

/** σ(x) = 1 / (1 + e^(−x)), written so that neither branch overflows. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}
