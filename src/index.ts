// The public API: explicit named re-exports, grouped by concept.

// Tensor kernels and the seeded generator
export { Random } from './tensor/random.js';
export type { FloatArray } from './tensor/float-array.js';
