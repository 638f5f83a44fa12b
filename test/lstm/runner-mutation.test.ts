// The runner (src/lstm/runner.ts) on its own: the split rule at its boundaries, partStart,
// the choice of backend and threads (with a pretend GPUDevice where only its presence and
// limits matter), and how a phase's parts are run — here, or by two worker threads.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { jsKernels } from '../../src/backend/table.js';
import type { Pass } from '../../src/lstm/pass.js';
import { partStart, planSplit, Runner, SPLIT_RULE, type Phase } from '../../src/lstm/runner.js';
import { until, workers } from '../threads/workers.js';

const saved = { ...SPLIT_RULE };
afterEach(() => {
  Object.assign(SPLIT_RULE, saved);
  vi.unstubAllGlobals();
});

/** A workspace factory of `floats` floats and no ids per shape: the runner only hands it on. */
const factory = (floats = 16) => ({
  size: () => ({ floats, ids: 0 }),
  create: (_B: number, _T: number, f: (n: number) => unknown) => ({ block: f(floats) }),
});

/** What isGpuDevice looks at, and the limits the runner reads: enough where the GPU is never used. */
const pretendDevice = (maxBytes: number) => ({
  createComputePipeline: () => undefined,
  queue: { submit: () => undefined },
  limits: { maxStorageBufferBindingSize: maxBytes, maxBufferSize: maxBytes },
}) as unknown as GPUDevice;

const refuse = () => {
  throw new Error('no worker should be made');
};

describe('planSplit at its boundaries', () => {
  beforeEach(() => {
    Object.assign(SPLIT_RULE, { workPerPart: 8e6, force: 'auto', forceParts: 0 });
  });
  const plan = (threads: number, B: number, T: number, H: number, L: number) => {
    const p = { ws: { B, T }, config: { numHiddens: H, numLayers: L }, parts: -1, byUnits: undefined, recurrenceParts: -1 } as unknown as Pass;
    planSplit(p, threads);
    return [p.parts, p.byUnits, p.recurrenceParts];
  };

  it('parts = min(threads, max(1, ⌊T·L·8·B·H² / workPerPart⌋))', () => {
    expect(plan(8, 1, 1, 10, 1)).toEqual([1, false, 1]); // 800 flops: at least one part
    expect(plan(8, 1, 350, 100, 1)).toEqual([3, false, 1]); // 2.8e7: ⌊3.5⌋; one row
    expect(plan(8, 2, 100, 100, 2)).toEqual([4, false, 2]); // 3.2e7: 4; the recurrence by its 2 rows
    expect(plan(3, 8, 100, 100, 2)).toEqual([3, false, 3]); // 1.28e8: at most the threads
    expect(plan(8, 5, 100, 100, 3)).toEqual([8, false, 5]); // 1.2e8: 8; rows: min(parts, B)
  });

  it('the recurrence by units exactly when one step has ≥ 2 parts of work and B < 2·threads or 4·H² floats ≥ 8 MiB', () => {
    expect(plan(2, 2, 1, 1000, 1)).toEqual([2, true, 2]); // a step of 1.6e7 exactly: 2 parts
    expect(plan(2, 1, 1, 1414, 1)).toEqual([1, false, 1]); // 1.59947e7: 1 part
    expect(plan(3, 5, 1, 700, 1)).toEqual([2, true, 2]); // B = 5 < 6 = 2·threads; a step of 1.96e7: 2 parts
    expect(plan(2, 5, 1, 700, 1)).toEqual([2, false, 2]); // B = 5 ≥ 4 and 4·700² floats < 8 MiB: rows
    expect(plan(3, 1, 1, 2000, 1)).toEqual([3, true, 3]); // 3.2e7: min(threads, 4) units parts
    expect(plan(8, 1, 4, 2000, 1)).toEqual([8, true, 4]); // 3.2e7 a step: 4 parts of units, 16 → 8 parts
    // Rows to share, but weights of 8 MiB or more: units (16·724² bytes < 8 MiB ≤ 16·725²).
    expect(plan(2, 32, 35, 724, 1)).toEqual([2, false, 2]);
    expect(plan(2, 32, 35, 725, 1)).toEqual([2, true, 2]);
    expect(plan(2, 32, 35, 1024, 2)).toEqual([2, true, 2]);
    expect(plan(2, 4, 1, 1000, 1)).toEqual([2, true, 2]);
    expect(plan(2, 4, 1, 720, 1)).toEqual([2, false, 2]); // B = 4 = 2·threads (a step of 1.66e7), 16·720² bytes < 8 MiB: rows
    // The weight threshold is inclusive: W_h of exactly unitsWeightBytes splits by units.
    const saved = SPLIT_RULE.unitsWeightBytes;
    try {
      SPLIT_RULE.unitsWeightBytes = 16 * 512 * 512;
      expect(plan(2, 32, 35, 512, 1)).toEqual([2, true, 2]);
      expect(plan(2, 32, 35, 511, 1)).toEqual([2, false, 2]);
    } finally {
      SPLIT_RULE.unitsWeightBytes = saved;
    }
  });

  it('force chooses rows or units; forceParts > 0 sets every part count', () => {
    SPLIT_RULE.force = 'columns';
    expect(plan(2, 1, 1, 10, 1)).toEqual([1, true, 1]); // too small a step: one part of units
    expect(plan(2, 64, 100, 512, 2)).toEqual([2, true, 2]);
    SPLIT_RULE.force = 'rows';
    expect(plan(2, 2, 1, 1000, 1)).toEqual([2, false, 2]);
    SPLIT_RULE.forceParts = 3;
    expect(plan(1, 1, 1, 8, 1)).toEqual([3, false, 3]);
    SPLIT_RULE.force = 'auto';
    expect(plan(2, 2, 1, 1000, 1)).toEqual([3, true, 3]);
  });

  it('the rule\'s own defaults (test/setup.ts changes them for every test file): auto, no forced parts, 1e6 flops, 8 MiB', async () => {
    vi.resetModules();
    const fresh = await import('../../src/lstm/runner.js');
    expect(fresh.SPLIT_RULE).toEqual({ workPerPart: 1e6, unitsWeightBytes: 8 * 2 ** 20, force: 'auto', forceParts: 0 });
    vi.resetModules();
  });
});

describe('partStart', () => {
  it('splits [0, total) into parts that tile it, ⌊part·total/parts⌋', () => {
    expect([0, 1, 2, 3].map((p) => partStart(10, p, 3))).toEqual([0, 3, 6, 10]);
    expect([0, 1, 2].map((p) => partStart(7, p, 2))).toEqual([0, 3, 7]);
    expect(partStart(5, 1, 1)).toBe(5);
  });
});

describe('Runner: backend and threads', () => {
  const make = (options: ConstructorParameters<typeof Runner>[0], dtype: 'float32' | 'float64' = 'float32', floats = 16) =>
    new Runner(options, dtype, 10, factory(floats), 'vocabSize 2, numHiddens 1');

  it('refuses a backend, createWorker or gpuDevice of the wrong kind, naming it', () => {
    expect(() => make({ backend: 'gpu' as never })).toThrow(new RangeError("Expected `backend` to be 'auto', 'wasm', 'js' or 'webgpu', got \"gpu\"."));
    expect(() => make({ createWorker: 5 as never })).toThrow(new TypeError('Expected `createWorker` to be a function, got 5.'));
    expect(() => make({ gpuDevice: {} as never })).toThrow(new TypeError('Expected `gpuDevice` to be a GPUDevice (await requestGpuDevice()), got an object.'));
    expect(() => make({ backend: 'webgpu' })).toThrow(new TypeError(
      "Expected `gpuDevice` with backend 'webgpu': pass gpuDevice: await requestGpuDevice() (in Node, requestGpuDevice(create([])) from the `webgpu` package).",
    ));
    const message = "Expected `backend` 'webgpu' with `dtype` 'float32' (the WGSL kernels are float32), got dtype 'float64'.";
    expect(() => make({ backend: 'webgpu', gpuDevice: pretendDevice(1 << 20) }, 'float64')).toThrow(new RangeError(message));
    expect(() => make({ gpuDevice: pretendDevice(1 << 20) }, 'float64')).toThrow(message); // auto with a device is webgpu
  });

  it('webgpu: the largest buffer is the smaller of the two binding limits (refused before the GPU is touched)', () => {
    const device = (storage: number, buffer: number) => ({
      createComputePipeline: () => undefined, queue: { submit: () => undefined },
      limits: { maxStorageBufferBindingSize: storage, maxBufferSize: buffer },
    }) as unknown as GPUDevice;
    const count = 2 ** 27; // 1 GiB of parameters and gradients
    for (const gpuDevice of [device(2 ** 30, 2 ** 31), device(2 ** 31, 2 ** 30)]) {
      expect(() => new Runner({ backend: 'webgpu', gpuDevice }, 'float32', count, factory(), 'm'))
        .toThrow(/fit one buffer of this GPU \(1\.00 GiB\), got m: 134217728 parameters need 1\.00 GiB/);
    }
  });

  it('a device given to wasm or js is not used: its limits do not apply', () => {
    for (const backend of ['wasm', 'js'] as const) {
      const r = make({ backend, gpuDevice: pretendDevice(1 << 16) }, 'float32', 1 << 20);
      expect(r.backend).toBe(backend);
      expect(r.gpu).toBeUndefined();
      expect(() => r.storage.workspace(1, 1)).not.toThrow(); // 4 MiB of workspace: more than the device's 64 KiB
      r.upload(r.storage.params); // no GPU: nothing to do
      r.clear(r.storage.grads);
    }
    expect(make({ backend: 'js' }, 'float64').backend).toBe('js');
    expect(make({}).backend).toBe('wasm');
    expect(make({}, 'float64').backend).toBe('js');
  });

  it('one thread by default, on a memory of its own; threads need wasm and shared memory', () => {
    const one = make({ backend: 'wasm' });
    expect(one.threads).toBe(1);
    expect(one.storage.memory!.buffer).toBeInstanceOf(ArrayBuffer);
    expect(make({ backend: 'js', threads: 2, createWorker: refuse }).threads).toBe(1);
    expect(make({ backend: 'wasm', threads: 1, createWorker: refuse }).threads).toBe(1);
    vi.stubGlobal('crossOriginIsolated', false); // a page without cross-origin isolation
    expect(make({ backend: 'wasm', threads: 2, createWorker: refuse }).threads).toBe(1);
    vi.stubGlobal('crossOriginIsolated', true);
    expect(() => make({ backend: 'wasm', threads: 2, createWorker: refuse })).toThrow(/no worker should be made/);
    vi.unstubAllGlobals();
    vi.stubGlobal('SharedArrayBuffer', undefined);
    expect(make({ backend: 'wasm', threads: 2, createWorker: refuse }).threads).toBe(1);
  });

  it('threads without createWorker where there is no web Worker: a TypeError saying what to pass', () => {
    expect(() => make({ backend: 'wasm', threads: 3 })).toThrow(new TypeError(
      "Expected `createWorker` for 3 threads: this engine has no web Worker. In Node: import { nodeWorkerFactory } from 'lstm-lm/node' and pass createWorker: nodeWorkerFactory.",
    ));
  });
});

describe('Runner.run', () => {
  /** A phase that records its calls (on the runner's own kernels or not) and returns 10·part + 1. */
  const recording = (kernels: unknown) => {
    const calls: [boolean, number, number, string][] = [];
    const phase: Phase<string> = (k, ctx, part, parts) => {
      calls.push([k === kernels, part, parts, ctx]);
      return 10 * part + 1;
    };
    return { phase, calls };
  };

  it('one thread: every part here, in order, their results summed; by default one part', () => {
    const r = new Runner({ backend: 'js' }, 'float32', 4, factory(), 'm');
    const { phase, calls } = recording(jsKernels);
    expect(r.run(phase, 'ctx', 3)).toBe(1 + 11 + 21);
    expect(calls).toEqual([[true, 0, 3, 'ctx'], [true, 1, 3, 'ctx'], [true, 2, 3, 'ctx']]);
    calls.length = 0;
    expect(r.run(phase, 'c')).toBe(1);
    expect(calls).toEqual([[true, 0, 1, 'c']]);
    r.dispose();
  });

  it('two threads: part 0, 2, … here, part 1, 3, … recorded for the worker; one part all here; dispose stops the workers', async () => {
    const w = workers();
    const r = new Runner({ backend: 'wasm', threads: 2, createWorker: w.create }, 'float32', 4, factory(), 'm');
    try {
      expect(r.threads).toBe(2);
      expect(w.made).toHaveLength(1);
      expect(r.storage.memory!.buffer).toBeInstanceOf(SharedArrayBuffer);
      const { phase, calls } = recording(r.storage.kernels);
      // Until the worker has started, every part runs here.
      await until(() => {
        let recorded = false;
        r.run((k) => ((recorded ||= k !== r.storage.kernels), 0), null, 2);
        return recorded;
      });
      // A worker's part adds what its replayed kernel calls return (none here: 0), not the phase's own return.
      expect(r.run(phase, 'x', 3)).toBe(1 + 21);
      expect(calls).toEqual([[false, 1, 3, 'x'], [true, 0, 3, 'x'], [true, 2, 3, 'x']]);
      calls.length = 0;
      expect(r.run(phase, 'y')).toBe(1);
      expect(calls).toEqual([[false, 1, 2, 'y'], [true, 0, 2, 'y']]);
      calls.length = 0;
      expect(r.run(phase, 'z', 1)).toBe(1);
      expect(calls).toEqual([[true, 0, 1, 'z']]);
      calls.length = 0;
      r.dispose();
      expect(await w.exited[0]).toBeTypeOf('number');
      expect(r.run(phase, 'after', 2)).toBe(1 + 11); // every part here now
      expect(calls).toEqual([[true, 0, 2, 'after'], [true, 1, 2, 'after']]);
    } finally {
      r.dispose();
    }
  });
});
