import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { KERNEL_NAMES, type Kernels } from '../../src/backend/table.js';
import {
  AUTO_MAX_THREADS, hardwareConcurrency, MAX_THREADS, resolveThreads, SPIN_POLLS, ThreadPool, type ThreadPoolOptions, type WorkerFactory,
} from '../../src/threads/pool.js';
import { COMMAND_SIZE } from '../../src/threads/protocol.js';
import { createWasmKernels, kernelModule, wasmSimdSupported } from '../../src/backend/wasm.js';
import { expectSame, phase, reference, region, REGIONS, setup } from './phase.js';
import { atKernelCall, silentExit, until, workers } from './workers.js';

// The pool on its own, on a small shared memory: phases made of chains of accumulating
// products (their bits depend on the order of every call) and cross-entropies (whose return
// values the pool sums). Every result is compared bit for bit with the same parts run one
// after another on this thread, whatever the workers did: grew their lists, ran them in
// pieces, died before or during a batch, or never started.

const simd = wasmSimdSupported();
function clearRegions(f: Float32Array, parts: number): void {
  f.fill(0, REGIONS, region(parts));
}

/** Waits until every worker takes its part (a recorded part runs on recording kernels). */
const started = (pool: ThreadPool, local: Kernels) => until(() => {
  let recorded = 0;
  pool.run((k) => {
    if (k !== local) recorded++;
    return 0;
  });
  return recorded === pool.size - 1;
});

function makePool(threads: number, factory: WorkerFactory, options?: ThreadPoolOptions) {
  const { memory, local, f, ids } = setup();
  const pool = new ThreadPool(kernelModule(true), memory, local, threads, factory, options);
  const run = (T: number, fail?: (part: number, t: number) => void) => {
    clearRegions(f, threads);
    const total = pool.run(phase(f, ids, T, { fail }));
    return { total, bytes: f.slice(REGIONS, region(threads)) };
  };
  return { pool, memory, local, f, run, ready: () => started(pool, local) };
}

describe.skipIf(!simd)('ThreadPool: long phases', () => {
  it('a list that fills up grows, or is run and refilled; results stay bit-identical', async () => {
    const T = 3000; // 6,000 commands per part
    const expected = reference(T, 3);
    const cases: ThreadPoolOptions[] = [
      { initialCommands: 16, maxCommands: 1 << 20 }, // grows (ES2024 growable SharedArrayBuffer)
      { initialCommands: 16, maxCommands: 64 }, // grows to 64, then runs in pieces of 64
      { initialCommands: 100, maxCommands: 100 }, // a fixed list: pieces of 100
    ];
    for (const options of cases) {
      const w = workers();
      const { pool, run, ready } = makePool(3, w.create, options);
      try {
        expectSame(run(T), expected); // workers may not have started: parts run here
        await ready();
        expectSame(run(T), expected);
        expectSame(run(T), expected);
      } finally {
        pool.dispose();
      }
    }
  });

  it('phases back to back, with workers that poll before they sleep and that sleep at once (spin: 0)', async () => {
    const expected = reference(2, 3);
    for (const options of [{}, { spin: SPIN_POLLS }, { spin: 0 }, { spin: 1 }]) {
      const w = workers();
      const { pool, run, ready } = makePool(3, w.create, options);
      try {
        await ready();
        for (let i = 0; i < 200; i++) expectSame(run(2), expected);
        await new Promise((resolve) => setTimeout(resolve, 20)); // the workers asleep by now
        expectSame(run(2), expected);
      } finally {
        pool.dispose();
      }
    }
  });

  it('the default list takes a phase of 80,000 commands per worker (T = 40,000 here)', async () => {
    const T = 40_000;
    const expected = reference(T, 2);
    const w = workers();
    const { pool, run, ready } = makePool(2, w.create);
    try {
      await ready();
      expectSame(run(T), expected);
      expectSame(run(3), reference(3, 2));
    } finally {
      pool.dispose();
    }
  });

  it('a part that throws while being recorded leaves the pool usable', async () => {
    const w = workers();
    const { pool, run, ready } = makePool(3, w.create, { initialCommands: 16, maxCommands: 32 });
    try {
      await ready();
      // Part 2 throws after part 1 was posted and after its own list was run in pieces.
      expect(() => run(200, (part, t) => {
        if (part === 2 && t === 100) throw new Error('boom');
      })).toThrow('boom');
      expectSame(run(200), reference(200, 3));
      // Part 0 (here) throws while both workers run theirs: they are waited for.
      expect(() => run(200, (part, t) => {
        if (part === 0 && t === 10) throw new Error('boom 0');
      })).toThrow('boom 0');
      expectSame(run(200), reference(200, 3));
      expect(pool.threads).toBe(3);
    } finally {
      pool.dispose();
    }
  });
});

describe.skipIf(!simd)('ThreadPool: dying workers', () => {
  it('a worker terminated between calls: later calls run without it, bit-identical', async () => {
    const w = workers();
    const { pool, run, ready } = makePool(3, w.create);
    const expected = reference(50, 3);
    try {
      await ready();
      expectSame(run(50), expected);
      await w.made[0]!.terminate(); // its 'exit' event has been delivered
      expectSame(run(50), expected);
      expect(pool.threads).toBe(2);
      void w.made[1]!.terminate(); // not awaited: the next call starts at once
      expectSame(run(50), expected);
      expectSame(run(50), expected);
      expect(pool.threads).toBe(1);
    } finally {
      pool.dispose();
    }
  });

  it('a worker that dies unseen before picking up a batch: it runs here after the deadline, later calls do not wait', () => {
    // No event-loop turn (so Node's probe knows nothing of the worker) and no 'exit' handler:
    // only the deadline. The worker exits when it wakes for its third batch, before claiming it.
    const w = workers(silentExit + `{
      const real = Atomics.compareExchange;
      let claims = 0;
      Atomics.compareExchange = (...args) => { if (++claims === 3) process.exit(1); return real(...args); };
    }\n`);
    const { pool, run } = makePool(2, w.create, { pickupTimeoutMs: 200 });
    const expected = reference(20, 2);
    try {
      let waited = 0;
      for (const end = Date.now() + 5000; Date.now() < end && waited === 0;) {
        const t0 = Date.now();
        expectSame(run(20), expected); // synchronous calls, on one thread until the worker starts
        if (Date.now() - t0 >= 200) waited = Date.now() - t0;
      }
      expect(waited).toBeGreaterThanOrEqual(200); // the call that waited for the dead worker, then ran its part
      const t0 = Date.now();
      for (let i = 0; i < 5; i++) expectSame(run(20), expected);
      expect(Date.now() - t0).toBeLessThan(500); // the silent lane is skipped, not waited for (5 waits: ≥ 1 s)
    } finally {
      pool.dispose();
    }
  });

  it('a worker killed in the middle of its batch (process.exit): that call throws clearly, later calls work', async () => {
    const w = workers(atKernelCall(30, 'process.exit(1);'));
    const { pool, run, ready } = makePool(2, w.create);
    const expected = reference(20, 2);
    try {
      await ready();
      expectSame(run(20), expected); // 40 kernel calls in the worker... it dies at its 30th
      expect.fail('the worker should have died');
    } catch (error) {
      expect(String(error)).toMatch(/A kernel worker stopped \(terminated, crashed or out of memory\) while running its part/);
    }
    try {
      expect(pool.threads).toBe(1);
      expectSame(run(20), expected);
      expectSame(run(20), expected);
    } finally {
      pool.dispose();
    }
  });

  it('killed mid-batch with no last words (only Node\'s stopped-worker probe sees it)', async () => {
    const w = workers(silentExit + atKernelCall(30, 'process.exit(1);'));
    const { pool, run, ready } = makePool(2, w.create);
    const expected = reference(20, 2);
    try {
      await ready(); // the event loop turned: the worker is 'online' for the probe
      expect(() => run(20)).toThrow(/A kernel worker stopped/);
      expectSame(run(20), expected);
    } finally {
      pool.dispose();
    }
  });

  it('a worker out of memory (resourceLimits) mid-batch: that call throws clearly, later calls work', async () => {
    const w = workers(
      atKernelCall(30, 'const hog = []; for (;;) hog.push(new Array(1e5).fill(1.5));'),
      { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
    );
    const { pool, run, ready } = makePool(2, w.create);
    const expected = reference(20, 2);
    try {
      await ready();
      expect(() => run(20)).toThrow(/A kernel worker stopped/);
      expectSame(run(20), expected);
      expect(pool.threads).toBe(1);
    } finally {
      pool.dispose();
    }
  });
});

describe.skipIf(!simd)('ThreadPool: starting and stopping', () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true });
  const local = createWasmKernels(memory) as unknown as Kernels;

  it('a createWorker that throws on the second of three workers: the first is stopped, the error says which', async () => {
    const w = workers();
    let n = 0;
    const create: WorkerFactory = (source) => {
      if (++n === 2) throw new Error('no more threads');
      return w.create(source);
    };
    expect(() => new ThreadPool(kernelModule(true), memory, local, 4, create)).toThrow(
      /`createWorker` threw while starting worker 2 of 3: no more threads/,
    );
    expect(w.made).toHaveLength(1);
    await expect(w.exited[0]).resolves.toBeTypeOf('number');
  });

  it('a createWorker that returns something else: TypeError naming createWorker and the value', async () => {
    for (const bad of [{}, null, 5, { postMessage: () => {} }]) {
      const w = workers();
      let n = 0;
      const create = ((source: string) => (++n === 2 ? bad : w.create(source))) as WorkerFactory;
      expect(() => new ThreadPool(kernelModule(true), memory, local, 4, create)).toThrow(
        /Expected `createWorker` to return a worker \(an object with postMessage and terminate\) for worker 2 of 3, got /,
      );
      await expect(w.exited[0]).resolves.toBeTypeOf('number');
    }
    let stopped = false;
    const halfWorker = { terminate: () => { stopped = true; } };
    expect(() => new ThreadPool(kernelModule(true), memory, local, 2, () => halfWorker as never)).toThrow(TypeError);
    expect(stopped).toBe(true);
  });

  it('a worker that cannot be sent the memory: the others are stopped, the error says why', async () => {
    const w = workers();
    let n = 0;
    const create: WorkerFactory = (source) => {
      if (++n < 3) return w.create(source);
      return { postMessage: () => { throw new Error('DataCloneError'); }, terminate: () => {} };
    };
    expect(() => new ThreadPool(kernelModule(true), memory, local, 4, create)).toThrow(
      /Could not send the kernels and shared memory to worker 3 of 3 \(from `createWorker`\): DataCloneError/,
    );
    await Promise.all(w.exited);
  });

  it('dispose stops the workers; the pool keeps running every part here', async () => {
    const w = workers();
    const { pool, run, ready } = makePool(3, w.create);
    await ready();
    pool.dispose();
    await Promise.all(w.exited);
    expect(pool.threads).toBe(1);
    expectSame(run(30), reference(30, 3));
  });

  it('a pool whose owner is garbage-collected undisposed stops its workers', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const w = workers();
    let owner: object | undefined = {};
    const ref = new WeakRef(owner);
    (() => {
      const pool = new ThreadPool(kernelModule(true), memory, local, 3, w.create);
      pool.disposeWhenCollected(owner);
    })();
    owner = undefined;
    let exited = false;
    void Promise.all(w.exited).then(() => { exited = true; });
    await until(() => {
      gc();
      return exited;
    }, 5000);
    expect(ref.deref()).toBeUndefined();
    expect(exited).toBe(true);
  });
});

describe('threads: how many', () => {
  it('resolveThreads keeps a number in [1, 64]; auto is the CPUs, at most 8, 1 if unknown', () => {
    expect(resolveThreads(1)).toBe(1);
    expect(resolveThreads(2, 1)).toBe(2); // asked for: kept, even above the CPUs
    expect(resolveThreads(MAX_THREADS)).toBe(64);
    expect(resolveThreads('auto', 4)).toBe(4);
    expect(resolveThreads('auto', 1)).toBe(1);
    expect(resolveThreads('auto', 128)).toBe(AUTO_MAX_THREADS);
    expect(resolveThreads('auto')).toBe(Math.min(hardwareConcurrency() ?? 1, AUTO_MAX_THREADS));
  });

  it("auto is 1 where the engine reports no CPU count", () => {
    const g = globalThis as { navigator?: unknown; process: { getBuiltinModule?: unknown } };
    const navigator = Object.getOwnPropertyDescriptor(g, 'navigator');
    const getBuiltinModule = g.process.getBuiltinModule;
    try {
      Object.defineProperty(g, 'navigator', { value: undefined, configurable: true });
      g.process.getBuiltinModule = undefined;
      expect(hardwareConcurrency()).toBeUndefined();
      expect(resolveThreads('auto')).toBe(1);
    } finally {
      if (navigator) Object.defineProperty(g, 'navigator', navigator);
      else delete g.navigator;
      g.process.getBuiltinModule = getBuiltinModule;
    }
  });

  it('resolveThreads names the value and the limits', () => {
    expect(() => resolveThreads(1000)).toThrow(new RangeError("Expected `threads` to be 'auto' or an integer in [1, 64], got 1000."));
    expect(() => resolveThreads(65)).toThrow(RangeError);
    expect(() => resolveThreads(0)).toThrow(RangeError);
    expect(() => resolveThreads(-1)).toThrow(RangeError);
    expect(() => resolveThreads(1.5)).toThrow(new TypeError("Expected `threads` to be 'auto' or an integer in [1, 64], got 1.5."));
    expect(() => resolveThreads('2')).toThrow(/got "2"\./);
    expect(() => resolveThreads(Number.NaN)).toThrow(TypeError);
    expect(() => resolveThreads(Infinity)).toThrow(TypeError);
  });

  it('hardwareConcurrency is what Node reports', async () => {
    const { availableParallelism } = await import('node:os');
    expect(hardwareConcurrency()).toBe(availableParallelism());
  });
});

describe.skipIf(!simd)('thread protocol', () => {
  it('every kernel fits a command: at most COMMAND_SIZE - 1 arguments', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true });
    const exports = new WebAssembly.Instance(kernelModule(true), { env: { memory } }).exports;
    for (const name of KERNEL_NAMES) {
      expect((exports[name] as (...args: number[]) => unknown).length, name).toBeLessThanOrEqual(COMMAND_SIZE - 1);
    }
  });
});
