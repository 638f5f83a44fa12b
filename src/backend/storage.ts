import type { FloatArray } from '../tensor/float-array.js';
import { jsKernels, type Kernels } from './table.js';
import { createWasmKernels, kernelModule, WASM_SCRATCH_BYTES, wasmSimdSupported } from './wasm.js';

/**
 * Which kernels a model runs on: WebAssembly SIMD, the plain TypeScript reference, or WGSL
 * compute shaders on a GPU (asynchronous: see docs/webgpu.md).
 */
export type BackendName = 'wasm' | 'js' | 'webgpu';

/**
 * What the webgpu backend hands the storage: the kernel set that records dispatches on a GPU
 * buffer mirroring `memory`, and the largest buffer the device binds.
 */
export interface GpuSide {
  readonly kernels: (memory: WebAssembly.Memory) => Kernels;
  readonly maxBytes: number;
}

/** Workspaces kept per (B, T) shape: a training shape and a prediction shape, with room to spare. */
const MAX_WORKSPACES = 4;
/** Blocks start on 16-byte boundaries (4 floats), the width of a SIMD load. */
const ALIGN = 4;
const WASM_PAGE = 65536;
/** A wasm32 memory addresses at most 65536 pages: 4 GiB. */
const WASM_MAX_PAGES = 65536;
/** The js backend's limit for one typed array: past it, engines throw or swap. */
const JS_MAX_BYTES = 2 ** 32;
/**
 * Workspace room reserved when a wasm model is created, so that the usual shapes never grow
 * the memory (growing detaches every view taken before). Untouched pages cost no physical
 * memory. 64 MiB holds B = 32, T = 35 up to H ≈ 1800.
 */
const WASM_RESERVE_BYTES = 64 << 20;

const roundUp = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;
const GiB = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(2)} GiB`;

/** How a model's workspace of a (B, T) shape is sized and carved: the model supplies it. */
export interface WorkspaceFactory<W> {
  /** Floats and ids the workspace needs, each block counted rounded up to ALIGN. */
  size(B: number, T: number): { floats: number; ids: number };
  /** Builds it from blocks handed out one after another by `floats(n)` and `ids(n)`. */
  create(B: number, T: number, floats: (n: number) => FloatArray, ids: (n: number) => Int32Array): W;
}

/** Elements `n` rounded up to a SIMD load, as workspace blocks are carved. */
export const alignedLength = roundUp;

/**
 * Where a model's numbers live, and the kernels that work on them. The parameters, the
 * gradients and one workspace region, all allocated here:
 * - `js`: ordinary typed arrays (Float32Array, or Float64Array for gradient checks);
 * - `wasm`: one WebAssembly.Memory laid out [parameters | gradients | scratch | workspace
 *   region], since the kernels can only address their own memory; the scratch is the matrix
 *   products' room for packed copies, WASM_SCRATCH_BYTES per thread (`scratch(lane)`);
 * - `webgpu`: the same memory, unshared and without a reserve, as the host mirror of one GPU
 *   buffer with the same layout (src/webgpu/gpu.ts): the kernels record GPU dispatches, and
 *   the mirror holds what the host writes or reads back.
 *
 * Workspaces of different shapes share the one region (a call uses one workspace from start
 * to end, and nothing in a workspace outlives the call). When a shape needs a bigger region,
 * the region is reallocated (js) or the memory grown (wasm); growing a memory detaches every
 * view on it (or, for a shared memory, leaves them at their old length), so views are
 * re-created and `generation` counts the re-creations.
 */
export class Storage<W> {
  readonly kernels: Kernels;
  readonly #dtype: 'float32' | 'float64';
  readonly #count: number;
  readonly #lanes: number; // wasm: threads with a scratch of their own (0 for js and webgpu)
  readonly #memory: WebAssembly.Memory | undefined;
  /** The most bytes the memory may reach: 4 GiB, or the GPU's largest buffer. */
  readonly #maxBytes: number;
  #buffer: ArrayBufferLike | undefined; // the memory buffer the current views are on (wasm)
  #params: FloatArray;
  #grads: FloatArray;
  #region: FloatArray;
  #ids: Int32Array;
  #idsCapacity = 0; // wasm: ids at the start of the region, floats after them
  #generation = 0;
  readonly #workspaces = new Map<string, W>();
  readonly #factory: WorkspaceFactory<W>;
  readonly #describe: string;
  readonly #backendName: BackendName;

  /**
   * @param count - parameters (and gradients) to hold.
   * @param threads - wasm only: above 1, put everything in a shared memory, so that kernel
   *   workers can work on it too; each thread gets a scratch of its own.
   * @param describe - the model's sizes, for error messages (`vocabSize 65, numHiddens 512…`).
   */
  constructor(
    count: number, dtype: 'float32' | 'float64', backend: BackendName, threads: number,
    factory: WorkspaceFactory<W>, describe: string, gpu?: GpuSide,
  ) {
    this.#dtype = dtype;
    this.#count = count;
    this.#lanes = backend === 'wasm' ? threads : 0;
    this.#backendName = backend;
    this.#factory = factory;
    this.#describe = describe;
    const bytes = (dtype === 'float64' ? 8 : 4) * roundUp(count);
    this.#maxBytes = Math.min(WASM_MAX_PAGES * WASM_PAGE, gpu?.maxBytes ?? Infinity);
    if (backend === 'webgpu') {
      const initial = Math.ceil((2 * bytes) / WASM_PAGE) + 1;
      if (!(initial * WASM_PAGE <= this.#maxBytes)) {
        throw new RangeError(
          `Expected a model whose parameters and gradients fit one buffer of this GPU (${GiB(this.#maxBytes)}), got ${describe}: ` +
            `${count} parameters need ${GiB(2 * bytes)}.`,
        );
      }
      this.#memory = new WebAssembly.Memory({ initial });
      this.kernels = gpu!.kernels(this.#memory);
    } else if (backend === 'wasm') {
      const initial = Math.ceil((2 * bytes + this.#scratchBytes() + WASM_RESERVE_BYTES) / WASM_PAGE);
      if (!(initial <= WASM_MAX_PAGES)) { // NaN-safe: a size that is not a number is refused too
        throw new RangeError(
          `Expected a model whose parameters and gradients fit the wasm backend's 4 GiB memory, got ${describe}: ` +
            `${count} parameters need ${GiB(2 * bytes + this.#scratchBytes() + WASM_RESERVE_BYTES)} with the workspace reserve.`,
        );
      }
      // A shared memory must declare a maximum; it is only address space until used, so
      // declare all that wasm32 can address: threads then run every shape one thread runs.
      this.#memory = threads > 1
        ? new WebAssembly.Memory({ initial, maximum: WASM_MAX_PAGES, shared: true })
        : new WebAssembly.Memory({ initial });
      try {
        this.kernels = createWasmKernels(this.#memory, { scratch: this.scratch(0) }) as unknown as Kernels;
      } catch (error) {
        throw new Error(
          "Expected backend 'wasm' to compile its kernels here, but this thread refuses synchronous " +
            `WebAssembly compilation (${String(error)}): await preloadWasm() first, or use backend 'auto'.`,
          { cause: error },
        );
      }
    } else {
      if (!(bytes <= JS_MAX_BYTES)) {
        throw new RangeError(
          `Expected a model whose parameters fit one typed array (4 GiB), got ${describe}: ` +
            `${count} parameters need ${GiB(bytes)} (and as much again for the gradients).`,
        );
      }
      this.#memory = undefined;
      this.kernels = jsKernels;
    }
    this.#params = this.#floats(0, count);
    this.#grads = this.#floats(roundUp(count), count);
    this.#region = this.#floats(0, 0);
    this.#ids = new Int32Array(0);
    this.#viewRegion();
    this.#buffer = this.#memory?.buffer;
  }

  /** The WebAssembly memory everything lives in (wasm backend only). */
  get memory(): WebAssembly.Memory | undefined {
    return this.#memory;
  }

  /** wasm: the byte address of thread `lane`'s scratch (lane 0: this thread's kernels). */
  scratch(lane: number): number {
    return 8 * roundUp(this.#count) + lane * WASM_SCRATCH_BYTES;
  }

  #scratchBytes(): number {
    return this.#lanes * WASM_SCRATCH_BYTES;
  }

  /** Counts view re-creations: a view taken in an earlier generation may be detached. */
  get generation(): number {
    this.#refresh();
    return this.#generation;
  }

  /** All parameters, one flat array (a view: re-read it after a call that may have grown memory). */
  get params(): FloatArray {
    this.#refresh();
    return this.#params;
  }

  /** All gradients, laid out as `params`. */
  get grads(): FloatArray {
    this.#refresh();
    return this.#grads;
  }

  /** A zeroed array for values that the kernels never address (such as a carried state). */
  allocOutside(length: number): FloatArray {
    return this.#dtype === 'float64' ? new Float64Array(length) : new Float32Array(length);
  }

  /**
   * The workspace for (B, T), its views re-created if the region moved since it was made.
   * A shape whose workspace the backend cannot address is a RangeError, thrown before any
   * memory grows.
   */
  workspace(B: number, T: number): W {
    this.#refresh();
    const key = `${B}x${T}`;
    const cached = this.#workspaces.get(key);
    if (cached !== undefined) return cached;
    const { floats, ids } = this.#factory.size(B, T);
    const bytes = (this.#dtype === 'float64' ? 8 : 4) * floats + 4 * ids;
    const limit = this.#memory === undefined ? JS_MAX_BYTES : this.#maxBytes - 8 * roundUp(this.#count) - this.#scratchBytes();
    if (!(bytes <= limit)) {
      throw new RangeError(
        `Expected a batch shape whose workspace fits the ${this.#backendName} backend, ` +
          `got batchSize ${B} × numSteps ${T} for ${this.#describe}: it needs ${GiB(bytes)}, the limit is ${GiB(limit)}. ` +
          'Use fewer rows or steps per call.',
      );
    }
    this.#reserve(floats, ids);
    // Carve the blocks one after another, each starting aligned.
    let fo = 0, io = 0;
    const carveFloats = (n: number): FloatArray => {
      const block = this.#region.subarray(fo, fo + n);
      fo += roundUp(n);
      return block;
    };
    const carveIds = (n: number): Int32Array => {
      const block = this.#ids.subarray(io, io + n);
      io += roundUp(n);
      return block;
    };
    const ws = this.#factory.create(B, T, carveFloats, carveIds);
    if (this.#workspaces.size >= MAX_WORKSPACES) this.#workspaces.delete(this.#workspaces.keys().next().value!);
    this.#workspaces.set(key, ws);
    return ws;
  }

  /** Makes the workspace region hold at least `floats` floats and `ids` ids. */
  #reserve(floats: number, ids: number): void {
    if (this.#region.length >= floats && this.#ids.length >= ids) return;
    if (this.#memory === undefined) {
      this.#region = this.allocOutside(Math.max(floats, this.#region.length));
      this.#ids = new Int32Array(Math.max(ids, this.#ids.length));
      this.#workspaces.clear();
      return;
    }
    this.#idsCapacity = Math.max(this.#idsCapacity, roundUp(ids));
    const need = 4 * (this.#regionStart() + this.#idsCapacity + roundUp(floats));
    const have = this.#memory.buffer.byteLength;
    if (need > have) {
      try {
        this.#memory.grow(Math.ceil((need - have) / WASM_PAGE));
      } catch (error) {
        throw new RangeError(`Could not grow the ${this.#backendName} memory to ${GiB(need)} for a workspace of ${this.#describe}.`, { cause: error });
      }
    }
    this.#buffer = undefined; // the region's split moved: re-create every view
    this.#refresh();
  }

  #regionStart(): number {
    return 2 * roundUp(this.#count) + this.#scratchBytes() / 4;
  }

  /** wasm: the region is the rest of the memory, the ids first, the floats after them. */
  #viewRegion(): void {
    if (this.#memory === undefined) return;
    const start = this.#regionStart();
    const floats = this.#memory.buffer.byteLength / 4 - start - this.#idsCapacity;
    this.#ids = new Int32Array(this.#memory.buffer, 4 * start, this.#idsCapacity);
    this.#region = this.#floats(start + this.#idsCapacity, floats);
  }

  #floats(offset: number, length: number): FloatArray {
    if (this.#memory !== undefined) return new Float32Array(this.#memory.buffer, 4 * offset, length);
    return this.allocOutside(length);
  }

  /** wasm: re-create every view if the memory grew (its old buffer is then detached). */
  #refresh(): void {
    if (this.#memory === undefined || this.#memory.buffer === this.#buffer) return;
    this.#buffer = this.#memory.buffer;
    this.#params = this.#floats(0, this.#count);
    this.#grads = this.#floats(roundUp(this.#count), this.#count);
    this.#viewRegion();
    this.#workspaces.clear();
    this.#generation++;
  }
}

/**
 * The backend `'auto'` picks: wasm where the engine runs WebAssembly SIMD, the dtype is
 * float32 and the kernel module can be compiled here (some browsers' main threads refuse to
 * compile it synchronously unless `preloadWasm()` did it ahead); else js.
 */
export function resolveBackend(requested: 'auto' | BackendName, dtype: 'float32' | 'float64'): BackendName {
  if (requested === 'js') return 'js';
  if (dtype === 'float64') {
    if (requested === 'wasm') {
      throw new RangeError("Expected `backend` 'wasm' with `dtype` 'float32' (the wasm kernels are float32), got dtype 'float64'.");
    }
    return 'js';
  }
  if (!wasmSimdSupported()) {
    if (requested === 'wasm') throw new Error('The wasm backend needs WebAssembly SIMD, which this engine lacks; use backend "js".');
    return 'js';
  }
  if (requested === 'wasm') return 'wasm';
  try {
    kernelModule(false);
    return 'wasm';
  } catch {
    return 'js';
  }
}
