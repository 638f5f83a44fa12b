/**
 * The element arrays the kernels work on. Float32Array is what the library trains with;
 * Float64Array exists so that finite-difference gradient checks can use tight tolerances.
 */
export type FloatArray = Float32Array | Float64Array;

/** Whether every value is finite. */
export function allFinite(a: FloatArray): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return false;
  return true;
}
