import type { Kernels } from '../tensor/kernels.js';
import { KERNEL_NAMES, wrapExports, type WasmKernelExports } from '../wasm/index.js';
import {
  COMMANDS_BYTE, COMMAND_SIZE, CONTROL_BYTES, COUNT, DONE, FAILED, READY, RESULT_BYTE, SEQ, STOP, WORKER_SOURCE,
} from './protocol.js';

/** What the pool needs of a worker: Node's `Worker` and the web's `Worker` both fit. */
export interface WorkerLike {
  postMessage(message: unknown): void;
  terminate(): unknown;
}

/**
 * Creates a worker running `source`, a self-contained JavaScript program. In browsers (and
 * Deno, Bun) the default makes a web worker from a Blob URL; Node needs one from
 * `lstm-lm/node` (`nodeWorkerFactory`), since the library itself imports nothing from Node.
 */
export type WorkerFactory = (source: string) => WorkerLike;

/** A web worker from source text, where the engine has `Worker`, `Blob` and `URL`. */
export function webWorkerFactory(): WorkerFactory | undefined {
  const g = globalThis as { Worker?: new (url: string) => WorkerLike; Blob?: typeof Blob; URL?: typeof URL };
  if (g.Worker === undefined || g.Blob === undefined || g.URL?.createObjectURL === undefined) return undefined;
  const WorkerClass = g.Worker, BlobClass = g.Blob, URLClass = g.URL;
  return (source) => new WorkerClass(URLClass.createObjectURL(new BlobClass([source], { type: 'text/javascript' })));
}

/** Room for this many commands per worker and phase (T = 1000 steps needs ≈ 13,000). */
const MAX_COMMANDS = 65536;

/** Whether this thread may block in Atomics.wait (a browser's main thread may not). */
const canBlock = typeof (globalThis as { window?: unknown }).window === 'undefined';

/** One worker: its control block, its command list, and the kernels that record into it. */
class Lane {
  readonly worker: WorkerLike;
  readonly control: Int32Array;
  readonly result: Float64Array;
  readonly commands: Float64Array;
  readonly recorder: Kernels;
  count = 0;
  seq = 0;

  constructor(module: WebAssembly.Module, memory: WebAssembly.Memory, createWorker: WorkerFactory) {
    const buffer = new SharedArrayBuffer(COMMANDS_BYTE + 8 * COMMAND_SIZE * MAX_COMMANDS);
    this.control = new Int32Array(buffer, 0, CONTROL_BYTES / 4);
    this.result = new Float64Array(buffer, RESULT_BYTE, 1);
    this.commands = new Float64Array(buffer, COMMANDS_BYTE);
    // Raw "exports" that append a command instead of running the kernel; wrapped like the
    // real ones, so a recorded call takes exactly the kernels' (array, offset) arguments.
    const record = Object.fromEntries(KERNEL_NAMES.map((name, index) => [name, (...args: number[]) => {
      if (this.count === MAX_COMMANDS) throw new RangeError(`A phase needs more than ${MAX_COMMANDS} kernel calls per thread.`);
      const at = this.count++ * COMMAND_SIZE;
      this.commands[at] = index;
      for (let i = 0; i < args.length; i++) this.commands[at + 1 + i] = args[i]!;
      return 0;
    }])) as unknown as WasmKernelExports;
    this.recorder = wrapExports(memory, record) as unknown as Kernels;
    this.worker = createWorker(WORKER_SOURCE);
    this.worker.postMessage({ module, memory, buffer, names: KERNEL_NAMES });
  }

  get ready(): boolean {
    return Atomics.load(this.control, READY) === 1;
  }

  start(): void {
    Atomics.store(this.control, COUNT, this.count);
    Atomics.store(this.control, SEQ, ++this.seq);
    Atomics.notify(this.control, SEQ);
  }

  /** Waits for the started batch; returns the sum of its kernels' return values. */
  finish(): number {
    while (Atomics.load(this.control, DONE) !== this.seq) {
      if (canBlock) Atomics.wait(this.control, DONE, this.seq - 1, 1000);
    }
    this.count = 0;
    if (Atomics.load(this.control, FAILED) === 1) {
      // A trap in a kernel is a bug in the library (inputs are validated before any kernel runs).
      throw new Error('A kernel worker failed while running its part of a phase; the call is abandoned.');
    }
    return this.result[0]!;
  }

  stop(): void {
    Atomics.store(this.control, STOP, 1);
    Atomics.store(this.control, SEQ, ++this.seq);
    Atomics.notify(this.control, SEQ);
    void this.worker.terminate();
  }
}

/**
 * Kernel workers on a model's shared WebAssembly memory. `run(part)` splits a phase of work
 * into `size` parts: part 0 runs here, each other part is recorded as a command list and run
 * by a worker at the same time, then `run` waits for all of them (one barrier per phase).
 * A part whose worker has not started yet runs here instead, so results never depend on
 * timing: every part always does the same kernel calls in the same order.
 */
export class ThreadPool {
  readonly size: number;
  readonly #lanes: Lane[];
  readonly #local: Kernels;
  readonly #remote: boolean[]; // per lane, for the current phase: does its worker run it?
  #disposed = false;

  constructor(module: WebAssembly.Module, memory: WebAssembly.Memory, local: Kernels, threads: number, createWorker: WorkerFactory) {
    this.size = threads;
    this.#local = local;
    this.#lanes = Array.from({ length: threads - 1 }, () => new Lane(module, memory, createWorker));
    this.#remote = this.#lanes.map(() => false);
  }

  /**
   * Runs `part(kernels, index, size)` for every index in [0, size) and returns the sum of the
   * parts' return values, added in index order.
   */
  run(part: (k: Kernels, index: number, size: number) => number): number {
    const lanes = this.#lanes, remote = this.#remote;
    for (let i = 0; i < lanes.length; i++) remote[i] = !this.#disposed && lanes[i]!.ready;
    for (let i = 0; i < lanes.length; i++) {
      if (!remote[i]) continue;
      part(lanes[i]!.recorder, i + 1, this.size);
      lanes[i]!.start();
    }
    let total = part(this.#local, 0, this.size);
    for (let i = 0; i < lanes.length; i++) {
      total += remote[i] ? lanes[i]!.finish() : part(this.#local, i + 1, this.size);
    }
    return total;
  }

  /** Stops the workers; later phases run all their parts on this thread. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const lane of this.#lanes) lane.stop();
  }
}
