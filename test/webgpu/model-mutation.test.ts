// The webgpu branches of LSTMLanguageModel (src/lstm/model.ts) in a few short tests on Dawn +
// SwiftShader, each against a js model with the same seed: what each asynchronous call reads
// back, zeroGrad on the GPU, hostStale, upload, the misuse messages, and trainStepAsync's
// step, refusal and resumption with an optimiser stepping on the GPU.
import { describe, expect, it } from 'vitest';
import { LSTMLanguageModel, type LSTMLanguageModelOptions } from '../../src/lstm/model.js';
import { SGD } from '../../src/optim/sgd.js';
import { expectNear } from '../lstm/near.js';
import { testDevice } from './device.js';

const options: LSTMLanguageModelOptions = { vocabSize: 7, numHiddens: 6, numLayers: 2, dropout: 0.3, embeddingSize: 3, init: 'pytorch', seed: 5 };
const pair = async (o: Partial<LSTMLanguageModelOptions> = {}) => ({
  gpu: new LSTMLanguageModel({ ...options, ...o, backend: 'webgpu', gpuDevice: await testDevice() }),
  cpu: new LSTMLanguageModel({ ...options, ...o, backend: 'js' }),
});
const X = [[1, 2, 3, 6], [4, 5, 0, 2]], Y = [[2, 3, 4, 0], [5, 6, 1, 3]];

describe('webgpu model: each call against the js model', () => {
  it('forward, loss and forwardBackward read back what js computes; zeroGrad clears the GPU; sync and hostStale', async () => {
    const { gpu, cpu } = await pair();
    expect(gpu.hostStale).toBe(false);
    expectNear((await gpu.forwardAsync(X)).logits, Array.from(cpu.forward(X).logits), 2e-5, 'logits');
    expectNear([await gpu.lossAsync(X, Y)], [cpu.loss(X, Y)], 2e-5, 'loss');
    const sg = gpu.initState(2), sc = cpu.initState(2);
    sg.h.fill(0.2); sc.h.fill(0.2);
    sg.c.fill(-0.3); sc.c.fill(-0.3);
    gpu.zeroGrad();
    cpu.zeroGrad();
    const a = await gpu.forwardBackwardAsync(X, Y, sg), b = cpu.forwardBackward(X, Y, sc);
    expect(gpu.hostStale).toBe(true);
    expectNear([a.loss], [b.loss], 2e-5, 'loss with dropout');
    expectNear(sg.h, Array.from(sc.h), 2e-5, 'final h');
    expectNear(sg.c, Array.from(sc.c), 2e-5, 'final c');
    expectNear(a.stateGrad.h, Array.from(b.stateGrad.h), 2e-5, 'dh0');
    expectNear(a.stateGrad.c, Array.from(b.stateGrad.c), 2e-5, 'dc0');
    expect(gpu.generatorState).toEqual(cpu.generatorState);
    await gpu.sync();
    expect(gpu.hostStale).toBe(false);
    const once = Array.from(cpu.flatGradients);
    expectNear(gpu.flatGradients, once, 2e-5, 'gradients');
    // Without zeroGrad the second call adds; after zeroGrad (on the GPU too) it starts from zero.
    const s2 = () => ({ h: new Float32Array(24).fill(0.2), c: new Float32Array(24).fill(-0.3) });
    const state = gpu.generatorState;
    await gpu.forwardBackwardAsync(X, Y, s2());
    cpu.forwardBackward(X, Y, s2());
    await gpu.sync();
    expectNear(gpu.flatGradients, Array.from(cpu.flatGradients), 2e-5, 'accumulated gradients');
    gpu.generatorState = state;
    cpu.generatorState = state;
    gpu.zeroGrad();
    cpu.zeroGrad();
    await gpu.forwardBackwardAsync(X, Y, s2());
    cpu.forwardBackward(X, Y, s2());
    await gpu.sync();
    expectNear(gpu.flatGradients, Array.from(cpu.flatGradients), 2e-5, 'gradients after zeroGrad');
    // Not training: no dropout, and no mask drawn.
    gpu.training = cpu.training = false;
    const drawn = gpu.generatorState;
    const evaluated = await gpu.forwardBackwardAsync(X, Y);
    expectNear([evaluated.loss], [cpu.loss(X, Y)], 2e-5, 'loss without dropout');
    expect(gpu.generatorState).toEqual(drawn);
    gpu.dispose();
  });

  it('upload: weights written on the host reach the GPU, and the host copy is current again', async () => {
    const { gpu, cpu } = await pair({ dropout: 0 });
    await gpu.forwardBackwardAsync(X, Y); // changes the gradients on the GPU: the host copy is stale
    expect(gpu.hostStale).toBe(true);
    for (const m of [gpu, cpu]) m.flatParameters.forEach((w, i, W) => { W[i] = w * 2 + 0.01 * (i % 5); });
    gpu.upload();
    expect(gpu.hostStale).toBe(false);
    expectNear((await gpu.forwardAsync(X)).logits, Array.from(cpu.forward(X).logits), 2e-5, 'logits after upload');
    gpu.dispose();
  });

  it('calls queued on one state chain it on the GPU: the sequential results', async () => {
    const { gpu, cpu } = await pair({ dropout: 0 });
    const sg = gpu.initState(2), sc = cpu.initState(2);
    sg.h.fill(0.1); sc.h.fill(0.1);
    const first = gpu.forwardAsync(X, sg), second = gpu.forwardAsync(Y, sg); // no await in between
    expect(sg.h.every((v) => v === Math.fround(0.1)) && sg.c.every((v) => v === 0)).toBe(true); // written when the results land, not before
    const [a, b] = await Promise.all([first, second]);
    expectNear(a.logits, Array.from(cpu.forward(X, sc).logits), 2e-5, 'first');
    expectNear(b.logits, Array.from(cpu.forward(Y, sc).logits), 2e-5, 'second, from the first one\'s state');
    expectNear(sg.h, Array.from(sc.h), 2e-5, 'final h');
    gpu.dispose();
  });

  it('synchronous entry points: a TypeError naming the asynchronous twin', async () => {
    const { gpu } = await pair();
    for (const [call, name] of [
      [() => gpu.forward(X), 'forward'], [() => gpu.loss(X, Y), 'loss'], [() => gpu.forwardBackward(X, Y), 'forwardBackward'],
    ] as const) {
      expect(call).toThrow(new TypeError(
        `Expected a synchronous backend for model.${name}(): the webgpu backend computes asynchronously. ` +
          `Use await model.${name}Async(…) (and fit() rather than train()).`,
      ));
    }
    gpu.dispose();
    await expect(gpu.forwardAsync(X)).rejects.toThrow(/disposed/);
  });
});

describe('webgpu trainStepAsync against js', () => {
  it('with dropout: the same masks, the same step', async () => {
    const { gpu, cpu } = await pair();
    const og = new SGD(gpu.parameters(), { lr: 0.5 }), oc = new SGD(cpu.parameters(), { lr: 0.5 });
    const a = await gpu.trainStepAsync(X, Y, undefined, og), b = await cpu.trainStepAsync(X, Y, undefined, oc);
    expect(a.stepped && b.stepped).toBe(true);
    expectNear([a.loss, a.gradNorm], [b.loss, b.gradNorm], 1e-4, 'loss and norm with dropout');
    expect(gpu.generatorState).toEqual(cpu.generatorState);
    gpu.training = cpu.training = false; // no dropout: the loss of the step taken
    const c = await gpu.trainStepAsync(X, Y, undefined, og), d = await cpu.trainStepAsync(X, Y, undefined, oc);
    expectNear([c.loss], [d.loss], 1e-4, 'loss without dropout');
    gpu.dispose();
  });


  it('SGD steps on the GPU give the js steps; a diverging step is refused and later ones run again', async () => {
    const { gpu, cpu } = await pair({ dropout: 0 });
    const og = new SGD(gpu.parameters(), { lr: 0.5, momentum: 0.5 }), oc = new SGD(cpu.parameters(), { lr: 0.5, momentum: 0.5 });
    const sg = gpu.initState(2), sc = cpu.initState(2);
    for (let step = 0; step < 2; step++) {
      const a = await gpu.trainStepAsync(X, Y, sg, og, { clipNorm: 0.01 });
      const b = await cpu.trainStepAsync(X, Y, sc, oc, { clipNorm: 0.01 });
      expect(a.stepped).toBe(true);
      expectNear([a.loss, a.gradNorm], [b.loss, b.gradNorm], 1e-4, `loss and norm ${step}`);
      expect(a.gradNorm).toBeGreaterThan(0.05); // so clipping to 0.01 changes the step
    }
    expect(gpu.hostStale).toBe(true);
    await gpu.sync();
    expectNear(gpu.flatParameters, Array.from(cpu.flatParameters), 1e-4, 'weights');
    expectNear(og.stateDict().buffers.momentumBuffer![1]!, Array.from(oc.stateDict().buffers.momentumBuffer![1]!), 1e-4, 'momentum (synced)');
    const weights = gpu.flatParameters.slice();
    og.lr = 1e39;
    const bad = await gpu.trainStepAsync(X, Y, undefined, og);
    expect(bad.stepped).toBe(false);
    expect(og.stepCount).toBe(2);
    await gpu.sync();
    expect(gpu.flatParameters).toEqual(weights);
    og.lr = 0.5;
    const good = await gpu.trainStepAsync(X, Y, undefined, og);
    const ref = await cpu.trainStepAsync(X, Y, undefined, oc);
    expect(good.stepped).toBe(true);
    expectNear([good.loss], [ref.loss], 1e-4, 'loss after the refused step');
    expect(og.stepCount).toBe(3);
    // Queued without awaiting: a good step, a diverging one, a good one skipped until the bad one is read.
    const q1 = gpu.trainStepAsync(X, Y, undefined, og);
    og.lr = 1e39;
    const q2 = gpu.trainStepAsync(X, Y, undefined, og);
    og.lr = 0.5;
    const q3 = gpu.trainStepAsync(X, Y, undefined, og);
    expect((await Promise.all([q1, q2, q3])).map((r) => r.stepped)).toEqual([true, false, false]);
    expect(og.stepCount).toBe(4);
    expect((await gpu.trainStepAsync(X, Y, undefined, og)).stepped).toBe(true);
    expect(og.stepCount).toBe(5);
    gpu.dispose();
  });
});
