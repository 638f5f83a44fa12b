import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { LSTMLanguageModel } from '../../src/index.js';
import { wasmSimdSupported } from '../../src/backend/wasm.js';
import { nodeWorkerFactory } from '../../node/index.js';
import { atKernelCall, until, workers } from './workers.js';

// The faults of issue 13 on a whole model with two threads: a sequence longer than a worker's
// first command list, and workers that die between calls or in the middle of one.

const simd = wasmSimdSupported();
const settle = () => new Promise((resolve) => setTimeout(resolve, 300)); // workers start
const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-6 * Math.abs(b));
const options = { vocabSize: 4, numHiddens: 8, seed: 3, initScale: 0.5 };

describe.skipIf(!simd)('threads: long sequences', () => {
  it('T = 5042 (the issue\'s case) and T = 12,000 work on two threads, and so do the calls after them', async () => {
    const one = new LSTMLanguageModel({ ...options, threads: 1 });
    const two = new LSTMLanguageModel({ ...options, threads: 2, createWorker: nodeWorkerFactory });
    try {
      await settle();
      for (const T of [5042, 12_000]) {
        const X = [Array.from({ length: T }, (_, t) => (t * 7) % 4)];
        const Y = [Array.from({ length: T }, (_, t) => (t * 5 + 1) % 4)];
        close(two.loss(X, Y), one.loss(X, Y));
        two.zeroGrad();
        one.zeroGrad();
        close(two.forwardBackward(X, Y).loss, one.forwardBackward(X, Y).loss);
        const g1 = one.flatGradients, g2 = two.flatGradients;
        const scale = Math.max(...Array.from(g1, Math.abs));
        for (let i = 0; i < g1.length; i++) expect(Math.abs(g2[i]! - g1[i]!)).toBeLessThanOrEqual(1e-5 * scale);
      }
      close(two.loss([[1, 2]], [[2, 3]]), one.loss([[1, 2]], [[2, 3]]));
    } finally {
      two.dispose();
    }
  });
});

describe.skipIf(!simd)('threads: dying workers', () => {
  const X = [[0, 1, 2, 3, 0, 1], [3, 2, 1, 0, 3, 2], [1, 1, 2, 2, 3, 3]];
  const Y = [[1, 2, 3, 0, 1, 2], [2, 1, 0, 3, 2, 1], [1, 2, 2, 3, 3, 0]];

  it('a worker terminated between calls: later calls give the same result on one thread', async () => {
    for (const awaited of [true, false]) {
      const w = workers();
      const model = new LSTMLanguageModel({ ...options, threads: 2, createWorker: w.create });
      try {
        await settle();
        const before = model.loss(X, Y);
        const terminated = w.made[0]!.terminate();
        if (awaited) await terminated;
        expect(model.loss(X, Y)).toBe(before); // bit-identical: the part runs here instead
        expect(model.loss(X, Y)).toBe(before);
      } finally {
        model.dispose();
      }
    }
  });

  it('a worker killed in the middle of a call: that call throws clearly, later calls work', async () => {
    const one = new LSTMLanguageModel({ ...options, threads: 1 });
    const w = workers(atKernelCall(3, 'process.exit(1);'));
    const model = new LSTMLanguageModel({ ...options, threads: 2, createWorker: w.create });
    try {
      await settle();
      expect(() => model.loss(X, Y)).toThrow(
        /A kernel worker stopped \(terminated, crashed or out of memory\) while running its part of a phase; the call is abandoned/,
      );
      close(model.loss(X, Y), one.loss(X, Y));
      model.zeroGrad();
      one.zeroGrad();
      close(model.forwardBackward(X, Y).loss, one.forwardBackward(X, Y).loss);
    } finally {
      model.dispose();
    }
  });

  it('a call a worker dies in leaves the state passed to it unchanged (forward, and backward of forwardBackward)', async () => {
    // Kernel call 3 of a worker falls in the forward phases, call 60 in backward (forward makes ≈ 40 per part here).
    for (const [call, run] of [[3, 'loss'], [60, 'forwardBackward']] as const) {
      const w = workers(atKernelCall(call, 'process.exit(1);'));
      const model = new LSTMLanguageModel({ ...options, threads: 2, createWorker: w.create });
      try {
        await settle();
        const state = model.initState(3);
        state.h.fill(0.25);
        state.c.fill(-0.5);
        const h = state.h.slice(), c = state.c.slice();
        expect(() => (run === 'loss' ? model.loss(X, Y, state) : model.forwardBackward(X, Y, state))).toThrow(/A kernel worker stopped/);
        expect(state.h).toEqual(h);
        expect(state.c).toEqual(c);
      } finally {
        model.dispose();
      }
    }
  });
});

describe.skipIf(!simd)('threads: how many, and for how long', () => {
  it("threads: 'auto' is the CPUs (at most 8); above 64 is refused before any worker starts", () => {
    const { availableParallelism } = process.getBuiltinModule('os');
    const model = new LSTMLanguageModel({ ...options, threads: 'auto', createWorker: nodeWorkerFactory });
    try {
      expect(model.threads).toBe(Math.min(availableParallelism(), 8));
    } finally {
      model.dispose();
    }
    const w = workers();
    expect(() => new LSTMLanguageModel({ ...options, threads: 65, createWorker: w.create })).toThrow(
      new RangeError("Expected `threads` to be 'auto' or an integer in [1, 64], got 65."),
    );
    expect(w.made).toHaveLength(0);
  });

  it('a model dropped without dispose() stops its workers when it is garbage-collected', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const w = workers();
    let ref: WeakRef<object> | undefined;
    await (async () => {
      const model = new LSTMLanguageModel({ ...options, threads: 3, createWorker: w.create });
      await settle();
      model.loss([[1, 2, 3]], [[2, 3, 0]]);
      ref = new WeakRef(model);
    })();
    let exited = false;
    void Promise.all(w.exited).then(() => { exited = true; });
    await until(() => {
      gc();
      return exited;
    }, 5000);
    expect(ref!.deref()).toBeUndefined();
    expect(exited).toBe(true);
  });

  it('a createWorker that throws on the second of two workers: no model, the first worker stopped', async () => {
    const w = workers();
    let n = 0;
    const create = (source: string) => {
      if (++n === 2) throw new Error('EAGAIN');
      return w.create(source);
    };
    expect(() => new LSTMLanguageModel({ ...options, threads: 3, createWorker: create })).toThrow(
      /`createWorker` threw while starting worker 2 of 2: EAGAIN/,
    );
    await expect(w.exited[0]).resolves.toBeTypeOf('number');
  });
});
