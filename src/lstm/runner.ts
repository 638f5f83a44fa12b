import { show } from '../checks.js';
import { resolveBackend, Storage, type BackendName, type WorkspaceFactory } from '../backend/storage.js';
import type { Kernels } from '../backend/table.js';
import { kernelModule } from '../backend/wasm.js';
import { resolveThreads, ThreadPool, webWorkerFactory, type WorkerFactory } from '../threads/pool.js';

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
}

/**
 * The backend and thread wiring, in one place: the model's `Storage` (js typed arrays or one
 * WebAssembly memory) and, with threads, the `ThreadPool` of kernel workers on it. `run` runs
 * a phase split into as many parts as there are threads.
 */
export class Runner<W> {
  readonly storage: Storage<W>;
  readonly backend: BackendName;
  readonly threads: number;
  readonly #pool: ThreadPool | undefined;
  // The phase being run and its context: set by run() for the duration of one pool.run, so
  // that the pool is handed one function made once (nothing allocated per call).
  #phase: Phase<unknown> | undefined;
  #ctx: unknown;
  readonly #part = (k: Kernels, part: number, parts: number): number => this.#phase!(k, this.#ctx, part, parts);

  constructor(
    options: RunnerOptions, dtype: 'float32' | 'float64', count: number, factory: WorkspaceFactory<W>, describe: string,
  ) {
    const requested = options.backend ?? 'auto';
    if (requested !== 'auto' && requested !== 'wasm' && requested !== 'js') {
      throw new RangeError(`Expected \`backend\` to be 'auto', 'wasm' or 'js', got ${show(requested)}.`);
    }
    const threads = resolveThreads(options.threads ?? 1);
    if (options.createWorker !== undefined && typeof options.createWorker !== 'function') {
      throw new TypeError(`Expected \`createWorker\` to be a function, got ${show(options.createWorker)}.`);
    }
    this.backend = resolveBackend(requested, dtype);
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
    this.storage = new Storage(count, dtype, this.backend, this.threads > 1, factory, describe);
    this.#pool = createWorker === undefined
      ? undefined
      : new ThreadPool(kernelModule(true), this.storage.memory!, this.storage.kernels, this.threads, createWorker);
  }

  /** Runs every part of `phase` with `ctx` (on the threads, if any); returns the sum of their results. */
  run<C>(phase: Phase<C>, ctx: C): number {
    if (this.#pool === undefined) return phase(this.storage.kernels, ctx, 0, 1);
    this.#phase = phase as Phase<unknown>;
    this.#ctx = ctx;
    try {
      return this.#pool.run(this.#part);
    } finally {
      this.#phase = undefined;
      this.#ctx = undefined;
    }
  }

  /** Stops the worker threads when `owner` is garbage-collected without `dispose()`. */
  disposeWhenCollected(owner: object): void {
    this.#pool?.disposeWhenCollected(owner);
  }

  /** Stops the worker threads, if any; later phases run on this thread. */
  dispose(): void {
    this.#pool?.dispose();
  }
}

/**
 * Where part `part` of `parts` of [0, total) starts; it ends where part + 1 starts. (Two
 * numbers rather than a tuple: phases run many times per step and allocate nothing.)
 */
export function partStart(total: number, part: number, parts: number): number {
  return Math.floor((part * total) / parts);
}
