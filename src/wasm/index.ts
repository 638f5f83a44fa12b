import type { Kernels } from '../tensor/kernels.js';
import { kernelModuleBytes } from './module.js';

// The WebAssembly SIMD kernels: the module is generated here, in TypeScript (src/wasm/
// kernels/*), compiled on first use and instantiated on the caller's memory. Every kernel
// mirrors one of src/tensor and takes the same arguments.

/**
 * The raw exports: the kernels on byte pointers into the memory (i32), in the argument order
 * of the TypeScript kernels with each (array, offset) pair replaced by one pointer and each
 * boolean by 0/1. Pointers need 4-byte alignment only.
 */
export interface WasmKernelExports {
  matmul(out: number, a: number, b: number, M: number, K: number, N: number, accumulate: number): void;
  matmulTN(out: number, a: number, b: number, M: number, K: number, N: number, accumulate: number): void;
  matmulNT(out: number, a: number, b: number, M: number, K: number, N: number, accumulate: number): void;
  addBias(out: number, bias: number, M: number, N: number): void;
  addBiasBackward(dbias: number, dout: number, M: number, N: number): void;
  gatherRows(out: number, w: number, ids: number, stride: number, M: number, N: number, accumulate: number): void;
  scatterAddRows(dw: number, dout: number, ids: number, stride: number, M: number, N: number): void;
  softmaxCrossEntropy(dlogits: number, logits: number, targets: number, stride: number, M: number, V: number, scale: number): number;
  sigmoidForward(y: number, x: number, n: number): void;
  tanhForward(y: number, x: number, n: number): void;
  lstmCellForward(gates: number, cPrev: number, c: number, tanhC: number, h: number, gs: number, n: number): void;
  lstmCellBackward(dGates: number, gates: number, cPrev: number, tanhC: number, dH: number, dC: number, gs: number, n: number): void;
  addInto(out: number, a: number, n: number): void;
  fill(out: number, value: number, n: number): void;
}

/**
 * The wasm kernels with the TypeScript kernels' signatures (`Kernels`), so that a model can
 * swap `jsKernels` for them and change nothing else — provided every array it passes is a
 * Float32Array (ids: Int32Array) view on `memory.buffer`. Views made before `memory.grow`
 * are detached by it (byteOffset 0): re-create them after growing.
 */
export interface WasmKernels extends Kernels<Float32Array, Int32Array> {
  readonly memory: WebAssembly.Memory;
  readonly exports: WasmKernelExports;
  /** out[o + k] += a[ao + k] for k in [0, n). */
  addInto(out: Float32Array, o: number, a: Float32Array, ao: number, n: number): void;
  /** out[o + k] = value for k in [0, n) (value rounded to float32). */
  fill(out: Float32Array, o: number, value: number, n: number): void;
}

/** The smallest module using a SIMD instruction: (func (result v128) v128.const 0). */
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () → v128
  0x03, 0x02, 0x01, 0x00, // function section
  0x0a, 0x16, 0x01, 0x14, 0x00, 0xfd, 0x0c, ...new Array<number>(16).fill(0), 0x0b, // code: v128.const 0; end
]);

/**
 * Whether this engine runs WebAssembly SIMD (Node ≥ 16.4, Chrome ≥ 91, Firefox ≥ 89,
 * Safari ≥ 16.4). `false` where WebAssembly itself is missing.
 *
 * @example
 * const kernels = wasmSimdSupported() ? createWasmKernels(memory) : jsKernels;
 */
export function wasmSimdSupported(): boolean {
  return typeof WebAssembly === 'object' && typeof WebAssembly.validate === 'function' && WebAssembly.validate(SIMD_PROBE);
}

function isShared(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
}

// Compiled once per process (and per memory kind), on first use.
const compiled = new Map<boolean, WebAssembly.Module>();

/** The names of the module's exports, in function-index order. */
export const KERNEL_NAMES: readonly (keyof WasmKernelExports)[] = [
  'matmul', 'matmulTN', 'matmulNT', 'addBias', 'addBiasBackward', 'gatherRows', 'scatterAddRows',
  'softmaxCrossEntropy', 'sigmoidForward', 'tanhForward', 'lstmCellForward', 'lstmCellBackward', 'addInto', 'fill',
];

/**
 * The compiled kernel module (compiled synchronously on first use, then cached): for a shared
 * memory it declares a shared import. Threads post it to their workers.
 */
export function kernelModule(shared: boolean): WebAssembly.Module {
  let module = compiled.get(shared);
  if (!module) {
    module = new WebAssembly.Module(kernelModuleBytes(shared));
    compiled.set(shared, module);
  }
  return module;
}

function wrap(memory: WebAssembly.Memory, instance: WebAssembly.Instance): WasmKernels {
  return wrapExports(memory, instance.exports as unknown as WasmKernelExports);
}

/**
 * The TypeScript-signature kernels over raw exports `x` — the module's, or any object with
 * the same functions (threads record calls through one).
 */
export function wrapExports(memory: WebAssembly.Memory, x: WasmKernelExports): WasmKernels {
  // Byte address of element `offset` of a view on the memory.
  const p = (array: Float32Array | Int32Array, offset: number): number => array.byteOffset + 4 * offset;
  return {
    memory,
    exports: x,
    matmul: (out, o, a, ao, b, bo, M, K, N, accumulate) => x.matmul(p(out, o), p(a, ao), p(b, bo), M, K, N, accumulate ? 1 : 0),
    matmulTN: (out, o, a, ao, b, bo, M, K, N, accumulate) => x.matmulTN(p(out, o), p(a, ao), p(b, bo), M, K, N, accumulate ? 1 : 0),
    matmulNT: (out, o, a, ao, b, bo, M, K, N, accumulate) => x.matmulNT(p(out, o), p(a, ao), p(b, bo), M, K, N, accumulate ? 1 : 0),
    addBias: (out, o, bias, bo, M, N) => x.addBias(p(out, o), p(bias, bo), M, N),
    addBiasBackward: (dbias, dbo, dout, o, M, N) => x.addBiasBackward(p(dbias, dbo), p(dout, o), M, N),
    gatherRows: (out, o, w, wo, ids, io, stride, M, N, accumulate) =>
      x.gatherRows(p(out, o), p(w, wo), p(ids, io), stride, M, N, accumulate ? 1 : 0),
    scatterAddRows: (dw, dwo, dout, o, ids, io, stride, M, N) => x.scatterAddRows(p(dw, dwo), p(dout, o), p(ids, io), stride, M, N),
    softmaxCrossEntropy: (dlogits, dlo, logits, lo, targets, ti, stride, M, V, scale) =>
      x.softmaxCrossEntropy(p(dlogits, dlo), p(logits, lo), p(targets, ti), stride, M, V, scale),
    sigmoidForward: (y, yo, xs, xo, n) => x.sigmoidForward(p(y, yo), p(xs, xo), n),
    tanhForward: (y, yo, xs, xo, n) => x.tanhForward(p(y, yo), p(xs, xo), n),
    lstmCellForward: (gates, go, cPrev, cpo, c, co, tanhC, tco, h, ho, gs, n) =>
      x.lstmCellForward(p(gates, go), p(cPrev, cpo), p(c, co), p(tanhC, tco), p(h, ho), gs, n),
    lstmCellBackward: (dGates, dgo, gates, go, cPrev, cpo, tanhC, tco, dH, dho, dC, dco, gs, n) =>
      x.lstmCellBackward(p(dGates, dgo), p(gates, go), p(cPrev, cpo), p(tanhC, tco), p(dH, dho), p(dC, dco), gs, n),
    addInto: (out, o, a, ao, n) => x.addInto(p(out, o), p(a, ao), n),
    fill: (out, o, value, n) => x.fill(p(out, o), value, n),
  };
}

/**
 * The wasm kernels on `memory`, compiled and instantiated synchronously. The module is
 * ≈ 19 KB: some browsers refuse synchronous compilation of modules over 4 KB on the main
 * thread (Chrome did; Chromium 150 no longer does), so there use `createWasmKernelsAsync` or
 * `preloadWasm()` (or call this from a worker). Node has no limit.
 * Throws if the engine lacks SIMD: check `wasmSimdSupported()` first.
 *
 * @example
 * const memory = new WebAssembly.Memory({ initial: 16 });
 * const k = createWasmKernels(memory);
 * const f = new Float32Array(memory.buffer);
 * f.set([1, 2, 3, 4], 0); // a = [[1, 2], [3, 4]] at element 0, b = I at element 4
 * f.set([1, 0, 0, 1], 4);
 * k.matmul(f, 8, f, 0, f, 4, 2, 2, 2, false);
 * f.subarray(8, 12); // Float32Array [1, 2, 3, 4]
 */
export function createWasmKernels(memory: WebAssembly.Memory): WasmKernels {
  return wrap(memory, new WebAssembly.Instance(kernelModule(isShared(memory)), { env: { memory } }));
}

/**
 * Compiles the kernel module ahead, asynchronously, so that models made afterwards need no
 * synchronous compilation — which some browsers refuse on the main thread for modules over 4 KB
 * (there, without this, `backend: 'auto'` falls back to js). Resolves to whether the wasm
 * backend is available.
 *
 * @example
 * await preloadWasm();
 * const model = new LSTMLanguageModel({ vocabSize: 28, numHiddens: 256 }); // model.backend === 'wasm'
 */
export async function preloadWasm(): Promise<boolean> {
  if (!wasmSimdSupported()) return false;
  await kernelModuleAsync(false);
  if (typeof SharedArrayBuffer === 'function') await kernelModuleAsync(true);
  return true;
}

/** `kernelModule`, compiling asynchronously (into the same cache). */
async function kernelModuleAsync(shared: boolean): Promise<WebAssembly.Module> {
  let module = compiled.get(shared);
  if (!module) {
    module = await WebAssembly.compile(kernelModuleBytes(shared));
    compiled.set(shared, module);
  }
  return module;
}

/** `createWasmKernels`, compiling asynchronously: usable on a browser's main thread. */
export async function createWasmKernelsAsync(memory: WebAssembly.Memory): Promise<WasmKernels> {
  const module = await kernelModuleAsync(isShared(memory));
  return wrap(memory, await WebAssembly.instantiate(module, { env: { memory } }));
}

export { kernelModuleBytes };
