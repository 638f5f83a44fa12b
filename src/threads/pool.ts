import { show } from '../checks.js';
import { KERNEL_NAMES, wrapExports, type Kernels, type WasmKernelExports } from '../backend/table.js';
import {
  CLAIM, CLAIMED, COMMAND_SIZE, CONTROL_BYTES, CONTROL_SLOTS, COUNT, DEAD, DONE, FAILED, OPEN, READY, RESULT_BYTE,
  REVOKED, SEQ, STOP, WORKER_SOURCE,
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

/**
 * A web worker from source text, where the engine has `Worker`, `Blob` and `URL`.
 *
 * @example
 * const createWorker = webWorkerFactory(); // undefined in Node: use nodeWorkerFactory there
 */
export function webWorkerFactory(): WorkerFactory | undefined {
  const g = globalThis as { Worker?: new (url: string) => WorkerLike; Blob?: typeof Blob; URL?: typeof URL };
  if (g.Worker === undefined || g.Blob === undefined || g.URL?.createObjectURL === undefined) return undefined;
  const WorkerClass = g.Worker, BlobClass = g.Blob, URLClass = g.URL;
  return (source) => new WorkerClass(URLClass.createObjectURL(new BlobClass([source], { type: 'text/javascript' })));
}

// ---------------------------------------------------------------------------------------------
// How many threads

/**
 * The most threads a model may ask for. Each is a worker (an engine instance: ≈ 10 MB and a
 * few OS threads in Node) and one more part in every barrier; the phases split B batch rows,
 * T·B output rows and the parameters, so far fewer than 64 parts already leave each part
 * little to do. Above it a request is a mistake (`threads: 1000` started 1,011 OS threads and
 * took 27 s), answered with a RangeError.
 */
export const MAX_THREADS = 64;

/**
 * The most threads `'auto'` picks. Two threads are measured at 1.7× one on two cores
 * (BENCHMARKS.md); beyond that the batch rows of a part shrink (B = 32 over 8 threads is 4
 * rows), logical CPUs count hyper-threads whose SIMD units are shared, and each thread costs a
 * worker. Ask for more by number after measuring on your machine.
 */
export const AUTO_MAX_THREADS = 8;

/**
 * The logical CPUs this engine reports, or undefined where it reports none:
 * `navigator.hardwareConcurrency` (browsers, Deno, Bun, Node ≥ 21), else Node 20's
 * `os.availableParallelism()` reached through `process.getBuiltinModule` (no import).
 *
 * @example
 * hardwareConcurrency(); // 8 on an 8-thread laptop
 */
export function hardwareConcurrency(): number | undefined {
  const g = globalThis as {
    navigator?: { hardwareConcurrency?: unknown };
    process?: { getBuiltinModule?: (id: string) => unknown };
  };
  const reported = g.navigator?.hardwareConcurrency;
  if (typeof reported === 'number' && Number.isInteger(reported) && reported >= 1) return reported;
  const os = g.process?.getBuiltinModule?.('os') as { availableParallelism?: () => unknown } | undefined;
  const available = typeof os?.availableParallelism === 'function' ? os.availableParallelism() : undefined;
  return typeof available === 'number' && Number.isInteger(available) && available >= 1 ? available : undefined;
}

/**
 * The thread count for a `threads` option: a number is checked (an integer in
 * [1, {@link MAX_THREADS}]) and kept as asked, even above the core count — the caller chose,
 * and results do not depend on it; `'auto'` is as many as the engine reports CPUs, at most
 * {@link AUTO_MAX_THREADS}, and 1 where it reports none (`available` undefined).
 * Throws a TypeError or RangeError naming the value and the limits.
 *
 * @example
 * resolveThreads(2); // 2
 * resolveThreads('auto', 4); // 4
 * resolveThreads('auto', 32); // 8
 * resolveThreads(1000); // RangeError: Expected `threads` to be 'auto' or an integer in [1, 64], got 1000.
 */
export function resolveThreads(requested: unknown, available: number | undefined = hardwareConcurrency()): number {
  if (requested === 'auto') return Math.max(1, Math.min(available ?? 1, AUTO_MAX_THREADS));
  const message = `Expected \`threads\` to be 'auto' or an integer in [1, ${MAX_THREADS}], got ${show(requested)}.`;
  if (typeof requested !== 'number' || !Number.isInteger(requested)) throw new TypeError(message);
  if (requested < 1 || requested > MAX_THREADS) throw new RangeError(message);
  return requested;
}

// ---------------------------------------------------------------------------------------------
// The pool

/** Tuning of a pool; the defaults are the library's. Tests shrink them to reach every path. */
export interface ThreadPoolOptions {
  /** How long a posted batch may wait for its worker to pick it up before it runs here (ms). */
  pickupTimeoutMs?: number;
  /** Commands a worker's list holds at first. */
  initialCommands?: number;
  /** Commands a worker's list may grow to; past it the list is run and refilled. */
  maxCommands?: number;
  /**
   * The byte address of worker `lane`'s (1 … threads − 1) scratch memory for the matrix
   * products (see createWasmKernels' `scratch`), or undefined for none. Default: none.
   */
  scratch?: (lane: number) => number | undefined;
  /**
   * How many times a thread polls a shared flag before it sleeps on it (Atomics.wait): a
   * worker waiting for its next part, the model waiting for a worker's. Default
   * {@link SPIN_POLLS}, or 0 (sleep at once) with more threads than the engine reports CPUs.
   */
  spin?: number;
}

/**
 * The default `spin`: ≈ 100 µs of polling here (≈ 5 ns a poll). Waking a thread asleep in
 * Atomics.wait took ≈ 46 µs a phase on this 2-core machine (bench/critical-path.ts), and the
 * recurrence split by units runs a phase per step, T + 1 more backward: phases come
 * microseconds apart, so a thread that polls a little picks its next part up at once; one that
 * finds nothing within the budget sleeps, so an idle model costs no CPU.
 */
export const SPIN_POLLS = 20_000;

// Where SharedArrayBuffers can grow (ES2024; Node ≥ 20, Chrome 111, Safari 16.4, Firefox 128)
// a list starts small and doubles up to GROWABLE_MAX_COMMANDS (≈ 150 MB of address space,
// reserved not used: T ≈ 160,000 steps of one layer in one phase); elsewhere it has a fixed
// FIXED_COMMANDS (4.7 MB, T ≈ 5,000). Past the maximum a full list is run, then refilled.
const GROWABLE_INITIAL_COMMANDS = 4096;
const GROWABLE_MAX_COMMANDS = 1 << 21;
const FIXED_COMMANDS = 65536;
const PICKUP_TIMEOUT_MS = 500;
/** How often a waiting model looks for signs of a dead worker (ms). */
const WAIT_SLICE_MS = 20;

/** Whether this thread may block in Atomics.wait (a browser's main thread may not). */
const canBlock = typeof (globalThis as { window?: unknown }).window === 'undefined';

const now = (): number => (typeof performance === 'object' ? performance.now() : Date.now());

type RawKernels = readonly ((...args: number[]) => unknown)[];

/**
 * Node's `Worker` only: whether its thread has stopped (terminated, crashed, out of memory,
 * `process.exit`). Node reports an event-loop idle time of -1 for a stopped worker at once,
 * from the worker's own state, while its 'exit' event waits for this thread's event loop —
 * which never turns while a model call is blocked. Node answers only once this thread has seen
 * the worker's 'online' event and asked while the worker was alive (it then keeps the worker's
 * loop start); until then it reports zeros: 'unknown', and the pickup deadline decides.
 * Elsewhere (web workers): 'none'.
 */
function probe(worker: WorkerLike): 'stopped' | 'running' | 'unknown' | 'none' {
  const performance = (worker as { performance?: { eventLoopUtilization?: () => { idle?: unknown; active?: unknown } } })
    .performance;
  if (typeof performance?.eventLoopUtilization !== 'function') return 'none';
  try {
    const { idle, active } = performance.eventLoopUtilization();
    if (idle === -1) return 'stopped';
    return idle === 0 && active === 0 ? 'unknown' : 'running';
  } catch {
    return 'none';
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : show(error);
}

/**
 * One worker: its control block, its command list, and the kernels that record into it.
 * A lane's part of a phase is recorded, then posted; a list that fills up while recording grows
 * or is run (posted and waited for) and refilled. A batch the worker does not pick up in time
 * is revoked and run here, from the same list: every part still makes the same kernel calls in
 * the same order, and its sum runs on from batch to batch, so results never depend on who ran
 * what.
 */
class Lane {
  readonly worker: WorkerLike;
  readonly control: Int32Array;
  readonly recorder: Kernels;
  readonly #commandBuffer: SharedArrayBuffer;
  readonly #result: Float64Array;
  #commands: Float64Array;
  #capacity: number;
  readonly #maxCapacity: number;
  readonly #pickupTimeoutMs: number;
  readonly #spin: number;
  readonly #here: () => RawKernels;
  /** Commands recorded since the last batch was posted. */
  #count = 0;
  /** The part's running sum of kernel return values, up to the last settled batch. */
  #sum = 0;
  /** The last batch posted; the worker is idle when DONE equals it. */
  #seq = 0;
  #postedAt = 0;
  #inFlight = false;
  #dead = false;
  #probing: 'unknown' | 'running' | 'none' = 'unknown';

  constructor(
    module: WebAssembly.Module, memory: WebAssembly.Memory, worker: WorkerLike, here: () => RawKernels,
    options: Required<ThreadPoolOptions>, scratch: number | undefined,
  ) {
    this.worker = worker;
    this.#here = here;
    this.#pickupTimeoutMs = options.pickupTimeoutMs;
    this.#spin = options.spin;
    let buffer: SharedArrayBuffer | undefined;
    const bytes = (commands: number): number => 8 * COMMAND_SIZE * commands;
    if (options.maxCommands > options.initialCommands) {
      try {
        const Growable = SharedArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => SharedArrayBuffer;
        buffer = new Growable(bytes(options.initialCommands), { maxByteLength: bytes(options.maxCommands) });
      } catch {
        // Address space refused: a fixed list.
      }
    }
    const growable = (buffer as { growable?: boolean } | undefined)?.growable === true;
    if (!growable) buffer = new SharedArrayBuffer(bytes(Math.min(options.maxCommands, FIXED_COMMANDS)));
    this.#commandBuffer = buffer!;
    this.#capacity = growable ? options.initialCommands : Math.min(options.maxCommands, FIXED_COMMANDS);
    this.#maxCapacity = growable ? options.maxCommands : this.#capacity;
    this.#commands = new Float64Array(this.#commandBuffer, 0, this.#capacity * COMMAND_SIZE);
    const controlBuffer = new SharedArrayBuffer(CONTROL_BYTES);
    this.control = new Int32Array(controlBuffer, 0, CONTROL_SLOTS);
    this.#result = new Float64Array(controlBuffer, RESULT_BYTE, 1);
    // Raw "exports" that append a command instead of running the kernel; wrapped like the
    // real ones, so a recorded call takes exactly the kernels' (array, offset) arguments.
    const record = Object.fromEntries(KERNEL_NAMES.map((name, index) => [name, (...args: number[]) => {
      if (this.#count === this.#capacity) this.#makeRoom();
      const c = this.#commands, at = this.#count++ * COMMAND_SIZE;
      c[at] = index;
      for (let i = 0; i < args.length; i++) c[at + 1 + i] = args[i]!;
      return 0;
    }])) as unknown as WasmKernelExports;
    this.recorder = wrapExports(record);
    // Deaths this thread hears of between calls (Node: 'exit', 'error'; web: 'error'). A
    // listener also keeps a worker's uncaught error from ending the whole Node process.
    const onDeath = (): void => {
      Atomics.store(this.control, DEAD, 1);
    };
    const events = worker as { on?: (e: string, f: () => void) => void; addEventListener?: (e: string, f: () => void) => void };
    try {
      if (typeof events.on === 'function') {
        events.on('exit', onDeath);
        events.on('error', onDeath);
      } else if (typeof events.addEventListener === 'function') {
        events.addEventListener('error', onDeath);
      }
    } catch {
      // A worker without these events: the deadline and DEAD still apply.
    }
    this.#send = () => worker.postMessage({ module, memory, controlBuffer, commandBuffer: this.#commandBuffer, names: KERNEL_NAMES, scratch, spin: options.spin });
  }

  /** Sends the worker the kernel module, the memory and its list (it then starts). */
  readonly #send: () => void;
  start(): void {
    this.#send();
  }

  /** Whether the worker is known to be gone (asking Node, if it is a Node worker: see probe). */
  get dead(): boolean {
    // (A stopped lane has DEAD set: it is not probed again.)
    if (Atomics.load(this.control, DEAD) === 1 || probe(this.worker) === 'stopped') this.kill();
    return this.#dead;
  }

  /**
   * Whether the worker can take a phase's part now: started, not marked dead, done with all it
   * was given. (Cheap: it does not ask Node; a worker that died unannounced is found when a
   * batch posted to it is not picked up.)
   */
  get usable(): boolean {
    if (Atomics.load(this.control, DEAD) === 1) this.kill();
    if (this.#dead || Atomics.load(this.control, READY) !== 1) return false;
    if (this.#probing === 'unknown') {
      // Asks Node while the worker is alive, until it answers (see probe): it can then tell
      // a death later.
      const answer = probe(this.worker);
      if (answer === 'stopped') this.kill();
      else if (answer !== 'unknown') this.#probing = answer;
    }
    return !this.#dead && Atomics.load(this.control, DONE) === this.#seq;
  }

  /** Starts recording a part. */
  begin(): void {
    this.#count = 0;
    this.#sum = 0;
  }

  /** Hands the recorded part to the worker (without waiting) — or, if it cannot take it, runs it here. */
  launch(): void {
    if (this.#count === 0) return;
    if (this.usable) this.#post();
    else this.#runHere();
  }

  /** Waits for the launched part; returns the sum of its kernels' return values. */
  finish(): number {
    this.#settle(true);
    return this.#sum;
  }

  /** After a failed phase: makes sure the worker no longer runs anything of it, and forgets it. */
  abandon(): void {
    try {
      this.#settle(false);
    } catch {
      // The phase has failed already; this lane's own failure adds nothing.
    }
    this.#count = 0;
    this.#sum = 0;
  }

  stop(): void {
    this.#dead = true;
    Atomics.store(this.control, DEAD, 1);
    Atomics.store(this.control, STOP, 1);
    Atomics.add(this.control, SEQ, 1); // wakes the worker, if alive, to see STOP (#seq stays: a batch may be settling)
    Atomics.notify(this.control, SEQ);
    try {
      void this.worker.terminate();
    } catch {
      // Already gone.
    }
  }

  kill(): void {
    if (!this.#dead) this.stop();
  }

  // A full list: grow it while allowed, else run what it holds and start again.
  #makeRoom(): void {
    if (this.#capacity < this.#maxCapacity) {
      const next = Math.min(2 * this.#capacity, this.#maxCapacity);
      try {
        (this.#commandBuffer as unknown as { grow(n: number): void }).grow(8 * COMMAND_SIZE * next);
        this.#commands = new Float64Array(this.#commandBuffer, 0, next * COMMAND_SIZE);
        this.#capacity = next;
        return;
      } catch {
        // Out of memory: keep the list as it is.
      }
    }
    this.launch();
    this.#settle(true);
    this.#count = 0;
  }

  #post(): void {
    const c = this.control;
    Atomics.store(c, COUNT, this.#count);
    this.#result[0] = this.#sum;
    Atomics.store(c, FAILED, 0);
    Atomics.store(c, CLAIM, OPEN);
    this.#postedAt = now();
    this.#inFlight = true;
    Atomics.store(c, SEQ, ++this.#seq);
    Atomics.notify(c, SEQ);
  }

  /** Runs the recorded list on this thread, with the same kernels the worker would. */
  #runHere(): void {
    const kernels = this.#here(), c = this.#commands;
    let sum = this.#sum;
    for (let i = 0, end = this.#count * COMMAND_SIZE; i < end; i += COMMAND_SIZE) {
      const value = kernels[c[i]!]!(c[i + 1]!, c[i + 2]!, c[i + 3]!, c[i + 4]!, c[i + 5]!, c[i + 6]!, c[i + 7]!, c[i + 8]!);
      if (typeof value === 'number') sum += value;
    }
    this.#sum = sum;
  }

  /**
   * Waits until the posted batch is done, or revoked before the worker picked it up (then it
   * runs here if `runIfRevoked`), or lost with its worker (then it throws: part of the batch
   * may have run).
   */
  #settle(runIfRevoked: boolean): void {
    if (!this.#inFlight) return;
    const c = this.control, seq = this.#seq;
    let checked = this.#postedAt;
    if (runIfRevoked) for (let n = this.#spin; n > 0 && Atomics.load(c, DONE) !== seq; n--); // then sleep, below
    for (;;) {
      const done = Atomics.load(c, DONE);
      if (done === seq) break;
      // Look for a dead or late worker only when abandoning, when the worker said its last
      // words, or after a quiet slice: the usual wait costs no clock reads and no probes.
      let look = !runIfRevoked || Atomics.load(c, DEAD) === 1;
      if (!look) {
        if (canBlock) look = Atomics.wait(c, DONE, done, WAIT_SLICE_MS) === 'timed-out';
        else look = now() - checked >= WAIT_SLICE_MS; // a browser's main thread spins
        if (!look) continue;
      }
      checked = now();
      if (Atomics.load(c, CLAIM) !== CLAIMED) {
        // Abandoning, nothing is gained by waiting for an unclaimed batch.
        const late = !runIfRevoked || this.dead || checked - this.#postedAt >= this.#pickupTimeoutMs;
        if (late && Atomics.compareExchange(c, CLAIM, OPEN, REVOKED) === OPEN) {
          this.#inFlight = false;
          if (runIfRevoked) this.#runHere();
          return;
        }
      } else if (this.dead && Atomics.load(c, DONE) !== seq) {
        this.#inFlight = false;
        throw new Error(
          'A kernel worker stopped (terminated, crashed or out of memory) while running its part of a phase; ' +
            'the call is abandoned, and later calls run without that worker.',
        );
      }
      if (!runIfRevoked && canBlock) Atomics.wait(c, DONE, done, WAIT_SLICE_MS); // abandoning a claimed batch
    }
    this.#inFlight = false;
    if (Atomics.load(c, FAILED) === 1) {
      // A trap in a kernel is a bug in the library (inputs are validated before any kernel runs).
      throw new Error('A kernel worker failed while running its part of a phase; the call is abandoned.');
    }
    this.#sum = this.#result[0]!;
  }
}

// Pools whose owner (a model) was dropped without dispose(): their workers are stopped when it
// is collected. The registry holds the pool, which holds nothing of the owner.
const collected = typeof FinalizationRegistry === 'function'
  ? new FinalizationRegistry<ThreadPool>((pool) => pool.dispose())
  : undefined;

/**
 * Kernel workers on a model's shared WebAssembly memory. `run(part)` splits a phase of work
 * into `size` parts: part 0 runs here, each other part is recorded as a command list and run
 * by a worker at the same time, then `run` waits for all of them (one barrier per phase).
 * A part whose worker has not started yet, has died or is late runs here instead, so results
 * never depend on timing: every part always does the same kernel calls in the same order.
 * A worker lost in the middle of its part fails that call (`Error`); later calls run without it.
 *
 * @example
 * const pool = new ThreadPool(kernelModule(true), memory, createWasmKernels(memory), 2, nodeWorkerFactory);
 * pool.disposeWhenCollected(model); // stop the workers if the model is dropped undisposed
 * const total = pool.run((k, part, parts) => { ...kernel calls on rows split(B, part, parts)...; return 0; });
 */
export class ThreadPool {
  readonly size: number;
  readonly #lanes: Lane[];
  readonly #local: Kernels;
  readonly #remote: boolean[]; // per lane, for the current phase: does its worker run it?
  #disposed = false;
  #raw: RawKernels | undefined;

  /**
   * Starts `threads - 1` workers with `createWorker`. If one cannot be started (the factory
   * throws, returns something that is not a worker, or cannot be sent the memory), the ones
   * already started are stopped and an Error (TypeError for a non-worker) says which and why.
   */
  constructor(
    module: WebAssembly.Module, memory: WebAssembly.Memory, local: Kernels, threads: number, createWorker: WorkerFactory,
    options: ThreadPoolOptions = {},
  ) {
    this.size = threads;
    this.#local = local;
    const tuning: Required<ThreadPoolOptions> = {
      pickupTimeoutMs: options.pickupTimeoutMs ?? PICKUP_TIMEOUT_MS,
      initialCommands: options.initialCommands ?? GROWABLE_INITIAL_COMMANDS,
      maxCommands: options.maxCommands ?? GROWABLE_MAX_COMMANDS,
      scratch: options.scratch ?? ((): undefined => undefined),
      // More threads than CPUs: a polling thread would hold a CPU another thread needs
      // (measured at 8 threads on 2 cores, H = 1024: 8 % slower polling), so they sleep at once.
      spin: options.spin ?? (threads <= (hardwareConcurrency() ?? threads) ? SPIN_POLLS : 0),
    };
    // The kernels a part runs with here when its worker cannot: the local set's raw exports
    // (the same module on the same memory), else an instance of our own, made when first needed.
    const here = (): RawKernels => {
      if (this.#raw === undefined) {
        const exports = ((local as { exports?: WasmKernelExports }).exports
          ?? new WebAssembly.Instance(module, { env: { memory } }).exports) as unknown as Record<string, RawKernels[number]>;
        this.#raw = KERNEL_NAMES.map((name) => exports[name]!);
      }
      return this.#raw;
    };
    const lanes: Lane[] = [];
    const count = threads - 1;
    try {
      for (let i = 0; i < count; i++) lanes.push(startLane(module, memory, createWorker, here, tuning, i + 1, count));
    } catch (error) {
      for (const lane of lanes) lane.stop();
      throw error;
    }
    this.#lanes = lanes;
    this.#remote = lanes.map(() => false);
  }

  /** The threads computing now: this one and every worker not known to be dead (1 after dispose). */
  get threads(): number {
    return 1 + this.#lanes.filter((lane) => !lane.dead).length; // dispose stops every lane
  }

  /**
   * Runs `part(kernels, index, size)` for every index in [0, size) and returns the sum of the
   * parts' return values, added in index order. If a part throws or a worker is lost, every
   * other part is waited for (nothing writes the memory after `run` returns or throws) and
   * the pool is ready for the next phase.
   */
  run(part: (k: Kernels, index: number, size: number) => number): number {
    const lanes = this.#lanes, remote = this.#remote;
    // After dispose every lane is stopped, so none is usable.
    for (let i = 0; i < lanes.length; i++) remote[i] = lanes[i]!.usable;
    try {
      for (let i = 0; i < lanes.length; i++) {
        if (!remote[i]) continue;
        lanes[i]!.begin();
        part(lanes[i]!.recorder, i + 1, this.size);
        lanes[i]!.launch();
      }
      let total = part(this.#local, 0, this.size);
      for (let i = 0; i < lanes.length; i++) {
        total += remote[i] ? lanes[i]!.finish() : part(this.#local, i + 1, this.size);
      }
      return total;
    } catch (error) {
      for (let i = 0; i < lanes.length; i++) if (remote[i]) lanes[i]!.abandon();
      throw error;
    }
  }

  /**
   * Stops the workers when `owner` is garbage-collected, for an owner (a model) whose
   * `dispose()` is never called. The pool must hold no reference to `owner`.
   */
  disposeWhenCollected(owner: object): void {
    collected?.register(owner, this, this);
  }

  /** Stops the workers; later phases run all their parts on this thread. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    collected?.unregister(this);
    for (const lane of this.#lanes) lane.stop();
  }
}

/** Worker `index` of `count`: made, checked, sent the module and memory; stopped again on failure. */
function startLane(
  module: WebAssembly.Module, memory: WebAssembly.Memory, createWorker: WorkerFactory, here: () => RawKernels,
  options: Required<ThreadPoolOptions>, index: number, count: number,
): Lane {
  let worker: unknown;
  try {
    worker = createWorker(WORKER_SOURCE);
  } catch (error) {
    throw new Error(`\`createWorker\` threw while starting worker ${index} of ${count}: ${describeError(error)}`, { cause: error });
  }
  const w = worker as Partial<WorkerLike> | null;
  if (typeof w !== 'object' || w === null || typeof w.postMessage !== 'function' || typeof w.terminate !== 'function') {
    if (typeof w?.terminate === 'function') stopQuietly(w as WorkerLike);
    throw new TypeError(
      `Expected \`createWorker\` to return a worker (an object with postMessage and terminate) for worker ${index} of ${count}, ` +
        `got ${show(worker)}.`,
    );
  }
  let lane: Lane;
  try {
    lane = new Lane(module, memory, w as WorkerLike, here, options, options.scratch(index));
  } catch (error) {
    stopQuietly(w as WorkerLike);
    throw error;
  }
  try {
    lane.start();
    return lane;
  } catch (error) {
    stopQuietly(w as WorkerLike);
    throw new Error(
      `Could not send the kernels and shared memory to worker ${index} of ${count} (from \`createWorker\`): ${describeError(error)}`,
      { cause: error },
    );
  }
}

function stopQuietly(worker: WorkerLike): void {
  try {
    void worker.terminate();
  } catch {
    // Nothing more to do for a worker that will not stop.
  }
}
