// The GPU optimiser device (src/webgpu/optimizer.ts) where steps-mutation.test.ts does not
// reach it (issue 13): a bare optimizer.step() marks the host stale; a state loaded after a
// GPU step is kept by sync (the GPU's is older); SGD's first step ignores a loaded momentum
// buffer, as on the CPU. Each test makes its own model inside the test, so that Stryker's
// per-test coverage credits the device's constructor and registration to a test that steps.
import { describe, expect, it } from 'vitest';
import { LSTMLanguageModel } from '../../src/lstm/model.js';
import { SGD } from '../../src/optim/sgd.js';
import { testDevice } from './device.js';

const X = [[1, 2, 3], [4, 0, 2]], Y = [[2, 3, 4], [0, 1, 3]];
const options = { vocabSize: 5, numHiddens: 3, seed: 4 } as const;
const gpuModel = async (): Promise<LSTMLanguageModel> => new LSTMLanguageModel({ ...options, backend: 'webgpu', gpuDevice: await testDevice() });

describe('the GPU optimiser device', () => {
  it('a bare optimizer.step() runs on the GPU and marks the host copy stale', async () => {
    const gpu = await gpuModel(), cpu = new LSTMLanguageModel({ ...options, backend: 'js', dtype: 'float32' });
    await gpu.forwardBackwardAsync(X, Y);
    cpu.forwardBackward(X, Y);
    await gpu.sync();
    expect(gpu.hostStale).toBe(false);
    const sg = new SGD(gpu.parameters(), { lr: 0.5 }), sc = new SGD(cpu.parameters(), { lr: 0.5 });
    sg.step();
    sc.step();
    expect(gpu.hostStale).toBe(true);
    await gpu.sync();
    for (let i = 0; i < cpu.flatParameters.length; i++) expect(gpu.flatParameters[i]).toBeCloseTo(cpu.flatParameters[i]!, 6);
    gpu.dispose();
  });

  it('a state loaded after a GPU step is kept by sync; SGD’s first step ignores a loaded momentum buffer, as on the CPU', async () => {
    const gpu = await gpuModel(), cpu = new LSTMLanguageModel({ ...options, backend: 'js', dtype: 'float32' });
    const sg = new SGD(gpu.parameters(), { lr: 0.1, momentum: 0.9 }), sc = new SGD(cpu.parameters(), { lr: 0.1, momentum: 0.9 });
    await gpu.trainStepAsync(X, Y, undefined, sg);
    const loaded = sg.stateDict();
    const buffers = loaded.buffers.momentumBuffer!.map((b) => Float32Array.from(b, (_, i) => 0.25 + 0.01 * i));
    const state = { ...loaded, step: 0, buffers: { momentumBuffer: buffers } };
    sg.loadStateDict(state);
    await gpu.sync(); // the GPU's state is older than the loaded one: not read back over it
    expect(sg.stateDict().buffers.momentumBuffer).toEqual(buffers);
    // Step 1 again, from the loaded (non-zero) buffer: t = 1 takes the gradient alone.
    await gpu.sync();
    cpu.flatParameters.set(gpu.flatParameters);
    sc.loadStateDict(state);
    const a = await gpu.trainStepAsync(X, Y, undefined, sg);
    const b = await cpu.trainStepAsync(X, Y, undefined, sc);
    expect(a.stepped && b.stepped).toBe(true);
    await gpu.sync();
    for (let i = 0; i < cpu.flatParameters.length; i++) expect(gpu.flatParameters[i]).toBeCloseTo(cpu.flatParameters[i]!, 6);
    const gm = sg.stateDict().buffers.momentumBuffer!, cm = sc.stateDict().buffers.momentumBuffer!;
    gm.forEach((g, k) => g.forEach((v, i) => expect(v).toBeCloseTo(cm[k]![i]!, 6)));
    gpu.dispose();
  });
});
