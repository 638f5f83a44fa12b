import { show } from '../checks.js';
import { FunctionBuilder, ValType } from '../wasm/builder.js';
import { encodeModule } from '../wasm/encoder.js';
import { Simd } from '../wasm/ops.js';
import { MATMUL_SCRATCH_BYTES, SCRATCH_GLOBAL } from '../wasm/kernels/matmul.js';
import { KERNEL_GLOBALS, kernelFunctions, wrapExports, type KernelOptions, type Kernels, type WasmKernelExports } from './table.js';

// The wasm backend at run time: the kernel module — generated in TypeScript by src/wasm/ from
// the kernel table — compiled on first use (or ahead, asynchronously) and instantiated on the
// caller's memory. Every kernel mirrors one of src/tensor and takes the same arguments.
//
// Two variants of the module come from the same generators: plain SIMD, and relaxed SIMD
// (the matrix products' multiply-adds as f32x4.relaxed_madd, fused where the CPU has FMA).
// The relaxed one is the default where the engine validates it (Node ≥ 22, Chrome ≥ 114);
// its products differ from the plain ones only by the rounding the fusion saves.

/**
 * The wasm kernels with the TypeScript kernels' signatures (`Kernels`), so that a model can
 * swap `jsKernels` for them and change nothing else — provided every array it passes is a
 * Float32Array (ids: Int32Array) view on `memory.buffer`. Views made before `memory.grow`
 * are detached by it (byteOffset 0): re-create them after growing.
 */
export type WasmKernels = Kernels & {
  readonly memory: WebAssembly.Memory;
  /** Whether this is the relaxed-SIMD variant (fused multiply-adds in the products). */
  readonly relaxed: boolean;
  /** The raw exports, on byte pointers (see the kernel table). */
  readonly exports: WasmKernelExports;
  /** The byte address of the products' scratch memory, or undefined for none (see WasmKernelsOptions). */
  readonly scratch: number | undefined;
};

/** Bytes of `memory` the matrix products may overwrite when given `scratch`: 36 KiB. */
export const WASM_SCRATCH_BYTES = MATMUL_SCRATCH_BYTES;

/** Options of createWasmKernels: the module variant, and this instance's scratch memory. */
export interface WasmKernelsOptions extends KernelOptions {
  /**
   * The byte address of WASM_SCRATCH_BYTES bytes of `memory` that the matrix products may
   * overwrite at any call: copies of operands whose rows are far apart in memory (rows of
   * 2 KiB or more, H ≥ 512), which makes those products 1.5–2× faster at H = 1024. A positive
   * multiple of 16; no other data may live there, and no two instances (threads) may share
   * it. Default: none (the products read their operands in place; same results).
   */
  scratch?: number;
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

let relaxedSupport: boolean | undefined;

/**
 * Whether this engine runs relaxed SIMD (Node ≥ 22, Chrome ≥ 114; Node 20 only behind a
 * flag): whether it validates a function using `f32x4.relaxed_madd`. Where it does, the wasm
 * kernels use it by default.
 *
 * @example
 * const k = createWasmKernels(memory); // k.relaxed === wasmRelaxedSimdSupported()
 */
export function wasmRelaxedSimdSupported(): boolean {
  if (relaxedSupport === undefined) {
    const { v128 } = ValType;
    const f = new FunctionBuilder('madd', { a: v128, b: v128, c: v128 }, [v128]);
    f.get(f.p.a).get(f.p.b).get(f.p.c).simd(Simd.f32x4_relaxed_madd);
    relaxedSupport = wasmSimdSupported() && WebAssembly.validate(encodeModule([f.build()], { shared: false }));
  }
  return relaxedSupport;
}

/** The options with `relaxed` resolved: the engine's support by default; refused if asked for without it. */
function resolveOptions(options: KernelOptions): Required<KernelOptions> {
  const relaxed = options.relaxed ?? wasmRelaxedSimdSupported();
  if (typeof relaxed !== 'boolean') throw new TypeError(`Expected \`relaxed\` to be a boolean, got ${show(relaxed)}.`);
  if (relaxed && !wasmRelaxedSimdSupported()) {
    throw new Error('Expected an engine with relaxed SIMD for `relaxed: true` (Node ≥ 22, Chrome ≥ 114); this one lacks it.');
  }
  return { relaxed };
}

function isShared(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
}

// Compiled once per process (and per memory kind and variant), on first use.
const compiled = new Map<string, WebAssembly.Module>();
const key = (shared: boolean, o: Required<KernelOptions>): string => `${shared ? 'shared' : 'own'}/${o.relaxed ? 'relaxed' : 'plain'}`;

/**
 * The compiled kernel module (compiled synchronously on first use, then cached): for a shared
 * memory it declares a shared import. Threads post it to their workers. `options.relaxed`:
 * the relaxed-SIMD variant (default: where the engine has it).
 */
export function kernelModule(shared: boolean, options: KernelOptions = {}): WebAssembly.Module {
  const o = resolveOptions(options);
  let module = compiled.get(key(shared, o));
  if (!module) {
    module = new WebAssembly.Module(kernelModuleBytes(shared, o));
    compiled.set(key(shared, o), module);
  }
  return module;
}

/** `options.scratch` checked against `memory`: a positive multiple of 16 with room after it. */
function checkScratch(memory: WebAssembly.Memory, scratch: unknown): number | undefined {
  if (scratch === undefined) return undefined;
  if (!Number.isInteger(scratch)) { // false for anything but a number
    throw new TypeError(`Expected \`scratch\` to be an integer byte address, got ${show(scratch)}.`);
  }
  const address = scratch as number;
  const end = memory.buffer.byteLength;
  if (address <= 0 || address % 16 !== 0 || address + WASM_SCRATCH_BYTES > end) {
    throw new RangeError(
      `Expected \`scratch\` to be a positive multiple of 16 with ${WASM_SCRATCH_BYTES} bytes of the memory after it ` +
        `(its ${end} bytes), got ${address}.`,
    );
  }
  return address;
}

function wrap(memory: WebAssembly.Memory, instance: WebAssembly.Instance, relaxed: boolean, scratch: number | undefined): WasmKernels {
  (instance.exports[SCRATCH_GLOBAL.name] as WebAssembly.Global).value = scratch ?? 0; // 0: none
  const exports = instance.exports as unknown as WasmKernelExports;
  return { ...wrapExports(exports), memory, relaxed, exports, scratch };
}

/**
 * The kernel module's bytes, its functions in KERNEL_NAMES order (all exported under their
 * names), and the global `scratch` (see WasmKernelsOptions; 0 = none). It imports its memory
 * as `env.memory`; with `shared` the import is declared shared (for a memory created with
 * `shared: true`, as threads need). `options.relaxed`: the relaxed-SIMD variant (default:
 * where the engine has it).
 */
export function kernelModuleBytes(shared = false, options: KernelOptions = {}): Uint8Array<ArrayBuffer> {
  return encodeModule(kernelFunctions(resolveOptions(options)), { shared }, KERNEL_GLOBALS);
}

/**
 * The wasm kernels on `memory`, compiled and instantiated synchronously. The module is
 * ≈ 19 KB: some browsers refuse synchronous compilation of modules over 4 KB on the main
 * thread (Chrome did; Chromium 150 no longer does), so there use `createWasmKernelsAsync` or
 * `preloadWasm()` (or call this from a worker). Node has no limit.
 * Throws if the engine lacks SIMD: check `wasmSimdSupported()` first. `options.relaxed`
 * chooses the relaxed-SIMD variant (default: where the engine has it; `k.relaxed` tells);
 * `options.scratch` gives the products room for packed copies (faster at H ≥ 512).
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
export function createWasmKernels(memory: WebAssembly.Memory, options: WasmKernelsOptions = {}): WasmKernels {
  const o = resolveOptions(options);
  const scratch = checkScratch(memory, options.scratch);
  return wrap(memory, new WebAssembly.Instance(kernelModule(isShared(memory), o), { env: { memory } }), o.relaxed, scratch);
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
  const o = resolveOptions({});
  await kernelModuleAsync(false, o);
  if (typeof SharedArrayBuffer === 'function') await kernelModuleAsync(true, o);
  return true;
}

/** `kernelModule`, compiling asynchronously (into the same cache). */
async function kernelModuleAsync(shared: boolean, o: Required<KernelOptions>): Promise<WebAssembly.Module> {
  let module = compiled.get(key(shared, o));
  if (!module) {
    module = await WebAssembly.compile(kernelModuleBytes(shared, o));
    compiled.set(key(shared, o), module);
  }
  return module;
}

/** `createWasmKernels`, compiling asynchronously: usable on a browser's main thread. */
export async function createWasmKernelsAsync(memory: WebAssembly.Memory, options: WasmKernelsOptions = {}): Promise<WasmKernels> {
  const o = resolveOptions(options);
  const scratch = checkScratch(memory, options.scratch);
  const module = await kernelModuleAsync(isShared(memory), o);
  return wrap(memory, await WebAssembly.instantiate(module, { env: { memory } }), o.relaxed, scratch);
}

