/**
 * The element arrays the kernels work on. Float32Array is what the library trains with;
 * Float64Array exists so that finite-difference gradient checks can use tight tolerances.
 */
export type FloatArray = Float32Array | Float64Array;
