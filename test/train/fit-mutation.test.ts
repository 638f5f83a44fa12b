// fit()'s loop exactly (issue 13: src/train/fit.ts), on a tiny js model: the callbacks'
// figures against a fake clock that moves only when the optimiser steps (or the validation
// loss is taken), the stopping rules at their edges and in their order, evaluations, best
// weights, checkpoints, the captured state, resume's checks with their whole messages, and the
// divergence messages. Everything is built inside the tests (a fixture that throws at import
// would hide every test from Stryker).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LSTMLanguageModel } from '../../src/lstm/model.js';
import type { TokenMatrix } from '../../src/lstm/inputs.js';
import { SGD } from '../../src/optim/sgd.js';
import { Adam } from '../../src/optim/adam.js';
import { reduceOnPlateau, stepDecay, type Schedule } from '../../src/optim/schedules.js';
import { SeqDataLoader } from '../../src/data/loader.js';
import { fit, type EpochInfo, type EvalInfo, type FitOptions, type StepInfo, type TrainingState } from '../../src/train/fit.js';
import { evaluate } from '../../src/train/evaluate.js';
import { TrainingDivergedError } from '../../src/train/guard.js';

const V = 5;
/** A corpus where no id follows a fixed one: ids mixed by a small LCG. */
const ids = (n: number, seed = 1): Int32Array => {
  const out = new Int32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = (s >> 16) % V;
  }
  return out;
};
const tiny = (options: object = {}): LSTMLanguageModel =>
  new LSTMLanguageModel({ vocabSize: V, numHiddens: 3, seed: 1, backend: 'js', ...options });

const matrix = (B: number, T: number, from: number): TokenMatrix =>
  ({ data: ids(B * T + 1, from).subarray(0, B * T), batchSize: B, numSteps: T });
/** Batch i of shape B×T (Y is X shifted by one, so the loss is learnable but arbitrary). */
const batchOf = (B: number, T: number, i: number) => ({ X: matrix(B, T, 10 + i), Y: matrix(B, T, 20 + i) });

/** A loader that yields these batches each epoch; `extra` adds properties (numBatches, random, …). */
function listLoader(batches: { X: TokenMatrix; Y: TokenMatrix }[], extra: object = {}) {
  return { [Symbol.iterator]: () => batches[Symbol.iterator](), ...extra };
}

/** A resumable loader: a generator state and epoch({ startBatch }), counting the calls. */
function resumableLoader(batches: { X: TokenMatrix; Y: TokenMatrix }[], iteratorBatches: number | undefined, loaderBatches?: number) {
  const calls: number[] = [];
  let g = 0;
  const loader = {
    get generatorState() { return { words: [g, 0, 0, 1], spare: null }; },
    set generatorState(s: { words: number[]; spare: number | null }) { g = s.words[0]!; },
    epoch({ startBatch = 0 } = {}) {
      calls.push(startBatch);
      g++; // an epoch draws from the generator
      const it = batches.slice(startBatch)[Symbol.iterator]();
      return iteratorBatches === undefined ? it : Object.assign(it, { numBatches: iteratorBatches });
    },
    [Symbol.iterator]() { return this.epoch(); },
    ...(loaderBatches === undefined ? {} : { numBatches: loaderBatches }),
  };
  return { loader, calls };
}

let clock = 1000;
afterEach(() => {
  vi.restoreAllMocks();
});
/** performance.now() reads `clock`, which the tests move. */
function fakeClock(start = 1000): void {
  clock = start;
  vi.spyOn(performance, 'now').mockImplementation(() => clock);
}

/** SGD whose every step takes `ms` of the fake clock. */
class SlowSGD extends SGD {
  ms = 10;
  override step(): void {
    clock += this.ms;
    super.step();
  }
}

const sgd = (model: LSTMLanguageModel, lr = 0.1): SlowSGD => new SlowSGD(model.parameters(), { lr });

describe('fit: what onStep, onEpoch and the result report (fake clock: 10 ms a step)', () => {
  it('step, epoch, batch, tokens, tokens per second, elapsed, eta from maxSteps', async () => {
    fakeClock();
    const model = tiny();
    const loader = listLoader([batchOf(2, 4, 0), batchOf(1, 4, 1), batchOf(2, 4, 2)], { numBatches: 3 });
    const steps: StepInfo[] = [];
    const epochs: EpochInfo[] = [];
    const result = await fit(model, loader, sgd(model), {
      maxSteps: 5, onStep: (s) => { steps.push(s); }, onEpoch: (e) => { epochs.push(e); },
    });
    const tokens = [8, 4, 8, 8, 4];
    let total = 0;
    steps.forEach((s, i) => {
      total += tokens[i]!;
      expect(s).toMatchObject({ step: i + 1, epoch: i < 3 ? 1 : 2, batch: (i % 3) + 1, tokens: total, lr: 0.1 });
      expect(s.elapsedMs).toBe(10 * (i + 1));
      expect(s.tokensPerSecond).toBeCloseTo(total / (0.01 * (i + 1)), 9);
      expect(s.etaMs).toBe(10 * (5 - i - 1));
      expect(s.gradNorm).toBeGreaterThan(0);
    });
    expect(steps).toHaveLength(5);
    const l = steps.map((s) => s.loss);
    expect(epochs).toEqual([{ epoch: 1, loss: (l[0]! * 8 + l[1]! * 4 + l[2]! * 8) / 20, step: 3, elapsedMs: 30 }]);
    expect(result).toMatchObject({ stopReason: 'maxSteps', steps: 5, epochs: 1, tokens: 32, elapsedMs: 50, lastLoss: l[4], evaluations: [], best: null, finalParameters: null });
    expect(result.state).toMatchObject({ step: 5, epoch: 1, batchInEpoch: 2, tokens: 32, epochTokens: 12, pendingEvaluation: null, loaderGenerator: null, validationGenerator: null, optimizer: expect.any(Object) });
    expect(result.state.epochLossSum).toBe(l[3]! * 8 + l[4]! * 4);
  });

  it('eta from epochs: the batches left in this epoch and the epochs after it (iterator numBatches first)', async () => {
    fakeClock();
    const batches = [batchOf(2, 4, 0), batchOf(2, 4, 1), batchOf(2, 4, 2)];
    for (const [iteratorBatches, loaderBatches] of [[3, 99], [undefined, 3]] as const) {
      const model = tiny();
      const { loader } = resumableLoader(batches, iteratorBatches, loaderBatches);
      const etas: (number | null)[] = [];
      await fit(model, loader, sgd(model), { epochs: 2, onStep: (s) => { etas.push(s.etaMs); } });
      expect(etas).toEqual([50, 40, 30, 20, 10, 0]);
    }
  });

  it('eta from the time limit, never below 0; null when nothing says how long', async () => {
    fakeClock();
    let model = tiny();
    const etas: (number | null)[] = [];
    const loader = listLoader([batchOf(2, 4, 0), batchOf(2, 4, 1)]);
    const result = await fit(model, loader, sgd(model), { timeLimit: 0.035, onStep: (s) => { etas.push(s.etaMs); } });
    expect(result.stopReason).toBe('timeLimit');
    expect(etas).toEqual([25, 15, 5, 0]); // 35 − 40 < 0
    model = tiny();
    etas.length = 0;
    await fit(model, loader, sgd(model), { epochs: 2, onStep: (s) => { etas.push(s.etaMs); } }); // no numBatches
    expect(etas).toEqual([null, null, null, null]);
  });

  it('the nearest of maxSteps, epochs and timeLimit', async () => {
    fakeClock();
    const { loader } = resumableLoader([batchOf(2, 4, 0), batchOf(2, 4, 1), batchOf(2, 4, 2)], 3);
    const run = async (options: FitOptions) => {
      const model = tiny();
      const etas: (number | null)[] = [];
      await fit(model, loader, sgd(model), { ...options, onStep: (s) => { etas.push(s.etaMs); } });
      return etas;
    };
    expect(await run({ epochs: 2, maxSteps: 4 })).toEqual([30, 20, 10, 0]);
    expect(await run({ epochs: 1, maxSteps: 6 })).toEqual([20, 10, 0]);
    expect(await run({ epochs: 2, maxSteps: 6, timeLimit: 0.025 })).toEqual([15, 5, 0]);
  });

  it('no training time: tokens per second against 1e-9 s; the elapsed times of an evaluation', async () => {
    fakeClock();
    const model = tiny();
    const loader = listLoader([batchOf(2, 4, 0)]);
    const steps: StepInfo[] = [];
    const opt = sgd(model);
    opt.ms = 0;
    const result = await fit(model, loader, opt, { maxSteps: 2, onStep: (s) => { steps.push(s); } });
    expect(steps.map((s) => s.tokensPerSecond)).toEqual([8 / 1e-9, 16 / 1e-9]);
    expect(steps.map((s) => s.elapsedMs)).toEqual([0, 0]);
    expect(result.elapsedMs).toBe(0);
  });

  it('an epoch without batches: its loss is NaN, and nothing was trained', async () => {
    const model = tiny();
    const epochs: EpochInfo[] = [];
    const result = await fit(model, listLoader([]), sgd(model), { epochs: 2, onEpoch: (e) => { epochs.push(e); } });
    expect(epochs.map((e) => [e.epoch, e.loss, e.step])).toEqual([[1, NaN, 0], [2, NaN, 0]]);
    expect(result).toMatchObject({ stopReason: 'epochs', steps: 0, epochs: 2, tokens: 0, lastLoss: NaN });
  });

  it('model.training: on for the steps, off for the evaluations, and put back as it was', async () => {
    const model = tiny({ dropout: 0.5 });
    const seen: string[] = [];
    const loss = model.loss.bind(model);
    model.loss = (...args: Parameters<typeof loss>) => { seen.push(`eval ${model.training}`); return loss(...args); };
    class Spy extends SGD {
      override step(): void { seen.push(`step ${model.training}`); super.step(); }
    }
    model.training = false;
    const validation = ids(11, 5);
    const loader = listLoader([batchOf(2, 4, 0)], { batchSize: 2, numSteps: 5 });
    await fit(model, loader, new Spy(model.parameters(), { lr: 0.1 }), { epochs: 2, validation });
    expect(seen).toEqual(['step true', 'eval false', 'step true', 'eval false']);
    expect(model.training).toBe(false);
    await fit(model, loader, new SGD(model.parameters(), { lr: 0.1 }), { maxSteps: 1 }); // ends after a step
    expect(model.training).toBe(false);
    // Put back when it rejects too (in an evaluation, with training off).
    model.training = true;
    await expect(fit(model, loader, new SGD(model.parameters(), { lr: 0.1 }), { epochs: 1, validation: listLoader([]) })).rejects.toThrow(RangeError);
    expect(model.training).toBe(true);
  });

  it('yields to the event loop after every step: a timer set before it runs after the first', async () => {
    const model = tiny();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 0);
    const until = performance.now() + 3;
    while (performance.now() < until) { /* the timer is now due */ }
    const result = await fit(model, listLoader([batchOf(2, 4, 0)]), new SGD(model.parameters(), { lr: 0.1 }), {
      maxSteps: 1000, signal: controller.signal,
    });
    expect(result.stopReason).toBe('aborted');
    expect(result.steps).toBeLessThanOrEqual(2);
  });
});

describe('fit: stopping', () => {
  it('an aborted signal stops before the first step', async () => {
    const model = tiny();
    const before = model.flatParameters.slice();
    const result = await fit(model, listLoader([batchOf(2, 4, 0)]), new SGD(model.parameters(), { lr: 0.1 }), {
      maxSteps: 3, signal: AbortSignal.abort(),
    });
    expect(result).toMatchObject({ stopReason: 'aborted', steps: 0, epochs: 0, tokens: 0, lastLoss: NaN });
    expect(model.flatParameters).toEqual(before);
  });

  it('the rules at their edges: maxSteps and epochs exactly, the time limit when reached', async () => {
    fakeClock();
    const loader = listLoader([batchOf(2, 4, 0), batchOf(2, 4, 1)]);
    let model = tiny();
    expect(await fit(model, loader, sgd(model), { maxSteps: 3 })).toMatchObject({ stopReason: 'maxSteps', steps: 3, epochs: 1 });
    model = tiny();
    expect(await fit(model, loader, sgd(model), { epochs: 2 })).toMatchObject({ stopReason: 'epochs', steps: 4, epochs: 2 });
    model = tiny();
    expect(await fit(model, loader, sgd(model), { timeLimit: 0.02 })).toMatchObject({ stopReason: 'timeLimit', steps: 2, elapsedMs: 20 });
  });

  it('in order: aborted, earlyStopping, maxSteps, epochs, timeLimit', async () => {
    fakeClock();
    const loader = listLoader([batchOf(2, 4, 0), batchOf(2, 4, 1)], { batchSize: 2, numSteps: 4 });
    const validation = ids(9, 3);
    // lr 0: every evaluation has the same loss, so the second does not improve (patience 1).
    const still = (model: LSTMLanguageModel) => { const o = sgd(model); o.lr = 0; return o; };
    let model = tiny();
    const controller = new AbortController();
    let r = await fit(model, loader, still(model), {
      maxSteps: 2, validation, evalEvery: 1, patience: 1, signal: controller.signal,
      onEval: (e) => { if (e.step === 2) controller.abort(); },
    });
    expect(r).toMatchObject({ stopReason: 'aborted', steps: 2 });
    expect(r.evaluations.map((e) => e.improved)).toEqual([true, false]);
    model = tiny();
    r = await fit(model, loader, still(model), { maxSteps: 2, validation, evalEvery: 1, patience: 1 });
    expect(r).toMatchObject({ stopReason: 'earlyStopping', steps: 2 });
    expect(r.evaluations.map((e) => [e.step, e.improved, e.bestLoss === r.evaluations[0]!.loss])).toEqual([[1, true, true], [2, false, true]]);
    expect(r.state.evaluationsWithoutImprovement).toBe(1);
    model = tiny();
    r = await fit(model, loader, still(model), { maxSteps: 2, epochs: 1 });
    expect(r).toMatchObject({ stopReason: 'maxSteps', steps: 2, epochs: 0 });
    model = tiny();
    // The epoch's end is seen after step 2; onEpoch then passes the time limit too.
    r = await fit(model, loader, still(model), { maxSteps: 3, epochs: 1, timeLimit: 0.05, onEpoch: () => { clock += 100; } });
    expect(r).toMatchObject({ stopReason: 'epochs', steps: 2, epochs: 1 });
  });

  it('patience counts evaluations without improvement, and an improvement resets it', async () => {
    const model = tiny();
    const loader = listLoader([batchOf(2, 4, 0)], { batchSize: 2, numSteps: 4 });
    const validation = ids(9, 3);
    const o = new SGD(model.parameters(), { lr: 0.5 });
    // Improves while lr > 0; from step 3 on lr is 0, so every later evaluation equals the best or not.
    const r = await fit(model, loader, o, {
      maxSteps: 20, validation, patience: 2, onStep: ({ step }) => { if (step === 2) o.lr = 0; },
    });
    const improved = r.evaluations.map((e) => e.improved);
    expect(improved.slice(-2)).toEqual([false, false]);
    expect(r.stopReason).toBe('earlyStopping');
    expect(r.evaluations.length).toBeGreaterThanOrEqual(3);
  });
});

describe('fit: evaluations', () => {
  it('a validation corpus is read as the training loader\'s B streams of T, or 32 × 35 without them', async () => {
    const validation = ids(1200, 7);
    for (const [extra, B, T] of [[{ batchSize: 3, numSteps: 7 }, 3, 7], [{}, 32, 35], [{ batchSize: '3', numSteps: '7' }, 32, 35]] as const) {
      const model = tiny();
      const o = new SGD(model.parameters(), { lr: 0.1 });
      const r = await fit(model, listLoader([batchOf(2, 4, 0)], extra), o, { epochs: 1, validation });
      const expected = await evaluate(model, validation, { batchSize: B, numSteps: T });
      expect(r.evaluations).toHaveLength(1);
      expect(r.evaluations[0]!.tokens).toBe(expected.tokens);
      expect(r.evaluations[0]!.loss).toBe(expected.loss);
    }
  });

  it('what onEval receives: step, epoch, where, loss, perplexity, tokens, best, lr, elapsed', async () => {
    fakeClock();
    const model = tiny();
    const loader = listLoader([batchOf(2, 4, 0), batchOf(2, 4, 1), batchOf(2, 4, 2)], { batchSize: 2, numSteps: 4 });
    const validation = ids(17, 3);
    const seen: EvalInfo[] = [];
    const r = await fit(model, loader, sgd(model, 0.5), { epochs: 2, validation, evalEvery: 2, onEval: (e) => { seen.push(e); } });
    expect(r.evaluations).toEqual(seen);
    expect(seen.map((e) => [e.step, e.epoch, e.atEpochEnd, e.elapsedMs, e.tokens, e.lr])).toEqual([
      [2, 0, false, 20, 16, 0.5], [3, 1, true, 30, 16, 0.5], [4, 1, false, 40, 16, 0.5], [6, 1, false, 60, 16, 0.5], // not again at 6's epoch end
    ]);
    let best = Infinity;
    for (const e of seen) {
      expect(e.perplexity).toBe(Math.exp(e.loss));
      expect(e.improved).toBe(e.loss < best);
      best = Math.min(best, e.loss);
      expect(e.bestLoss).toBe(best);
    }
    expect(r.best).toMatchObject({ loss: best });
  });

  it('lr: the schedule\'s after a plateau step, the optimiser\'s without a schedule, NaN when it has none', async () => {
    const validation = ids(17, 3);
    const loader = listLoader([batchOf(2, 4, 0)], { batchSize: 2, numSteps: 4 });
    let model = tiny();
    // An optimiser that changes nothing: the plateau schedule lowers its rate after each evaluation past the first.
    const still = { step() {}, lr: 0 };
    const plateau = reduceOnPlateau({ lr: 0.4, factor: 0.5, patience: 0 });
    let r = await fit(model, loader, still as never, { epochs: 3, validation, schedule: plateau });
    expect(r.evaluations.map((e) => e.lr)).toEqual([0.4, 0.2, 0.1]);
    model = tiny();
    const o = new SGD(model.parameters(), { lr: 0.25 });
    r = await fit(model, loader, o, { epochs: 1, validation });
    expect(r.evaluations[0]!.lr).toBe(0.25);
    // A schedule on step: the rate at (step, epoch) after it.
    model = tiny();
    r = await fit(model, loader, new SGD(model.parameters(), { lr: 1 }), {
      epochs: 2, validation, schedule: stepDecay({ lr: 1, every: 1, factor: 0.5, unit: 'epoch' }),
    });
    expect(r.evaluations.map((e) => e.lr)).toEqual([0.5, 0.25]);
    // An optimiser of its own, without lr.
    model = tiny();
    const plain = { step() {} };
    r = await fit(model, loader, plain as never, { epochs: 1, validation });
    expect(r.evaluations[0]!.lr).toBeNaN();
  });

  it('only a reduceOnPlateau schedule is stepped with the loss, and only through a step method', async () => {
    const validation = ids(17, 3);
    const loader = listLoader([batchOf(2, 4, 0)], { batchSize: 2, numSteps: 4 });
    const stepped: number[] = [];
    const other = { name: 'other', lrAt: () => 0.1, step: (loss: number) => { stepped.push(loss); return 0.1; } };
    let model = tiny();
    await fit(model, loader, new SGD(model.parameters(), { lr: 0.1 }), { epochs: 2, validation, schedule: other });
    expect(stepped).toEqual([]);
    const plateauLike = { name: 'reduceOnPlateau', lrAt: () => 0.1, step: (loss: number) => { stepped.push(loss); return 0.1; } };
    model = tiny();
    const r = await fit(model, loader, new SGD(model.parameters(), { lr: 0.1 }), { epochs: 2, validation, schedule: plateauLike });
    expect(stepped).toEqual(r.evaluations.map((e) => e.loss));
    const noStep = { name: 'reduceOnPlateau', lrAt: () => 0.1, step: 1 };
    model = tiny();
    await expect(fit(model, loader, new SGD(model.parameters(), { lr: 0.1 }), { epochs: 1, validation, schedule: noStep as never }))
      .resolves.toMatchObject({ stopReason: 'epochs' });
  });

  it('a validation loader that yields nothing is a RangeError at its first evaluation', async () => {
    const model = tiny();
    await expect(fit(model, listLoader([batchOf(2, 4, 0)]), new SGD(model.parameters(), { lr: 0.1 }), {
      epochs: 1, validation: listLoader([]),
    })).rejects.toThrow(/^Expected `validation` to yield at least one batch, got none\.$/);
  });

  it('a validation loader: its batches\' token-weighted loss, its generator kept', async () => {
    const model = tiny();
    const vBatches = [batchOf(2, 4, 5), batchOf(1, 3, 6)];
    const generatorState = { words: [9, 9, 9, 9], spare: null };
    const validation = { ...listLoader(vBatches), generatorState };
    const r = await fit(model, listLoader([batchOf(2, 4, 0)]), new SGD(model.parameters(), { lr: 0.1 }), { epochs: 1, validation });
    const l0 = model.loss(vBatches[0]!.X, vBatches[0]!.Y), l1 = model.loss(vBatches[1]!.X, vBatches[1]!.Y, undefined);
    expect(r.evaluations[0]!.tokens).toBe(11);
    expect(r.evaluations[0]!.loss).toBeCloseTo((l0 * 8 + l1 * 3) / 11, 12);
    expect(r.state.validationGenerator).toEqual(generatorState);
  });

  it('the best weights: a copy at each improvement; restoreBest puts them back and returns the final ones', async () => {
    const model = tiny();
    const batch = batchOf(2, 4, 0);
    // Descent on the validation batch itself for 3 steps (each evaluation improves), then ascent (none does).
    class UpDown extends SGD {
      override step(): void {
        if (this.stepCount < 3) return super.step();
        for (const p of this.params) for (let i = 0; i < p.data.length; i++) p.data[i]! += 0.5 * p.grad[i]!;
        super.step();
      }
    }
    const copies: Float32Array[] = [];
    let checkpoints = 0;
    const r = await fit(model, listLoader([batch]), new UpDown(model.parameters(), { lr: 0.05 }), {
      maxSteps: 5, validation: listLoader([batch]), evalEvery: 1, restoreBest: true, checkpointEvery: 4,
      // A checkpoint holds a copy: writing into it changes nothing kept.
      onCheckpoint: (s) => { checkpoints++; s.best!.parameters![0] = 42; },
      onEval: (e) => { if (e.improved) copies.push(Float32Array.from(model.flatParameters)); },
    });
    expect(r.evaluations.map((e) => e.improved)).toEqual([true, true, true, false, false]);
    const last = r.evaluations[2]!;
    expect(r.best).toEqual({ loss: last.loss, step: 3, epoch: 2, parameters: copies[2] }); // 1-batch epochs
    expect(model.flatParameters).toEqual(copies[2]);
    expect(r.finalParameters).toBeInstanceOf(Float32Array);
    expect(r.finalParameters).not.toEqual(copies[2]);
    expect(r.state.best!.parameters).toEqual(copies[2]);
    expect(checkpoints).toBe(1);
  });

  it('keepBest false: the best loss without weights; restoreBest without an improvement restores nothing', async () => {
    const model = tiny();
    const loader = listLoader([batchOf(2, 4, 0)], { batchSize: 2, numSteps: 4 });
    const validation = ids(17, 3);
    const r = await fit(model, loader, new SGD(model.parameters(), { lr: 0.5 }), { epochs: 2, validation, keepBest: false });
    expect(r.best).toMatchObject({ parameters: null });
    expect(r.finalParameters).toBeNull();
    const weights = model.flatParameters.slice();
    const again = await fit(model, loader, new SGD(model.parameters(), { lr: 0.5 }), { epochs: 3, validation, restoreBest: true, resumeFrom: { ...r.state, best: { ...r.state.best!, loss: -1 } } });
    expect(again.finalParameters).toBeNull(); // no improvement on −1: nothing kept, nothing restored
    expect(model.flatParameters).not.toEqual(weights);
  });

  it('an evaluation stopped by the signal or the time limit is left pending, the validation loader\'s generator put back', async () => {
    fakeClock();
    const batches = [batchOf(2, 4, 5), batchOf(2, 4, 6)];
    const validation = new SeqDataLoader(ids(60, 4), { batchSize: 2, numSteps: 4, seed: 5, random: true });
    const before = validation.generatorState;
    let model = tiny();
    const controller = new AbortController();
    const loss = model.loss.bind(model);
    model.loss = (...args: Parameters<typeof loss>) => { controller.abort(); return loss(...args); };
    let r = await fit(model, listLoader(batches), sgd(model), { epochs: 3, validation, signal: controller.signal });
    expect(r).toMatchObject({ stopReason: 'aborted', steps: 2, evaluations: [] });
    expect(r.state.pendingEvaluation).toBe('epochEnd');
    expect(validation.generatorState).toEqual(before);
    expect(r.state.validationGenerator).toEqual(before);
    model = tiny();
    const loss2 = model.loss.bind(model);
    let validationBatches = 0;
    model.loss = (...args: Parameters<typeof loss2>) => { validationBatches++; clock += 100; return loss2(...args); };
    // The limit reached exactly (10 ms step + 100 ms batch) stops it there, after one batch.
    r = await fit(model, listLoader(batches), sgd(model), { epochs: 3, timeLimit: 0.11, validation, evalEvery: 1 });
    expect(r).toMatchObject({ stopReason: 'timeLimit', steps: 1, evaluations: [] });
    expect(validationBatches).toBe(1);
    expect(r.state.pendingEvaluation).toBe('step');
    expect(validation.generatorState).toEqual(before);
  });
});

describe('fit: checkpoints', () => {
  it('every checkpointEvery steps, after that step\'s evaluation; not again on resuming at one', async () => {
    const model = tiny();
    const loader = listLoader([batchOf(2, 4, 0), batchOf(2, 4, 1), batchOf(2, 4, 2)], { batchSize: 2, numSteps: 4 });
    const validation = ids(17, 3);
    const states: TrainingState[] = [];
    const evals: number[] = [];
    await fit(model, loader, new SGD(model.parameters(), { lr: 0.1 }), {
      maxSteps: 5, validation, evalEvery: 2, checkpointEvery: 2,
      onCheckpoint: (s) => { states.push(s); expect(evals.at(-1)).toBe(s.step); }, onEval: (e) => { evals.push(e.step); },
    });
    expect(states.map((s) => [s.step, s.pendingEvaluation])).toEqual([[2, null], [4, null]]);
    // Resume at step 2 with its evaluation pending: it runs, and no checkpoint repeats step 2's.
    const pending = { ...states[0]!, pendingEvaluation: 'step' as const };
    const again: number[] = [];
    const m2 = tiny();
    const r = await fit(m2, loader, new SGD(m2.parameters(), { lr: 0.1 }), {
      maxSteps: 4, validation, evalEvery: 2, checkpointEvery: 2, resumeFrom: pending, onCheckpoint: (s) => { again.push(s.step); },
    });
    expect(r.evaluations.map((e) => e.step)).toEqual([2, 3, 4]);
    expect(again).toEqual([4]);
  });

  it('a checkpoint without evaluations, and one at an epoch end', async () => {
    const model = tiny();
    const loader = listLoader([batchOf(2, 4, 0), batchOf(2, 4, 1)]);
    const states: number[] = [];
    await fit(model, loader, new SGD(model.parameters(), { lr: 0.1 }), { maxSteps: 6, checkpointEvery: 3, onCheckpoint: (s) => { states.push(s.step); } });
    expect(states).toEqual([3, 6]);
  });
});

describe('fit: the captured state', () => {
  it('a resumable loader\'s generator before its epoch drew; skipped batches for a loader without one', async () => {
    const batches = [batchOf(2, 4, 0), batchOf(2, 4, 1), batchOf(2, 4, 2)];
    const { loader, calls } = resumableLoader(batches, 3);
    const model = tiny();
    const r = await fit(model, loader, new SGD(model.parameters(), { lr: 0.1 }), { maxSteps: 4 });
    expect(r.state.loaderGenerator).toEqual({ words: [1, 0, 0, 1], spare: null }); // epoch 2 drew from g = 1
    expect(calls).toEqual([0, 0]);
    // At an epoch's end (no epoch started), the loader's current generator.
    const m2 = tiny();
    const { loader: l2 } = resumableLoader(batches, 3);
    const r2 = await fit(m2, l2, new SGD(m2.parameters(), { lr: 0.1 }), { epochs: 1 });
    expect(r2.state).toMatchObject({ step: 3, epoch: 1, batchInEpoch: 0, loaderGenerator: { words: [1, 0, 0, 1], spare: null } });
    // Resuming: the generator set back, the epoch started at batchInEpoch.
    const m3 = tiny();
    const { loader: l3, calls: c3 } = resumableLoader(batches, 3);
    const r3 = await fit(m3, l3, new SGD(m3.parameters(), { lr: 0.1 }), { maxSteps: 6, resumeFrom: r.state });
    expect(c3).toEqual([1]);
    expect(r3.state.loaderGenerator).toEqual({ words: [1, 0, 0, 1], spare: null }); // set from the state before epoch 2 drew
    expect(r3).toMatchObject({ steps: 6, epochs: 1 });
    expect(r3.state.batchInEpoch).toBe(3);
  });

  it('a loader without a generator is skipped forward batchInEpoch batches on resume', async () => {
    const batches = [batchOf(2, 4, 0), batchOf(1, 4, 1), batchOf(2, 4, 2)];
    const model = tiny();
    const first = await fit(model, listLoader(batches), new SGD(model.parameters(), { lr: 0.1 }), { maxSteps: 1 });
    expect(first.state.loaderGenerator).toBeNull();
    const tokens: number[] = [];
    const r = await fit(model, listLoader(batches), new SGD(model.parameters(), { lr: 0.1 }), {
      maxSteps: 3, resumeFrom: first.state, onStep: (s) => { tokens.push(s.tokens); },
    });
    expect(tokens).toEqual([12, 20]); // batches 2 (4 tokens) and 3 (8 tokens)
    expect(r.epochs).toBe(0);
    // Skipping past the end of a shorter loader ends the epoch, and asks for no batch past its end.
    let nexts = 0;
    const counting = {
      [Symbol.iterator]() {
        const it = batches.slice(0, 1)[Symbol.iterator]();
        return { next: () => { nexts++; return it.next(); } };
      },
    };
    const short = await fit(model, counting, new SGD(model.parameters(), { lr: 0.1 }), {
      epochs: 1, resumeFrom: { ...first.state, batchInEpoch: 3 },
    });
    expect(short).toMatchObject({ steps: 1, epochs: 1 });
    expect(nexts).toBe(3); // the batch, its end while skipping, its end again in the loop
  });

  it('the optimiser, schedule, recurrent state and best: each or null', async () => {
    const model = tiny();
    const batches = [batchOf(2, 4, 0), batchOf(2, 4, 1)];
    const plain = { step() {}, lr: 0.1 };
    let r = await fit(model, listLoader(batches), plain as never, { maxSteps: 1, statePolicy: 'reset' });
    expect(r.state).toMatchObject({ optimizer: null, schedule: null, recurrent: null, best: null });
    const adam = new Adam(model.parameters(), { lr: 0.01 });
    r = await fit(model, listLoader(batches), adam, { maxSteps: 1, schedule: { name: 'flat', lrAt: () => 0.01 } as Schedule });
    expect(r.state.schedule).toEqual({ json: null, state: null });
    expect(r.state.optimizer).toEqual(adam.stateDict());
    expect(r.state.recurrent!.h).toHaveLength(2 * 3);
    const plateau = reduceOnPlateau({ lr: 0.01, factor: 0.5, patience: 0 });
    r = await fit(model, listLoader(batches), adam, { maxSteps: 1, schedule: plateau, statePolicy: 'carry' });
    expect(r.state.schedule).toEqual({ json: plateau.toJSON(), state: plateau.stateDict() });
    expect(r.state.recurrent).not.toBeNull();
  });
});

describe('fit: resumeFrom is checked whole, before anything changes', () => {
  async function setup() {
    const model = tiny();
    const loader = listLoader([batchOf(2, 4, 0), batchOf(2, 4, 1)]);
    const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.5 });
    const { state } = await fit(model, loader, optimizer, { maxSteps: 1 });
    return { model, loader, optimizer, state };
  }
  const refuse = async (state: unknown, type: ErrorConstructor, message: string, options: FitOptions = {}, loader?: object) => {
    const { model, loader: l, optimizer } = await setup();
    const weights = model.flatParameters.slice(), generator = model.generatorState, opt = optimizer.stateDict();
    const error = await fit(model, (loader ?? l) as never, optimizer, { maxSteps: 3, ...options, resumeFrom: state as TrainingState }).catch((e: unknown) => e);
    expect(error, message).toBeInstanceOf(type);
    expect((error as Error).message).toBe(message);
    expect(model.flatParameters).toEqual(weights);
    expect(model.generatorState).toEqual(generator);
    expect(optimizer.stateDict()).toEqual(opt);
  };

  it('the format and version', async () => {
    const { state } = await setup();
    for (const [bad, shown] of [[null, 'null'], ['x', '"x"'], [{ ...state, format: 'other' }, 'an object']] as const) {
      await refuse(bad, TypeError, `Expected \`resumeFrom\` to be a TrainingState (format 'lstm-lm/training-state'), got ${shown}.`);
    }
    await refuse({ ...state, version: '1' }, RangeError, 'Expected `resumeFrom.version` to be 1, got "1".');
  });

  it('the counters', async () => {
    const { state } = await setup();
    for (const key of ['step', 'epoch', 'batchInEpoch', 'tokens', 'epochTokens', 'evaluationsWithoutImprovement']) {
      await refuse({ ...state, [key]: -1 }, RangeError, `Expected \`resumeFrom.${key}\` to be a non-negative integer, got -1.`);
    }
    for (const bad of [Infinity, NaN]) {
      await refuse({ ...state, epochLossSum: bad }, TypeError, `Expected \`resumeFrom.epochLossSum\` to be a finite number, got ${bad}.`);
    }
    await refuse({ ...state, epochLossSum: '1' }, TypeError, 'Expected `resumeFrom.epochLossSum` to be a finite number, got "1".');
  });

  it('pendingEvaluation', async () => {
    const { state } = await setup();
    await refuse({ ...state, pendingEvaluation: 'end' }, RangeError, 'Expected `resumeFrom.pendingEvaluation` to be \'step\', \'epochEnd\' or null, got "end".');
    await refuse({ ...state, pendingEvaluation: undefined }, RangeError, 'Expected `resumeFrom.pendingEvaluation` to be \'step\', \'epochEnd\' or null, got undefined.');
    await refuse({ ...state, pendingEvaluation: 'step' }, TypeError, 'Expected `validation` to resume a state with a pending evaluation ("step"), got none.');
    await refuse({ ...state, pendingEvaluation: 'epochEnd' }, TypeError, 'Expected `validation` to resume a state with a pending evaluation ("epochEnd"), got none.');
  });

  it('the generators', async () => {
    const { state } = await setup();
    const bad = { words: [1, 2], spare: null };
    const err = (() => { try { new SeqDataLoader(ids(20), { batchSize: 1, numSteps: 2 }).generatorState = bad as never; } catch (e) { return (e as Error).message; } return ''; })();
    expect(err).not.toBe('');
    await refuse({ ...state, modelGenerator: bad }, TypeError, `Expected \`resumeFrom.modelGenerator\` to be a generator state { words, spare }: ${err}`);
    await refuse({ ...state, loaderGenerator: { words: [1, 2, 3, 4], spare: null } }, TypeError,
      'Expected `resumeFrom.loaderGenerator` to be null (the loader has no generator), got an object.');
    const { loader } = resumableLoader([batchOf(2, 4, 0)], 1);
    await refuse(state, TypeError, 'Expected `resumeFrom.loaderGenerator` to be a generator state (the loader has one), got null.', {}, loader);
    await refuse({ ...state, loaderGenerator: bad }, TypeError, `Expected \`resumeFrom.loaderGenerator\` to be a generator state { words, spare }: ${err}`, {}, loader);
    const validation = { ...listLoader([batchOf(2, 4, 0)]), generatorState: { words: [1, 2, 3, 4], spare: null } };
    await refuse(state, TypeError, 'Expected `resumeFrom.validationGenerator` to be a generator state, got null.', { validation });
    await refuse({ ...state, validationGenerator: { words: [1, 2, 3, 4], spare: null } }, TypeError, 'Expected `resumeFrom.validationGenerator` to be null, got an object.');
    await refuse({ ...state, validationGenerator: bad }, TypeError, `Expected \`resumeFrom.validationGenerator\` to be a generator state { words, spare }: ${err}`, { validation });
  });

  it('the optimiser and the schedule', async () => {
    const { state, model, loader } = await setup();
    await refuse({ ...state, optimizer: null }, TypeError, 'Expected `resumeFrom.optimizer` to be the optimiser\'s state dict, got null.');
    const plain = { step() {}, lr: 0.1, stateDict: () => state.optimizer };
    await expect(fit(model, loader as never, plain as never, { maxSteps: 3, resumeFrom: state })).rejects.toThrow(
      /^Expected `resumeFrom.optimizer` to be null, got an object\.$/,
    );
    const plateau = reduceOnPlateau({ lr: 0.1, factor: 0.5, patience: 0 });
    await refuse({ ...state, schedule: { json: null, state: plateau.stateDict() } }, TypeError,
      'Expected a `schedule` with loadStateDict (a reduceOnPlateau) to resume `resumeFrom.schedule.state`, got none.');
    await refuse({ ...state, schedule: { json: null, state: plateau.stateDict() } }, TypeError,
      'Expected a `schedule` with loadStateDict (a reduceOnPlateau) to resume `resumeFrom.schedule.state`, got none.', { schedule: { name: 'x', lrAt: () => 0.1 } as Schedule });
    // A schedule state of null needs no schedule; a plateau schedule is loaded.
    const other = reduceOnPlateau({ lr: 0.1, factor: 0.5, patience: 3 });
    other.step(1);
    other.step(2);
    const p2 = reduceOnPlateau({ lr: 0.1, factor: 0.5, patience: 3 });
    const m = tiny();
    m.flatParameters.set(model.flatParameters);
    const r = await fit(m, loader as never, new SGD(m.parameters(), { lr: 0.1, momentum: 0.5 }), {
      maxSteps: 1, schedule: p2, resumeFrom: { ...state, schedule: { json: null, state: other.stateDict() } },
    });
    expect(r.steps).toBe(1);
    expect(p2.stateDict()).toEqual(other.stateDict());
  });

  it('the recurrent state', async () => {
    const { state } = await setup();
    const f = (n: number) => new Float32Array(n);
    const unit = 3;
    for (const [h, c, name, shown] of [
      [f(6), new Float64Array(6), 'c', 'a Float64Array'], [f(0), f(0), 'h', 'a Float32Array'], [f(5), f(5), 'h', 'a Float32Array'],
      [f(6), f(3), 'c', 'a Float32Array'], [[0, 0, 0], f(3), 'h', 'an array of length 3'], [f(3), undefined, 'c', 'undefined'],
    ] as const) {
      await refuse({ ...state, recurrent: { h, c } }, TypeError,
        `Expected \`resumeFrom.recurrent.${name}\` to be a Float32Array of L·B·H values (a multiple of ${unit}), got ${shown}.`);
    }
    await refuse({ ...state, recurrent: 5 }, TypeError, 'Expected `resumeFrom.recurrent.h` to be a Float32Array of L·B·H values (a multiple of 3), got undefined.');
    await refuse({ ...state, recurrent: { h: Float32Array.of(0, NaN, 0), c: f(3) } }, RangeError, 'Expected `resumeFrom.recurrent.h` to be finite.');
    await refuse({ ...state, recurrent: { h: f(3), c: Float32Array.of(0, 0, Infinity) } }, RangeError, 'Expected `resumeFrom.recurrent.c` to be finite.');
  });

  it('a float64 model wants Float64Arrays', async () => {
    const model = tiny({ dtype: 'float64' });
    const loader = listLoader([batchOf(2, 4, 0), batchOf(2, 4, 1)]);
    const { state } = await fit(model, loader, new SGD(model.parameters(), { lr: 0.1 }), { maxSteps: 1 });
    expect(state.recurrent!.h).toBeInstanceOf(Float64Array);
    const again = (s: TrainingState) => fit(model, loader, new SGD(model.parameters(), { lr: 0.1 }), { maxSteps: 2, resumeFrom: s });
    await expect(again({ ...state, recurrent: { h: new Float32Array(6), c: new Float32Array(6) } })).rejects.toThrow(
      /^Expected `resumeFrom.recurrent.h` to be a Float64Array of L·B·H values \(a multiple of 3\), got a Float32Array\.$/,
    );
    const n = model.flatParameters.length;
    await expect(again({ ...state, best: { loss: 1, step: 1, epoch: 0, parameters: new Float32Array(n) } })).rejects.toThrow(
      `Expected \`resumeFrom.best.parameters\` to be null or a Float64Array of ${n} values, got a Float32Array.`,
    );
    await expect(again({ ...state, best: { loss: 1, step: 1, epoch: 0, parameters: new Float64Array(n) } })).resolves.toMatchObject({ steps: 2 });
  });

  it('best', async () => {
    const { state, model } = await setup();
    const n = model.flatParameters.length;
    const b = { loss: 1, step: 1, epoch: 0, parameters: null };
    for (const bad of [{ ...b, loss: NaN }, { ...b, loss: '1' }, 3]) {
      await refuse({ ...state, best: bad }, TypeError, `Expected \`resumeFrom.best\` to be null or { loss, step, epoch, parameters }, got ${typeof bad === 'number' ? '3' : 'an object'}.`);
    }
    await refuse({ ...state, best: { ...b, step: -1 } }, RangeError, 'Expected `resumeFrom.best.step` to be a non-negative integer, got -1.');
    await refuse({ ...state, best: { ...b, epoch: 0.5 } }, TypeError, 'Expected `resumeFrom.best.epoch` to be a non-negative integer, got 0.5.');
    for (const [parameters, shown] of [[new Float32Array(n + 1), 'a Float32Array'], [new Float64Array(n), 'a Float64Array'], [[], 'an array of length 0']] as const) {
      await refuse({ ...state, best: { ...b, parameters } }, TypeError, `Expected \`resumeFrom.best.parameters\` to be null or a Float32Array of ${n} values, got ${shown}.`);
    }
  });

  it('a state that passes is applied: counters, generator, best, patience count, recurrent', async () => {
    const { state, model } = await setup();
    const params = Float32Array.from(model.flatParameters, (x) => x + 1);
    const h = Float32Array.of(0.1, 0.2, 0.3, 0.4, 0.5, 0.6), c = Float32Array.of(1, 2, 3, 4, 5, 6);
    const resumed: TrainingState = {
      ...state, step: 7, epoch: 3, batchInEpoch: 1, tokens: 99, epochLossSum: 5, epochTokens: 8, evaluationsWithoutImprovement: 2,
      best: { loss: 0.5, step: 4, epoch: 2, parameters: params }, recurrent: { h, c }, modelGenerator: { words: [5, 6, 7, 8], spare: null },
    };
    const m = tiny();
    const o = new SGD(m.parameters(), { lr: 0.1, momentum: 0.5 });
    // Stops at once (maxSteps reached): the state comes back as given.
    // Frozen: nothing may be written into a loader or a validation corpus without a generator.
    const frozen = Object.freeze(listLoader([batchOf(2, 4, 0)], { batchSize: 2, numSteps: 4 }));
    const r = await fit(m, frozen, o, { maxSteps: 7, resumeFrom: resumed, validation: Object.freeze(Array.from(ids(9, 3))) });
    expect(r.steps).toBe(7);
    expect(r.state).toEqual({ ...resumed, loaderGenerator: null, validationGenerator: null, schedule: null });
    expect(r.state.best!.parameters).not.toBe(params);
    expect(r.state.recurrent!.h).not.toBe(h);
    expect(m.generatorState).toEqual({ words: [5, 6, 7, 8], spare: null });
    // patience already 2 of 2: early stopping at once.
    const r2 = await fit(tiny(), listLoader([batchOf(2, 4, 0)], { batchSize: 2, numSteps: 4 }), new SGD(m.parameters(), { lr: 0.1, momentum: 0.5 }), {
      maxSteps: 9, validation: ids(17, 3), patience: 2, resumeFrom: resumed,
    });
    expect(r2).toMatchObject({ stopReason: 'earlyStopping', steps: 7 });
    // The carried state is where the next batch starts.
    const m3 = tiny();
    const seen: number[][] = [];
    const fb = m3.forwardBackward.bind(m3);
    m3.forwardBackward = (X, Y, s) => { seen.push([...s!.h]); return fb(X, Y, s); };
    await fit(m3, listLoader([batchOf(2, 4, 0), batchOf(2, 4, 1)]), new SGD(m3.parameters(), { lr: 0.1, momentum: 0.5 }), { maxSteps: 8, resumeFrom: resumed });
    expect(seen).toEqual([[...h]]);
  });
});

describe('fit: divergence', () => {
  it('a non-finite loss: the step, epoch and batch in the message, the weights from before the last update', async () => {
    const model = tiny();
    const loader = listLoader([batchOf(2, 4, 0), batchOf(2, 4, 1)]);
    const fb = model.forwardBackward.bind(model);
    let calls = 0;
    model.forwardBackward = (X, Y, s) => { const r = fb(X, Y, s); return ++calls === 4 ? { ...r, loss: NaN } : r; };
    const weights: Float32Array[] = [];
    class Spy extends SGD {
      override step(): void { weights.push(Float32Array.from(model.flatParameters)); super.step(); }
    }
    const error = await fit(model, loader, new Spy(model.parameters(), { lr: 0.1 }), { maxSteps: 9 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainingDivergedError);
    expect((error as Error).message).toMatch(/^Training diverged at step 4 \(epoch 2, batch 2\): non-finite loss or gradient \(loss NaN, gradient norm [0-9.e-]+\)\. The model keeps/);
    expect(model.flatParameters).toEqual(weights[2]); // from before step 3's update
  });

  it('a non-finite gradient norm with a finite loss', async () => {
    const model = tiny();
    const fb = model.forwardBackward.bind(model);
    model.forwardBackward = (X, Y, s) => { const r = fb(X, Y, s); model.parameters()[0]!.grad[0] = Infinity; return r; };
    const error = await fit(model, listLoader([batchOf(2, 4, 0)]), new SGD(model.parameters(), { lr: 0.1 }), { maxSteps: 2 })
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^Training diverged at step 1 \(epoch 1, batch 1\): non-finite loss or gradient \(loss [0-9.]+, gradient norm Infinity\)/);
  });

  it('an update that makes a weight non-finite', async () => {
    const model = tiny();
    const before = model.flatParameters.slice();
    class Bad extends SGD {
      override step(): void { super.step(); if (this.stepCount === 2) model.flatParameters[1] = -Infinity; }
    }
    const o = new Bad(model.parameters(), { lr: 0.1 });
    const after: Float32Array[] = [];
    const error = await fit(model, listLoader([batchOf(2, 4, 0), batchOf(2, 4, 1)]), o, {
      maxSteps: 3, onStep: () => { after.push(Float32Array.from(model.flatParameters)); },
    }).catch((e: unknown) => e);
    expect(after).toHaveLength(1);
    expect(model.flatParameters).toEqual(after[0]); // the weights after step 1
    expect(error).toBeInstanceOf(TrainingDivergedError);
    expect((error as Error).message).toMatch(/^Training diverged at step 2 \(epoch 1, batch 2\): the update made a weight non-finite \(loss [0-9.]+, gradient norm [0-9.]+\)/);
    expect(o.stepCount).toBe(1); // the optimiser's state from before step 2
    expect(model.flatParameters).not.toEqual(before);
    expect(model.flatParameters.every(Number.isFinite)).toBe(true);
  });

  it('clipping: the norm reported is before clipping, and the update uses the clipped gradient', async () => {
    const run = async (clip: FitOptions) => {
      const model = tiny();
      const norms: number[] = [];
      await fit(model, listLoader([batchOf(2, 4, 0)]), new SGD(model.parameters(), { lr: 1 }), { maxSteps: 1, ...clip, onStep: (s) => { norms.push(s.gradNorm); } });
      return { norm: norms[0]!, weights: model.flatParameters.slice() };
    };
    const free = await run({});
    const byNorm = await run({ clipNorm: 1e-6 });
    const byValue = await run({ clipValue: 1e-9 });
    expect(byNorm.norm).toBe(free.norm);
    expect(byValue.norm).toBe(free.norm);
    const start = tiny().flatParameters;
    const moved = (w: Float32Array) => Math.max(...w.map((x, i) => Math.abs(x - start[i]!)));
    expect(moved(free.weights as Float32Array)).toBeGreaterThan(1e-4);
    expect(moved(byNorm.weights as Float32Array)).toBeLessThan(2e-6);
    expect(moved(byValue.weights as Float32Array)).toBeLessThan(2e-6);
  });
});

describe('fit: the webgpu path (#queueStep, #settle), run by a js model that says it is webgpu', () => {
  /** A js model whose `backend` reads 'webgpu': fit then trains through trainStepAsync, whose CPU path is the same step. */
  const posing = (options: object = {}): LSTMLanguageModel => {
    const model = tiny(options);
    Object.defineProperty(model, 'backend', { value: 'webgpu' });
    return model;
  };

  it('the same weights, losses, norms and state as the js path, carried or reset', async () => {
    for (const statePolicy of ['carry', 'reset'] as const) {
      const run = async (model: LSTMLanguageModel) => {
        fakeClock();
        const infos: StepInfo[] = [];
        const validation = listLoader([batchOf(2, 4, 7)]);
        const r = await fit(model, listLoader([batchOf(2, 4, 0), batchOf(2, 4, 1), batchOf(2, 4, 2)]), sgd(model), {
          maxSteps: 5, statePolicy, validation, evalEvery: 2, schedule: stepDecay({ lr: 0.2, every: 2, factor: 0.5, unit: 'step' }),
          clipNorm: 1e-3, onStep: (s) => { infos.push(s); },
        });
        return { r, infos, weights: model.flatParameters.slice() };
      };
      const js = await run(tiny({ dropout: 0.3 }));
      const model = posing({ dropout: 0.3 });
      let queued = 0;
      const step = model.trainStepAsync.bind(model);
      model.trainStepAsync = (...args: Parameters<typeof step>) => { queued++; return step(...args); };
      const gpu = await run(model);
      expect(queued).toBe(5);
      expect(gpu.weights).toEqual(js.weights);
      expect(gpu.infos).toEqual(js.infos); // step, loss, lr, norm, tokens, and the clock's figures
      expect(gpu.infos.map((s) => s.lr)).toEqual([0.2, 0.2, 0.1, 0.1, 0.05]);
      expect(gpu.infos.map((s) => s.elapsedMs)).toEqual([10, 20, 30, 40, 50]);
      expect(gpu.infos.every((s) => s.gradNorm > 1e-3)).toBe(true); // so the clipping acts
      expect(gpu.r.evaluations).toEqual(js.r.evaluations);
      expect(gpu.r.state.recurrent).toEqual(js.r.state.recurrent);
      expect(gpu.r.state.recurrent === null).toBe(statePolicy === 'reset');
    }
  });

  it('a step the model did not take rejects with the position in the message, the weights as before it', async () => {
    const model = posing();
    const loader = listLoader([batchOf(2, 4, 0), batchOf(2, 4, 1)]);
    class Bad extends SGD {
      override step(): void { super.step(); if (this.stepCount === 3) model.flatParameters[0] = NaN; }
    }
    const weights: Float32Array[] = [];
    const o = new Bad(model.parameters(), { lr: 0.1 });
    const error = await fit(model, loader, o, { maxSteps: 5, onStep: () => { weights.push(Float32Array.from(model.flatParameters)); } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainingDivergedError);
    expect((error as Error).message).toMatch(/^Training diverged at step 3 \(epoch 2, batch 1\): the update made a weight non-finite \(loss [0-9.]+, gradient norm [0-9.]+\)\. The model keeps/);
    expect(model.flatParameters).toEqual(weights[1]);
    expect(weights).toHaveLength(2);
  });
});

describe('fit: odds and ends', () => {
  it('an optimiser without a numeric lr: the steps report NaN', async () => {
    const model = tiny();
    const lrs: number[] = [];
    await fit(model, listLoader([batchOf(2, 4, 0)]), { step() {} } as never, { maxSteps: 2, onStep: (s) => { lrs.push(s.lr); } });
    expect(lrs).toEqual([NaN, NaN]);
  });

  it('one checkpoint at an epoch end with an evaluation there (not a second after it)', async () => {
    const model = tiny();
    const states: [number, number][] = [];
    const r = await fit(model, listLoader([batchOf(2, 4, 0), batchOf(2, 4, 1)], { batchSize: 2, numSteps: 4 }), new SGD(model.parameters(), { lr: 0.1 }), {
      epochs: 2, validation: ids(9, 3), checkpointEvery: 2, onCheckpoint: (s) => { states.push([s.step, s.epoch]); },
    });
    expect(r.evaluations.map((e) => [e.step, e.atEpochEnd])).toEqual([[2, true], [4, true]]);
    expect(states).toEqual([[2, 0], [4, 1]]);
  });

  it('an evaluation stopped on a validation corpus writes nothing into it', async () => {
    const model = tiny();
    const controller = new AbortController();
    const loss = model.loss.bind(model);
    model.loss = (...args: Parameters<typeof loss>) => { controller.abort(); return loss(...args); };
    const validation = Object.freeze(Array.from(ids(9, 3)));
    const r = await fit(model, listLoader([batchOf(2, 4, 0)], { batchSize: 2, numSteps: 4 }), new SGD(model.parameters(), { lr: 0.1 }), {
      epochs: 2, validation, signal: controller.signal,
    });
    expect(r).toMatchObject({ stopReason: 'aborted', steps: 1 });
    expect(r.state.pendingEvaluation).toBe('epochEnd');
  });
});

describe('fit: more resume and evaluation edges', () => {
  it('a validation corpus written into during training fails its next evaluation with the corpus named', async () => {
    const model = tiny();
    const validation = Array.from(ids(9, 3));
    await expect(fit(model, listLoader([batchOf(2, 4, 0)], { batchSize: 2, numSteps: 4 }), new SGD(model.parameters(), { lr: 0.1 }), {
      epochs: 1, validation, onStep: () => { validation[2] = 999; },
    })).rejects.toThrow(/^Expected `validation\[2\]` to be a token id in \[0, 5\), got 999\.$/);
  });

  it('an optimiser without a state dict resumes from a state without one', async () => {
    const model = tiny();
    const plain = { step() {}, lr: 0.1 };
    const loader = listLoader([batchOf(2, 4, 0), batchOf(2, 4, 1)]);
    const first = await fit(model, loader, plain as never, { maxSteps: 1 });
    expect(first.state.optimizer).toBeNull();
    await expect(fit(model, loader, plain as never, { maxSteps: 2, resumeFrom: first.state })).resolves.toMatchObject({ steps: 2 });
  });

  it('the best weights of a resumed state are copied in, never written into', async () => {
    const model = tiny();
    const loader = listLoader([batchOf(2, 4, 0)], { batchSize: 2, numSteps: 4 });
    const first = await fit(model, loader, new SGD(model.parameters(), { lr: 0.1 }), { maxSteps: 1 });
    const given = Float32Array.from(model.flatParameters, (x) => x * 2);
    const copy = given.slice();
    const r = await fit(model, loader, new SGD(model.parameters(), { lr: 0.1 }), {
      maxSteps: 3, validation: ids(9, 3), resumeFrom: { ...first.state, best: { loss: 1e9, step: 0, epoch: 0, parameters: given } },
    });
    expect(r.evaluations[0]!.improved).toBe(true);
    expect(given).toEqual(copy);
    expect(r.best!.parameters).not.toEqual(copy);
  });
});

describe('fit: resume, the last edges', () => {
  it('an optimiser with loadStateDict but no stateDict takes no state', async () => {
    const model = tiny();
    const loader = listLoader([batchOf(2, 4, 0)]);
    const sgd1 = new SGD(model.parameters(), { lr: 0.1 });
    const { state } = await fit(model, loader, sgd1, { maxSteps: 1 });
    const loads: unknown[] = [];
    const half = { step() {}, lr: 0.1, loadStateDict: (s: unknown) => { loads.push(s); } };
    await expect(fit(model, loader, half as never, { maxSteps: 2, resumeFrom: state })).rejects.toThrow(
      /^Expected `resumeFrom.optimizer` to be null, got an object\.$/,
    );
    expect(loads).toEqual([]);
  });

  it("the validation loader's generator is set from the state", async () => {
    const model = tiny();
    const loader = listLoader([batchOf(2, 4, 0)]);
    const validation = { ...listLoader([batchOf(2, 4, 3)]), generatorState: { words: [1, 1, 1, 1], spare: null } };
    const { state } = await fit(model, loader, new SGD(model.parameters(), { lr: 0.1 }), { maxSteps: 1, validation });
    const saved = { words: [2, 3, 4, 5], spare: 0.5 };
    const r = await fit(model, loader, new SGD(model.parameters(), { lr: 0.1 }), {
      maxSteps: 1, validation, resumeFrom: { ...state, validationGenerator: saved },
    });
    expect(r.steps).toBe(1);
    expect(validation.generatorState).toBe(saved);
    expect(r.state.validationGenerator).toEqual(saved);
  });
});

describe('fit: the validation corpus checked first, and a time limit that is not reached', () => {
  it('a validation corpus too short for one batch is refused before any update, naming it', async () => {
    const model = tiny();
    const weights = model.flatParameters.slice();
    const o = new SGD(model.parameters(), { lr: 0.1 });
    await expect(fit(model, listLoader([batchOf(2, 4, 0)], { batchSize: 2, numSteps: 4 }), o, { epochs: 1, validation: ids(8, 3) }))
      .rejects.toThrow(/^Expected `validation` to hold at least 9 tokens \(one batch of batchSize 2 × numSteps 4, plus one\), got 8\.$/);
    expect(model.flatParameters).toEqual(weights);
    expect(o.stepCount).toBe(0);
  });

  it('an evaluation runs to its end while the time limit is not reached', async () => {
    fakeClock(1000);
    const model = tiny();
    let validationBatches = 0;
    const loss = model.loss.bind(model);
    model.loss = (...args: Parameters<typeof loss>) => { validationBatches++; return loss(...args); };
    const r = await fit(model, listLoader([batchOf(2, 4, 0)]), sgd(model), {
      maxSteps: 1, timeLimit: 1, validation: listLoader([batchOf(2, 4, 5), batchOf(2, 4, 6), batchOf(2, 4, 7)]), evalEvery: 1,
    });
    expect(validationBatches).toBe(3);
    expect(r).toMatchObject({ stopReason: 'maxSteps', steps: 1 });
    expect(r.evaluations).toHaveLength(1);
    expect(r.state.pendingEvaluation).toBeNull();
  });
});
