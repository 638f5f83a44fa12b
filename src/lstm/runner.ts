import { show } from '../checks.js';
import { resolveBackend, Storage, type BackendName, type WorkspaceFactory } from '../backend/storage.js';
import type { Kernels } from '../backend/table.js';
import type { FloatArray } from '../tensor/float-array.js';
import { kernelModule } from '../backend/wasm.js';
import { resolveThreads, ThreadPool, webWorkerFactory, type WorkerFactory } from '../threads/pool.js';
import { isGpuDevice } from '../webgpu/device.js';
import { GpuEngine } from '../webgpu/gpu.js';
import type { Pass } from './pass.js';

/**
 * A phase of work: part `part` of `parts`, on kernels `k`, with its context `ctx` passed in
 * (phases read nothing else). The parts of a phase never write the same memory; inside a part
 * only kernel calls run (with threads, a part other than 0 is recorded and replayed by a
 * worker), so plain JavaScript work — a dropout mask, an optimiser step — happens between
 * phases, on the model's thread. Returns a number the parts' results are summed into.
 */
export type Phase<C> = (k: Kernels, ctx: C, part: number, parts: number) => number;

/** The runtime choices of a model: where its numbers live and how many threads compute. */
export interface RunnerOptions {
  backend?: 'auto' | BackendName;
  threads?: number | 'auto';
  createWorker?: WorkerFactory;
  gpuDevice?: GPUDevice;
}

/**
 * The backend and thread wiring, in one place: the model's `Storage` (js typed arrays or one
 * WebAssembly memory) and, with threads, the `ThreadPool` of kernel workers on it; or, with
 * the webgpu backend, the `GpuEngine` whose kernels record dispatches (`gpu`). `run` runs a
 * phase split into as many parts as there are threads.
 */
export class Runner<W> {
  readonly storage: Storage<W>;
  readonly backend: BackendName;
  readonly threads: number;
  /** The webgpu backend's engine (undefined on the others). */
  readonly gpu: GpuEngine | undefined;
  readonly #pool: ThreadPool | undefined;
  // The phase being run and its context: set by run() for the duration of one pool.run, so
  // that the pool is handed one function made once (nothing allocated per call).
  #phase: Phase<unknown> | undefined;
  #ctx: unknown;
  #parts = 1;
  // Pool lane `index` of `size` runs parts index, index + size, … of #parts (none when
  // index ≥ #parts: a phase split into fewer parts than threads leaves the other lanes idle).
  readonly #lane = (k: Kernels, index: number, size: number): number => {
    let total = 0;
    for (let part = index; part < this.#parts; part += size) total += this.#phase!(k, this.#ctx, part, this.#parts);
    return total;
  };

  constructor(
    options: RunnerOptions, dtype: 'float32' | 'float64', count: number, factory: WorkspaceFactory<W>, describe: string,
  ) {
    const requested = options.backend ?? 'auto';
    if (requested !== 'auto' && requested !== 'wasm' && requested !== 'js' && requested !== 'webgpu') {
      throw new RangeError(`Expected \`backend\` to be 'auto', 'wasm', 'js' or 'webgpu', got ${show(requested)}.`);
    }
    const threads = resolveThreads(options.threads ?? 1);
    if (options.createWorker !== undefined && typeof options.createWorker !== 'function') {
      throw new TypeError(`Expected \`createWorker\` to be a function, got ${show(options.createWorker)}.`);
    }
    const device = options.gpuDevice;
    if (device !== undefined && !isGpuDevice(device)) {
      throw new TypeError(`Expected \`gpuDevice\` to be a GPUDevice (await requestGpuDevice()), got ${show(device)}.`);
    }
    if (requested === 'webgpu' && device === undefined) {
      throw new TypeError("Expected `gpuDevice` with backend 'webgpu': pass gpuDevice: await requestGpuDevice() (in Node, requestGpuDevice(create([])) from the `webgpu` package).");
    }
    // 'auto' picks the GPU only when asked to, by a device.
    const webgpu = requested === 'webgpu' || (requested === 'auto' && device !== undefined);
    if (webgpu && dtype === 'float64') {
      throw new RangeError("Expected `backend` 'webgpu' with `dtype` 'float32' (the WGSL kernels are float32), got dtype 'float64'.");
    }
    this.backend = webgpu ? 'webgpu' : resolveBackend(requested as 'auto' | 'wasm' | 'js', dtype);
    const g = globalThis as { SharedArrayBuffer?: unknown; crossOriginIsolated?: boolean };
    const canShare = typeof g.SharedArrayBuffer === 'function' && g.crossOriginIsolated !== false;
    this.threads = this.backend === 'wasm' && canShare ? threads : 1;
    let createWorker: WorkerFactory | undefined;
    if (this.threads > 1) {
      createWorker = options.createWorker ?? webWorkerFactory();
      if (createWorker === undefined) {
        throw new TypeError(
          `Expected \`createWorker\` for ${threads} threads: this engine has no web Worker. ` +
            "In Node: import { nodeWorkerFactory } from 'lstm-lm/node' and pass createWorker: nodeWorkerFactory.",
        );
      }
    }
    let gpu: GpuEngine | undefined;
    const gpuSide = device === undefined || !webgpu ? undefined : {
      kernels: (memory: WebAssembly.Memory) => (gpu = new GpuEngine(device, memory)).kernels,
      maxBytes: Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize),
    };
    this.storage = new Storage(count, dtype, this.backend, this.threads, factory, describe, gpuSide);
    this.gpu = gpu;
    this.#pool = createWorker === undefined
      ? undefined
      : new ThreadPool(kernelModule(true), this.storage.memory!, this.storage.kernels, this.threads, createWorker, {
        scratch: (lane) => this.storage.scratch(lane),
      });
  }

  /**
   * Runs every part of `phase` split into `parts` (default: one per thread) with `ctx` and
   * returns the sum of their results. One part runs here, with no hand-off to a worker;
   * without threads the parts run here one after the other.
   */
  run<C>(phase: Phase<C>, ctx: C, parts: number = this.threads): number {
    if (this.#pool === undefined || parts === 1) {
      let total = 0;
      for (let part = 0; part < parts; part++) total += phase(this.storage.kernels, ctx, part, parts);
      return total;
    }
    this.#phase = phase as Phase<unknown>;
    this.#ctx = ctx;
    this.#parts = parts;
    try {
      return this.#pool.run(this.#lane);
    } finally {
      this.#phase = undefined;
      this.#ctx = undefined;
    }
  }

  /** Stops the worker threads when `owner` is garbage-collected without `dispose()`. */
  disposeWhenCollected(owner: object): void {
    this.#pool?.disposeWhenCollected(owner);
  }

  /** Stops the worker threads, if any (later phases run on this thread); webgpu: frees the GPU buffers. */
  dispose(): void {
    this.#pool?.dispose();
    this.gpu?.destroy();
  }

  /** webgpu: copies `length` elements of a mirror view from `offset` to the GPU (after what is recorded). */
  upload(view: FloatArray | Int32Array, offset = 0, length = view.length - offset): void {
    this.gpu?.upload(view, offset, length);
  }

  /** webgpu: records zeroing a mirror view on the GPU. */
  clear(view: FloatArray): void {
    this.gpu?.clear(GpuEngine.at(view), view.length);
  }
}

/**
 * Where part `part` of `parts` of [0, total) starts; it ends where part + 1 starts. (Two
 * numbers rather than a tuple: phases run many times per step and allocate nothing.)
 */
export function partStart(total: number, part: number, parts: number): number {
  return Math.floor((part * total) / parts);
}

/**
 * The split rule's constant (measured on a 2-core AMD machine; see docs/design.md), and
 * overrides for tests and benchmarks: `force` chooses the recurrence's split (both give
 * bit-identical results), `forceParts` > 0 the parts of every phase, whatever the threads
 * (parts beyond them run in turn).
 */
export const SPLIT_RULE = {
  /**
   * Floating-point operations a part must have to be worth a hand-off. With threads that poll
   * before they sleep (pool.ts, SPIN_POLLS) a hand-off costs ≈ 0.4 µs here, and a batch-1 step
   * split by units in two parts measured (bench/split.ts, two threads against one): 1.2–1.5×
   * at H = 512 and 1.5–1.66× at H = 1024 (2.1e6 and 8.4e6 flops a step), 1.46× at H = 256,
   * B = 4 (2.1e6), but 0.9–1.2× from run to run at H = 256, B = 1 (5.2e5) and 0.94× at H = 128
   * (1.3e5). So a part needs ≈ 1e6 flops, ≈ 20 µs of work. (8e6 before the threads polled,
   * when a hand-off cost ≈ 46 µs.)
   */
  workPerPart: 1e6,
  /**
   * Bytes of a layer's recurrent weights (4·H² floats) from which the recurrence is split by
   * units even when there are rows to share: split by rows, every thread reads all of W_h at
   * every step; by units, only its columns. Measured here (two threads, B = 16–64): units
   * 1.5 % faster at H = 768 (9 MiB), 5–8 % at H = 1024 (16 MiB); even or up to 3 % slower at
   * H = 512 (4 MiB); 15 % slower at H = 256.
   */
  unitsWeightBytes: 8 * 2 ** 20,
  force: 'auto' as 'auto' | 'rows' | 'columns',
  forceParts: 0,
};

/**
 * Chooses how this call's phases are split over `threads` (writes `pass.parts`,
 * `pass.byUnits` and `pass.recurrenceParts`), from its shape alone — never from timings, so a
 * call always makes the same kernel calls. Every part must have workPerPart flops of work:
 *   parts = min(threads, max(1, ⌊T·B·L·8·H² / workPerPart⌋)) — the recurrence's flops per call;
 *   the recurrence by hidden units, one phase (one barrier) per step, in
 *   min(threads, ⌊8·B·H² / workPerPart⌋) parts — one step's flops — when that is ≥ 2 and there
 *   are too few batch rows to share (B < 2·threads) or the recurrent weights are big (4·H²
 *   floats ≥ unitsWeightBytes: H ≥ 725); otherwise by batch rows, in min(parts, B).
 */
export function planSplit(pass: Pass, threads: number): void {
  const { B, T } = pass.ws;
  const H = pass.config.numHiddens, L = pass.config.numLayers;
  const step = 8 * B * H * H; // flops of one layer's step: four B×H·H×H products
  const forced = SPLIT_RULE.forceParts;
  const parts = Math.min(threads, Math.max(1, Math.floor((T * L * step) / SPLIT_RULE.workPerPart)));
  const stepParts = Math.min(threads, Math.floor(step / SPLIT_RULE.workPerPart));
  const fewRows = B < 2 * threads, bigWeights = 16 * H * H >= SPLIT_RULE.unitsWeightBytes;
  pass.byUnits = SPLIT_RULE.force === 'auto' ? stepParts >= 2 && (fewRows || bigWeights) : SPLIT_RULE.force === 'columns';
  pass.parts = forced > 0 ? forced : parts;
  pass.recurrenceParts = forced > 0 ? forced : pass.byUnits ? Math.max(1, stepParts) : Math.min(parts, B);
}
