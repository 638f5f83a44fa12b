// Training on the GPU: trainStepAsync (the whole step queued at once) against the same step on
// the js backend, fit() on a webgpu model (validation, best weights, checkpoints, the host
// copy synced), and the divergence guard on the GPU (a step that makes a weight infinite is
// undone, weights and optimiser state). Dawn + SwiftShader.
import { describe, expect, it } from 'vitest';
import { LSTMLanguageModel, type LSTMLanguageModelOptions } from '../../src/lstm/model.js';
import { Adam } from '../../src/optim/adam.js';
import { SGD } from '../../src/optim/sgd.js';
import { loadCorpus } from '../../src/data/corpus.js';
import { SeqDataLoader } from '../../src/data/loader.js';
import { splitCorpus } from '../../src/data/split.js';
import { fit, type TrainingState } from '../../src/train/fit.js';
import { TrainingDivergedError } from '../../src/train/guard.js';
import { Random } from '../../src/tensor/random.js';
import { expectNear } from '../lstm/near.js';
import { testDevice } from './device.js';

const text = ('the time traveller for so it will be convenient to speak of him was expounding a recondite ' +
  'matter to us his grey eyes shone and twinkled and his usually pale face was flushed and animated ').repeat(6);
const { corpus, vocab } = loadCorpus([text], { token: 'char' });
const split = splitCorpus(corpus, { valFraction: 0.2, batchSize: 4, numSteps: 10 });

const options = (o: Partial<LSTMLanguageModelOptions> = {}): LSTMLanguageModelOptions =>
  ({ vocabSize: vocab.size, numHiddens: 16, numLayers: 2, dropout: 0.2, init: 'pytorch', seed: 3, ...o });

describe('trainStepAsync on the GPU', () => {
  it('8 Adam steps with clipNorm agree with the js backend: losses, norms, weights and moments', async () => {
    const gpu = new LSTMLanguageModel({ ...options(), backend: 'webgpu', gpuDevice: await testDevice() });
    const cpu = new LSTMLanguageModel({ ...options(), backend: 'js' });
    const ag = new Adam(gpu.parameters(), { lr: 1e-2 }), ac = new Adam(cpu.parameters(), { lr: 1e-2 });
    const rng = new Random(5);
    const sg = gpu.initState(4), sc = cpu.initState(4);
    for (let step = 0; step < 8; step++) {
      const X = Array.from({ length: 4 }, () => Array.from({ length: 7 }, () => Math.floor(rng.uniform() * vocab.size)));
      const Y = X.map((row) => row.map((x) => (x + 1) % vocab.size));
      const a = await gpu.trainStepAsync(X, Y, sg, ag, { clipNorm: 0.5 });
      const b = await cpu.trainStepAsync(X, Y, sc, ac, { clipNorm: 0.5 });
      expect(a.stepped && b.stepped).toBe(true);
      expectNear([a.loss, a.gradNorm], [b.loss, b.gradNorm], 1e-4, `loss and norm, step ${step}`);
      expectNear(sg.h, Array.from(sc.h), 1e-4, `carried h, step ${step}`);
    }
    await gpu.sync();
    // Adam divides by √v: float32 differences of near-zero gradients are magnified (see optim.test.ts).
    expectNear(gpu.flatParameters, Array.from(cpu.flatParameters), 1e-4, 'weights');
    expectNear(ag.stateDict().buffers.expAvg![0]!, Array.from(ac.stateDict().buffers.expAvg![0]!), 1e-4, 'm of W_xi');
    expect(ag.stepCount).toBe(8);
  });

  it('a step that makes a weight infinite is undone on the GPU, weights and optimiser state', async () => {
    const gpu = new LSTMLanguageModel({ ...options(), backend: 'webgpu', gpuDevice: await testDevice() });
    const sgd = new SGD(gpu.parameters(), { lr: 0.1, momentum: 0.9 });
    const X = [[1, 2, 3], [4, 5, 6]], Y = [[2, 3, 4], [5, 6, 7]];
    expect((await gpu.trainStepAsync(X, Y, undefined, sgd)).stepped).toBe(true);
    await gpu.sync();
    const weights = gpu.flatParameters.slice(), momentum = sgd.stateDict().buffers.momentumBuffer!.map((b) => b.slice());
    sgd.lr = 1e39; // beyond float32: the rate is ∞ on the GPU, the weights ∞ or NaN
    const r = await gpu.trainStepAsync(X, Y, undefined, sgd);
    expect(r.stepped).toBe(false);
    expect(Number.isFinite(r.loss) && Number.isFinite(r.gradNorm)).toBe(true);
    await gpu.sync();
    expect(gpu.flatParameters).toEqual(weights);
    sgd.stateDict().buffers.momentumBuffer!.forEach((b, k) => expect(b).toEqual(momentum[k]));
  });
});

describe('fit() on a webgpu model', () => {
  it('trains with validation, keeps the best weights, checkpoints the synced state; agrees with wasm', async () => {
    const run = async (backend: 'webgpu' | 'wasm') => {
      const model = new LSTMLanguageModel({ ...options(), backend, gpuDevice: backend === 'webgpu' ? await testDevice() : undefined });
      const loader = new SeqDataLoader(split.train, { batchSize: 4, numSteps: 10, seed: 2 });
      const checkpoints: TrainingState[] = [];
      const result = await fit(model, loader, new Adam(model.parameters(), { lr: 1e-2 }), {
        epochs: 2, clipNorm: 5, validation: split.validation, evalEvery: 5,
        keepBest: true, checkpointEvery: 4, onCheckpoint: (s) => { checkpoints.push(s); },
      });
      return { model, result, checkpoints };
    };
    const g = await run('webgpu'), c = await run('wasm');
    expect(g.result.steps).toBe(c.result.steps);
    expect(g.result.evaluations.length).toBe(c.result.evaluations.length);
    expect(g.result.evaluations.at(-1)!.loss).toBeLessThan(g.result.evaluations[0]!.loss);
    expectNear(g.result.evaluations.map((e) => e.loss), c.result.evaluations.map((e) => e.loss), 1e-3, 'validation losses');
    expectNear(g.model.flatParameters, Array.from(c.model.flatParameters), 1e-3, 'final weights (host copy, synced by fit)');
    expect(g.checkpoints.length).toBe(c.checkpoints.length);
    const [go, co] = [g.checkpoints.at(-1)!.optimizer!, c.checkpoints.at(-1)!.optimizer!];
    expect(go.step).toBe(co.step);
    expectNear(go.buffers.expAvg![0]!, Array.from(co.buffers.expAvg![0]!), 1e-3, 'checkpointed m');
    expectNear(g.result.best!.parameters!, Array.from(c.result.best!.parameters!), 1e-3, 'best weights');
  });

  it('a diverging run rejects with TrainingDivergedError and keeps the last good weights', async () => {
    const model = new LSTMLanguageModel({ ...options(), backend: 'webgpu', gpuDevice: await testDevice() });
    const loader = new SeqDataLoader(split.train, { batchSize: 4, numSteps: 10, seed: 2 });
    await expect(fit(model, loader, new SGD(model.parameters(), { lr: 3e38 }), { epochs: 1 })).rejects.toThrow(TrainingDivergedError);
    await model.sync();
    expect(model.flatParameters.every(Number.isFinite)).toBe(true);
  });
});

describe('the host copy of a webgpu model', () => {
  it('is stale after the GPU changed it: saving a checkpoint or exporting refuses until sync(); perplexity names evaluate', async () => {
    const { saveCheckpoint } = await import('../../src/checkpoint/checkpoint.js');
    const { exportPyTorch } = await import('../../src/checkpoint/pytorch.js');
    const { perplexity } = await import('../../src/train/evaluate.js');
    const model = new LSTMLanguageModel({ ...options(), backend: 'webgpu', gpuDevice: await testDevice() });
    expect(model.hostStale).toBe(false);
    await model.forwardAsync([[1, 2]]);
    expect(model.hostStale).toBe(false); // forward changes no parameter
    await model.trainStepAsync([[1, 2]], [[2, 3]], undefined, new SGD(model.parameters(), { lr: 0.1 }));
    expect(model.hostStale).toBe(true);
    expect(() => saveCheckpoint(model, { vocab })).toThrow(/await model\.sync\(\) before saveCheckpoint/);
    expect(() => exportPyTorch(model, { vocab })).toThrow(/await model\.sync\(\) before exportPyTorch/);
    await model.sync();
    expect(model.hostStale).toBe(false);
    expect(saveCheckpoint(model, { vocab }).length).toBeGreaterThan(0);
    expect(() => perplexity(model, corpus.subarray(0, 50))).toThrow(/await evaluate/);
    expect(new LSTMLanguageModel(options()).hostStale).toBe(false);
  });
});

describe('queued steps: results read back lagged', () => {
  it('steps queued without awaiting (one carried state) equal steps awaited one by one, bit for bit', async () => {
    const make = async () => {
      const m = new LSTMLanguageModel({ ...options(), backend: 'webgpu', gpuDevice: await testDevice() });
      return { m, adam: new Adam(m.parameters(), { lr: 1e-2 }), s: m.initState(2) };
    };
    const rng = new Random(9);
    const batches = Array.from({ length: 5 }, () => {
      const X = Array.from({ length: 2 }, () => Array.from({ length: 6 }, () => Math.floor(rng.uniform() * vocab.size)));
      return { X, Y: X.map((r) => r.map((x) => (x + 3) % vocab.size)) };
    });
    const a = await make(), b = await make();
    const queued = batches.map(({ X, Y }) => a.m.trainStepAsync(X, Y, a.s, a.adam, { clipNorm: 1 })); // no await in between
    const lagged = await Promise.all(queued);
    const awaited = [];
    for (const { X, Y } of batches) awaited.push(await b.m.trainStepAsync(X, Y, b.s, b.adam, { clipNorm: 1 }));
    expect(lagged).toEqual(awaited);
    expect(Array.from(a.s.h)).toEqual(Array.from(b.s.h));
    await a.m.sync();
    await b.m.sync();
    expect(a.m.flatParameters).toEqual(b.m.flatParameters);
    expect(a.adam.stepCount).toBe(5);
  });

  it('a diverging step queued between good ones is undone on the GPU, and the steps queued after it are skipped until it is read', async () => {
    const make = async () => { // no dropout: the undone step still draws its masks
      const m = new LSTMLanguageModel({ ...options({ dropout: 0 }), backend: 'webgpu', gpuDevice: await testDevice() });
      return { m, sgd: new SGD(m.parameters(), { lr: 0.1, momentum: 0.9 }) };
    };
    const X = [[1, 2, 3], [4, 5, 6]], Y = [[2, 3, 4], [5, 6, 7]];
    const a = await make(), b = await make();
    const first = a.m.trainStepAsync(X, Y, undefined, a.sgd);
    a.sgd.lr = 1e39;
    const bad = a.m.trainStepAsync(X, Y, undefined, a.sgd);
    a.sgd.lr = 0.1;
    const third = a.m.trainStepAsync(X, Y, undefined, a.sgd); // queued before bad's result is read
    const results = await Promise.all([first, bad, third]);
    expect(results.map((r) => r.stepped)).toEqual([true, false, false]);
    expect(a.sgd.stepCount).toBe(1); // neither the undone nor the skipped step counts
    const b1 = await b.m.trainStepAsync(X, Y, undefined, b.sgd);
    expect(results[0]).toEqual(b1);
    await a.m.sync();
    await b.m.sync();
    expect(a.m.flatParameters).toEqual(b.m.flatParameters); // as if only the first step ran
    expect(a.sgd.stateDict().buffers.momentumBuffer).toEqual(b.sgd.stateDict().buffers.momentumBuffer);
    // Read: steps run again, from where the awaited model is.
    const [a2, b2] = [await a.m.trainStepAsync(X, Y, undefined, a.sgd), await b.m.trainStepAsync(X, Y, undefined, b.sgd)];
    expect(a2).toEqual(b2);
    expect(a.sgd.stepCount).toBe(2);
  });

  it('forwardAsync calls queued on one state chain it; a state replaced in flight is refused', async () => {
    const m = new LSTMLanguageModel({ ...options(), backend: 'webgpu', gpuDevice: await testDevice() });
    const s = m.initState(1), t = m.initState(1);
    const p1 = m.forwardAsync([[1, 2]], s), p2 = m.forwardAsync([[3, 4]], s);
    const [, second] = await Promise.all([p1, p2]);
    const whole = await m.forwardAsync([[1, 2, 3, 4]]);
    expectNear(second.logits, Array.from(whole.logits.subarray(2 * vocab.size)), 1e-6, 'logits of the chained call');
    const q = m.forwardAsync([[1]], s);
    const r = m.forwardAsync([[1]], t); // t is now the carried one; s still in flight
    await expect(m.forwardAsync([[1]], s)).rejects.toThrow(/still in flight/);
    await Promise.all([q, r]);
    expect((await m.forwardAsync([[1]], s)).logits.length).toBe(vocab.size); // landed: fine again
  });
});

describe('fit() on the GPU step by step', () => {
  it('gives exactly what awaited trainStepAsync steps give: losses, norms, rates (a schedule), the carried state, weights', async () => {
    const { stepDecay } = await import('../../src/optim/schedules.js');
    const schedule = stepDecay({ lr: 2e-2, every: 3, factor: 0.5, unit: 'step' });
    const make = async () => {
      const m = new LSTMLanguageModel({ ...options(), backend: 'webgpu', gpuDevice: await testDevice() });
      return { m, adam: new Adam(m.parameters(), { lr: 2e-2 }), loader: new SeqDataLoader(split.train, { batchSize: 4, numSteps: 10, seed: 2 }) };
    };
    const a = await make(), b = await make();
    const steps: { loss: number; gradNorm: number; lr: number; step: number }[] = [];
    const result = await fit(a.m, a.loader, a.adam, {
      maxSteps: 7, clipNorm: 0.5, schedule, onStep: ({ loss, gradNorm, lr, step }) => { steps.push({ loss, gradNorm, lr, step }); },
    });
    expect(result.steps).toBe(7);
    const state = b.m.initState(4);
    const manual: typeof steps = [];
    let k = 0;
    for (const { X, Y } of b.loader) {
      if (k === 7) break;
      b.adam.lr = 2e-2 * 0.5 ** Math.floor(k / 3);
      const r = await b.m.trainStepAsync(X, Y, state, b.adam, { clipNorm: 0.5 });
      manual.push({ loss: r.loss, gradNorm: r.gradNorm, lr: b.adam.lr, step: ++k });
    }
    expect(steps).toEqual(manual);
    await b.m.sync();
    expect(a.m.flatParameters).toEqual(b.m.flatParameters);
    expect(Array.from(result.state.recurrent!.h)).toEqual(Array.from(state.h));
  });
});

describe('reads that land out of order', () => {
  it('an older call landing after a newer one does not overwrite the newer final state (found as a rare drift under load)', async () => {
    const { GpuEngine } = await import('../../src/webgpu/gpu.js');
    const m = new LSTMLanguageModel({ ...options({ dropout: 0 }), backend: 'webgpu', gpuDevice: await testDevice() });
    const ref = new LSTMLanguageModel({ ...options({ dropout: 0 }), backend: 'webgpu', gpuDevice: await testDevice() });
    const original = GpuEngine.prototype.read;
    let calls = 0;
    GpuEngine.prototype.read = async function (this: InstanceType<typeof GpuEngine>, requests) {
      const first = calls++ === 0;
      await original.call(this, requests);
      if (first) await new Promise((resolve) => setTimeout(resolve, 100)); // the older read lands last
    };
    const s = m.initState(2);
    try {
      await Promise.all([m.forwardAsync([[1, 2, 3], [4, 5, 6]], s), m.forwardAsync([[7, 8], [9, 10]], s)]);
    } finally {
      GpuEngine.prototype.read = original;
    }
    expect(calls).toBe(2);
    const t = ref.initState(2);
    await ref.forwardAsync([[1, 2, 3], [4, 5, 6]], t);
    await ref.forwardAsync([[7, 8], [9, 10]], t);
    expect(Array.from(s.h)).toEqual(Array.from(t.h)); // the second call's final state, as when awaited
    expect(Array.from(s.c)).toEqual(Array.from(t.c));
  });
});
