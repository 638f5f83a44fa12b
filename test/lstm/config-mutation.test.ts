// The model's config, dropout mask and parameter layout exactly (issue 13: Stryker survivors in
// src/lstm/config.ts, dropout.ts and parameters.ts): every option's bounds and message, the
// defaults, the mask's keep rule and scale, and the layout's names, shapes, offsets and kinds.
import { describe, expect, it } from 'vitest';
import { inputSize, resolveConfig } from '../../src/lstm/config.js';
import { fillDropoutMask } from '../../src/lstm/dropout.js';
import { GATES, parameterCount, parameterLayout } from '../../src/lstm/parameters.js';
import { Random } from '../../src/tensor/random.js';

const base = { vocabSize: 5, numHiddens: 3 };

describe('resolveConfig', () => {
  it('fills the defaults, keeps what is given, and freezes the result', () => {
    const c = resolveConfig(base);
    expect(c).toEqual({
      vocabSize: 5, numHiddens: 3, numLayers: 1, dropout: 0, embeddingSize: null, cell: 'lstm', init: 'd2l', initScale: 0.01,
      seed: 0, dtype: 'float32',
    });
    expect(Object.isFrozen(c)).toBe(true);
    const given = { vocabSize: 9, numHiddens: 4, numLayers: 3, dropout: 0.5, embeddingSize: 2, cell: 'lstm', init: 'pytorch', initScale: 0.5, seed: 7, dtype: 'float64' } as const;
    expect(resolveConfig(given)).toEqual(given);
  });

  it('accepts the bounds of every interval', () => {
    expect(resolveConfig({ ...base, dropout: 0 }).dropout).toBe(0);
    expect(resolveConfig({ ...base, dropout: 0.999 }).dropout).toBe(0.999);
    expect(resolveConfig({ ...base, initScale: 0 }).initScale).toBe(0);
    expect(resolveConfig({ ...base, initScale: 1000 }).initScale).toBe(1000);
    expect(resolveConfig({ ...base, seed: 0 }).seed).toBe(0);
    expect(resolveConfig({ ...base, seed: 4294967295 }).seed).toBe(4294967295);
    expect(resolveConfig({ ...base, embeddingSize: null }).embeddingSize).toBe(null);
    expect(resolveConfig({ ...base, embeddingSize: 1 }).embeddingSize).toBe(1);
    expect(resolveConfig({ ...base, cell: 'lstm' }).cell).toBe('lstm');
    expect(resolveConfig({ ...base, init: 'd2l' }).init).toBe('d2l');
    expect(resolveConfig({ ...base, dtype: 'float32' }).dtype).toBe('float32');
  });

  const bad: [string, object, ErrorConstructor, RegExp][] = [
    ['vocabSize 0', { vocabSize: 0 }, RangeError, /^Expected `vocabSize` to be a positive integer, got 0\.$/],
    ['numHiddens 1.5', { numHiddens: 1.5 }, TypeError, /^Expected `numHiddens` to be a positive integer, got 1\.5\.$/],
    ['numLayers 0', { numLayers: 0 }, RangeError, /^Expected `numLayers` to be a positive integer, got 0\.$/],
    ['dropout "0.1"', { dropout: '0.1' }, TypeError, /^Expected `dropout` to be a number in \[0, 1\), got "0\.1"\.$/],
    ['dropout 1', { dropout: 1 }, RangeError, /^Expected `dropout` to be a number in \[0, 1\), got 1\.$/],
    ['dropout -0.1', { dropout: -0.1 }, RangeError, /^Expected `dropout` to be a number in \[0, 1\), got -0\.1\.$/],
    ['dropout NaN', { dropout: NaN }, RangeError, /^Expected `dropout` to be a number in \[0, 1\), got NaN\.$/],
    ['embeddingSize 0', { embeddingSize: 0 }, RangeError, /^Expected `embeddingSize` to be a positive integer, got 0\.$/],
    ['embeddingSize 2.5', { embeddingSize: 2.5 }, TypeError, /^Expected `embeddingSize` to be a positive integer, got 2\.5\.$/],
    ['cell "gru"', { cell: 'gru' }, RangeError, /^Expected `cell` to be 'lstm', got "gru"\.$/],
    ['cell null', { cell: null }, RangeError, /^Expected `cell` to be 'lstm', got null\.$/],
    ['init "xavier"', { init: 'xavier' }, RangeError, /^Expected `init` to be 'd2l' or 'pytorch', got "xavier"\.$/],
    ['initScale "1"', { initScale: '1' }, TypeError, /^Expected `initScale` to be a finite number in \[0, 1000\], got "1"\.$/],
    ['initScale Infinity', { initScale: Infinity }, RangeError, /^Expected `initScale` to be a finite number in \[0, 1000\], got Infinity\.$/],
    ['initScale NaN', { initScale: NaN }, RangeError, /got NaN\.$/],
    ['initScale -1e-9', { initScale: -1e-9 }, RangeError, /got -1e-9\.$/],
    ['initScale 1000.5', { initScale: 1000.5 }, RangeError, /got 1000\.5\.$/],
    ['seed "1"', { seed: '1' }, TypeError, /^Expected `seed` to be an integer in \[0, 2\^32\), got "1"\.$/],
    ['seed 0.5', { seed: 0.5 }, TypeError, /^Expected `seed` to be an integer in \[0, 2\^32\), got 0\.5\.$/],
    ['seed -1', { seed: -1 }, RangeError, /^Expected `seed` to be an integer in \[0, 2\^32\), got -1\.$/],
    ['seed 2^32', { seed: 4294967296 }, RangeError, /^Expected `seed` to be an integer in \[0, 2\^32\), got 4294967296\.$/],
    ['dtype "float16"', { dtype: 'float16' }, RangeError, /^Expected `dtype` to be 'float32' or 'float64', got "float16"\.$/],
  ];
  for (const [label, patch, type, message] of bad) {
    it(`refuses ${label}`, () => {
      const call = () => resolveConfig({ ...base, ...patch } as never);
      expect(call).toThrow(type);
      expect(call).toThrow(message);
    });
  }
});

describe('inputSize', () => {
  it('is V (one-hot) or E (embedding) for layer 0, H above', () => {
    const oneHot = resolveConfig({ vocabSize: 7, numHiddens: 4, numLayers: 3 });
    expect([0, 1, 2].map((l) => inputSize(oneHot, l))).toEqual([7, 4, 4]);
    const embedded = resolveConfig({ vocabSize: 7, numHiddens: 4, numLayers: 2, embeddingSize: 2 });
    expect([0, 1].map((l) => inputSize(embedded, l))).toEqual([2, 4]);
  });
});

describe('fillDropoutMask', () => {
  it('keeps each element with probability 1 − p as 1/(1 − p), from one 32-bit draw per element, in order', () => {
    const p = 0.25, n = 4000;
    const mask = new Float64Array(n + 3).fill(7);
    const rng = new Random(5), twin = new Random(5);
    fillDropoutMask(mask, n, p, rng);
    let kept = 0;
    for (let i = 0; i < n; i++) {
      const u = twin.nextUint32();
      const expected = u < 0.75 * 2 ** 32 ? 1 / 0.75 : 0;
      expect(mask[i]).toBe(expected);
      if (mask[i] !== 0) kept++;
    }
    expect(Array.from(mask.subarray(n))).toEqual([7, 7, 7]); // only `length` elements
    expect(rng.nextUint32()).toBe(twin.nextUint32()); // exactly n draws
    expect(kept / n).toBeGreaterThan(0.72);
    expect(kept / n).toBeLessThan(0.78);
  });

  it('keeps a draw strictly below (1 − p)·2^32: P(keep) is exactly 1 − p', () => {
    const at = (u: number) => {
      const mask = new Float64Array(1);
      fillDropoutMask(mask, 1, 0.25, { nextUint32: () => u } as unknown as Random);
      return mask[0];
    };
    expect(at(0.75 * 2 ** 32 - 1)).toBe(4 / 3);
    expect(at(0.75 * 2 ** 32)).toBe(0);
    expect(at(0)).toBe(4 / 3);
  });

  it('p = 0 keeps everything at scale 1', () => {
    const mask = new Float32Array(50);
    fillDropoutMask(mask, 50, 0, new Random(1));
    expect(Array.from(mask)).toEqual(new Array(50).fill(1));
  });
});

describe('parameterLayout / parameterCount', () => {
  it('one layer, one-hot: d2l\'s 14 tensors in order, with shapes, offsets, sizes and kinds', () => {
    const V = 5, H = 3;
    const layout = parameterLayout({ vocabSize: V, numHiddens: H });
    const expected: [string, number[], string][] = [];
    for (const g of GATES) expected.push([`W_x${g}`, [V, H], 'weight'], [`W_h${g}`, [H, H], 'weight'], [`b_${g}`, [H], 'bias']);
    expected.push(['W_hq', [H, V], 'weight'], ['b_q', [V], 'bias']);
    let offset = 0;
    expect(layout.specs).toHaveLength(14);
    layout.specs.forEach((s, k) => {
      const [name, shape, kind] = expected[k]!;
      const size = shape.reduce((a, b) => a * b, 1);
      expect(s).toEqual({ name, shape, offset, size, kind });
      offset += size;
    });
    expect(layout.count).toBe(offset);
    expect(layout.count).toBe(parameterCount({ vocabSize: V, numHiddens: H }));
    expect(layout.count).toBe(4 * (V * H + H * H + H) + H * V + V);
    expect(layout.embed).toBe(-1);
    expect(layout.layers).toHaveLength(1);
    expect(layout.layers[0]!.inputSize).toBe(V);
    const at = (name: string) => layout.specs.find((s) => s.name === name)!.offset;
    expect(layout.layers[0]!.gates).toEqual(GATES.map((g) => ({ W_x: at(`W_x${g}`), W_h: at(`W_h${g}`), b: at(`b_${g}`) })));
    expect(layout.output).toEqual({ W_hq: at('W_hq'), b_q: at('b_q') });
  });

  it('three layers with an embedding: W_embed first, layer{l}. prefixes, [H, H] inputs above layer 0', () => {
    const V = 6, H = 2, E = 4, L = 3;
    const layout = parameterLayout({ vocabSize: V, numHiddens: H, numLayers: L, embeddingSize: E });
    expect(layout.specs[0]).toEqual({ name: 'W_embed', shape: [V, E], offset: 0, size: V * E, kind: 'embedding' });
    expect(layout.embed).toBe(0);
    expect(layout.layers.map((l) => l.inputSize)).toEqual([E, H, H]);
    const byName = Object.fromEntries(layout.specs.map((s) => [s.name, s]));
    expect(byName['W_xi']!.shape).toEqual([E, H]);
    expect(byName['W_xi']!.offset).toBe(V * E);
    expect(byName['layer1.W_xi']!.shape).toEqual([H, H]);
    expect(byName['layer2.b_c']).toMatchObject({ shape: [H], kind: 'bias' });
    expect(layout.layers[2]!.gates[3]!.b).toBe(byName['layer2.b_c']!.offset);
    expect(layout.specs.map((s) => s.name).slice(-2)).toEqual(['W_hq', 'b_q']);
    const count = V * E + 4 * (E * H + H * H + H) + (L - 1) * 4 * (H * H + H * H + H) + H * V + V;
    expect(layout.count).toBe(count);
    expect(parameterCount({ vocabSize: V, numHiddens: H, numLayers: L, embeddingSize: E })).toBe(count);
    expect(parameterCount({ vocabSize: V, numHiddens: H, numLayers: 2 })).toBe(parameterLayout({ vocabSize: V, numHiddens: H, numLayers: 2 }).count);
    expect(parameterCount({ vocabSize: V, numHiddens: H, embeddingSize: E })).toBe(parameterLayout({ vocabSize: V, numHiddens: H, embeddingSize: E }).count);
  });

  it('parameterCount is ∞, never NaN, for a size too large to represent', () => {
    expect(parameterCount({ vocabSize: 5, numHiddens: 3e234 })).toBe(Infinity);
    expect(parameterCount({ vocabSize: 5, numHiddens: 3e234, numLayers: 1, embeddingSize: null })).toBe(Infinity);
  });
});
