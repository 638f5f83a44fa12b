// The webgpu model's own GPU code on a tiny model (issue 13: mutation testing): the fused
// recurrence (src/webgpu/recurrence.ts) against the js backend, forward and backward, two
// layers, a state passed in; every optimiser's arguments (src/webgpu/optimizer.ts) against
// the CPU optimiser on the same gradients, first and later steps, a state loaded between;
// the calls' carried state, guard, halt and resume (src/webgpu/calls.ts). One webgpu model
// for the file where a test can share it (compiling its pipelines takes seconds).
import { beforeEach, describe, expect, it } from 'vitest';
import { LSTMLanguageModel, type LSTMLanguageModelOptions } from '../../src/lstm/model.js';
import { Adam } from '../../src/optim/adam.js';
import { AdamW } from '../../src/optim/adamw.js';
import type { OptimizerBase } from '../../src/optim/optimizer.js';
import type { Trainable } from '../../src/optim/params.js';
import { RMSprop } from '../../src/optim/rmsprop.js';
import { SGD } from '../../src/optim/sgd.js';
import { GpuCalls } from '../../src/webgpu/calls.js';
import { GpuEngine } from '../../src/webgpu/gpu.js';
import type { GpuParameterDevice } from '../../src/webgpu/optimizer.js';
import { testDevice } from './device.js';

type Optimizer = OptimizerBase<{ readonly lr: number }>;
const V = 5, H = 3;
const options: LSTMLanguageModelOptions = { vocabSize: V, numHiddens: H, numLayers: 2, init: 'pytorch', seed: 4 };
const X = [[1, 2, 3], [4, 0, 2]], Y = [[2, 3, 4], [0, 1, 3]];

let gpu: LSTMLanguageModel;
// Made in the first test that runs (see kernels-mutation.test.ts).
beforeEach(async () => {
  gpu ??= new LSTMLanguageModel({ ...options, backend: 'webgpu', gpuDevice: await testDevice() });
});

const cpuModel = (): LSTMLanguageModel => new LSTMLanguageModel({ ...options, backend: 'js', dtype: 'float32' });
const deviceOf = (m: LSTMLanguageModel): GpuParameterDevice => (m.parameters()[0] as Trainable).device as GpuParameterDevice;

/** The largest |a − b| over arrays, relative to the largest |b| when that is above 1 (NaN counts as the worst). */
function worst(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0, scale = 1;
  for (let i = 0; i < b.length; i++) {
    const e = Math.abs(a[i]! - b[i]!);
    if (!(e <= d)) d = e;
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return d / scale;
}

/** The GPU model with the CPU model's weights and zero gradients, on the host and the GPU. */
async function reset(cpu: LSTMLanguageModel): Promise<void> {
  await gpu.sync();
  gpu.flatParameters.set(cpu.flatParameters);
  gpu.flatGradients.fill(0);
  gpu.upload();
}

describe('the fused recurrence (recurrence.ts) against the js backend', () => {
  it('forward and backward over 3 steps, 2 layers, from a non-zero state: loss, final state, every gradient, the state gradient', async () => {
    const cpu = cpuModel();
    await reset(cpu);
    const sc = cpu.initState(2), sg = gpu.initState(2);
    for (let k = 0; k < sc.h.length; k++) { sc.h[k] = sg.h[k] = 0.3 * Math.sin(k + 1); sc.c[k] = sg.c[k] = 0.5 * Math.cos(k); }
    const a = cpu.forwardBackward(X, Y, sc);
    const b = await gpu.forwardBackwardAsync(X, Y, sg);
    expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-6);
    expect(worst(sg.h, sc.h)).toBeLessThan(1e-6);
    expect(worst(sg.c, sc.c)).toBeLessThan(1e-6);
    expect(worst(b.stateGrad.h, a.stateGrad.h)).toBeLessThan(1e-6);
    expect(worst(b.stateGrad.c, a.stateGrad.c)).toBeLessThan(1e-6);
    await gpu.sync();
    expect(worst(gpu.flatGradients, cpu.flatGradients)).toBeLessThan(1e-6);
    // One step (T = 1): no product of a later step, the cell of step 0.
    const c1 = cpu.forwardBackward([[1], [2]], [[2], [3]], sc);
    const g1 = await gpu.forwardBackwardAsync([[1], [2]], [[2], [3]], sg);
    expect(Math.abs(c1.loss - g1.loss)).toBeLessThan(1e-6);
    expect(worst(g1.stateGrad.h, c1.stateGrad.h)).toBeLessThan(1e-6);
    expect(worst(g1.stateGrad.c, c1.stateGrad.c)).toBeLessThan(1e-6);
    await gpu.sync();
    expect(worst(gpu.flatGradients, cpu.flatGradients)).toBeLessThan(1e-6);
    const f = await gpu.forwardAsync(X, sg);
    const fc = cpu.forward(X, sc);
    expect(worst(f.logits, fc.logits)).toBeLessThan(1e-6);
  });
});

describe('the optimisers on the GPU (optimizer.ts) against the CPU ones on the same gradients', () => {
  const cases: [string, (p: readonly Trainable[]) => Optimizer][] = [
    ['SGD', (p) => new SGD(p, { lr: 0.5 })],
    ['SGD momentum', (p) => new SGD(p, { lr: 0.2, momentum: 0.9 })],
    ['SGD Nesterov, weight decay', (p) => new SGD(p, { lr: 0.2, momentum: 0.8, nesterov: true, weightDecay: 0.1 })],
    ['SGD weight decay', (p) => new SGD(p, { lr: 0.2, weightDecay: 0.3 })],
    ['Adam', (p) => new Adam(p, { lr: 0.05, betas: [0.8, 0.9], eps: 1e-3 })],
    ['Adam L2', (p) => new Adam(p, { lr: 0.05, weightDecay: 0.5 })],
    ['AdamW', (p) => new AdamW(p, { lr: 0.05, weightDecay: 0.5, betas: [0.7, 0.95] })],
    ['RMSprop', (p) => new RMSprop(p, { lr: 0.01, alpha: 0.9, eps: 1e-2 })],
    ['RMSprop centered, momentum, weight decay', (p) => new RMSprop(p, { lr: 0.01, alpha: 0.8, momentum: 0.5, centered: true, weightDecay: 0.2 })],
    ['RMSprop momentum', (p) => new RMSprop(p, { lr: 0.01, momentum: 0.7 })],
  ];
  for (const [name, make] of cases) {
    it(`${name}: 3 steps, a halved state loaded, 1 more`, async () => {
      const cpu = cpuModel();
      await reset(cpu);
      const og = make(gpu.parameters()), oc = make(cpu.parameters());
      const step = async (k: number): Promise<void> => {
        for (let i = 0; i < cpu.flatGradients.length; i++) cpu.flatGradients[i] = Math.sin(3 * i + k) * (1 + (i % 3));
        await gpu.sync();
        gpu.flatGradients.set(cpu.flatGradients);
        gpu.upload();
        oc.step();
        og.step();
      };
      const check = async (what: string): Promise<void> => {
        await gpu.sync();
        await deviceOf(gpu).syncOptimizers();
        expect(worst(gpu.flatParameters, cpu.flatParameters), `${what}: weights`).toBeLessThan(2e-6);
        const sg = og.stateDict(), sc = oc.stateDict();
        expect(Object.keys(sg.buffers)).toEqual(Object.keys(sc.buffers));
        for (const [b, list] of Object.entries(sc.buffers)) {
          list.forEach((x, k) => expect(worst(sg.buffers[b]![k]!, x), `${what}: ${b}[${k}]`).toBeLessThan(2e-6));
        }
      };
      for (let k = 0; k < 3; k++) await step(k);
      await check('3 steps');
      const saved = oc.stateDict();
      for (const list of Object.values(saved.buffers)) for (const b of list) for (let i = 0; i < b.length; i++) b[i] = b[i]! * 0.5;
      oc.loadStateDict(saved);
      og.loadStateDict(saved);
      await deviceOf(gpu).syncOptimizers(); // loaded since the GPU's last step: the loaded state stays
      expect(og.stateDict().buffers).toEqual(saved.buffers);
      await step(3);
      await check('after load');
    });
  }

  it('a state loaded before the first step goes up with it', async () => {
    const cpu = cpuModel();
    await reset(cpu);
    const og = new Adam(gpu.parameters(), { lr: 0.05 }), oc = new Adam(cpu.parameters(), { lr: 0.05 });
    const saved = { ...oc.stateDict(), step: 2 };
    for (const list of Object.values(saved.buffers)) for (const b of list) for (let i = 0; i < b.length; i++) b[i] = 0.01 * ((i % 5) + 1);
    oc.loadStateDict(saved);
    og.loadStateDict(saved);
    for (let i = 0; i < cpu.flatGradients.length; i++) cpu.flatGradients[i] = Math.cos(i);
    gpu.flatGradients.set(cpu.flatGradients);
    gpu.upload();
    oc.step();
    og.step();
    await gpu.sync();
    expect(worst(gpu.flatParameters, cpu.flatParameters)).toBeLessThan(2e-6);
  });

  it('refuses an optimiser that is not the library’s, and parameters of another model', async () => {
    const device = deviceOf(gpu);
    expect(() => device.optimizerStep({ name: 'mine', step() {} } as never, 1, 0.1))
      .toThrow(/^Expected an SGD, Adam, AdamW or RMSprop for parameters on the GPU, got mine\.$/);
    const other = cpuModel();
    expect(() => device.places([gpu.parameters()[0]!, other.parameters()[0]!]))
      .toThrow(/^Expected `params\[1\]` to be a parameter of this webgpu model, got one of another model\.$/);
    expect(device.place(other.parameters()[0]!)).toBeUndefined();
    expect(device.place(gpu.parameters()[1]!)).toEqual({
      data: GpuEngine.at(gpu.parameters()[1]!.data), grad: GpuEngine.at(gpu.parameters()[1]!.grad), length: gpu.parameters()[1]!.data.length,
    });
    // Nothing to snapshot or restore for an optimiser without state, or a foreign one.
    const sgd = new SGD(gpu.parameters(), { lr: 0.1 });
    device.snapshot(sgd);
    device.restoreIf(sgd, 35);
    device.snapshot({ step() {} } as never);
    device.restoreIf({ step() {} } as never, 35);
    await gpu.sync();
  });
});

describe('training steps on the GPU (calls.ts): the guard, the halt, queued calls', () => {
  it('trainStepAsync with clipNorm and clipValue agrees with the js backend, and steps only when finite', async () => {
    for (const clip of [{ clipNorm: 0.05 }, { clipValue: 0.01 }, { clipNorm: 0.05, clipValue: 0.01 }, {}]) {
      const cpu = cpuModel();
      await reset(cpu);
      const ag = new Adam(gpu.parameters(), { lr: 0.01 }), ac = new Adam(cpu.parameters(), { lr: 0.01 });
      const sg = gpu.initState(2), sc = cpu.initState(2);
      for (let k = 0; k < 2; k++) {
        const a = await gpu.trainStepAsync(X, Y, sg, ag, clip);
        const b = await cpu.trainStepAsync(X, Y, sc, ac, clip);
        expect(a.stepped && b.stepped).toBe(true);
        expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-5);
        expect(Math.abs(a.gradNorm - b.gradNorm) / b.gradNorm).toBeLessThan(1e-5);
      }
      await gpu.sync();
      expect(worst(gpu.flatParameters, cpu.flatParameters), JSON.stringify(clip)).toBeLessThan(1e-5);
      expect(ag.stepCount).toBe(2);
    }
  });

  it('a step that makes a weight non-finite is undone (weights and state); the one queued after it is skipped; then steps resume', async () => {
    const cpu = cpuModel();
    await reset(cpu);
    const sgd = new SGD(gpu.parameters(), { lr: 0.1, momentum: 0.9 }), ref = new SGD(cpu.parameters(), { lr: 0.1, momentum: 0.9 });
    const first = await gpu.trainStepAsync(X, Y, undefined, sgd);
    expect((await cpu.trainStepAsync(X, Y, undefined, ref)).loss).toBeCloseTo(first.loss, 5);
    sgd.lr = 1e39; // ∞ in float32
    const bad = gpu.trainStepAsync(X, Y, undefined, sgd);
    sgd.lr = 0.1;
    const after = gpu.trainStepAsync(X, Y, undefined, sgd);
    const [b, c] = await Promise.all([bad, after]);
    expect([b.stepped, c.stepped]).toEqual([false, false]);
    expect(Number.isFinite(b.loss) && Number.isFinite(b.gradNorm)).toBe(true);
    expect(sgd.stepCount).toBe(1);
    await gpu.sync();
    await deviceOf(gpu).syncOptimizers();
    expect(worst(gpu.flatParameters, cpu.flatParameters)).toBeLessThan(1e-6);
    expect(worst(sgd.stateDict().buffers.momentumBuffer![0]!, ref.stateDict().buffers.momentumBuffer![0]!)).toBeLessThan(1e-6);
    // Read: the next step runs again, as on the CPU.
    const d = await gpu.trainStepAsync(X, Y, undefined, sgd);
    const e = await cpu.trainStepAsync(X, Y, undefined, ref);
    expect(d.stepped).toBe(true);
    expect(Math.abs(d.loss - e.loss)).toBeLessThan(1e-5);
    expect(sgd.stepCount).toBe(2);
    await gpu.sync();
    expect(worst(gpu.flatParameters, cpu.flatParameters)).toBeLessThan(1e-5);
  });

  it('a non-finite gradient is refused before the step, with any optimiser (one not the library’s too)', async () => {
    const cpu = cpuModel();
    cpu.flatParameters[0] = NaN;
    await reset(cpu);
    let steps = 0;
    const mine = { step() { steps++; } };
    const r = await gpu.trainStepAsync(X, Y, undefined, mine);
    expect(r.stepped).toBe(false);
    expect(steps).toBe(1); // recorded: a custom optimiser's step runs on the host
    GpuCalls.uncount(mine); // nothing to take back
    const sgd = new SGD(gpu.parameters(), { lr: 0.1 });
    expect((await gpu.trainStepAsync(X, Y, undefined, sgd)).stepped).toBe(false);
    expect(sgd.stepCount).toBe(0);
    await reset(cpuModel());
    expect((await gpu.trainStepAsync(X, Y, undefined, sgd)).stepped).toBe(true);
    expect(sgd.stepCount).toBe(1);
  });

  it('calls queued on one state chain it through the carry buffer, growing it for a larger batch; a replaced state in flight is refused', async () => {
    const cpu = cpuModel();
    await reset(cpu);
    const s = gpu.initState(1), c = cpu.initState(1);
    const p1 = gpu.forwardAsync([[1, 2]], s), p2 = gpu.forwardAsync([[3, 4]], s);
    const [, second] = await Promise.all([p1, p2]);
    cpu.forward([[1, 2]], c);
    expect(worst(second.logits, cpu.forward([[3, 4]], c).logits)).toBeLessThan(1e-6);
    expect(worst(s.h, c.h)).toBeLessThan(1e-6);
    expect(worst(s.c, c.c)).toBeLessThan(1e-6);
    // A larger batch: the carry buffer grows, and chains as well.
    const s3 = gpu.initState(3), c3 = cpu.initState(3);
    const q1 = gpu.lossAsync([[1, 2], [3, 4], [0, 1]], [[2, 3], [4, 0], [1, 2]], s3);
    const q2 = gpu.forwardAsync([[2], [2], [2]], s3);
    const [l1, f2] = await Promise.all([q1, q2]);
    expect(Math.abs(l1 - cpu.loss([[1, 2], [3, 4], [0, 1]], [[2, 3], [4, 0], [1, 2]], c3))).toBeLessThan(1e-6);
    expect(worst(f2.logits, cpu.forward([[2], [2], [2]], c3).logits)).toBeLessThan(1e-6);
    expect(worst(s3.h, c3.h)).toBeLessThan(1e-6);
    expect(worst(s3.c, c3.c)).toBeLessThan(1e-6);
    // Back to one row after the larger one, still chained.
    const r1 = gpu.forwardAsync([[4]], s), r2 = gpu.forwardAsync([[0]], s);
    const [, b2] = await Promise.all([r1, r2]);
    cpu.forward([[4]], c);
    expect(worst(b2.logits, cpu.forward([[0]], c).logits)).toBeLessThan(1e-6);
    // Two calls in flight on s; t replaces it as the carried state: s is refused until both land.
    const t = gpu.initState(1);
    const a1 = gpu.forwardAsync([[1]], s), a2 = gpu.forwardAsync([[1]], s);
    const a3 = gpu.forwardAsync([[1]], t);
    await expect(gpu.forwardAsync([[1]], s)).rejects.toThrow(/^Expected a state that no other call is computing: this one is still in flight from an earlier call\. Await that call first\.$/);
    await Promise.all([a1, a2, a3]);
    await gpu.forwardAsync([[1]], s);
  });

  it('a state stays in flight until its last call lands', async () => {
    const original = GpuEngine.prototype.read;
    let calls = 0;
    let release!: () => void;
    const held = new Promise<void>((resolve) => { release = resolve; });
    GpuEngine.prototype.read = async function (this: GpuEngine, requests) {
      const second = calls++ === 1;
      await original.call(this, requests);
      if (second) await held; // the second call on s lands only when released
    };
    const s = gpu.initState(1), t = gpu.initState(1);
    try {
      const a1 = gpu.forwardAsync([[1]], s), a2 = gpu.forwardAsync([[2]], s);
      const a3 = gpu.forwardAsync([[3]], t); // t is now the carried state
      await a1;
      await a3;
      await expect(gpu.forwardAsync([[1]], s)).rejects.toThrow(/still in flight/);
      release();
      await a2;
    } finally {
      GpuEngine.prototype.read = original;
    }
    await gpu.forwardAsync([[1]], s); // landed: fine again
  });

  it('an older read landing after a newer one leaves the newer final state', async () => {
    const cpu = cpuModel();
    await reset(cpu);
    const original = GpuEngine.prototype.read;
    let calls = 0;
    GpuEngine.prototype.read = async function (this: GpuEngine, requests) {
      const first = calls++ === 0;
      await original.call(this, requests);
      if (first) await new Promise((resolve) => setTimeout(resolve, 50));
    };
    const s = gpu.initState(1), c = cpu.initState(1);
    try {
      await Promise.all([gpu.forwardAsync([[1, 2, 3]], s), gpu.forwardAsync([[4]], s)]);
    } finally {
      GpuEngine.prototype.read = original;
    }
    expect(calls).toBe(2);
    cpu.forward([[1, 2, 3]], c);
    cpu.forward([[4]], c);
    expect(worst(s.h, c.h)).toBeLessThan(1e-6);
    expect(worst(s.c, c.c)).toBeLessThan(1e-6);
  });
});
