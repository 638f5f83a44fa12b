import { afterAll, describe, expect, it } from 'vitest';
import { LSTMLanguageModel, type LSTMLanguageModelOptions } from '../../src/lstm/model.js';
import { fillDropoutMask } from '../../src/lstm/dropout.js';
import { parameterCount } from '../../src/lstm/parameters.js';
import { Random } from '../../src/tensor/random.js';
import { nodeWorkerFactory } from '../../node/index.js';

const models: LSTMLanguageModel[] = [];
afterAll(() => models.forEach((m) => m.dispose()));
const make = (options: LSTMLanguageModelOptions): LSTMLanguageModel => {
  const m = new LSTMLanguageModel({ createWorker: nodeWorkerFactory, ...options });
  models.push(m);
  return m;
};
const batch = (rng: Random, B: number, T: number, V: number): number[][] =>
  Array.from({ length: B }, () => Array.from({ length: T }, () => rng.int(V)));
const bytesOf = (a: Float32Array | Float64Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('model.config', () => {
  it('resolves every option, is frozen and survives JSON', () => {
    const model = make({ vocabSize: 11, numHiddens: 6, numLayers: 2, dropout: 0.25, embeddingSize: 4, seed: 3, backend: 'js' });
    expect(model.config).toEqual({
      vocabSize: 11, numHiddens: 6, numLayers: 2, dropout: 0.25, embeddingSize: 4, cell: 'lstm', init: 'd2l', initScale: 0.01, seed: 3,
      dtype: 'float32',
    });
    expect(Object.isFrozen(model.config)).toBe(true);
    expect(JSON.parse(JSON.stringify(model.config))).toEqual(model.config);
    // The config alone rebuilds the same model.
    const again = make({ ...model.config, backend: 'js' });
    expect(bytesOf(again.flatParameters).equals(bytesOf(model.flatParameters))).toBe(true);
  });

  it('defaults to d2l\'s model: one layer, one-hot, no dropout', () => {
    const model = make({ vocabSize: 5, numHiddens: 3 });
    expect(model.config).toMatchObject({ numLayers: 1, dropout: 0, embeddingSize: null, init: 'd2l', seed: 0 });
    expect(model.parameters().length).toBe(14);
  });
});

describe('layout of a deep model', () => {
  it('W_embed first, layer 0 as d2l, layer{l}.* above it, W_hq and b_q last, with their shapes', () => {
    const V = 7, H = 4, E = 3;
    const model = make({ vocabSize: V, numHiddens: H, numLayers: 3, embeddingSize: E, backend: 'js' });
    const names = model.parameters().map((p) => p.name);
    const gates = (prefix: string) => ['i', 'f', 'o', 'c'].flatMap((g) => [`${prefix}W_x${g}`, `${prefix}W_h${g}`, `${prefix}b_${g}`]);
    expect(names).toEqual(['W_embed', ...gates(''), ...gates('layer1.'), ...gates('layer2.'), 'W_hq', 'b_q']);
    const shape = Object.fromEntries(model.parameters().map((p) => [p.name, p.shape]));
    expect(shape['W_embed']).toEqual([V, E]);
    expect(shape['W_xi']).toEqual([E, H]);
    expect(shape['layer1.W_xf']).toEqual([H, H]);
    expect(shape['layer2.b_c']).toEqual([H]);
    expect(shape['W_hq']).toEqual([H, V]);
    expect(model.flatParameters.length).toBe(parameterCount(model.config));
    let offset = 0;
    for (const p of model.parameters()) {
      expect((p.data.byteOffset - model.flatParameters.byteOffset) / 4).toBe(offset);
      offset += p.data.length;
    }
    expect(offset).toBe(model.flatParameters.length);
  });

  it('initState is L·B·H, layer-major; a state of B·H is refused for a deep model', () => {
    const model = make({ vocabSize: 5, numHiddens: 3, numLayers: 2, backend: 'js' });
    expect(model.initState(4).h.length).toBe(2 * 4 * 3);
    const params = model.flatParameters.slice();
    expect(() => model.forwardBackward([[1, 2]], [[2, 3]], { h: new Float32Array(3), c: new Float32Array(3) })).toThrow(
      /Expected `state.h` to hold numLayers·batchSize·numHiddens = 2·1·3 = 6 values, got 3/,
    );
    expect(model.flatParameters).toEqual(params);
  });

  it("init 'pytorch' draws U(−1/√H, 1/√H) for LSTM and output weights and biases, N(0, 1) for the embedding", () => {
    const H = 64;
    const model = make({ vocabSize: 30, numHiddens: H, numLayers: 2, embeddingSize: 8, init: 'pytorch', seed: 2, backend: 'js' });
    const bound = 1 / Math.sqrt(H);
    for (const p of model.parameters()) {
      const values = Array.from(p.data);
      if (p.name === 'W_embed') {
        const sd = Math.sqrt(values.reduce((s, v) => s + v * v, 0) / values.length);
        expect(sd).toBeGreaterThan(0.85);
        expect(sd).toBeLessThan(1.15);
        continue;
      }
      expect(Math.max(...values.map(Math.abs)), p.name).toBeLessThanOrEqual(bound);
      if (values.length >= 1000) {
        // Uniform on [−b, b]: mean 0, variance b²/3.
        const variance = values.reduce((s, v) => s + v * v, 0) / values.length;
        expect(variance / (bound * bound / 3), p.name).toBeGreaterThan(0.7);
        expect(variance / (bound * bound / 3), p.name).toBeLessThan(1.3);
      }
    }
  });
});

describe('dropout', () => {
  it('masks keep a fraction 1 − p of the units, each scaled by 1/(1 − p)', () => {
    for (const p of [0.1, 0.5, 0.8]) {
      const n = 200_000, mask = new Float32Array(n);
      fillDropoutMask(mask, n, p, new Random(1));
      const kept = mask.filter((v) => v !== 0);
      expect(new Set(kept)).toEqual(new Set([Math.fround(1 / (1 - p))]));
      // Binomial: sd of the kept fraction √(p(1−p)/n) ≤ 0.0012; allow 5 sd.
      expect(Math.abs(kept.length / n - (1 - p))).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
    }
  });

  it('is active only in forwardBackward while training; evaluation is deterministic and dropout-free', () => {
    const rng = new Random(3), V = 6;
    const model = make({ vocabSize: V, numHiddens: 8, numLayers: 2, dropout: 0.5, seed: 4, initScale: 0.5, backend: 'js' });
    const plain = make({ ...model.config, dropout: 0, backend: 'js' });
    const X = batch(rng, 3, 5, V), Y = batch(rng, 3, 5, V);
    const evalLoss = model.loss(X, Y);
    expect(model.loss(X, Y)).toBe(evalLoss); // no mask drawn, same result
    expect(plain.loss(X, Y)).toBe(evalLoss); // and it is the model without dropout
    expect(model.forward(X).logits).toEqual(plain.forward(X).logits);
    const a = model.forwardBackward(X, Y).loss, b = model.forwardBackward(X, Y).loss;
    expect(a).not.toBe(b); // new masks each call
    expect(a).not.toBe(evalLoss);
    model.training = false;
    expect(model.forwardBackward(X, Y).loss).toBe(evalLoss);
    model.training = true;
    const saved = model.generatorState;
    const c = model.forwardBackward(X, Y).loss;
    model.generatorState = saved;
    expect(model.forwardBackward(X, Y).loss).toBe(c); // same generator state, same masks
  });

  it('training is bit-identical per seed, and the same masks on every backend and thread count', async () => {
    const run = async (backend: 'js' | 'wasm', threads: number, seed: number) => {
      const model = make({ vocabSize: 9, numHiddens: 12, numLayers: 3, dropout: 0.3, embeddingSize: 5, seed, initScale: 0.3, backend, threads });
      if (threads > 1) await new Promise((resolve) => setTimeout(resolve, 300));
      const rng = new Random(8);
      const state = model.initState(4);
      const losses: number[] = [];
      for (let step = 0; step < 4; step++) {
        model.zeroGrad();
        losses.push(model.forwardBackward(batch(rng, 4, 6, 9), batch(rng, 4, 6, 9), state).loss);
        const W = model.flatParameters, G = model.flatGradients;
        for (let i = 0; i < W.length; i++) W[i] = W[i]! - 0.5 * G[i]!;
      }
      return { losses, params: model.flatParameters.slice(), generator: model.generatorState };
    };
    const js = await run('js', 1, 1), js2 = await run('js', 1, 1), other = await run('js', 1, 2);
    expect(js2.losses).toEqual(js.losses);
    expect(bytesOf(js2.params).equals(bytesOf(js.params))).toBe(true);
    expect(other.losses).not.toEqual(js.losses);
    const wasm = await run('wasm', 1, 1), wasm2 = await run('wasm', 1, 1), threaded = await run('wasm', 2, 1);
    expect(bytesOf(wasm2.params).equals(bytesOf(wasm.params))).toBe(true);
    expect(bytesOf(threaded.params).equals(bytesOf(wasm.params))).toBe(true); // threads: bit-identical to one
    expect(threaded.generator).toEqual(js.generator); // the same number of draws everywhere
    wasm.losses.forEach((l, i) => expect(Math.abs(l - js.losses[i]!)).toBeLessThan(1e-5)); // same masks: js and wasm agree to rounding
  });
});

const STEPS = 300, LR = 1;
describe('deep models train', () => {
  it.each(['js', 'wasm'] as const)('a 2-layer model with dropout and an embedding learns a repeating text (%s)', (backend) => {
    const text = 'the cat sat on the mat. '.repeat(40);
    const chars = [...new Set(text)].sort();
    const ids = [...text].map((ch) => chars.indexOf(ch));
    const V = chars.length, B = 4, T = 12;
    const model = make({ vocabSize: V, numHiddens: 32, numLayers: 2, dropout: 0.1, embeddingSize: 8, init: 'pytorch', seed: 1, backend });
    const rows = (offset: number) => Array.from({ length: B }, (_, b) => ids.slice(offset + b * 200, offset + b * 200 + T));
    const state = model.initState(B);
    let first = 0, last = 0;
    for (let step = 0; step < STEPS; step++) {
      const o = (step * T) % 180;
      model.zeroGrad();
      const loss = model.forwardBackward(rows(o), rows(o + 1), state).loss;
      if (step === 0) first = loss;
      last = loss;
      const W = model.flatParameters, G = model.flatGradients;
      for (let i = 0; i < W.length; i++) W[i] = W[i]! - LR * G[i]!;
      if (o + 2 * T > 180) state.h.fill(0), state.c.fill(0);
    }
    expect(first).toBeGreaterThan(2);
    expect(last).toBeLessThan(0.1); // it has learnt the text (≈ 0.01 here; ln V ≈ 2.4 at the start)
  });
});
