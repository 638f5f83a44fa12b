import { afterEach, describe, expect, it, vi } from 'vitest';
import { KERNEL_NAMES, type Kernels } from '../../src/backend/table.js';
import { createWasmKernels, kernelModule, wasmSimdSupported } from '../../src/backend/wasm.js';
import { A, B_, expectSame, K, M, N, phase, reference, region, REGIONS, setup } from './phase.js';
import {
  hardwareConcurrency, resolveThreads, SPIN_POLLS, ThreadPool, webWorkerFactory, type ThreadPoolOptions, type WorkerLike,
} from '../../src/threads/pool.js';
import {
  CLAIM, CLAIMED, COMMAND_SIZE, CONTROL_BYTES, CONTROL_SLOTS, COUNT, DEAD, DONE, FAILED, OPEN, READY, RESULT_BYTE, REVOKED,
  SEQ, STOP, WORKER_SOURCE,
} from '../../src/threads/protocol.js';

// The pool's every path, fast and deterministic, with FAKE workers: objects that keep the
// message the pool sends them (the module, the memory, the control block and the command
// list) and never run. This thread plays the worker's side of the protocol (protocol.ts) by
// hand — marking a worker ready, claiming and running a posted batch from inside part 0 (which
// runs after the other parts were posted and before they are waited for), failing it, dying
// with or without last words — so that every branch of the waiting is reached in a few ms,
// and results are compared bit for bit with the parts run one after another here.
// (test/threads/pool.test.ts runs the same protocol with real Node workers.)

const simd = wasmSimdSupported();

afterEach(() => {
  vi.unstubAllGlobals();
});

interface Message {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  controlBuffer: SharedArrayBuffer;
  commandBuffer: SharedArrayBuffer;
  names: readonly string[];
  scratch: number | undefined;
  spin: number;
}

/** A worker that records what it is sent and told; `utilization` fakes Node's probe. */
class FakeWorker implements WorkerLike {
  messages: Message[] = [];
  terminated = 0;
  handlers = new Map<string, () => void>();
  probes = 0;
  utilization: (() => { idle?: unknown; active?: unknown }) | undefined;
  constructor(readonly source: string, options: { events?: 'node' | 'web' | 'throwing'; utilization?: FakeWorker['utilization'] } = {}) {
    this.utilization = options.utilization;
    if (options.events === 'node') {
      (this as unknown as { on: unknown }).on = (event: string, f: () => void) => this.handlers.set(`on:${event}`, f);
    } else if (options.events === 'web') {
      (this as unknown as { addEventListener: unknown }).addEventListener = (event: string, f: () => void) =>
        this.handlers.set(`web:${event}`, f);
    } else if (options.events === 'throwing') {
      (this as unknown as { on: unknown }).on = () => { throw new Error('no events'); };
    }
    if (options.utilization) {
      (this as unknown as { performance: unknown }).performance = {
        eventLoopUtilization: () => {
          this.probes++;
          return this.utilization!();
        },
      };
    }
  }
  postMessage(message: unknown): void { this.messages.push(message as Message); }
  terminate(): void { this.terminated++; }
  get message(): Message { return this.messages[0]!; }
  get control(): Int32Array { return new Int32Array(this.message.controlBuffer, 0, CONTROL_SLOTS); }
  ready(): this {
    Atomics.store(this.control, READY, 1);
    return this;
  }
}

/** This thread as the worker: claims lane w's posted batch and runs it as protocol.ts does. */
function serve(w: FakeWorker, mode: 'run' | 'fail' | 'claim' = 'run'): boolean {
  const m = w.message, control = w.control;
  const seq = Atomics.load(control, SEQ);
  if (Atomics.compareExchange(control, CLAIM, OPEN, CLAIMED) !== OPEN) return false;
  if (mode === 'claim') return true;
  const exports = new WebAssembly.Instance(m.module, { env: { memory: m.memory } }).exports as Record<string, (...a: number[]) => unknown>;
  const kernels = m.names.map((name) => exports[name]!);
  const result = new Float64Array(m.controlBuffer, RESULT_BYTE, 1);
  const c = new Float64Array(m.commandBuffer, 0, m.commandBuffer.byteLength / 8);
  let sum = result[0]!;
  for (let i = 0, end = Atomics.load(control, COUNT) * COMMAND_SIZE; i < end; i += COMMAND_SIZE) {
    const value = kernels[c[i]!]!(c[i + 1]!, c[i + 2]!, c[i + 3]!, c[i + 4]!, c[i + 5]!, c[i + 6]!, c[i + 7]!, c[i + 8]!);
    if (typeof value === 'number') sum += value;
  }
  result[0] = sum;
  if (mode === 'fail') Atomics.store(control, FAILED, 1);
  Atomics.store(control, DONE, seq);
  return true;
}

function makePool(threads: number, options?: ThreadPoolOptions, worker: (source: string) => FakeWorker = (s) => new FakeWorker(s)) {
  const { memory, local, f, ids } = setup();
  const made: FakeWorker[] = [];
  const pool = new ThreadPool(kernelModule(true), memory, local, threads, (source) => {
    const w = worker(source);
    made.push(w);
    return w;
  }, options);
  const run = (T: number, before0?: () => void) => {
    f.fill(0, REGIONS, region(threads));
    const total = pool.run(phase(f, ids, T, { before0 }));
    return { total, bytes: f.slice(REGIONS, region(threads)) };
  };
  return { pool, made, run, local, memory };
}

describe.skipIf(!simd)('ThreadPool with fake workers: what each worker is sent', () => {
  it('the module, the memory, a control block and a growable command list, once, with the worker source', () => {
    vi.stubGlobal('navigator', { hardwareConcurrency: 8 }); // CPUs enough for 3 threads to poll
    const { pool, made, memory } = makePool(3);
    vi.unstubAllGlobals();
    expect(made).toHaveLength(2);
    for (const w of made) {
      expect(w.source).toBe(WORKER_SOURCE);
      expect(w.messages).toHaveLength(1);
      const m = w.message;
      expect(Object.keys(m).sort()).toEqual(['commandBuffer', 'controlBuffer', 'memory', 'module', 'names', 'scratch', 'spin']);
      expect(m.scratch).toBeUndefined(); // no scratch by default
      expect(m.spin).toBe(SPIN_POLLS); // polls before it sleeps, by default 20,000
      expect(SPIN_POLLS).toBe(20_000);
      expect(m.module).toBe(kernelModule(true));
      expect(m.memory).toBe(memory);
      expect(m.names).toEqual(KERNEL_NAMES);
      expect(m.controlBuffer).toBeInstanceOf(SharedArrayBuffer);
      expect(m.controlBuffer.byteLength).toBe(CONTROL_BYTES);
      const commands = m.commandBuffer as SharedArrayBuffer & { growable: boolean; maxByteLength: number };
      expect(commands.growable).toBe(true);
      expect(commands.byteLength).toBe(8 * COMMAND_SIZE * 4096);
      expect(commands.maxByteLength).toBe(8 * COMMAND_SIZE * (1 << 21));
      expect([...w.control]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    }
    expect(made[0]!.message.controlBuffer).not.toBe(made[1]!.message.controlBuffer);
    expect(pool.size).toBe(3);
    expect(pool.threads).toBe(3);
    pool.dispose();
  });

  it('each worker its own scratch address, asked by lane (1 … threads − 1)', () => {
    const lanes: number[] = [];
    const { pool, made } = makePool(3, { scratch: (lane) => { lanes.push(lane); return 4096 * lane; } });
    expect(lanes).toEqual([1, 2]);
    expect(made.map((w) => w.message.scratch)).toEqual([4096, 8192]);
    pool.dispose();
  });

  it('each worker the polls asked for (spin: 0 sleeps at once); by default none with more threads than CPUs', () => {
    const asked = makePool(3, { spin: 0 });
    expect(asked.made.map((w) => w.message.spin)).toEqual([0, 0]);
    asked.pool.dispose();
    for (const [cpus, threads, spin] of [[2, 3, 0], [3, 3, SPIN_POLLS], [4, 3, SPIN_POLLS], [undefined, 3, SPIN_POLLS]] as const) {
      vi.stubGlobal('navigator', { hardwareConcurrency: cpus });
      if (cpus === undefined) vi.stubGlobal('process', { ...process, getBuiltinModule: undefined }); // no CPU count at all
      const { pool, made } = makePool(threads);
      vi.unstubAllGlobals();
      expect(made.map((w) => w.message.spin), `${cpus} CPUs`).toEqual([spin, spin]);
      pool.dispose();
    }
  });

  it('list sizes: as asked where growable, fixed (at most 65,536 commands) when the maximum is not above the start', () => {
    const sizes = (options: ThreadPoolOptions) => {
      const { pool, made } = makePool(2, options);
      const b = made[0]!.message.commandBuffer as SharedArrayBuffer & { growable: boolean; maxByteLength: number };
      pool.dispose();
      return [b.growable, b.byteLength / (8 * COMMAND_SIZE), b.maxByteLength / (8 * COMMAND_SIZE)];
    };
    expect(sizes({ initialCommands: 4, maxCommands: 12 })).toEqual([true, 4, 12]);
    expect(sizes({ initialCommands: 8, maxCommands: 8 })).toEqual([false, 8, 8]);
    expect(sizes({ initialCommands: 70_000, maxCommands: 70_000 })).toEqual([false, 65_536, 65_536]);
    expect(sizes({ initialCommands: 80_000, maxCommands: 70_000 })).toEqual([false, 65_536, 65_536]);
    // An address space that cannot be reserved: a fixed list.
    expect(sizes({ initialCommands: 4, maxCommands: 2 ** 50 })).toEqual([false, 65_536, 65_536]);
  });
});

describe.skipIf(!simd)('ThreadPool with fake workers: who runs what', () => {
  it('workers not ready: every part runs here, in index order, and the sum is added in index order', () => {
    const { pool, made, local } = makePool(3);
    const calls: string[] = [];
    const values = [1, 2 ** 53, -(2 ** 53)];
    const total = pool.run((k, index, size) => {
      calls.push(`${index}/${size}${k === local ? '' : ' recorded'}`);
      return values[index]!;
    });
    expect(calls).toEqual(['0/3', '1/3', '2/3']);
    expect(total).toBe((1 + 2 ** 53) - 2 ** 53); // 0; any other order gives 1
    for (const w of made) expect(Atomics.load(w.control, SEQ)).toBe(0); // nothing was posted
    pool.dispose();
  });

  it('ready workers: their parts are recorded first and posted, this thread runs part 0, the workers\' sums are added', () => {
    const T = 7;
    const expected = reference(T, 3);
    const { pool, made, run, local } = makePool(3);
    made.forEach((w) => w.ready());
    const calls: string[] = [];
    const served: boolean[] = [];
    const result = run(T, () => {
      // Part 0 starts after both parts were posted: each list holds its part's 2T commands.
      for (const w of made) {
        expect(Atomics.load(w.control, SEQ)).toBe(1);
        expect(Atomics.load(w.control, COUNT)).toBe(2 * T);
        expect(Atomics.load(w.control, CLAIM)).toBe(OPEN);
        expect(Atomics.load(w.control, FAILED)).toBe(0);
        served.push(serve(w));
      }
    });
    expectSame(result, expected);
    expect(served).toEqual([true, true]);
    // The recorded commands: kernel index, then its byte pointers and sizes.
    const c = new Float64Array(made[0]!.message.commandBuffer, 0, 2 * COMMAND_SIZE);
    expect(c[0]).toBe(KERNEL_NAMES.indexOf('matmul'));
    expect([...c.subarray(1, 8)]).toEqual([4 * region(1), 4 * A, 4 * B_, M, K, N, 1]);
    expect(c[COMMAND_SIZE]).toBe(KERNEL_NAMES.indexOf('softmaxCrossEntropy'));
    // A second call: the running sum starts again from 0 (the result slot is rewritten).
    expectSame(run(T, () => made.forEach((w) => serve(w))), expected);
    for (const w of made) expect(Atomics.load(w.control, SEQ)).toBe(2);
    pool.run((k, index) => {
      calls.push(`${index}${k === local ? '' : ' recorded'}`);
      return 0;
    });
    expect(calls).toEqual(['1 recorded', '2 recorded', '0']);
    // Nothing was recorded: nothing is posted, and a recorded part's own return value is not counted.
    for (const w of made) expect(Atomics.load(w.control, SEQ)).toBe(2);
    expect(pool.run((k, index) => (index === 0 ? 5 : 1000))).toBe(5);
    pool.dispose();
  });

  it('the model\'s thread polls DONE `spin` times before it sleeps, and stops polling once DONE is there', () => {
    // Reads of the lane's DONE slot in one run: `usable` reads it twice (when the phase starts,
    // and at launch), the polling up to `spin` times (stopping at the read that finds it done),
    // the wait loop once more.
    const reads = (spin: number, served: boolean, fail = false): number => {
      const T = 2;
      const { pool, made, run } = makePool(2, { spin, pickupTimeoutMs: 0 });
      const w = made[0]!.ready(), control = w.message.controlBuffer;
      const load = Atomics.load;
      let count = 0;
      const spy = vi.spyOn(Atomics, 'load').mockImplementation(((a: Int32Array, i: number) => {
        if (a.buffer === control && i === DONE) count++;
        return load(a, i);
      }) as typeof Atomics.load);
      try {
        const before0 = (): void => {
          if (served) serve(w);
          if (fail) throw new Error('part 0 failed');
        };
        if (fail) expect(() => run(T, before0)).toThrow('part 0 failed');
        else expectSame(run(T, before0), reference(T, 2));
      } finally {
        spy.mockRestore();
        pool.dispose();
      }
      return count;
    };
    expect(reads(0, true)).toBe(3); // no polling
    expect(reads(5, true)).toBe(4); // one poll finds it done
    expect(reads(0, false)).toBe(3); // never claimed: revoked after the wait, run here
    expect(reads(5, false)).toBe(8); // five polls, then the wait
    expect(reads(5, true, true)).toBe(3); // abandoning the phase: no polling
  });

  it('a lane whose worker has not said DONE to its last batch runs its part here, then is used again', () => {
    const T = 3;
    const expected = reference(T, 2);
    const { pool, made, run } = makePool(2, { pickupTimeoutMs: 0 });
    const w = made[0]!.ready();
    expectSame(run(T), expected); // posted, never claimed: revoked at once, run here
    expect(Atomics.load(w.control, CLAIM)).toBe(REVOKED);
    expect(Atomics.load(w.control, SEQ)).toBe(1);
    expectSame(run(T), expected); // DONE is still 0: not posted
    expect(Atomics.load(w.control, SEQ)).toBe(1);
    Atomics.store(w.control, DONE, 1); // the worker woke, saw the revocation
    expectSame(run(T, () => serve(w)), expected);
    expect(Atomics.load(w.control, SEQ)).toBe(2);
    expect(Atomics.load(w.control, CLAIM)).toBe(CLAIMED);
    pool.dispose();
  });

  it('a batch not picked up waits for the deadline (and no longer), then runs here', () => {
    const T = 3;
    const expected = reference(T, 2);
    for (const deadline of [60, 150]) {
      const { pool, made, run } = makePool(2, { pickupTimeoutMs: deadline });
      made[0]!.ready();
      const t0 = performance.now();
      expectSame(run(T), expected);
      const waited = performance.now() - t0;
      expect(waited).toBeGreaterThanOrEqual(deadline - 1);
      expect(waited).toBeLessThan(deadline + 1000);
      expect(Atomics.load(made[0]!.control, CLAIM)).toBe(REVOKED);
      pool.dispose();
    }
  });

  it('the default deadline is 500 ms', () => {
    const { pool, made, run } = makePool(2);
    made[0]!.ready();
    const t0 = performance.now();
    expectSame(run(2), reference(2, 2));
    const waited = performance.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(499);
    expect(waited).toBeLessThan(1500);
    pool.dispose();
  });

  it('a full list grows up to the maximum, then runs in pieces; the sum runs on across pieces', () => {
    const T = 20; // 40 commands per part
    const expected = reference(T, 2);
    // Growable 4 → 8 → 12, then pieces of 12 run here (the fake worker is not ready).
    const grown = makePool(2, { initialCommands: 4, maxCommands: 12 });
    const buffer = grown.made[0]!.message.commandBuffer;
    expectSame(grown.run(T), expected); // not ready: runs here, nothing recorded
    expect(buffer.byteLength).toBe(8 * COMMAND_SIZE * 4);
    grown.made[0]!.ready();
    // Ready, never claiming, deadline 0: the first full piece is posted, revoked and run
    // here; the worker has not answered it, so the rest runs here without posting.
    const pieces = makePool(2, { initialCommands: 4, maxCommands: 12, pickupTimeoutMs: 0 });
    const w = pieces.made[0]!.ready();
    expectSame(pieces.run(T), expected);
    expect(w.message.commandBuffer.byteLength).toBe(8 * COMMAND_SIZE * 12);
    expect(Atomics.load(w.control, SEQ)).toBe(1);
    expect(Atomics.load(w.control, COUNT)).toBe(12);
    grown.pool.dispose();
    pieces.pool.dispose();
    // A fixed list of 8 whose worker answers each revocation at once: every full piece is
    // posted (then revoked and run here), and the last 8 commands are served by this thread
    // as the worker, from part 0, starting from the running sum the pool wrote into the
    // result slot: the part's sum runs on across the pieces.
    const fixed = makePool(2, { initialCommands: 8, maxCommands: 8, pickupTimeoutMs: 0 });
    const v = fixed.made[0]!.ready();
    expect(v.message.commandBuffer.byteLength).toBe(8 * COMMAND_SIZE * 8);
    const f = new Float32Array(fixed.memory.buffer), ids = new Int32Array(fixed.memory.buffer);
    let start = 0;
    const inner = phase(f, ids, T, { before0: () => {
      expect(Atomics.load(v.control, SEQ)).toBe(5);
      expect(Atomics.load(v.control, COUNT)).toBe(8);
      start = new Float64Array(v.message.controlBuffer, RESULT_BYTE, 1)[0]!;
      expect(serve(v)).toBe(true);
    } });
    const answering = (k: Kernels): Kernels => new Proxy(k, {
      get(target, name, receiver) {
        const fn = Reflect.get(target, name, receiver) as (...a: unknown[]) => unknown;
        return (...args: unknown[]) => {
          if (Atomics.load(v.control, CLAIM) === REVOKED) Atomics.store(v.control, DONE, Atomics.load(v.control, SEQ));
          return fn(...args);
        };
      },
    });
    f.fill(0, REGIONS, region(2));
    const total = fixed.pool.run((k, part) => inner(part === 0 ? k : answering(k), part));
    expectSame({ total, bytes: f.slice(REGIONS, region(2)) }, expected);
    expect(start).not.toBe(0);
    fixed.pool.dispose();
  });
});

describe.skipIf(!simd)('ThreadPool with fake workers: failures and deaths', () => {
  const slow = { pickupTimeoutMs: 100_000 }; // only a death may end a wait early

  it('a batch that failed in the worker (FAILED): the call throws, the next works', () => {
    const T = 4;
    const { pool, made, run } = makePool(2, slow);
    const w = made[0]!.ready();
    expect(() => run(T, () => serve(w, 'fail'))).toThrow(
      new Error('A kernel worker failed while running its part of a phase; the call is abandoned.'),
    );
    expectSame(run(T, () => {
      expect(Atomics.load(w.control, FAILED)).toBe(0); // cleared when posting
      serve(w);
    }), reference(T, 2));
    expect(pool.threads).toBe(2);
    pool.dispose();
  });

  it('a worker that dies after claiming (last words: DEAD): the call throws, later calls run without it', () => {
    const T = 4;
    const { pool, made, run } = makePool(3, slow);
    made.forEach((w) => w.ready());
    const t0 = performance.now();
    expect(() => run(T, () => {
      serve(made[1]!); // the other worker finishes its part
      serve(made[0]!, 'claim');
      Atomics.store(made[0]!.control, DEAD, 1);
    })).toThrow(new Error(
      'A kernel worker stopped (terminated, crashed or out of memory) while running its part of a phase; ' +
        'the call is abandoned, and later calls run without that worker.',
    ));
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(made[0]!.terminated).toBe(1);
    expect(Atomics.load(made[0]!.control, STOP)).toBe(1);
    expect(pool.threads).toBe(2);
    expectSame(run(T, () => serve(made[1]!)), reference(T, 3));
    expect(Atomics.load(made[0]!.control, SEQ)).toBe(2); // 1 posted, + 1 by stop to wake it
    expect(pool.threads).toBe(2);
    expect(made[0]!.terminated).toBe(1); // killed once, however often it is found dead
    pool.dispose(); // stops every lane, the dead one again
    expect(made[0]!.terminated).toBe(2);
    expect(made[1]!.terminated).toBe(1);
  });

  it('a worker that dies after claiming, seen only by Node\'s probe: the call throws', () => {
    const T = 4;
    let idle = 5;
    const { pool, made, run } = makePool(2, slow, (s) => new FakeWorker(s, { utilization: () => ({ idle, active: 1 }) }));
    const w = made[0]!.ready();
    expect(() => run(T, () => {
      serve(w, 'claim');
      idle = -1;
    })).toThrow(/A kernel worker stopped/);
    expect(w.terminated).toBe(1);
    expect(pool.threads).toBe(1);
    expectSame(run(T), reference(T, 2));
    pool.dispose();
  });

  it('a worker that dies before claiming: its batch runs here at once, not after the deadline', () => {
    const T = 4;
    for (const how of ['DEAD', 'probe'] as const) {
      let idle = 5;
      const { pool, made, run } = makePool(2, slow, (s) => new FakeWorker(s, { utilization: () => ({ idle, active: 1 }) }));
      const w = made[0]!.ready();
      const t0 = performance.now();
      expectSame(run(T, () => {
        if (how === 'DEAD') Atomics.store(w.control, DEAD, 1);
        else idle = -1;
      }), reference(T, 2));
      expect(performance.now() - t0).toBeLessThan(5000);
      expect(Atomics.load(w.control, CLAIM)).toBe(REVOKED);
      expect(pool.threads).toBe(1);
      pool.dispose();
    }
  });

  it('a part that throws: posted batches are revoked unrun (or waited for if claimed), the pool then runs the next call', () => {
    const T = 4;
    const { pool, made, run, memory } = makePool(3, slow);
    made.forEach((w) => w.ready());
    const f = new Float32Array(memory.buffer);
    // Part 2 throws while being recorded: part 1 was posted and is revoked without running.
    f.fill(0, REGIONS, region(3));
    expect(() => pool.run((k, part) => {
      if (part === 2) throw new Error('boom');
      return phase(f, new Int32Array(memory.buffer), T)(k, part);
    })).toThrow('boom');
    expect(Atomics.load(made[0]!.control, CLAIM)).toBe(REVOKED);
    expect(f.subarray(region(1), region(2)).every((x) => x === 0)).toBe(true);
    // Part 0 throws after a worker finished its part and the other claimed nothing.
    for (const w of made) Atomics.store(w.control, DONE, Atomics.load(w.control, SEQ));
    expect(() => run(T, () => {
      serve(made[0]!);
      throw new Error('boom 0');
    })).toThrow('boom 0');
    expect(Atomics.load(made[1]!.control, CLAIM)).toBe(REVOKED);
    for (const w of made) Atomics.store(w.control, DONE, Atomics.load(w.control, SEQ));
    expectSame(run(T, () => made.forEach((w) => serve(w))), reference(T, 3));
    expect(pool.threads).toBe(3);
    pool.dispose();
  });

  it('a claimed batch of a worker that dies while a failed phase is abandoned: the phase\'s own error is thrown', () => {
    const T = 4;
    const { pool, made, run } = makePool(2, slow);
    const w = made[0]!.ready();
    expect(() => run(T, () => {
      serve(w, 'claim');
      Atomics.store(w.control, DEAD, 1);
      throw new Error('the phase failed');
    })).toThrow('the phase failed');
    expect(pool.threads).toBe(1);
    expectSame(run(T), reference(T, 2));
    pool.dispose();
  });

  it('deaths heard between calls: Node\'s exit and error events, the web\'s error event', () => {
    for (const [events, names] of [['node', ['on:exit', 'on:error']], ['web', ['web:error']]] as const) {
      for (const name of names) {
        const { pool, made } = makePool(3, slow, (s) => new FakeWorker(s, { events }));
        expect([...made[0]!.handlers.keys()]).toEqual(names);
        made[0]!.handlers.get(name)!();
        expect(Atomics.load(made[0]!.control, DEAD)).toBe(1);
        expect(pool.threads).toBe(2);
        expect(made[0]!.terminated).toBe(1);
        expect(made[1]!.terminated).toBe(0);
        pool.dispose();
      }
    }
    // A worker whose event methods throw is still started.
    const { pool, made } = makePool(2, slow, (s) => new FakeWorker(s, { events: 'throwing' }));
    expect(made[0]!.messages).toHaveLength(1);
    expect(pool.threads).toBe(2);
    pool.dispose();
  });

  it('the probe: asked while it answers "unknown", then no more; "stopped" ends the lane; anything else is "running"', () => {
    const cases: [string, () => { idle?: unknown; active?: unknown }, number, number][] = [
      // [what, utilization, probes by three calls, threads after]
      ['unknown', () => ({ idle: 0, active: 0 }), 3, 2],
      ['running (active)', () => ({ idle: 0, active: 2 }), 1, 2],
      ['running (idle)', () => ({ idle: 3, active: 0 }), 1, 2],
      ['throws: none', () => { throw new Error('no'); }, 1, 2],
      ['stopped', () => ({ idle: -1, active: 0 }), 1, 1],
    ];
    for (const [what, utilization, probes, threads] of cases) {
      const { pool, made } = makePool(2, slow, (s) => new FakeWorker(s, { utilization }));
      const w = made[0]!;
      pool.run(() => 0);
      expect(w.probes, `${what}: not ready, not asked`).toBe(0);
      w.ready();
      for (let i = 0; i < 3; i++) pool.run(() => 0);
      expect(w.probes, what).toBe(probes);
      expect(w.terminated, what).toBe(threads === 1 ? 1 : 0);
      w.probes = 0;
      expect(pool.threads, what).toBe(threads);
      expect(w.probes, `${what}: threads asks the probe unless the lane is dead`).toBe(threads === 1 ? 0 : 1);
      pool.dispose();
    }
    // Without eventLoopUtilization: 'none', and a worker without performance is fine.
    const { pool, made } = makePool(2, slow, (s) => {
      const w = new FakeWorker(s);
      (w as unknown as { performance: unknown }).performance = {};
      return w;
    });
    made[0]!.ready();
    expect(pool.threads).toBe(2);
    pool.dispose();
  });
});

describe.skipIf(!simd)('ThreadPool: starting, stopping, the kernels run here', () => {
  it('dispose: stops every worker once (STOP, DEAD, a wake-up), then runs every part here', () => {
    const { pool, made, run } = makePool(3);
    made.forEach((w) => w.ready());
    pool.dispose();
    for (const w of made) {
      expect(w.terminated).toBe(1);
      expect(Atomics.load(w.control, STOP)).toBe(1);
      expect(Atomics.load(w.control, DEAD)).toBe(1);
      expect(Atomics.load(w.control, SEQ)).toBe(1);
    }
    expect(pool.threads).toBe(1);
    expectSame(run(3), reference(3, 3));
    pool.dispose();
    for (const w of made) expect(w.terminated).toBe(1);
    expect(pool.threads).toBe(1);
  });

  it('a worker whose terminate throws is stopped quietly', () => {
    const { pool, made } = makePool(2, {}, (s) => {
      const w = new FakeWorker(s);
      w.terminate = () => { throw new Error('gone'); };
      return w;
    });
    expect(() => pool.dispose()).not.toThrow();
    expect(Atomics.load(made[0]!.control, STOP)).toBe(1);
  });

  it('the kernels a part runs here with: the local set\'s own exports, read once, or an instance of the module', () => {
    const { memory, local, f, ids } = setup();
    let reads = 0;
    let calls = 0;
    const exports = Object.fromEntries(KERNEL_NAMES.map((name) => [name, (...args: number[]) => {
      calls++;
      return (local.exports as unknown as Record<string, (...a: number[]) => unknown>)[name]!(...args);
    }]));
    const counted = { ...local, get exports() { reads++; return exports; } } as unknown as Kernels;
    const made: FakeWorker[] = [];
    const pool = new ThreadPool(kernelModule(true), memory, counted, 2, (s) => {
      made.push(new FakeWorker(s));
      return made.at(-1)!;
    }, { initialCommands: 2, maxCommands: 2, pickupTimeoutMs: 0 });
    made[0]!.ready();
    f.fill(0, REGIONS, region(2));
    const T = 3;
    const total = pool.run(phase(f, ids, T)); // part 1: pieces of 2 posted, revoked, run here
    expectSame({ total, bytes: f.slice(REGIONS, region(2)) }, reference(T, 2));
    expect(calls).toBe(2 * T);
    expect(reads).toBe(1);
    Atomics.store(made[0]!.control, DONE, Atomics.load(made[0]!.control, SEQ));
    f.fill(0, REGIONS, region(2));
    expectSame({ total: pool.run(phase(f, ids, T)), bytes: f.slice(REGIONS, region(2)) }, reference(T, 2));
    expect(reads).toBe(1);
    pool.dispose();
    // A local set without raw exports: the pool instantiates the module on the memory.
    const second = setup();
    const { exports: _raw, ...bare } = second.local;
    const lanes: FakeWorker[] = [];
    const own = new ThreadPool(kernelModule(true), second.memory, bare, 2, (s) => {
      lanes.push(new FakeWorker(s));
      return lanes.at(-1)!;
    }, { pickupTimeoutMs: 0 });
    lanes[0]!.ready();
    second.f.fill(0, REGIONS, region(2));
    const result = { total: own.run(phase(second.f, second.ids, T)), bytes: second.f.slice(REGIONS, region(2)) };
    expectSame(result, reference(T, 2));
    expect(Atomics.load(lanes[0]!.control, CLAIM)).toBe(REVOKED); // part 1 ran here, on the pool's own instance
    own.dispose();
  });

  it('a worker that cannot be made, is not a worker, cannot get its list or its message: named, the others stopped', () => {
    const { memory, local } = setup();
    const module = kernelModule(true);
    const start = (threads: number, bad: (source: string) => unknown, at = 2, options?: ThreadPoolOptions) => {
      const made: FakeWorker[] = [];
      let n = 0;
      let error: unknown;
      try {
        new ThreadPool(module, memory, local, threads, ((source: string) => {
          if (++n === at) return bad(source);
          made.push(new FakeWorker(source));
          return made.at(-1)!;
        }) as never, options);
      } catch (e) {
        error = e;
      }
      return { error: error as Error, made };
    };
    const cause = new Error('EAGAIN');
    let r = start(4, () => { throw cause; });
    expect(r.error).toEqual(new Error('`createWorker` threw while starting worker 2 of 3: EAGAIN'));
    expect(r.error.cause).toBe(cause);
    expect(r.made.map((w) => w.terminated)).toEqual([1]);
    r = start(3, () => { throw 'no'; }, 1);
    expect(r.error.message).toBe('`createWorker` threw while starting worker 1 of 2: "no"');
    expect(r.error.cause).toBe('no');
    for (const bad of [null, 5, {}, { postMessage: () => undefined }, { postMessage: 1, terminate: () => undefined }]) {
      r = start(4, () => bad, 3);
      expect(r.error).toBeInstanceOf(TypeError);
      expect(r.error.message).toMatch(
        /^Expected `createWorker` to return a worker \(an object with postMessage and terminate\) for worker 3 of 3, got .+\.$/,
      );
      expect(r.made.map((w) => w.terminated)).toEqual([1, 1]);
    }
    expect(start(2, () => 'w', 1).error.message).toMatch(/for worker 1 of 1, got "w"\.$/);
    let stopped = 0;
    r = start(2, () => ({ terminate: () => { stopped++; throw new Error('and throws'); } }), 1);
    expect(r.error).toBeInstanceOf(TypeError);
    expect(stopped).toBe(1);
    // A list that cannot be made (a negative size): the worker is stopped, the engine's error passes.
    const lists: FakeWorker[] = [];
    let error: unknown;
    try {
      new ThreadPool(module, memory, local, 3, (s) => { lists.push(new FakeWorker(s)); return lists.at(-1)!; }, { maxCommands: -1 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RangeError);
    expect(lists.map((w) => w.terminated)).toEqual([1]);
    // postMessage throws: stopped, named.
    const clone = new Error('DataCloneError');
    let unsent: FakeWorker | undefined;
    r = start(4, (s) => {
      unsent = new FakeWorker(s);
      unsent.postMessage = () => { throw clone; };
      return unsent;
    }, 3);
    expect(r.error.message).toBe('Could not send the kernels and shared memory to worker 3 of 3 (from `createWorker`): DataCloneError');
    expect(r.error.cause).toBe(clone);
    expect(r.made.map((w) => w.terminated)).toEqual([1, 1]);
    expect(unsent!.terminated).toBe(1);
  });
});

describe('webWorkerFactory', () => {
  it('is undefined without Worker, Blob or URL.createObjectURL (as in Node)', () => {
    expect(webWorkerFactory()).toBeUndefined();
    class W { constructor(readonly url: string) {} postMessage(): void {} terminate(): void {} }
    vi.stubGlobal('Worker', W);
    expect(webWorkerFactory()).toBeTypeOf('function');
    vi.stubGlobal('Blob', undefined);
    expect(webWorkerFactory()).toBeUndefined();
    vi.unstubAllGlobals();
    vi.stubGlobal('Worker', W);
    vi.stubGlobal('URL', undefined);
    expect(webWorkerFactory()).toBeUndefined();
    vi.stubGlobal('URL', {});
    expect(webWorkerFactory()).toBeUndefined();
  });

  it('makes a web worker from a JavaScript Blob URL of the source', () => {
    const made: { url: string }[] = [];
    const blobs: { parts: unknown[]; options: unknown }[] = [];
    vi.stubGlobal('Worker', class { constructor(readonly url: string) { made.push(this); } });
    vi.stubGlobal('Blob', class { constructor(parts: unknown[], options: unknown) { blobs.push({ parts, options }); } });
    vi.stubGlobal('URL', { createObjectURL: (blob: unknown) => `blob:${blobs.findIndex((b) => b === blob) + blobs.length}` });
    const create = webWorkerFactory()!;
    const worker = create('postMessage(1)');
    expect(made).toEqual([worker]);
    expect(blobs).toHaveLength(1);
    expect(blobs[0]!.parts).toEqual(['postMessage(1)']);
    expect(blobs[0]!.options).toEqual({ type: 'text/javascript' });
    expect((worker as unknown as { url: string }).url).toMatch(/^blob:/);
  });
});

describe('hardwareConcurrency and resolveThreads', () => {
  const withEngine = (navigator: unknown, os: unknown, f: () => void): void => {
    vi.stubGlobal('navigator', navigator);
    const p = process as { getBuiltinModule?: unknown };
    const saved = p.getBuiltinModule;
    const asked: string[] = [];
    p.getBuiltinModule = os === undefined ? undefined : (id: string) => { asked.push(id); return os; };
    try {
      f();
      if (os !== undefined && asked.length > 0) expect(asked).toEqual(['os']);
    } finally {
      p.getBuiltinModule = saved;
    }
  };

  it('navigator.hardwareConcurrency when it is a positive integer, else os.availableParallelism(), else undefined', () => {
    const os = (n: unknown) => ({ availableParallelism: () => n });
    withEngine({ hardwareConcurrency: 6 }, os(3), () => expect(hardwareConcurrency()).toBe(6));
    withEngine({ hardwareConcurrency: 1 }, os(3), () => expect(hardwareConcurrency()).toBe(1));
    for (const bad of [0, -2, 2.5, '4', undefined, NaN]) {
      withEngine({ hardwareConcurrency: bad }, os(3), () => expect(hardwareConcurrency()).toBe(3));
    }
    withEngine(undefined, os(1), () => expect(hardwareConcurrency()).toBe(1));
    for (const bad of [0, 1.5, '3', -1, undefined]) {
      withEngine(undefined, os(bad), () => expect(hardwareConcurrency()).toBeUndefined());
    }
    withEngine(undefined, { availableParallelism: 4 }, () => expect(hardwareConcurrency()).toBeUndefined());
    withEngine(undefined, undefined, () => expect(hardwareConcurrency()).toBeUndefined());
    withEngine(undefined, undefined, () => expect(resolveThreads('auto')).toBe(1));
    withEngine({ hardwareConcurrency: 5 }, undefined, () => expect(resolveThreads('auto')).toBe(5));
  });

  it("resolveThreads: 'auto' within [1, 8]; a number within [1, 64]", () => {
    expect(resolveThreads('auto', 0)).toBe(1);
    expect(resolveThreads('auto', 8)).toBe(8);
    expect(resolveThreads('auto', 9)).toBe(8);
    expect(resolveThreads('auto', 3)).toBe(3);
    expect(resolveThreads(1, 4)).toBe(1);
    expect(resolveThreads(64, 4)).toBe(64);
    expect(() => resolveThreads(0)).toThrow(new RangeError("Expected `threads` to be 'auto' or an integer in [1, 64], got 0."));
    expect(() => resolveThreads(65)).toThrow(new RangeError("Expected `threads` to be 'auto' or an integer in [1, 64], got 65."));
    expect(() => resolveThreads('8')).toThrow(new TypeError("Expected `threads` to be 'auto' or an integer in [1, 64], got \"8\"."));
    expect(() => resolveThreads(undefined)).toThrow(TypeError);
    expect(() => resolveThreads(2.5)).toThrow(TypeError);
  });
});

describe.skipIf(!simd)('ThreadPool: the clock and the way it waits', () => {
  it('the deadline is measured with performance.now() where it exists, else Date.now()', () => {
    const expected = reference(2, 2);
    // A performance clock that jumps 1 s a call: the 5 s deadline passes after a few looks.
    const { pool, made, run } = makePool(2, { pickupTimeoutMs: 5000 });
    made[0]!.ready();
    let t = 0;
    const t0 = Date.now();
    vi.stubGlobal('performance', { now: () => (t += 1000) });
    let result;
    try {
      result = run(2);
    } finally {
      vi.unstubAllGlobals();
    }
    expectSame(result, expected);
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(t).toBeGreaterThanOrEqual(5000);
    pool.dispose();
    // No performance: Date.now() keeps the deadline.
    const second = makePool(2, { pickupTimeoutMs: 60 });
    second.made[0]!.ready();
    const t1 = Date.now();
    vi.stubGlobal('performance', undefined);
    try {
      result = second.run(2);
    } finally {
      vi.unstubAllGlobals();
    }
    expectSame(result, expected);
    expect(Date.now() - t1).toBeGreaterThanOrEqual(59);
    second.pool.dispose();
  });

  it('a thread that may block waits in Atomics.wait; a browser\'s main thread (window, no Atomics.wait) spins', async () => {
    const expected = reference(2, 2);
    const realWait = Atomics.wait;
    let waits = 0;
    const { pool, made, run } = makePool(2, { pickupTimeoutMs: 50 });
    made[0]!.ready();
    Atomics.wait = ((...args: Parameters<typeof Atomics.wait>) => { waits++; return realWait(...args); }) as typeof Atomics.wait;
    try {
      expectSame(run(2), expected);
    } finally {
      Atomics.wait = realWait;
    }
    expect(waits).toBeGreaterThan(0);
    pool.dispose();

    vi.stubGlobal('window', {});
    vi.resetModules();
    const fresh = await import('../../src/threads/pool.js');
    const { memory, local, f, ids } = setup();
    const lanes: FakeWorker[] = [];
    const browser = new fresh.ThreadPool(kernelModule(true), memory, local, 2, (s) => {
      lanes.push(new FakeWorker(s));
      return lanes.at(-1)!;
    }, { pickupTimeoutMs: 50 });
    lanes[0]!.ready();
    Atomics.wait = (() => { throw new TypeError('Atomics.wait cannot be called in this context'); }) as typeof Atomics.wait;
    const t0 = performance.now();
    try {
      f.fill(0, REGIONS, region(2));
      expectSame({ total: browser.run(phase(f, ids, 2)), bytes: f.slice(REGIONS, region(2)) }, expected);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(49);
      expect(Atomics.load(lanes[0]!.control, CLAIM)).toBe(REVOKED);
      // A batch claimed and finished in time is taken without waiting for the deadline.
      Atomics.store(lanes[0]!.control, DONE, 1);
      f.fill(0, REGIONS, region(2));
      expectSame({ total: browser.run(phase(f, ids, 2, { before0: () => serve(lanes[0]!) })), bytes: f.slice(REGIONS, region(2)) }, expected);
    } finally {
      Atomics.wait = realWait;
      browser.dispose();
    }
  });
});

describe.skipIf(!simd)('ThreadPool with fake workers: more of the waiting', () => {
  const slow = { pickupTimeoutMs: 100_000 };
  /** Runs `f` counting the calls of Atomics.wait. */
  const countingWaits = <T>(f: () => T): { value: T; waits: number } => {
    const real = Atomics.wait;
    let waits = 0;
    Atomics.wait = ((...args: Parameters<typeof Atomics.wait>) => { waits++; return real(...args); }) as typeof Atomics.wait;
    try {
      return { value: f(), waits };
    } finally {
      Atomics.wait = real;
    }
  };

  it('a worker found dead while its part is being recorded: the part runs here, nothing is posted', () => {
    const T = 4;
    const { pool, made, memory } = makePool(2, slow);
    const w = made[0]!.ready();
    const f = new Float32Array(memory.buffer), ids = new Int32Array(memory.buffer);
    f.fill(0, REGIONS, region(2));
    const inner = phase(f, ids, T);
    const total = pool.run((k, part) => {
      if (part === 1) Atomics.store(w.control, DEAD, 1); // its last words, heard while recording
      return inner(k, part);
    });
    expectSame({ total, bytes: f.slice(REGIONS, region(2)) }, reference(T, 2));
    expect(Atomics.load(w.control, CLAIM)).toBe(OPEN); // never posted: SEQ is stop's wake-up only
    expect(Atomics.load(w.control, SEQ)).toBe(1);
    expect(w.terminated).toBe(1);
    pool.dispose();
  });

  it('a worker that said its last words between calls, or that the probe finds stopped, is not posted to', () => {
    const T = 3;
    for (const how of ['DEAD', 'probe'] as const) {
      const { pool, made, run } = makePool(2, slow, (s) => new FakeWorker(s, { utilization: () => ({ idle: how === 'probe' ? -1 : 1, active: 1 }) }));
      const w = made[0]!.ready();
      if (how === 'DEAD') Atomics.store(w.control, DEAD, 1);
      expectSame(run(T), reference(T, 2));
      expect(Atomics.load(w.control, CLAIM)).toBe(OPEN);
      expect(Atomics.load(w.control, SEQ)).toBe(1);
      expect(w.terminated).toBe(1);
      expectSame(run(T), reference(T, 2));
      expect(w.terminated).toBe(1);
      pool.dispose();
    }
  });

  it('a list grows by doubling, up to the maximum', () => {
    const { pool, made, run } = makePool(2, { initialCommands: 4, maxCommands: 100, pickupTimeoutMs: 0 });
    const w = made[0]!.ready();
    expectSame(run(3), reference(3, 2)); // 6 commands: 4 → 8
    expect(w.message.commandBuffer.byteLength).toBe(8 * COMMAND_SIZE * 8);
    Atomics.store(w.control, DONE, Atomics.load(w.control, SEQ));
    expectSame(run(9), reference(9, 2)); // 18 commands: 8 → 16 → 32
    expect(w.message.commandBuffer.byteLength).toBe(8 * COMMAND_SIZE * 32);
    pool.dispose();
  });

  it('no wait when there is nothing to wait for: abandoning an unclaimed batch, a worker already dead', () => {
    const T = 3;
    const a = makePool(2, slow);
    a.made[0]!.ready();
    const thrown = countingWaits(() => {
      try {
        a.run(T, () => { throw new Error('part 0 failed'); });
      } catch (error) {
        return error;
      }
    });
    expect(thrown.value).toEqual(new Error('part 0 failed'));
    expect(thrown.waits).toBe(0);
    expect(Atomics.load(a.made[0]!.control, CLAIM)).toBe(REVOKED);
    a.pool.dispose();
    const b = makePool(2, slow);
    const w = b.made[0]!.ready();
    const ran = countingWaits(() => b.run(T, () => Atomics.store(w.control, DEAD, 1)));
    expectSame(ran.value, reference(T, 2));
    expect(ran.waits).toBe(0);
    b.pool.dispose();
  });

  it('a browser\'s main thread looks for a late or dead worker once per 20 ms slice, not on every turn of its spin', async () => {
    vi.stubGlobal('window', {});
    vi.resetModules();
    const fresh = await import('../../src/threads/pool.js');
    const { memory, local, f, ids } = setup();
    const lanes: FakeWorker[] = [];
    const pool = new fresh.ThreadPool(kernelModule(true), memory, local, 2, (s) => {
      lanes.push(new FakeWorker(s, { utilization: () => ({ idle: 1, active: 1 }) }));
      return lanes.at(-1)!;
    }, { pickupTimeoutMs: 100 });
    const w = lanes[0]!.ready();
    f.fill(0, REGIONS, region(2));
    pool.run(() => 0); // the probe answers 'running' once
    w.probes = 0;
    const t0 = performance.now();
    expectSame({ total: pool.run(phase(f, ids, 2)), bytes: f.slice(REGIONS, region(2)) }, reference(2, 2));
    const elapsed = performance.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(99);
    // Each look asks whether the worker is dead (the probe): about one per 20 ms.
    expect(w.probes).toBeGreaterThanOrEqual(1);
    expect(w.probes).toBeLessThanOrEqual(elapsed / 20 + 1);
    pool.dispose();
  });

  it('a batch revoked while abandoning a phase leaves nothing behind for the next phase', () => {
    // Lane 1's part fills a list of 8 (a piece run here after its revocation, the worker
    // answering at once), then its last 4 commands are posted with the running sum; part 0
    // fails, and the posted batch is revoked unrun. The next phase records nothing in lane 1.
    const { pool, made, memory } = makePool(2, { initialCommands: 8, maxCommands: 8, pickupTimeoutMs: 0 });
    const w = made[0]!.ready();
    const f = new Float32Array(memory.buffer), ids = new Int32Array(memory.buffer);
    const inner = phase(f, ids, 6);
    const answering = (k: Kernels): Kernels => new Proxy(k, {
      get(target, name, receiver) {
        const fn = Reflect.get(target, name, receiver) as (...a: unknown[]) => unknown;
        return (...args: unknown[]) => {
          if (Atomics.load(w.control, CLAIM) === REVOKED) Atomics.store(w.control, DONE, Atomics.load(w.control, SEQ));
          return fn(...args);
        };
      },
    });
    expect(() => pool.run((k, part) => {
      if (part === 0) throw new Error('part 0 failed');
      return inner(answering(k), part);
    })).toThrow('part 0 failed');
    expect(Atomics.load(w.control, SEQ)).toBe(2);
    expect(new Float64Array(w.message.controlBuffer, RESULT_BYTE, 1)[0]).not.toBe(0);
    Atomics.store(w.control, DONE, 2);
    expect(pool.run((k, index) => (index === 0 ? 5 : 1000))).toBe(5);
    pool.dispose();
  });
});

describe.skipIf(!simd)('ThreadPool where the engine has no FinalizationRegistry', () => {
  it('starts, runs and disposes; disposeWhenCollected does nothing', async () => {
    vi.stubGlobal('FinalizationRegistry', undefined);
    vi.resetModules();
    const fresh = await import('../../src/threads/pool.js');
    const { memory, local, f, ids } = setup();
    const lanes: FakeWorker[] = [];
    const pool = new fresh.ThreadPool(kernelModule(true), memory, local, 2, (s) => {
      lanes.push(new FakeWorker(s));
      return lanes.at(-1)!;
    });
    pool.disposeWhenCollected({});
    f.fill(0, REGIONS, region(2));
    expectSame({ total: pool.run(phase(f, ids, 2)), bytes: f.slice(REGIONS, region(2)) }, reference(2, 2));
    pool.dispose();
    expect(lanes[0]!.terminated).toBe(1);
  });

  it('a function is not a worker, even with postMessage and terminate', () => {
    const { memory, local } = setup();
    const fn = Object.assign(() => undefined, { postMessage: () => undefined, terminate: () => undefined });
    expect(() => new ThreadPool(kernelModule(true), memory, local, 2, () => fn as never)).toThrow(
      /^Expected `createWorker` to return a worker \(an object with postMessage and terminate\) for worker 1 of 1, got /,
    );
  });
});

describe.skipIf(!simd)('ThreadPool with a real worker: abandoning a claimed batch', () => {
  it('waits (in Atomics.wait) for the worker to finish it: nothing writes the memory after run throws', async () => {
    const { workers, until } = await import('./workers.js');
    const w = workers();
    let message: Message | undefined;
    const { memory, local, f, ids } = setup();
    const pool = new ThreadPool(kernelModule(true), memory, local, 2, (source) => {
      const worker = w.create(source);
      const post = worker.postMessage.bind(worker);
      worker.postMessage = (m: unknown) => {
        message = m as Message;
        post(m);
      };
      return worker;
    });
    try {
      const control = () => new Int32Array(message!.controlBuffer, 0, CONTROL_SLOTS);
      await until(() => Atomics.load(control(), READY) === 1);
      const T = 40_000; // long enough that the worker is still running it when part 0 fails
      const expected = reference(T, 2);
      f.fill(0, REGIONS, region(2));
      const real = Atomics.wait;
      let waits = 0;
      let claimed = false;
      Atomics.wait = ((...args: Parameters<typeof Atomics.wait>) => { waits++; return real(...args); }) as typeof Atomics.wait;
      try {
        expect(() => pool.run((k, part) => {
          if (part === 0) {
            for (const end = Date.now() + 2000; Date.now() < end && !claimed;) claimed = Atomics.load(control(), CLAIM) === CLAIMED;
            throw new Error('part 0 failed');
          }
          return phase(f, ids, T)(k, part);
        })).toThrow('part 0 failed');
      } finally {
        Atomics.wait = real;
      }
      expect(claimed).toBe(true);
      expect(Atomics.load(control(), DONE)).toBe(Atomics.load(control(), SEQ));
      expect(f.slice(region(1), region(2))).toEqual(expected.bytes.slice(region(1) - REGIONS));
      expect(waits).toBeGreaterThan(0);
    } finally {
      pool.dispose();
    }
  });
});

describe.skipIf(!simd)('ThreadPool with fake workers: the last details', () => {
  it('a part run here passes every argument of a command, the eighth too (matmulStrided\'s ld)', () => {
    const { memory, local } = setup();
    const f = new Float32Array(memory.buffer);
    const OUT = region(4), LD = 5; // out: M × LD, the block is its first N columns
    const strided = (k: Kernels, part: number): number => {
      if (part === 1) for (let t = 0; t < 3; t++) k.matmulStrided(f, OUT, f, A + t * M * K, f, B_, M, K, N, LD, true);
      return 0;
    };
    f.fill(0.5, OUT, OUT + M * LD);
    local.matmulStrided(f, OUT, f, A, f, B_, M, K, N, LD, true);
    local.matmulStrided(f, OUT, f, A + M * K, f, B_, M, K, N, LD, true);
    local.matmulStrided(f, OUT, f, A + 2 * M * K, f, B_, M, K, N, LD, true);
    const expected = f.slice(OUT, OUT + M * LD);
    const lanes: FakeWorker[] = [];
    const pool = new ThreadPool(kernelModule(true), memory, local, 2, (s) => {
      lanes.push(new FakeWorker(s));
      return lanes.at(-1)!;
    }, { pickupTimeoutMs: 0 });
    lanes[0]!.ready();
    f.fill(0.5, OUT, OUT + M * LD);
    pool.run(strided); // posted, revoked, run here
    expect(Atomics.load(lanes[0]!.control, CLAIM)).toBe(REVOKED);
    expect(f.slice(OUT, OUT + M * LD)).toEqual(expected);
    pool.dispose();
  });

  it('a worker that finishes its batch just as it is found dead: the call keeps its result', () => {
    const T = 3;
    let finishing: (() => void) | undefined;
    const { pool, made, run } = makePool(2, { pickupTimeoutMs: 100_000 }, (s) => new FakeWorker(s, {
      utilization: () => {
        if (finishing === undefined) return { idle: 1, active: 1 };
        finishing(); // the batch completes…
        return { idle: -1, active: 0 }; // …and the worker is gone
      },
    }));
    const w = made[0]!.ready();
    let result;
    result = run(T, () => {
      serve(w, 'claim');
      const control = w.control, seq = Atomics.load(control, SEQ);
      finishing = () => {
        finishing = undefined;
        Atomics.store(control, SEQ, seq); // (unchanged)
        // Run the claimed batch as the worker would, then say DONE.
        Atomics.store(control, CLAIM, OPEN);
        serve(w);
      };
    });
    expectSame(result, reference(T, 2));
    expect(pool.threads).toBe(1);
    pool.dispose();
  });
});
