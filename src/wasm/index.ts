// Transitional: the wasm runtime moved to src/backend/wasm.ts and the kernel list to
// src/backend/table.ts. Kept only until the thread pool imports them from there.
import { wrapExports as wrap, type WasmKernelExports } from '../backend/table.js';
export { KERNEL_NAMES, type WasmKernelExports } from '../backend/table.js';
export * from '../backend/wasm.js';
export const wrapExports = (_memory: WebAssembly.Memory, x: WasmKernelExports) => wrap(x);
