import { describe, expect, it } from 'vitest';
import { LSTMLanguageModel, type LSTMLanguageModelOptions } from '../../src/lstm/model.js';
import { Random } from '../../src/tensor/random.js';

const NAMES = ['W_xi', 'W_hi', 'b_i', 'W_xf', 'W_hf', 'b_f', 'W_xo', 'W_ho', 'b_o', 'W_xc', 'W_hc', 'b_c', 'W_hq', 'b_q'];

function batch(rng: Random, B: number, T: number, V: number): number[][] {
  return Array.from({ length: B }, () => Array.from({ length: T }, () => rng.int(V)));
}

describe.each(['js', 'wasm'] as const)('LSTMLanguageModel (%s backend)', (backend) => {
  const make = (options: LSTMLanguageModelOptions) => new LSTMLanguageModel({ backend, ...options });

  it('has the 14 parameters in the seed order, shapes and flat layout', () => {
    const V = 7, H = 3;
    const model = make({ vocabSize: V, numHiddens: H });
    expect(model.backend).toBe(backend);
    const params = model.parameters();
    expect(params.map((p) => p.name)).toEqual(NAMES);
    const shapes = params.map((p) => p.shape);
    expect(shapes).toEqual([[V, H], [H, H], [H], [V, H], [H, H], [H], [V, H], [H, H], [H], [V, H], [H, H], [H], [H, V], [V]]);
    let offset = 0;
    for (const p of params) {
      expect(p.data.buffer).toBe(model.flatParameters.buffer);
      expect(p.grad.buffer).toBe(model.flatGradients.buffer);
      expect((p.data.byteOffset - model.flatParameters.byteOffset) / 4).toBe(offset);
      expect((p.grad.byteOffset - model.flatGradients.byteOffset) / 4).toBe(offset);
      expect(p.data.length).toBe(p.shape.reduce((a, b) => a * b, 1));
      offset += p.data.length;
    }
    expect(offset).toBe(model.flatParameters.length);
  });

  it('initialises weights N(0, 1)·initScale and biases to 0; the same seed is bit-identical', () => {
    const a = make({ vocabSize: 30, numHiddens: 40, seed: 5 });
    const b = make({ vocabSize: 30, numHiddens: 40, seed: 5 });
    const c = make({ vocabSize: 30, numHiddens: 40, seed: 6 });
    expect(Buffer.from(a.flatParameters.buffer).equals(Buffer.from(b.flatParameters.buffer))).toBe(true);
    expect(a.flatParameters).not.toEqual(c.flatParameters);
    for (const p of a.parameters()) {
      if (p.name.startsWith('b_')) expect(p.data.every((v) => v === 0)).toBe(true);
      else {
        const sd = Math.sqrt(Array.from(p.data).reduce((s, v) => s + v * v, 0) / p.data.length);
        expect(sd).toBeGreaterThan(0.008);
        expect(sd).toBeLessThan(0.012);
      }
    }
    const wide = make({ vocabSize: 30, numHiddens: 40, seed: 5, initScale: 0.1 });
    expect(wide.flatParameters[0]).toBeCloseTo(a.flatParameters[0]! * 10, 6);
  });

  it('starts with a loss ≈ ln V', () => {
    const V = 28, rng = new Random(2);
    const model = make({ vocabSize: V, numHiddens: 32, seed: 1 });
    const { loss } = model.forwardBackward(batch(rng, 4, 10, V), batch(rng, 4, 10, V), model.initState(4));
    expect(Math.abs(loss - Math.log(V))).toBeLessThan(0.01);
  });

  it('backward adds into the gradients: twice doubles them, zeroGrad resets', () => {
    const rng = new Random(3);
    const model = make({ vocabSize: 6, numHiddens: 5, seed: 2, initScale: 0.3 });
    const X = batch(rng, 3, 4, 6), Y = batch(rng, 3, 4, 6);
    model.zeroGrad();
    const first = model.forwardBackward(X, Y, model.initState(3)).loss;
    const once = model.flatGradients.slice();
    expect(once.some((g) => g !== 0)).toBe(true);
    expect(model.forwardBackward(X, Y, model.initState(3)).loss).toBe(first);
    model.flatGradients.forEach((g, i) => expect(g).toBeCloseTo(2 * once[i]!, 6));
    model.zeroGrad();
    expect(model.flatGradients.every((g) => g === 0)).toBe(true);
  });

  it('carries the state: two calls of T steps equal one call of 2T steps', () => {
    const rng = new Random(4), V = 5;
    const model = make({ vocabSize: V, numHiddens: 6, seed: 3, initScale: 0.5 });
    const whole = batch(rng, 2, 8, V);
    const firstHalf = whole.map((r) => r.slice(0, 4)), secondHalf = whole.map((r) => r.slice(4));
    const full = model.forward(whole, model.initState(2));
    const state = model.initState(2);
    const a = model.forward(firstHalf, state);
    expect(a.state).toBe(state); // updated in place
    const b = model.forward(secondHalf, state);
    // Time-major logits: the first 4·B rows are steps 0..3.
    const joined = new Float32Array([...a.logits, ...b.logits]);
    joined.forEach((v, i) => expect(v).toBeCloseTo(full.logits[i]!, 6));
    state.h.forEach((v, i) => expect(v).toBeCloseTo(full.state.h[i]!, 6));
  });

  it('accepts a typed batch (Int32Array, B×T row-major) exactly like number[][]', () => {
    const rng = new Random(5), V = 9;
    const model = make({ vocabSize: V, numHiddens: 4, seed: 4, initScale: 0.3 });
    const X = batch(rng, 3, 5, V), Y = batch(rng, 3, 5, V);
    const typed = (m: number[][]) => ({ data: Int32Array.from(m.flat()), batchSize: 3, numSteps: 5 });
    model.zeroGrad();
    const l1 = model.forwardBackward(X, Y, model.initState(3)).loss;
    const g1 = model.flatGradients.slice();
    model.zeroGrad();
    const l2 = model.forwardBackward(typed(X), typed(Y), model.initState(3)).loss;
    expect(l2).toBe(l1);
    expect(model.flatGradients).toEqual(g1);
  });

  it('forward logits are those forwardBackward computes its loss from', () => {
    const rng = new Random(6), V = 4;
    const model = make({ vocabSize: V, numHiddens: 3, seed: 5, initScale: 0.8 });
    const X = batch(rng, 2, 3, V), Y = batch(rng, 2, 3, V);
    const { logits } = model.forward(X, model.initState(2));
    let loss = 0;
    for (let t = 0; t < 3; t++) for (let b = 0; b < 2; b++) {
      const row = Array.from(logits.subarray((t * 2 + b) * V, (t * 2 + b + 1) * V));
      const lse = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
      loss += lse - row[Y[b]![t]!]!;
    }
    expect(model.forwardBackward(X, Y, model.initState(2)).loss).toBeCloseTo(loss / 6, 6);
  });
});

describe('LSTMLanguageModel bad input', () => {
  const model = new LSTMLanguageModel({ vocabSize: 5, numHiddens: 3, seed: 1 });
  const ok = [[1, 2], [3, 4]];

  it.each([
    [{ vocabSize: 0, numHiddens: 3 }, /Expected `vocabSize` to be a positive integer, got 0/],
    [{ vocabSize: 5, numHiddens: 12.5 }, /Expected `numHiddens` to be a positive integer, got 12\.5/],
    [{ vocabSize: '5', numHiddens: 3 }, /Expected `vocabSize` to be a positive integer, got "5"/],
    [{ vocabSize: 5, numHiddens: 3, seed: 0.5 }, /Expected `seed` to be an integer in \[0, 2\^32\), got 0\.5/],
    [{ vocabSize: 5, numHiddens: 3, seed: 2 ** 32 }, /Expected `seed` to be an integer in \[0, 2\^32\), got 4294967296/],
    [{ vocabSize: 5, numHiddens: 3, seed: -1 }, /Expected `seed` to be an integer in \[0, 2\^32\), got -1/],
    [{ vocabSize: 5, numHiddens: 3, initScale: NaN }, /Expected `initScale` to be a finite number in \[0, 1000\], got NaN/],
    [{ vocabSize: 5, numHiddens: 3, initScale: 1e39 }, /Expected `initScale` to be a finite number in \[0, 1000\], got 1e\+39/],
    [{ vocabSize: 5, numHiddens: 3, numLayers: 0 }, /Expected `numLayers` to be a positive integer, got 0/],
    [{ vocabSize: 5, numHiddens: 3, numLayers: 1.5 }, /Expected `numLayers` to be a positive integer, got 1\.5/],
    [{ vocabSize: 5, numHiddens: 3, dropout: 1 }, /Expected `dropout` to be a number in \[0, 1\), got 1/],
    [{ vocabSize: 5, numHiddens: 3, dropout: -0.1 }, /Expected `dropout` to be a number in \[0, 1\), got -0\.1/],
    [{ vocabSize: 5, numHiddens: 3, dropout: '0.5' }, /Expected `dropout` to be a number in \[0, 1\), got "0\.5"/],
    [{ vocabSize: 5, numHiddens: 3, embeddingSize: 0 }, /Expected `embeddingSize` to be a positive integer, got 0/],
    [{ vocabSize: 5, numHiddens: 3, init: 'xavier' }, /Expected `init` to be 'd2l' or 'pytorch', got "xavier"/],
    [{ vocabSize: 5, numHiddens: 3, numLayer: 2 }, /Unknown option "numLayer"; expected one of vocabSize, numHiddens, numLayers/],
    [{ vocabSize: 5, numHiddens: 3, threads: 1000 }, /Expected `threads` to be 'auto' or an integer in \[1, 64\], got 1000/],
    [{ vocabSize: 1e9, numHiddens: 256, backend: 'wasm' }, /fit the wasm backend's 4 GiB memory, got vocabSize 1000000000, numHiddens 256, numLayers 1: \d+ parameters need [\d.]+ GiB/],
    [{ vocabSize: 1e6, numHiddens: 256, backend: 'js' }, /fit one typed array \(4 GiB\), got vocabSize 1000000, numHiddens 256, numLayers 1: \d+ parameters need [\d.]+ GiB/],
    [{ vocabSize: 5, numHiddens: 3, dtype: 'float16' }, /Expected `dtype` to be 'float32' or 'float64', got "float16"/],
    [{ vocabSize: 5, numHiddens: 3, backend: 'gpu' }, /Expected `backend` to be 'auto', 'wasm', 'js' or 'webgpu', got "gpu"/],
    [{ vocabSize: 5, numHiddens: 3, backend: 'wasm', dtype: 'float64' }, /Expected `backend` 'wasm' with `dtype` 'float32'/],
  ])('constructor %j', (options, message) => {
    expect(() => new LSTMLanguageModel(options as never)).toThrow(message);
  });

  it.each([
    ['id out of range', [[1, 5], [3, 4]], ok, undefined, RangeError, /Expected `X\[0\]\[1\]` to be a token id in \[0, 5\), got 5/],
    ['negative id in Y', ok, [[1, 2], [-1, 4]], undefined, RangeError, /Expected `Y\[1\]\[0\]` to be a token id in \[0, 5\), got -1/],
    ['non-integer id', [[1, 2.5], [3, 4]], ok, undefined, RangeError, /`X\[0\]\[1\]`.*got 2\.5/],
    ['string id', [[1, '2'], [3, 4]], ok, undefined, TypeError, /`X\[0\]\[1\]`.*got "2"/],
    ['ragged rows', [[1, 2], [3]], ok, undefined, RangeError, /Expected every row of `X` to have 2 tokens \(as row 0\), got 1 in row 1/],
    ['no rows', [], ok, undefined, RangeError, /Expected `X` to have at least one row, got 0 rows/],
    ['Y of another shape', ok, [[1, 2, 3], [3, 4, 1]], undefined, RangeError, /Expected `Y` to have the shape of `X` \(2×2\), got 2×3/],
    ['state of the wrong size', ok, ok, { h: new Float32Array(3), c: new Float32Array(6) }, RangeError,
      /Expected `state.h` to hold numLayers·batchSize·numHiddens = 1·2·3 = 6 values, got 3/],
    ['state not typed', ok, ok, { h: [0, 0, 0, 0, 0, 0], c: new Float32Array(6) }, TypeError,
      /Expected `state.h` to be a Float32Array or Float64Array, got an array of length 6/],
    ['typed batch with an id out of range', { data: Int32Array.from([1, 2, 7, 4]), batchSize: 2, numSteps: 2 }, ok, undefined, RangeError,
      /Expected `X\[1\]\[0\]` to be a token id in \[0, 5\), got 7/],
    ['typed batch with a negative id in Y', ok, { data: Int32Array.from([1, 2, 3, -4]), batchSize: 2, numSteps: 2 }, undefined, RangeError,
      /Expected `Y\[1\]\[1\]` to be a token id in \[0, 5\), got -4/],
    ['typed batch of the wrong length', { data: new Int32Array(3), batchSize: 2, numSteps: 2 }, ok, undefined, RangeError,
      /Expected `X.data` to hold batchSize·numSteps = 4 ids, got 3/],
  ])('forwardBackward: %s', (_label, X, Y, state, ErrorType, message) => {
    model.zeroGrad();
    const params = model.flatParameters.slice(), grads = model.flatGradients.slice();
    const call = () => model.forwardBackward(X as never, Y as never, state as never);
    expect(call).toThrow(ErrorType);
    expect(call).toThrow(message);
    expect(model.flatParameters).toEqual(params);
    expect(model.flatGradients).toEqual(grads);
  });

  it('initState and forward validate too', () => {
    expect(() => model.initState(0)).toThrow(/Expected `batchSize` to be a positive integer below 2\^31, got 0/);
    expect(() => model.initState(1e12)).toThrow(/Expected `batchSize` to be a positive integer below 2\^31, got 1000000000000/);
    expect(() => model.initState(2 ** 30)).toThrow(/small enough for a state of numLayers·batchSize·numHiddens values, got 1073741824: 3221225472 values/);
    expect(() => model.forward([[7]])).toThrow(/Expected `X\[0\]\[0\]` to be a token id in \[0, 5\), got 7/);
  });
});
