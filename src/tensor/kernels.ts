// Transitional: the kernel set is defined by the kernel table, src/backend/table.ts. Kept only
// until the thread pool imports it from there.
export { jsKernels, type Kernels } from '../backend/table.js';
