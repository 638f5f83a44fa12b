// Tests that pin train()/trainEpoch() exactly (issue 13: mutants of src/train/train.ts that no
// test noticed): the loss and perplexity sums, the gradient-norm, throughput and time formulas,
// the state policy on random loaders and changing batch sizes, the non-finite check before the
// step, an abort during the last batch, and the options that must be refused.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LSTMLanguageModel } from '../../src/lstm/model.js';
import { SeqDataLoader } from '../../src/data/loader.js';
import { SGD } from '../../src/optim/sgd.js';
import { train, trainEpoch, TrainingDivergedError } from '../../src/train/train.js';
import { Random } from '../../src/tensor/random.js';
import type { TokenMatrix } from '../../src/lstm/inputs.js';

type Batch = { X: TokenMatrix; Y: TokenMatrix };
const V = 6, H = 5;
const rng = new Random(3);
const corpus = Int32Array.from({ length: 200 }, () => rng.int(V));

function batchOf(B: number, T: number, start: number): Batch {
  const x = new Int32Array(B * T), y = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    x.set(corpus.subarray(start + b * 30, start + b * 30 + T), b * T);
    y.set(corpus.subarray(start + b * 30 + 1, start + b * 30 + T + 1), b * T);
  }
  return { X: { data: x, batchSize: B, numSteps: T }, Y: { data: y, batchSize: B, numSteps: T } };
}

const source = (batches: Batch[], random?: boolean) => ({ random, [Symbol.iterator]: () => batches[Symbol.iterator]() });

interface Call { loss: number; norm: number; hIn: Float32Array | Float64Array; hOut: Float32Array | Float64Array; n: number }

/** A model whose forwardBackward records each batch: its loss, gradient norm, and state in and out. */
function recorded(seed = 1) {
  const model = new LSTMLanguageModel({ vocabSize: V, numHiddens: H, seed, initScale: 0.5 });
  const calls: Call[] = [];
  const original = model.forwardBackward.bind(model);
  const hooks: { before?: (i: number) => void; loss?: (i: number, loss: number) => number } = {};
  vi.spyOn(model, 'forwardBackward').mockImplementation((X, Y, state) => {
    hooks.before?.(calls.length);
    const hIn = state!.h.slice();
    const result = original(X, Y, state);
    let sumSquares = 0; // the norm as clipGradNorm computes it: float64, parameters in order
    for (const { grad } of model.parameters()) for (let i = 0; i < grad.length; i++) sumSquares += grad[i]! * grad[i]!;
    const loss = hooks.loss?.(calls.length, result.loss) ?? result.loss;
    const m = X as TokenMatrix;
    calls.push({ loss, norm: Math.sqrt(sumSquares), hIn, hOut: state!.h.slice(), n: m.batchSize * m.numSteps });
    return { ...result, loss };
  });
  return { model, calls, hooks };
}

afterEach(() => vi.restoreAllMocks());

describe('trainEpoch figures', () => {
  it('loss is the token-weighted mean of the batch losses, perplexity its exp, gradNorm the mean norm before clipping', () => {
    const { model, calls } = recorded();
    const batches = [batchOf(2, 4, 0), batchOf(3, 2, 10), batchOf(1, 7, 20)];
    const stats = trainEpoch(model, source(batches), new SGD(model.parameters(), { lr: 0.5 }), { clipNorm: 0.05 });
    expect(calls).toHaveLength(3);
    const tokens = calls.reduce((s, c) => s + c.n, 0);
    let lossSum = 0;
    for (const c of calls) lossSum += c.loss * c.n;
    expect(stats.tokens).toBe(tokens);
    expect(stats.batches).toBe(3);
    expect(stats.loss).toBe(lossSum / tokens);
    expect(stats.perplexity).toBe(Math.exp(lossSum / tokens));
    expect(stats.gradNorm).toBe((calls[0]!.norm + calls[1]!.norm + calls[2]!.norm) / 3);
    expect(calls.every((c) => c.norm > 0.05)).toBe(true); // clipping fired, and the norm reported is the one before it
    expect(stats.epoch).toBe(1);
    expect(stats.aborted).toBe(false);
  });

  it('tokensPerSecond is tokens over the epoch\'s seconds; elapsedMs counts from the start of training', () => {
    let clock = 1000;
    const times: number[] = [];
    vi.spyOn(globalThis.performance, 'now').mockImplementation(() => {
      times.push(clock);
      clock += 250;
      return times.at(-1)!;
    });
    const model = new LSTMLanguageModel({ vocabSize: V, numHiddens: H, seed: 1 });
    const batches = [batchOf(2, 4, 0), batchOf(2, 4, 4)];
    const history = train(model, source(batches), new SGD(model.parameters(), { lr: 0.1 }), { epochs: 2 });
    expect(times).toEqual([1000, 1250, 1500, 1750, 2000]); // run start, then (epoch start, epoch end) × 2
    expect(history[0]!.tokensPerSecond).toBe(16 / 0.25);
    expect(history[0]!.elapsedMs).toBe(500);
    expect(history[1]!.tokensPerSecond).toBe(16 / 0.25);
    expect(history[1]!.elapsedMs).toBe(1000);
    expect(history.map((s) => s.epoch)).toEqual([1, 2]);
    clock = 0;
    times.length = 0;
    const one = trainEpoch(model, source(batches), new SGD(model.parameters(), { lr: 0.1 }));
    expect(times).toEqual([0, 250, 500]); // trainEpoch: its start, then the epoch's start and end
    expect(one.elapsedMs).toBe(500);
    expect(one.tokensPerSecond).toBe(16 / 0.25);
  });
});

describe('trainEpoch state policy', () => {
  const isZero = (a: ArrayLike<number>) => Array.prototype.every.call(a, (v: number) => v === 0);

  it("'carry' carries the state even on a random loader; 'auto' resets it there", () => {
    const batches = [batchOf(2, 3, 0), batchOf(2, 3, 5), batchOf(2, 3, 9)];
    for (const [policy, carry] of [['carry', true], ['auto', false], ['reset', false]] as const) {
      const { model, calls } = recorded();
      trainEpoch(model, source(batches, true), new SGD(model.parameters(), { lr: 0.1 }), { statePolicy: policy });
      expect(isZero(calls[0]!.hIn)).toBe(true);
      for (const i of [1, 2]) {
        if (carry) expect(calls[i]!.hIn).toEqual(calls[i - 1]!.hOut);
        else expect(isZero(calls[i]!.hIn)).toBe(true);
      }
      expect(isZero(calls[1]!.hOut)).toBe(false);
    }
  });

  it("'auto' carries on a sequential loader, and every epoch starts from zeros", () => {
    const { model, calls } = recorded();
    train(model, source([batchOf(2, 3, 0), batchOf(2, 3, 5)]), new SGD(model.parameters(), { lr: 0.1 }), { epochs: 2 });
    expect(calls[1]!.hIn).toEqual(calls[0]!.hOut);
    expect(isZero(calls[2]!.hIn)).toBe(true);
    expect(calls[3]!.hIn).toEqual(calls[2]!.hOut);
  });

  it('a batch size that changes between batches starts from zeros of the new size, then carries again', () => {
    const { model, calls } = recorded();
    const batches = [batchOf(2, 3, 0), batchOf(3, 3, 5), batchOf(3, 2, 9), batchOf(2, 3, 12)];
    const stats = trainEpoch(model, source(batches), new SGD(model.parameters(), { lr: 0.1 }));
    expect(calls.map((c) => c.hIn.length)).toEqual([2 * H, 3 * H, 3 * H, 2 * H]);
    expect(isZero(calls[1]!.hIn)).toBe(true);
    expect(calls[2]!.hIn).toEqual(calls[1]!.hOut);
    expect(isZero(calls[3]!.hIn)).toBe(true);
    expect(stats.tokens).toBe(6 + 9 + 6 + 6);
  });
});

describe('trainEpoch faults', () => {
  it('a non-finite loss stops before the step: no update, the weights whose loss was finite restored', () => {
    const { model, calls, hooks } = recorded();
    const sgd = new SGD(model.parameters(), { lr: 0.1 });
    const step = vi.spyOn(sgd, 'step');
    const initial = model.flatParameters.slice();
    hooks.loss = (i, loss) => (i === 1 ? NaN : loss); // finite gradients, a NaN loss
    const batches = [batchOf(2, 3, 0), batchOf(2, 3, 5), batchOf(2, 3, 9)];
    let error: unknown;
    try {
      trainEpoch(model, source(batches), sgd);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TrainingDivergedError);
    expect((error as Error).message).toMatch(/^Training diverged at epoch 1, batch 2: non-finite loss or gradient \(loss NaN, gradient norm \d/);
    expect(step).toHaveBeenCalledTimes(1); // for the first batch only
    expect(calls).toHaveLength(2);
    // Back to the weights from before the last update (those whose loss was finite).
    expect(model.flatParameters).toEqual(initial);
    expect(model.flatGradients.every((g) => g === 0)).toBe(true);
  });

  it('an abort during the last batch ends training there: no extra, empty epoch', () => {
    const { model, hooks } = recorded();
    const controller = new AbortController();
    hooks.before = (i) => { if (i === 2) controller.abort(); };
    const seen: number[] = [];
    const history = train(model, source([batchOf(2, 3, 0), batchOf(2, 3, 5), batchOf(2, 3, 9)]), new SGD(model.parameters(), { lr: 0.1 }), {
      epochs: 3, signal: controller.signal, onEpoch: (s) => seen.push(s.epoch),
    });
    expect(history).toHaveLength(1);
    expect(seen).toEqual([1]);
    expect(history[0]!.batches).toBe(3);
    expect(history[0]!.aborted).toBe(true);
    expect(Number.isFinite(history[0]!.loss)).toBe(true);
  });

  it('an abort before a batch stops before it; the figures cover the batches done', () => {
    const { model, hooks, calls } = recorded();
    const controller = new AbortController();
    hooks.before = (i) => { if (i === 0) controller.abort(); };
    const stats = trainEpoch(model, source([batchOf(2, 3, 0), batchOf(2, 3, 5)]), new SGD(model.parameters(), { lr: 0.1 }), { signal: controller.signal });
    expect(calls).toHaveLength(1);
    expect(stats.batches).toBe(1);
    expect(stats.tokens).toBe(6);
    expect(stats.aborted).toBe(true);
  });
});

describe('train options', () => {
  const model = new LSTMLanguageModel({ vocabSize: V, numHiddens: H, seed: 1 });
  const loader = new SeqDataLoader(corpus, { batchSize: 2, numSteps: 5 });
  const sgd = () => new SGD(model.parameters(), { lr: 0.1 });

  it('refuses epochs that are not a positive integer, and changes nothing', () => {
    const before = model.flatParameters.slice();
    for (const epochs of [NaN, '3', 1.5, 0, -1, Infinity, undefined]) {
      expect(() => train(model, loader, sgd(), { epochs } as never)).toThrow(RangeError);
      expect(() => train(model, loader, sgd(), { epochs } as never)).toThrow(/^Expected `epochs` to be a positive integer, got /);
    }
    expect(() => train(model, loader, sgd(), { epochs: '3' } as never)).toThrow(/got "3"\.$/);
    expect(model.flatParameters).toEqual(before);
  });

  it('refuses clipNorm 0, negative, NaN or a string; lr 0 is refused by the optimiser', () => {
    for (const clipNorm of [0, -1, NaN, '1']) {
      expect(() => trainEpoch(model, loader, sgd(), { clipNorm } as never)).toThrow(RangeError);
      expect(() => trainEpoch(model, loader, sgd(), { clipNorm } as never)).toThrow(/^Expected `clipNorm` to be a positive number, got /);
    }
    expect(() => new SGD(model.parameters(), { lr: 0 })).toThrow(/^Expected `lr` to be a positive finite number, got 0\.$/);
    expect(() => trainEpoch(model, loader, sgd(), { statePolicy: 'keep' } as never)).toThrow(
      /^Expected `statePolicy` to be 'auto', 'carry' or 'reset', got "keep"\.$/,
    );
    expect(() => train(model, loader, sgd(), { epochs: 1, onEpoch: 1 } as never)).toThrow(/^Expected `onEpoch` to be a function, got 1\.$/);
  });

  // Issue 13: an epoch of a loader that yields nothing reported NaN figures instead of an error.
  it('refuses a loader that yields no batch (the figures would be NaN), changing nothing', () => {
    const before = model.flatParameters.slice();
    expect(() => trainEpoch(model, source([]), sgd())).toThrow(RangeError);
    expect(() => trainEpoch(model, source([]), sgd())).toThrow(/^Expected `loader` to yield at least one batch per epoch, got none in epoch 1/);
    expect(model.flatParameters).toEqual(before);
  });
});
