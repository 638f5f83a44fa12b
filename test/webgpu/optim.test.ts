// The optimisers and clipping on the GPU (src/webgpu/kernels/optim.ts, src/webgpu/clip.ts,
// src/webgpu/optimizer.ts) against their CPU twins (src/optim/), on Dawn + SwiftShader: a
// webgpu model and a js float32 model with the same seed take 20 steps on the same batches.
import { describe, expect, it } from 'vitest';
import { LSTMLanguageModel, type LSTMLanguageModelOptions } from '../../src/lstm/model.js';
import { Adam } from '../../src/optim/adam.js';
import { AdamW } from '../../src/optim/adamw.js';
import { clipGradNorm, clipGradValue } from '../../src/optim/clip.js';
import type { OptimizerBase } from '../../src/optim/optimizer.js';
import type { Trainable } from '../../src/optim/params.js';
import { RMSprop } from '../../src/optim/rmsprop.js';
import { SGD } from '../../src/optim/sgd.js';
import { Random } from '../../src/tensor/random.js';
import { NORM_SLOTS_START, recordClip } from '../../src/webgpu/clip.js';
import { GpuEngine } from '../../src/webgpu/gpu.js';
import { SKIP_SLOT } from '../../src/webgpu/kernels/optim.js';
import type { GpuParameterDevice } from '../../src/webgpu/optimizer.js';
import { testDevice } from './device.js';

type Optimizer = OptimizerBase<{ readonly lr: number }>;
const V = 23, B = 3, T = 8;
const options: LSTMLanguageModelOptions = { vocabSize: V, numHiddens: 24, init: 'pytorch', seed: 11 };

const batch = (rng: Random): number[][] =>
  Array.from({ length: B }, () => Array.from({ length: T }, () => Math.floor(rng.uniform() * V)));

/** The largest |a − b| relative to the largest |b| (the scale of the array), over arrays. */
function worst(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 1e-30, d = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  for (let i = 0; i < b.length; i++) {
    const e = Math.abs(a[i]! - b[i]!);
    if (!(e <= d)) d = e; // NaN counts as the worst
  }
  return d / scale;
}

const deviceOf = (m: LSTMLanguageModel): GpuParameterDevice => (m.parameters()[0] as Trainable).device as GpuParameterDevice;

async function syncAll(m: LSTMLanguageModel): Promise<void> {
  await m.sync();
  await deviceOf(m).syncOptimizers();
}

interface Worst { params: number; state: number }

/**
 * `steps` steps of both models, each on its own gradients of the same batch (`own`), or with
 * the GPU given the CPU's gradients exactly (`same`: then only the update's arithmetic
 * differs). Returns the worst relative errors of the parameters and the state buffers.
 */
async function steps(
  gpu: LSTMLanguageModel, cpu: LSTMLanguageModel, og: Optimizer, oc: Optimizer, rng: Random, n: number, mode: 'own' | 'same',
): Promise<Worst> {
  for (let s = 0; s < n; s++) {
    const X = batch(rng), Y = batch(rng);
    cpu.zeroGrad();
    cpu.forwardBackward(X, Y);
    gpu.zeroGrad();
    if (mode === 'own') {
      await gpu.forwardBackwardAsync(X, Y);
    } else {
      await gpu.sync(); // the GPU's parameters on the host, so that upload() keeps them
      gpu.flatGradients.set(cpu.flatGradients);
      gpu.upload();
    }
    oc.step();
    og.step();
  }
  await syncAll(gpu);
  const result = { params: worst(gpu.flatParameters, cpu.flatParameters), state: 0 };
  const sg = og.stateDict(), sc = oc.stateDict();
  expect(sg.step).toBe(sc.step);
  expect(Object.keys(sg.buffers)).toEqual(Object.keys(sc.buffers));
  for (const [name, list] of Object.entries(sc.buffers)) {
    list.forEach((b, k) => { result.state = Math.max(result.state, worst(sg.buffers[name]![k]!, b)); });
  }
  return result;
}

const cases: [string, (p: readonly Trainable[]) => Optimizer][] = [
  ['SGD', (p) => new SGD(p, { lr: 0.5 })],
  ['SGD momentum', (p) => new SGD(p, { lr: 0.2, momentum: 0.9 })],
  ['SGD nesterov + weight decay', (p) => new SGD(p, { lr: 0.2, momentum: 0.8, nesterov: true, weightDecay: 0.01 })],
  ['Adam', (p) => new Adam(p, { lr: 1e-2 })],
  ['Adam + L2', (p) => new Adam(p, { lr: 1e-2, weightDecay: 0.05 })],
  ['AdamW', (p) => new AdamW(p, { lr: 1e-2, weightDecay: 0.1 })],
  ['RMSprop', (p) => new RMSprop(p, { lr: 2e-3, alpha: 0.95 })],
  ['RMSprop centered + momentum + weight decay', (p) => new RMSprop(p, { lr: 1e-3, alpha: 0.9, momentum: 0.5, centered: true, weightDecay: 0.01 })],
];

// Tolerances, relative to each array's largest value. `same` gradients: the GPU rounds every
// operation to float32 where the CPU computes in float64 and rounds once on store, ≈ 1e-7 per
// step; after 20 steps the worst is 1.8e-6 (RMSprop centered's state): 5e-6 allowed. `own`
// gradients: the two models' gradients differ by float32 rounding (≈ 1e-6 of their scale), and
// Adam and RMSprop divide by √v, which magnifies a gradient's relative error where it is near
// zero (a weight decay term keeps it away from zero): the worst is 2.3e-5 (Adam, AdamW; 4.7e-5
// for AdamW with T = 4), 1e-4 allowed.
const SAME = 5e-6, OWN = 1e-4;

/** One webgpu model for every case (compiling its pipelines on SwiftShader takes seconds). */
let shared: LSTMLanguageModel | undefined;

/** The webgpu model with the js float32 model's fresh weights (the same seed: the same values). */
async function pair(): Promise<{ gpu: LSTMLanguageModel; cpu: LSTMLanguageModel }> {
  const cpu = new LSTMLanguageModel({ ...options, backend: 'js', dtype: 'float32' });
  shared ??= new LSTMLanguageModel({ ...options, backend: 'webgpu', gpuDevice: await testDevice() });
  shared.flatParameters.set(cpu.flatParameters);
  shared.upload();
  return { gpu: shared, cpu };
}

describe('GPU optimisers against the CPU optimisers (js float32 model, same seed)', () => {
  for (const [name, make] of cases) {
    it(`${name}: 20 steps on the same gradients and on each model's own; state after sync; loadStateDict then 5 more`, async () => {
      const figures: string[] = [];
      for (const mode of ['same', 'own'] as const) {
        const { gpu, cpu } = await pair();
        const og = make(gpu.parameters()), oc = make(cpu.parameters());
        const rng = new Random(5);
        const tol = mode === 'same' ? SAME : OWN;
        const w = await steps(gpu, cpu, og, oc, rng, 20, mode);
        figures.push(`${mode}: params ${w.params.toExponential(1)}, state ${w.state.toExponential(1)}`);
        expect(w.params).toBeLessThan(tol);
        expect(w.state).toBeLessThan(tol);
        // A state loaded on the host goes up before the next step: both sides from the CPU's, halved.
        const saved = oc.stateDict();
        for (const list of Object.values(saved.buffers)) for (const b of list) for (let i = 0; i < b.length; i++) b[i] = b[i]! * 0.5;
        oc.loadStateDict(saved);
        og.loadStateDict(saved);
        gpu.flatParameters.set(cpu.flatParameters);
        gpu.upload();
        await deviceOf(gpu).syncOptimizers(); // the loaded state is newer than the GPU's: kept
        expect(og.stateDict().buffers).toEqual(saved.buffers);
        const w2 = await steps(gpu, cpu, og, oc, rng, 5, mode);
        figures.push(`${mode} after load: params ${w2.params.toExponential(1)}, state ${w2.state.toExponential(1)}`);
        expect(w2.params).toBeLessThan(tol);
        expect(w2.state).toBeLessThan(tol);
        expect(og.stepCount).toBe(25);
      }
      console.log(`${name}: ${figures.join('; ')}`);
    });
  }

  it('every parameter of one optimiser on one device: a TypeError when it is made, before anything changes', async () => {
    const gpu = new LSTMLanguageModel({ ...options, backend: 'webgpu', gpuDevice: await testDevice() });
    const cpu = new LSTMLanguageModel({ ...options, backend: 'js' });
    expect(() => new SGD([...gpu.parameters(), ...cpu.parameters()], { lr: 1 }))
      .toThrow(/^Expected every parameter of one optimiser on the same device \(one model's\), got params\[0\] on a device and params\[14\] on the host\.$/);
    const other = new LSTMLanguageModel({ ...options, backend: 'webgpu', gpuDevice: await testDevice() });
    expect(() => new SGD([...cpu.parameters(), ...other.parameters()], { lr: 1 })).toThrow(/params\[0\] on the host and params\[14\] on another device/);
    expect(() => new SGD([gpu.parameters()[0]!, other.parameters()[1]!], { lr: 1 })).toThrow(/params\[1\] on another device/);
    gpu.dispose();
    other.dispose();
  });
});

describe('GPU clipping against clipGradNorm and clipGradValue', () => {
  const ELEMENTS = 1 << 20;
  /** An engine over its own memory with two gradient blocks (not adjacent) and their host twins. */
  async function setUp(seed: number, scale: number): Promise<{ engine: GpuEngine; host: Trainable[]; places: { grad: number; length: number }[]; view: Float32Array }> {
    const memory = new WebAssembly.Memory({ initial: (4 * ELEMENTS) / 65536 });
    const engine = new GpuEngine(await testDevice(), memory);
    const view = new Float32Array(memory.buffer, 0, ELEMENTS);
    const rng = new Random(seed);
    const places = [{ grad: 1000, length: 300_001 }, { grad: 400_000, length: 5000 }];
    for (const { grad, length } of places) for (let i = 0; i < length; i++) view[grad + i] = scale * (2 * rng.uniform() - 1);
    engine.upload(view);
    const host = places.map(({ grad, length }) => {
      const g = view.slice(grad, grad + length);
      return { data: new Float32Array(length), grad: g };
    });
    return { engine, host, places, view };
  }

  async function readAux(engine: GpuEngine, at: number): Promise<number> {
    const out = new Float32Array(1);
    await engine.read([{ at, length: 1, into: out, aux: true }]);
    return out[0]!;
  }

  async function expectGrads(engine: GpuEngine, places: { grad: number; length: number }[], host: Trainable[], tol: number): Promise<void> {
    for (let k = 0; k < places.length; k++) {
      const back = new Float32Array(places[k]!.length);
      await engine.read([{ at: places[k]!.grad, length: back.length, into: back }]);
      expect(worst(back, host[k]!.grad)).toBeLessThan(tol);
    }
  }

  it('clipNorm: the norm before clipping within 1e-5 relative, the scaled gradients, and no scaling below the threshold', async () => {
    const { engine, host, places } = await setUp(1, 0.01);
    const norm = clipGradNorm(host, 1);
    expect(norm).toBeGreaterThan(1);
    const slot = recordClip(engine, places, { clipNorm: 1 });
    expect(slot).toBeGreaterThanOrEqual(NORM_SLOTS_START);
    const got = await readAux(engine, slot);
    console.log(`norm ${norm}, GPU ${got}, relative error ${(Math.abs(got - norm) / norm).toExponential(1)}`);
    expect(Math.abs(got - norm) / norm).toBeLessThan(1e-5);
    await expectGrads(engine, places, host, 1e-6);
    expect(await readAux(engine, SKIP_SLOT)).toBe(0);
    // Now below the threshold: measured, left alone (bit for bit).
    const again = recordClip(engine, places, { clipNorm: 2 });
    expect(again).not.toBe(slot);
    const n2 = clipGradNorm(host, 2);
    expect(Math.abs((await readAux(engine, again)) - n2) / n2).toBeLessThan(1e-5);
    await expectGrads(engine, places, host, 1e-6);
    engine.destroy();
  });

  it('clipValue (with and without clipNorm): the norm measured before the clamp, the clamp, then the norm clip, as fit', async () => {
    for (const clipNorm of [undefined, 3]) {
      const { engine, host, places, view } = await setUp(2, 0.02);
      // Two elements beyond clipValue, on both sides.
      host[0]!.grad[17] = 50; view[places[0]!.grad + 17] = 50;
      host[1]!.grad[3] = -50; view[places[1]!.grad + 3] = -50;
      engine.upload(view);
      const norm = clipGradNorm(host, Infinity);
      clipGradValue(host, 0.015);
      if (clipNorm !== undefined) clipGradNorm(host, clipNorm);
      const slot = recordClip(engine, places, { clipValue: 0.015, clipNorm });
      const got = await readAux(engine, slot);
      expect(Math.abs(got - norm) / norm).toBeLessThan(1e-5);
      await expectGrads(engine, places, host, 1e-6);
      engine.destroy();
    }
  });

  it('a NaN gradient: the norm is NaN and the skip flag set; ±∞ only: the norm is ∞; nothing scaled or clamped into a number', async () => {
    const { engine, places, view } = await setUp(3, 0.01);
    view[places[1]!.grad + 10] = Infinity;
    engine.upload(view);
    expect(await readAux(engine, recordClip(engine, places, { clipNorm: 1 }))).toBe(Infinity);
    expect(await readAux(engine, SKIP_SLOT)).toBe(1);
    view[places[0]!.grad + 5] = NaN;
    engine.upload(view);
    expect(await readAux(engine, recordClip(engine, places, { clipNorm: 1, clipValue: 0.5 }))).toBeNaN();
    expect(await readAux(engine, SKIP_SLOT)).toBe(1);
    const back = new Float32Array(places[0]!.length);
    await engine.read([{ at: places[0]!.grad, length: back.length, into: back }]);
    expect(back[5]).toBeNaN(); // clamped: NaN stays NaN
    expect(back[6]).toBe(view[places[0]!.grad + 6]); // not scaled (|g| < 0.5)
    engine.destroy();
  });

  it('a non-finite loss at lossSlot sets the skip flag; a finite one clears it', async () => {
    const { engine, places, view } = await setUp(4, 0.01);
    const M = 4, L = 600_000, IDS = 700_000;
    const ids = new Int32Array(view.buffer, 0, ELEMENTS);
    for (let i = 0; i < M; i++) ids[IDS + i] = i;
    engine.upload(view);
    engine.kernels.softmaxCrossEntropy(view, L, view, L, ids, IDS, 1, M, V, 1);
    const finite = engine.sumLoss();
    recordClip(engine, places, { lossSlot: finite });
    expect(await readAux(engine, SKIP_SLOT)).toBe(0);
    view[L + 3] = NaN;
    engine.upload(view, L, M * V);
    engine.kernels.softmaxCrossEntropy(view, L, view, L, ids, IDS, 1, M, V, 1);
    recordClip(engine, places, { lossSlot: engine.sumLoss() });
    expect(await readAux(engine, SKIP_SLOT)).toBe(1);
    expect(() => recordClip(engine, places, { lossSlot: 64 })).toThrow(/^Expected `lossSlot` to be an aux result slot \(an integer in \[0, 64\)\), got 64\.$/);
    expect(() => recordClip(engine, places, { clipNorm: 0 })).toThrow(/^Expected `clipNorm` to be a positive number, got 0\.$/);
    expect(() => recordClip(engine, places, { clipValue: Infinity })).toThrow(/^Expected `clipValue` to be a positive finite number, got Infinity\.$/);
    engine.destroy();
  });

  it('on a model: a NaN gradient makes the optimiser skip the step (parameters and state unchanged), and only that step', async () => {
    const gpu = new LSTMLanguageModel({ ...options, backend: 'webgpu', gpuDevice: await testDevice() });
    const device = deviceOf(gpu);
    const adam = new Adam(gpu.parameters(), { lr: 1e-2 });
    const rng = new Random(8);
    gpu.zeroGrad();
    await gpu.forwardBackwardAsync(batch(rng), batch(rng));
    await gpu.sync();
    const before = gpu.flatParameters.slice();
    gpu.flatGradients[100] = NaN;
    gpu.upload();
    const slot = device.recordClip(gpu.parameters(), { clipNorm: 1 });
    adam.step();
    await syncAll(gpu);
    expect(Number.isNaN(await readAux(device.engine, slot))).toBe(true);
    expect(worst(gpu.flatParameters, before)).toBe(0);
    for (const list of Object.values(adam.stateDict().buffers)) for (const b of list) expect(b.every((x) => x === 0)).toBe(true);
    expect(await readAux(device.engine, SKIP_SLOT)).toBe(0); // the step consumed the flag
    // The next step, on finite gradients, moves the parameters.
    gpu.zeroGrad();
    await gpu.forwardBackwardAsync(batch(rng), batch(rng));
    device.recordClip(gpu.parameters(), { clipNorm: 1 });
    adam.step();
    await syncAll(gpu);
    expect(worst(gpu.flatParameters, before)).toBeGreaterThan(0);
    expect(gpu.flatParameters.every(Number.isFinite)).toBe(true);
    gpu.dispose();
  });

  it('on a model: the norm and the clipped gradients match clipGradNorm on the same gradients', async () => {
    const gpu = new LSTMLanguageModel({ ...options, backend: 'webgpu', gpuDevice: await testDevice() });
    const device = deviceOf(gpu);
    const rng = new Random(9);
    gpu.zeroGrad();
    await gpu.forwardBackwardAsync(batch(rng), batch(rng));
    await gpu.sync();
    const host = gpu.parameters().map((p) => ({ data: p.data.slice(), grad: p.grad.slice() }));
    const norm = clipGradNorm(host, 0.1);
    expect(norm).toBeGreaterThan(0.1);
    const slot = device.recordClip(gpu.parameters(), { clipNorm: 0.1 });
    expect(Math.abs((await readAux(device.engine, slot)) - norm) / norm).toBeLessThan(1e-5);
    await gpu.sync();
    gpu.parameters().forEach((p, k) => expect(worst(p.grad, host[k]!.grad)).toBeLessThan(1e-6));
    gpu.dispose();
  });
});
