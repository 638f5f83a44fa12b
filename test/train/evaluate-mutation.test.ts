// Tests that pin the exact behaviour of perplexity() and evaluate() (issue 13: mutants that
// survived a tolerance of 0.5): the state carried or reset between loader batches, batch
// sizes that change, token weighting, empty loaders and corpora that are not array-like.
import { describe, expect, it } from 'vitest';
import { LSTMLanguageModel } from '../../src/lstm/model.js';
import { SeqDataLoader } from '../../src/data/loader.js';
import { corpusStreams, evaluate, perplexity } from '../../src/train/evaluate.js';
import { Random } from '../../src/tensor/random.js';
import type { TokenMatrix } from '../../src/lstm/inputs.js';

type Batch = { X: TokenMatrix; Y: TokenMatrix };

const V = 7;
const rng = new Random(11);
const corpus = Int32Array.from({ length: 300 }, () => rng.int(V));
const model = new LSTMLanguageModel({ vocabSize: V, numHiddens: 6, seed: 5, initScale: 0.8 });

/** A loader-like source over fixed batches (no `length`, so perplexity reads it as a loader). */
function source(batches: Batch[], random?: boolean): Iterable<Batch> & { random?: boolean } {
  return { random, [Symbol.iterator]: () => batches[Symbol.iterator]() };
}

function batch(rows: number[][]): Batch {
  const B = rows.length, T = rows[0]!.length - 1;
  const x = new Int32Array(B * T), y = new Int32Array(B * T);
  rows.forEach((r, b) => {
    x.set(r.slice(0, T), b * T);
    y.set(r.slice(1), b * T);
  });
  return { X: { data: x, batchSize: B, numSteps: T }, Y: { data: y, batchSize: B, numSteps: T } };
}

/** The token-weighted mean loss, the state carried (same B) or reset, computed by hand. */
function reference(batches: Batch[], carry: boolean): number {
  let state = model.initState(1);
  let lossSum = 0, tokens = 0;
  for (const { X, Y } of batches) {
    if (!carry || state.h.length !== model.numLayers * X.batchSize * model.numHiddens) state = model.initState(X.batchSize);
    const n = X.batchSize * X.numSteps;
    lossSum += model.loss(X, Y, state) * n;
    tokens += n;
  }
  return lossSum / tokens;
}

const rowsFrom = (start: number, B: number, T: number) =>
  Array.from({ length: B }, (_, b) => Array.from(corpus.subarray(start + b * 40, start + b * 40 + T + 1)));

describe('perplexity(model, loader)', () => {
  const batches = [batch(rowsFrom(0, 2, 5)), batch(rowsFrom(5, 2, 5)), batch(rowsFrom(10, 2, 5))];

  it('carries the state between the batches of a sequential loader, exactly', () => {
    const carried = reference(batches, true);
    const reset = reference(batches, false);
    expect(Math.abs(carried - reset)).toBeGreaterThan(1e-4); // the test can tell them apart
    expect(perplexity(model, source(batches))).toBe(Math.exp(carried));
    expect(perplexity(model, source(batches, false))).toBe(Math.exp(carried));
  });

  it('resets the state for every batch of a random loader, exactly', () => {
    expect(perplexity(model, source(batches, true))).toBe(Math.exp(reference(batches, false)));
  });

  it('weights batches by their tokens, and starts afresh when the batch size changes', () => {
    const mixed = [batch(rowsFrom(0, 2, 5)), batch(rowsFrom(5, 3, 2)), batch(rowsFrom(7, 3, 4)), batch(rowsFrom(11, 1, 9))];
    const expected = reference(mixed, true);
    expect(perplexity(model, source(mixed))).toBe(Math.exp(expected));
    const unweighted = mixed.reduce((s, b) => s + model.loss(b.X, b.Y), 0) / mixed.length;
    expect(Math.abs(expected - unweighted)).toBeGreaterThan(1e-4);
  });

  it('equals a SeqDataLoader epoch replayed by hand', () => {
    for (const random of [false, true]) {
      const loader = new SeqDataLoader(corpus, { batchSize: 3, numSteps: 8, seed: 4, random });
      const replay = new SeqDataLoader(corpus, { batchSize: 3, numSteps: 8, seed: 4, random });
      expect(perplexity(model, loader)).toBe(Math.exp(reference([...replay], !random)));
    }
  });

  it('rejects a loader that yields nothing (no NaN), and options that are not an object', () => {
    expect(() => perplexity(model, source([]))).toThrow(RangeError);
    expect(() => perplexity(model, source([]))).toThrow(/^Expected `data` to yield at least one batch, got none\.$/);
    expect(() => perplexity(model, corpus, null as never)).toThrow(TypeError);
    expect(() => perplexity(model, corpus, null as never)).toThrow(/^Expected `options` to be an object like \{ numSteps: 35 \}, got null\.$/);
    expect(() => perplexity(null as never, corpus)).toThrow(/^Expected `model` to be an LSTMLanguageModel, got null\.$/);
    expect(() => perplexity({ loss: 1 } as never, corpus)).toThrow(TypeError);
  });
});

describe('perplexity(model, corpus)', () => {
  it('is the loss of one stream over every token but the first, the state carried across chunks', () => {
    const ids = Array.from(corpus.subarray(0, 23));
    const whole = model.loss([ids.slice(0, -1)], [ids.slice(1)]);
    for (const numSteps of [1, 5, 22, 23, 100]) expect(Math.log(perplexity(model, ids, { numSteps }))).toBeCloseTo(whole, 6);
    expect(Math.log(perplexity(model, [1, 2]))).toBeCloseTo(model.loss([[1]], [[2]]), 12);
  });

  it('rejects a corpus that is not array-like, a negative length included (issue 13)', () => {
    for (const bad of [{ length: -1 }, { length: 1.5 }, { length: '3' }, 'abc', 5, null]) {
      expect(() => perplexity(model, bad as never)).toThrow(TypeError);
      expect(() => perplexity(model, bad as never)).toThrow(/^Expected `data` to be a corpus of token ids or a loader, got /);
    }
    expect(() => perplexity(model, { length: -1 } as never)).toThrow(/got an object of length -1\.$/);
    expect(() => perplexity(model, [4, -1])).toThrow(/^Expected `data\[1\]` to be a token id in \[0, 7\), got -1\.$/);
    expect(() => perplexity(model, [7, 1])).toThrow(RangeError);
    expect(() => perplexity(model, ['1', 2] as never)).toThrow(/^Expected `data` to hold integer token ids, got "1" at index 0\.$/);
    expect(() => perplexity(model, [])).toThrow(/^Expected `data` to hold at least 2 tokens \(one to read, one to predict\), got 0\.$/);
  });
});

describe('evaluate', () => {
  it('reads a corpus as B streams in chunks of T, the state carried through each stream', async () => {
    const ids = corpus.subarray(0, 61); // B = 3: L = 20, chunks of 8, 8, 4
    const chunks = [...corpusStreams(ids, 3, 8)];
    expect(chunks.map((c) => c.X.numSteps)).toEqual([8, 8, 4]);
    expect(Array.from(chunks[1]!.X.data.subarray(0, 8))).toEqual(Array.from(ids.subarray(8, 16)));
    expect(Array.from(chunks[2]!.Y.data.subarray(4, 8))).toEqual(Array.from(ids.subarray(37, 41))); // row 1 (t = 4): 20 + 16 + 1
    const expected = reference(chunks, true);
    const r = await evaluate(model, ids, { batchSize: 3, numSteps: 8 });
    expect(r.tokens).toBe(60);
    expect(r.loss).toBe(expected);
    expect(r.perplexity).toBe(Math.exp(expected));
  });

  it('gives a loader the same figures as perplexity', async () => {
    const batches = [batch(rowsFrom(0, 2, 5)), batch(rowsFrom(5, 2, 5))];
    for (const random of [false, true]) {
      const r = await evaluate(model, source(batches, random));
      expect(r.perplexity).toBe(perplexity(model, source(batches, random)));
      expect(r.tokens).toBe(20);
    }
    await expect(evaluate(model, source([]))).rejects.toThrow(/^Expected `data` to yield at least one batch, got none\.$/);
  });

  it('rejects bad arguments with TypeError/RangeError naming them', async () => {
    await expect(evaluate(model, { length: -1 } as never)).rejects.toThrow(TypeError);
    await expect(evaluate(model, { length: -1 } as never)).rejects.toThrow(/^Expected `data` to be a corpus of token ids or a loader, got an object of length -1\.$/);
    await expect(evaluate(model, corpus, { batchSize: 4, numSteps: 100 })).rejects.toThrow(
      /^Expected `data` to hold at least 401 tokens \(one batch of batchSize 4 × numSteps 100, plus one\), got 300\.$/,
    );
    await expect(evaluate(model, [1, 2, 9], { batchSize: 1, numSteps: 1 })).rejects.toThrow(/^Expected `data\[2\]` to be a token id in \[0, 7\), got 9\.$/);
    await expect(evaluate(model, corpus, { batchSize: 0 })).rejects.toThrow(RangeError);
    await expect(evaluate(model, corpus, null as never)).rejects.toThrow(/^Expected `options` to be an object, got null\.$/);
    await expect(evaluate(model, corpus, { signal: {} as AbortSignal })).rejects.toThrow(/^Expected `signal` to be an AbortSignal, got an object\.$/);
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(evaluate(model, corpus, { batchSize: 2, numSteps: 10, signal: controller.signal })).rejects.toThrow('stop');
    expect(model.training).toBe(true);
  });
});

describe('perplexity and evaluate argument checks, exactly', () => {
  it('name the model, the ids and the corpus precisely', async () => {
    for (const bad of [undefined, null, 5, {}]) {
      expect(() => perplexity(bad as never, corpus)).toThrow(/^Expected `model` to be an LSTMLanguageModel, got /);
      await expect(evaluate(bad as never, corpus)).rejects.toThrow(/^Expected `model` to be an LSTMLanguageModel, got /);
    }
    expect(() => perplexity(model, [7, 1])).toThrow(/^Expected `data\[0\]` to be a token id in \[0, 7\), got 7\.$/);
    expect(() => perplexity(model, 5 as never)).toThrow(/^Expected `data` to be a corpus of token ids or a loader, got 5\.$/);
    expect(() => perplexity(model, { length: 2 ** 32 } as never)).toThrow(TypeError);
    await expect(evaluate(model, { length: 2 ** 32 } as never)).rejects.toThrow(/got an object of length 4294967296\.$/);
    await expect(evaluate(model, [1, 7], { batchSize: 1, numSteps: 1 })).rejects.toThrow(/^Expected `data\[1\]` to be a token id in \[0, 7\), got 7\.$/);
    await expect(evaluate(model, [1, -1], { batchSize: 1, numSteps: 1 })).rejects.toThrow(/^Expected `data\[1\]` to be a token id in \[0, 7\), got -1\.$/);
    await expect(evaluate(model, [1, '2'] as never, { batchSize: 1, numSteps: 1 })).rejects.toThrow(/^Expected `data` to hold integer token ids, got "2" at index 1\.$/);
    await expect(evaluate(model, corpus, 5 as never)).rejects.toThrow(/^Expected `options` to be an object, got 5\.$/);
    await expect(evaluate(model, corpus, { batchSize: 0 })).rejects.toThrow(/^Expected `batchSize` to be a positive integer, got 0\.$/);
    await expect(evaluate(model, corpus, { numSteps: 1.5 })).rejects.toThrow(/^Expected `numSteps` to be a positive integer, got 1\.5\.$/);
    for (const signal of [null, 5, 'abort']) {
      await expect(evaluate(model, corpus, { signal } as never)).rejects.toThrow(/^Expected `signal` to be an AbortSignal, got /);
    }
  });

  it('evaluate takes exactly B·T + 1 tokens, and reads a stream length that T divides without an empty chunk', async () => {
    expect(() => perplexity(model, corpus, 5 as never)).toThrow(/^Expected `options` to be an object like \{ numSteps: 35 \}, got 5\.$/);
    await expect(evaluate(model, corpus.subarray(0, 12), { batchSize: 3, numSteps: 4 })).rejects.toThrow(/at least 13 tokens .*, got 12\.$/);
    const exact = corpus.subarray(0, 3 * 4 + 1);
    expect((await evaluate(model, exact, { batchSize: 3, numSteps: 4 })).tokens).toBe(12);
    expect([...corpusStreams(corpus.subarray(0, 61), 3, 10)].map((c) => c.X.numSteps)).toEqual([10, 10]); // L = 20
    expect([...corpusStreams(corpus.subarray(0, 60), 3, 5)].map((c) => c.X.numSteps)).toEqual([5, 5, 5, 4]); // L = ⌊59/3⌋ = 19
    const r = await evaluate(model, corpus.subarray(0, 60), { batchSize: 3, numSteps: 5 });
    expect(r.tokens).toBe(57);
  });
});
