// The webgpu model against the wasm model on the same weights and masks: stacked layers,
// dropout, an embedding, carried state, a batch shape that grows the buffers; determinism;
// the errors of misuse. On Dawn + SwiftShader.
import { describe, expect, it } from 'vitest';
import { LSTMLanguageModel, type LSTMLanguageModelOptions } from '../../src/lstm/model.js';
import { Random } from '../../src/tensor/random.js';
import { expectNear } from '../lstm/near.js';
import { freshDevice, testDevice } from './device.js';

const gpuModel = async (o: LSTMLanguageModelOptions) => new LSTMLanguageModel({ ...o, backend: 'webgpu', gpuDevice: await testDevice() });

function batch(rng: Random, B: number, T: number, V: number): number[][] {
  return Array.from({ length: B }, () => Array.from({ length: T }, () => Math.floor(rng.uniform() * V)));
}

describe('webgpu model against the wasm model', () => {
  const options: LSTMLanguageModelOptions = { vocabSize: 23, numHiddens: 24, numLayers: 2, dropout: 0.3, embeddingSize: 12, init: 'pytorch', seed: 7 };

  it('2 layers, embedding, dropout: 3 steps with a carried state — loss, state, every gradient (after sync)', async () => {
    const gpu = await gpuModel(options);
    const cpu = new LSTMLanguageModel({ ...options, backend: 'wasm' });
    expect(gpu.backend).toBe('webgpu');
    const rng = new Random(1);
    const sg = gpu.initState(3), sc = cpu.initState(3);
    for (let step = 0; step < 3; step++) {
      const X = batch(rng, 3, 9, 23), Y = batch(rng, 3, 9, 23);
      gpu.zeroGrad();
      cpu.zeroGrad();
      const a = await gpu.forwardBackwardAsync(X, Y, sg);
      const b = cpu.forwardBackward(X, Y, sc);
      expectNear([a.loss], [b.loss], 2e-5, `loss ${step}`);
      expectNear(sg.h, Array.from(sc.h), 2e-5, `h ${step}`);
      expectNear(sg.c, Array.from(sc.c), 2e-5, `c ${step}`);
      expectNear(a.stateGrad.h, Array.from(b.stateGrad.h), 2e-5, `dh0 ${step}`);
      await gpu.sync();
      const gp = gpu.parameters(), cp = cpu.parameters();
      for (let k = 0; k < gp.length; k++) expectNear(gp[k]!.grad, Array.from(cp[k]!.grad), 2e-5, `d${gp[k]!.name} ${step}`);
    }
    gpu.dispose();
  });

  it('a bigger batch shape grows the GPU buffer and keeps the parameters; evaluation has no dropout', async () => {
    const gpu = await gpuModel(options);
    const cpu = new LSTMLanguageModel({ ...options, backend: 'wasm' });
    const rng = new Random(2);
    for (const [B, T] of [[1, 2], [16, 70], [2, 3]] as const) {
      const X = batch(rng, B, T, 23), Y = batch(rng, B, T, 23);
      const { logits } = await gpu.forwardAsync(X);
      expectNear(logits, Array.from(cpu.forward(X).logits), 2e-5, `logits ${B}×${T}`);
      expectNear([await gpu.lossAsync(X, Y)], [cpu.loss(X, Y)], 2e-5, `loss ${B}×${T}`);
    }
  });

  it('is deterministic: two models with one seed give bit-identical losses and weights gradients', async () => {
    const run = async () => {
      const m = await gpuModel(options);
      const rng = new Random(3);
      const losses: number[] = [];
      for (let step = 0; step < 2; step++) losses.push((await m.forwardBackwardAsync(batch(rng, 4, 6, 23), batch(rng, 4, 6, 23))).loss);
      await m.sync();
      return { losses, grads: m.flatGradients.slice() };
    };
    const a = await run(), b = await run();
    expect(a.losses).toEqual(b.losses);
    expect(a.grads).toEqual(b.grads);
  });

  it('a rejected call changes nothing on the GPU', async () => {
    const gpu = await gpuModel({ vocabSize: 5, numHiddens: 8, seed: 1 });
    const s = gpu.initState(1);
    await expect(gpu.forwardBackwardAsync([[1, 7]], [[2, 3]], s)).rejects.toThrow(/X/);
    expect(Array.from(s.h)).toEqual(new Array(8).fill(0));
    await gpu.sync();
    expect(gpu.flatGradients.every((g) => g === 0)).toBe(true);
  });
});

describe('webgpu misuse: clear errors', () => {
  it('synchronous entry points name their async twin', async () => {
    const gpu = await gpuModel({ vocabSize: 5, numHiddens: 8 });
    expect(() => gpu.forward([[1]])).toThrow(/forwardAsync/);
    expect(() => gpu.forwardBackward([[1]], [[2]])).toThrow(/forwardBackwardAsync/);
    expect(() => gpu.loss([[1]], [[2]])).toThrow(/lossAsync/);
    gpu.dispose();
    await expect(gpu.forwardAsync([[1]])).rejects.toThrow(/disposed/);
  });

  it('a model or a batch shape bigger than the GPU buffer: RangeError naming sizes and limit, nothing changed', async () => {
    const gpuDevice = await testDevice();
    const limit = Math.min(gpuDevice.limits.maxStorageBufferBindingSize, gpuDevice.limits.maxBufferSize);
    const V = Math.ceil(limit / (4 * 2 * 4 * 64)); // W_x* alone, with gradients, pass the limit
    expect(() => new LSTMLanguageModel({ vocabSize: V, numHiddens: 64, backend: 'webgpu', gpuDevice }))
      .toThrow(/fit one buffer of this GPU \(\d+\.\d\d GiB\), got vocabSize \d+, numHiddens 64/);
    const model = new LSTMLanguageModel({ vocabSize: 50, numHiddens: 64, backend: 'webgpu', gpuDevice });
    const s = model.initState(4000);
    await expect(model.forwardAsync(Array.from({ length: 4000 }, () => new Array(3000).fill(1)), s))
      .rejects.toThrow(/batchSize 4000 × numSteps 3000 .* the limit is \d+\.\d\d GiB/);
    expect(s.h.every((x) => x === 0)).toBe(true);
    expect((await model.forwardAsync([[1, 2]])).logits.length).toBe(100);
  });

  it('a lost device: every later call says so', async () => {
    const gpuDevice = await freshDevice();
    const model = new LSTMLanguageModel({ vocabSize: 5, numHiddens: 8, backend: 'webgpu', gpuDevice });
    await model.forwardAsync([[1, 2]]);
    gpuDevice.destroy();
    await gpuDevice.lost;
    await expect(model.forwardAsync([[1, 2]])).rejects.toThrow(/device of this webgpu model was lost/);
    await expect(model.sync()).rejects.toThrow(/lost/);
  });

  it('backend webgpu needs a GPUDevice, and float32', async () => {
    expect(() => new LSTMLanguageModel({ vocabSize: 5, numHiddens: 8, backend: 'webgpu' })).toThrow(/gpuDevice/);
    expect(() => new LSTMLanguageModel({ vocabSize: 5, numHiddens: 8, backend: 'webgpu', gpuDevice: {} as GPUDevice })).toThrow(TypeError);
    const gpuDevice = await testDevice();
    expect(() => new LSTMLanguageModel({ vocabSize: 5, numHiddens: 8, backend: 'webgpu', gpuDevice, dtype: 'float64' })).toThrow(RangeError);
    expect(new LSTMLanguageModel({ vocabSize: 5, numHiddens: 8, gpuDevice }).backend).toBe('webgpu'); // 'auto' with a device
    expect(new LSTMLanguageModel({ vocabSize: 5, numHiddens: 8 }).backend).not.toBe('webgpu');
  });
});
