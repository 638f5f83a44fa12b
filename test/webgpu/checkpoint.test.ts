// Checkpoints and PyTorch exports of webgpu models (Dawn + SwiftShader): loading uploads the
// parameters to the GPU; saving reads the host copy, which `await model.sync()` makes current.
import { describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { exportPyTorch, importPyTorch } from '../../src/checkpoint/pytorch.js';
import { Vocab } from '../../src/data/vocab.js';
import { LSTMLanguageModel, type LSTMLanguageModelOptions } from '../../src/lstm/model.js';
import { Adam } from '../../src/optim/adam.js';
import type { FloatArray } from '../../src/tensor/float-array.js';
import { Random } from '../../src/tensor/random.js';
import { testDevice } from './device.js';

const bits = (a: ArrayBufferView): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');
const vocab = new Vocab([...'abcdefghij'], { level: 'char' });
const X = [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 1, 2], [3, 3, 4, 4, 5, 5]];

/** Max |a − b| over the arrays, relative to the largest |b| (float32 tolerance checks). */
function relDiff(a: FloatArray, b: FloatArray): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

/** Weights no model would start from (uniform in ±0.6, seeded), the same for every backend. */
function weights(n: number): Float32Array {
  const rng = new Random(42);
  return Float32Array.from({ length: n }, () => (rng.uniform() - 0.5) * 1.2);
}

const CONFIGS: { name: string; options: Omit<LSTMLanguageModelOptions, 'backend'> }[] = [
  { name: "d2l's one layer, one-hot", options: { vocabSize: vocab.size, numHiddens: 16, seed: 1 } },
  { name: '2 layers with an embedding', options: { vocabSize: vocab.size, numHiddens: 12, numLayers: 2, embeddingSize: 8, seed: 2, init: 'pytorch' } },
];

describe('checkpoints of webgpu models', () => {
  for (const { name, options } of CONFIGS) {
    it(`${name}: set, upload, sync, save; loads into js and webgpu models that agree`, async () => {
      const gpuDevice = await testDevice();
      const gpu = new LSTMLanguageModel({ ...options, backend: 'webgpu', gpuDevice });
      const W = weights(gpu.flatParameters.length);
      gpu.flatParameters.set(W);
      gpu.upload();
      gpu.flatParameters.fill(0); // the host copy is now stale: only sync() brings the GPU's back
      await gpu.sync();
      expect(bits(gpu.flatParameters)).toBe(bits(W));
      const before = (await gpu.forwardAsync(X)).logits;

      const bytes = saveCheckpoint(gpu, { vocab });
      const onJs = loadCheckpoint(bytes, { backend: 'js' }).model;
      const onGpu = loadCheckpoint(bytes, { backend: 'webgpu', gpuDevice }).model;
      expect(onGpu.backend).toBe('webgpu');
      expect(bits(onJs.flatParameters)).toBe(bits(W));
      expect(bits(onGpu.flatParameters)).toBe(bits(W));
      // The GPU holds the loaded weights: a sync brings back exactly them, and the logits are
      // the original GPU model's, bit for bit, and js's within float32 rounding.
      onGpu.flatParameters.fill(0);
      await onGpu.sync();
      expect(bits(onGpu.flatParameters)).toBe(bits(W));
      const logits = (await onGpu.forwardAsync(X)).logits;
      expect(bits(logits)).toBe(bits(before));
      const reference = onJs.forward(X).logits;
      expect(relDiff(logits, reference)).toBeLessThan(2e-5);
      // and the reference is not trivially close: the initial weights give other logits
      const fresh = new LSTMLanguageModel({ ...options, backend: 'js' }).forward(X).logits;
      expect(relDiff(fresh, reference)).toBeGreaterThan(0.1);

      // Round trip: saving the loaded webgpu model (after sync) gives the same bytes.
      await onGpu.sync();
      expect(bits(saveCheckpoint(onGpu, { vocab }))).toBe(bits(bytes));
    });
  }

  it('auto with a gpuDevice picks webgpu; the generator state is restored', async () => {
    const gpuDevice = await testDevice();
    const js = new LSTMLanguageModel({ ...CONFIGS[0]!.options, backend: 'js' });
    js.flatParameters.set(weights(js.flatParameters.length));
    js.generatorState = new Random(9).state;
    const bytes = saveCheckpoint(js, { vocab });
    const { model } = loadCheckpoint(bytes, { gpuDevice });
    expect(model.backend).toBe('webgpu');
    expect(model.generatorState).toEqual(js.generatorState);
    expect(relDiff((await model.forwardAsync(X)).logits, js.forward(X).logits)).toBeLessThan(2e-5);
  });

  it('an optimiser saved with the model loads onto the webgpu model: its next step is js\'s', async () => {
    const gpuDevice = await testDevice();
    const Y = X.map((row) => row.map((x) => (x + 1) % vocab.size));
    const js = new LSTMLanguageModel({ ...CONFIGS[1]!.options, backend: 'js' });
    const adam = new Adam(js.parameters(), { lr: 0.01 });
    for (let k = 0; k < 2; k++) await js.trainStepAsync(X, Y, js.initState(X.length), adam, {});
    const bytes = saveCheckpoint(js, { vocab, optimizer: adam });
    const { model, optimizer } = loadCheckpoint(bytes, { backend: 'webgpu', gpuDevice });
    expect(optimizer!.params).toHaveLength(model.parameters().length);
    const saved = adam.stateDict(), loaded = optimizer!.stateDict();
    expect(loaded.step).toBe(saved.step);
    for (const [name, list] of Object.entries(saved.buffers)) {
      list.forEach((b, i) => expect(bits(loaded.buffers[name]![i]!), `${name}[${i}]`).toBe(bits(b)));
    }
    // One more step on each: the GPU's Adam starts from the loaded moments and step count.
    const onJs = loadCheckpoint(bytes, { backend: 'js' });
    await onJs.model.trainStepAsync(X, Y, onJs.model.initState(X.length), onJs.optimizer!, {});
    await model.trainStepAsync(X, Y, model.initState(X.length), optimizer!, {});
    await model.sync();
    expect(relDiff(model.flatParameters, onJs.model.flatParameters)).toBeLessThan(2e-5);
    // and the step moved the weights by more than that tolerance
    expect(relDiff(onJs.model.flatParameters, js.flatParameters)).toBeGreaterThan(1e-3);
  });
});

describe('PyTorch exports of webgpu models', () => {
  for (const { name, options } of CONFIGS) {
    it(`${name}: exportPyTorch after sync, importPyTorch onto webgpu uploads the weights`, async () => {
      const gpuDevice = await testDevice();
      const gpu = new LSTMLanguageModel({ ...options, backend: 'webgpu', gpuDevice });
      const W = weights(gpu.flatParameters.length);
      gpu.flatParameters.set(W);
      gpu.upload();
      await gpu.sync();
      const bytes = exportPyTorch(gpu, { vocab });
      const js = new LSTMLanguageModel({ ...options, backend: 'js' });
      js.flatParameters.set(W);
      expect(bits(exportPyTorch(js, { vocab }))).toBe(bits(bytes));

      const imported = importPyTorch(bytes, { backend: 'webgpu', gpuDevice });
      expect(imported.model.backend).toBe('webgpu');
      expect(imported.vocab!.idxToToken).toEqual(vocab.idxToToken);
      imported.model.flatParameters.fill(0);
      await imported.model.sync();
      expect(bits(imported.model.flatParameters)).toBe(bits(W)); // bias_hh is 0: the sum is exact
      expect(relDiff((await imported.model.forwardAsync(X)).logits, js.forward(X).logits)).toBeLessThan(2e-5);
    });
  }

  it('options: gpuDevice is accepted by both readers, unknown keys still refused', () => {
    expect(() => importPyTorch(new Uint8Array(8), { gpuDevice: undefined, bogus: 1 } as never)).toThrow(/Unknown option "bogus"; expected one of vocab, backend, threads, createWorker, gpuDevice/);
    expect(() => loadCheckpoint(new Uint8Array(8), { bogus: 1 } as never)).toThrow(/Unknown option "bogus"; expected one of backend, threads, createWorker, gpuDevice/);
  });
});
