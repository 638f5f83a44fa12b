import { afterAll, describe, expect, it } from 'vitest';
import { LSTMLanguageModel } from '../../src/lstm/model.js';
import { SGD } from '../../src/optim/sgd.js';
import { Adam } from '../../src/optim/adam.js';
import { RMSprop } from '../../src/optim/rmsprop.js';
import { cosineWithWarmup, reduceOnPlateau, stepDecay, type Schedule } from '../../src/optim/schedules.js';
import { loadCorpus } from '../../src/data/corpus.js';
import { SeqDataLoader } from '../../src/data/loader.js';
import { splitCorpus } from '../../src/data/split.js';
import { fit, type FitOptions, type TrainingState } from '../../src/train/fit.js';
import { corpusStreams, evaluate, lossSteps } from '../../src/train/evaluate.js';
import { TrainingDivergedError } from '../../src/train/guard.js';
import { nextMacrotask } from '../../src/train/yield.js';
import { nodeWorkerFactory } from '../../node/index.js';

const text = ('the time traveller for so it will be convenient to speak of him was expounding a recondite ' +
  'matter to us his grey eyes shone and twinkled and his usually pale face was flushed and animated ').repeat(8);
const { corpus, vocab } = loadCorpus([text], { token: 'char' });
const split = splitCorpus(corpus, { valFraction: 0.2, batchSize: 4, numSteps: 10 });
// For the resume tests: epochs of 6 batches (B 4, T 10), so that runs cross epoch ends.
const small = splitCorpus(corpus.subarray(0, 560), { valFraction: 0.5, batchSize: 4, numSteps: 10 });

const models: LSTMLanguageModel[] = [];
afterAll(() => { for (const m of models) m.dispose(); });

type OptName = 'sgd' | 'adam' | 'rmsprop';
type Backend = { backend: 'js' | 'wasm'; threads: number };

function makeRun(opt: OptName, random: boolean, { backend, threads }: Backend) {
  const model = new LSTMLanguageModel({
    vocabSize: vocab.size, numHiddens: 8, numLayers: 2, dropout: 0.3, init: 'pytorch', seed: 1,
    backend, threads, createWorker: nodeWorkerFactory,
  });
  models.push(model);
  const loader = new SeqDataLoader(small.train, { batchSize: 4, numSteps: 10, seed: 2, random });
  expect(loader.numBatches).toBe(6);
  const params = model.parameters();
  let optimizer, schedule: Schedule;
  if (opt === 'sgd') {
    optimizer = new SGD(params, { lr: 0.5, momentum: 0.9, nesterov: true });
    schedule = stepDecay({ lr: 0.5, every: 4, factor: 0.5, unit: 'step' });
  } else if (opt === 'adam') {
    optimizer = new Adam(params, { lr: 1e-2 });
    schedule = cosineWithWarmup({ lr: 1e-2, warmupSteps: 3, totalSteps: 30 });
  } else {
    optimizer = new RMSprop(params, { lr: 1e-2, alpha: 0.95, momentum: 0.5, centered: true });
    schedule = reduceOnPlateau({ lr: 1e-2, factor: 0.5, patience: 0 });
  }
  return { model, loader, optimizer, schedule };
}

/** Bytes of a float array, to compare bit for bit. */
const bytes = (a: Float32Array | Float64Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();

/** A state through a structured clone: the resumed run shares no memory with the first. */
const cloneState = (s: TrainingState): TrainingState => structuredClone(s);

describe('fit: exact resume', () => {
  const cases: [OptName, boolean, Backend][] = [
    ['sgd', false, { backend: 'js', threads: 1 }],
    ['adam', true, { backend: 'js', threads: 1 }],
    ['rmsprop', false, { backend: 'js', threads: 1 }],
    ['sgd', true, { backend: 'wasm', threads: 1 }],
    ['adam', false, { backend: 'wasm', threads: 1 }],
    ['rmsprop', true, { backend: 'wasm', threads: 2 }],
    ['adam', false, { backend: 'wasm', threads: 2 }],
  ];
  it.each(cases)('%s, random %s, %o: N steps → capture → fresh model, optimiser, loader → M steps = N + M steps, bit for bit', async (opt, random, backend) => {
    const N = 7, M = 9; // an epoch here is 6 or 7 batches: both runs cross epoch ends
    const options = (schedule: Schedule): FitOptions => ({
      schedule, clipNorm: 1, validation: small.validation, evalEvery: 3, patience: 50,
    });
    const a = makeRun(opt, random, backend);
    if (backend.threads === 2) expect(a.model.threads).toBe(2);
    const whole = await fit(a.model, a.loader, a.optimizer, { ...options(a.schedule), maxSteps: N + M });
    expect(whole.steps).toBe(N + M);

    const b = makeRun(opt, random, backend);
    const first = await fit(b.model, b.loader, b.optimizer, { ...options(b.schedule), maxSteps: N });
    expect(first.stopReason).toBe('maxSteps');
    const weights = b.model.flatParameters.slice();
    const state = cloneState(first.state);
    expect(state).toMatchObject({ step: N, format: 'lstm-lm/training-state', version: 1 });
    if (!random) expect(state.recurrent).not.toBeNull(); // mid-epoch, a carried state
    b.model.dispose();

    const c = makeRun(opt, random, backend);
    c.model.flatParameters.set(weights);
    const rest = await fit(c.model, c.loader, c.optimizer, { ...options(c.schedule), maxSteps: N + M, resumeFrom: state });
    expect(rest.steps).toBe(N + M);
    expect(bytes(c.model.flatParameters)).toEqual(bytes(a.model.flatParameters));
    expect(c.optimizer.stateDict()).toEqual(a.optimizer.stateDict());
    expect(rest.state.modelGenerator).toEqual(whole.state.modelGenerator);
    expect(rest.state.loaderGenerator).toEqual(whole.state.loaderGenerator);
    expect(rest.best?.loss).toBe(whole.best?.loss);
    expect([...first.evaluations, ...rest.evaluations].map((e) => e.loss)).toEqual(whole.evaluations.map((e) => e.loss));
    if (opt === 'rmsprop') expect(rest.state.schedule?.state).toEqual(whole.state.schedule?.state);
  });

  it('resumes an evaluation that a signal interrupted (pendingEvaluation), and checkpoints via onCheckpoint', async () => {
    const options: FitOptions = { clipNorm: 1, validation: small.validation, evalEvery: 3, maxSteps: 10 };
    const a = makeRun('adam', false, { backend: 'js', threads: 1 });
    const checkpoints: TrainingState[] = [];
    const whole = await fit(a.model, a.loader, a.optimizer, { ...options, checkpointEvery: 4, onCheckpoint: (s) => { checkpoints.push(s); } });
    expect(checkpoints.map((s) => s.step)).toEqual([4, 8]);

    const b = makeRun('adam', false, { backend: 'js', threads: 1 });
    const controller = new AbortController();
    const first = await fit(b.model, b.loader, b.optimizer, {
      ...options, signal: controller.signal, onStep: ({ step }) => { if (step === 6) controller.abort(); },
    });
    expect(first.stopReason).toBe('aborted');
    expect(first.state.pendingEvaluation).toBe('step'); // step 6's evaluation was cut short
    const atSix = whole.evaluations.findIndex((e) => e.step === 6 && !e.atEpochEnd);
    expect(first.evaluations).toHaveLength(atSix); // all before step 6's
    const c = makeRun('adam', false, { backend: 'js', threads: 1 });
    c.model.flatParameters.set(b.model.flatParameters);
    const rest = await fit(c.model, c.loader, c.optimizer, { ...options, resumeFrom: cloneState(first.state) });
    expect(rest.evaluations[0]).toMatchObject({ step: 6, atEpochEnd: false });
    expect(bytes(c.model.flatParameters)).toEqual(bytes(a.model.flatParameters));
    expect(whole.evaluations.map((e) => e.loss)).toEqual([...first.evaluations, ...rest.evaluations].map((e) => e.loss));
  });

  it('rejects a state that does not fit the run, before changing anything', async () => {
    const a = makeRun('adam', false, { backend: 'js', threads: 1 });
    const { state } = await fit(a.model, a.loader, a.optimizer, { maxSteps: 2 });
    const b = makeRun('sgd', false, { backend: 'js', threads: 1 });
    const before = b.optimizer.stateDict();
    const generator = b.model.generatorState;
    await expect(fit(b.model, b.loader, b.optimizer, { maxSteps: 3, resumeFrom: state })).rejects.toThrow(
      /Expected `state.name` to be "sgd" \(this optimiser\), got "adam"/,
    );
    expect(b.optimizer.stateDict()).toEqual(before);
    expect(b.model.generatorState).toEqual(generator);
    await expect(fit(b.model, b.loader, b.optimizer, { maxSteps: 3, resumeFrom: { ...state, version: 2 } as never })).rejects.toThrow(
      /Expected `resumeFrom.version` to be 1, got 2/,
    );
    await expect(fit(b.model, b.loader, b.optimizer, { maxSteps: 3, resumeFrom: { ...state, step: -1 } })).rejects.toThrow(
      /Expected `resumeFrom.step` to be a non-negative integer, got -1/,
    );
    await expect(fit(b.model, b.loader, b.optimizer, {
      maxSteps: 3, resumeFrom: { ...state, recurrent: { h: new Float32Array(3), c: new Float32Array(3) } },
    })).rejects.toThrow(/Expected `resumeFrom.recurrent.h` to be a Float32Array of L·B·H values \(a multiple of 16\)/);
    await expect(fit(b.model, b.loader, b.optimizer, { maxSteps: 3, resumeFrom: { ...state, modelGenerator: { words: [], spare: null } } }))
      .rejects.toThrow(/Expected `resumeFrom.modelGenerator` to be a generator state/);
    expect(b.model.generatorState).toEqual(generator);
  });
});

describe('fit: the event loop keeps running', () => {
  it('AbortSignal.timeout(300) fires on time and timers keep firing while it trains', async () => {
    const model = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: 48, seed: 3, backend: 'js' });
    const loader = new SeqDataLoader(corpus, { batchSize: 8, numSteps: 20, seed: 4 });
    let ticks = 0;
    const timer = setInterval(() => { ticks++; }, 20);
    const stepMs: number[] = [];
    let last = performance.now();
    const start = performance.now();
    const result = await fit(model, loader, new Adam(model.parameters(), { lr: 1e-2 }), {
      epochs: 10_000, signal: AbortSignal.timeout(300),
      onStep: () => { const t = performance.now(); stepMs.push(t - last); last = t; },
    });
    const elapsed = performance.now() - start;
    clearInterval(timer);
    const longest = Math.max(...stepMs);
    console.log(`AbortSignal.timeout(300): stopped after ${elapsed.toFixed(0)} ms, ${result.steps} steps, longest step ${longest.toFixed(1)} ms, ${ticks} ticks of a 20 ms interval`);
    expect(result.stopReason).toBe('aborted');
    expect(result.steps).toBeGreaterThan(2);
    expect(elapsed).toBeGreaterThanOrEqual(295);
    expect(elapsed).toBeLessThan(300 + 2 * longest + 100); // on time, within a minibatch (shared machine: slack)
    expect(ticks).toBeGreaterThanOrEqual(5);
  });

  it('timeLimit stops it, and an evaluation yields between its batches too', async () => {
    const model = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: 16, seed: 3, backend: 'js' });
    const loader = new SeqDataLoader(split.train, { batchSize: 4, numSteps: 10, seed: 4 });
    let ticks = 0;
    const timer = setInterval(() => { ticks++; }, 1);
    const result = await fit(model, loader, new Adam(model.parameters(), { lr: 1e-2 }), { timeLimit: 0.3, validation: split.validation, evalEvery: 1 });
    clearInterval(timer);
    expect(result.stopReason).toBe('timeLimit');
    expect(result.elapsedMs).toBeGreaterThanOrEqual(300);
    expect(result.elapsedMs).toBeLessThan(600);
    expect(ticks).toBeGreaterThan(20);
  });

  it('nextMacrotask lets a due timer run (a microtask would not)', async () => {
    let fired = false;
    setTimeout(() => { fired = true; }, 0);
    const until = performance.now() + 5;
    while (performance.now() < until) { /* the timer is now due */ }
    await null;
    expect(fired).toBe(false);
    await nextMacrotask();
    await nextMacrotask();
    expect(fired).toBe(true);
  });
});

describe('fit: validation, callbacks, best weights, early stopping, schedules', () => {
  it('reports steps and evaluations, keeps the best weights, stops early, steps a plateau schedule', async () => {
    const model = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: 16, seed: 5, init: 'pytorch', backend: 'js' });
    const loader = new SeqDataLoader(split.train, { batchSize: 4, numSteps: 10, seed: 6 });
    const adam = new Adam(model.parameters(), { lr: 0.3 }); // too large on purpose: validation stalls
    const plateau = reduceOnPlateau({ lr: 0.3, factor: 0.5, patience: 0 });
    const steps: number[] = [];
    const etas: (number | null)[] = [];
    const evals: number[] = [];
    const epochs: number[] = [];
    let bestWeights: Float32Array | undefined;
    const result = await fit(model, loader, adam, {
      epochs: 40, schedule: plateau, clipNorm: 1, validation: split.validation, evalEvery: 2, patience: 3, restoreBest: true,
      onStep: (s) => {
        steps.push(s.step);
        etas.push(s.etaMs);
        expect(s.lr).toBe(adam.lr);
        expect(s.gradNorm).toBeGreaterThan(0);
        expect(s.tokensPerSecond).toBeGreaterThan(0);
        expect(s.tokens).toBe(s.step * 40);
      },
      onEval: (e) => {
        evals.push(e.loss);
        if (e.improved) bestWeights = Float32Array.from(model.flatParameters);
      },
      onEpoch: (e) => { epochs.push(e.epoch); expect(Number.isFinite(e.loss)).toBe(true); },
    });
    expect(steps).toEqual(Array.from({ length: result.steps }, (_, i) => i + 1));
    expect(etas.every((e) => e !== null && e >= 0)).toBe(true);
    expect(result.stopReason).toBe('earlyStopping');
    expect(result.evaluations.map((e) => e.loss)).toEqual(evals);
    const best = Math.min(...evals);
    expect(result.best?.loss).toBe(best);
    expect(result.evaluations.at(-1)!.bestLoss).toBe(best);
    // The last 3 evaluations did not improve; each lowered the rate (patience 0).
    expect(result.evaluations.slice(-3).every((e) => !e.improved)).toBe(true);
    expect(plateau.lr).toBeLessThan(0.3);
    expect(model.flatParameters).toEqual(bestWeights); // restoreBest
    expect(result.finalParameters).not.toEqual(bestWeights);
    expect(epochs.length).toBe(result.epochs);
    // The evaluation is the B-stream corpus evaluation, with no dropout, of the best weights.
    const check = await evaluate(model, split.validation, { batchSize: 4, numSteps: 10 });
    expect(check.loss).toBeCloseTo(best, 6);
  });

  it('evaluate: B streams of a corpus, every token but the remainder predicted once; a loader; abort', async () => {
    const model = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: 8, numLayers: 2, dropout: 0.5, seed: 7, backend: 'js' });
    const ids = split.validation;
    const e = await evaluate(model, ids, { batchSize: 3, numSteps: 7 });
    expect(e.tokens).toBe(3 * Math.floor((ids.length - 1) / 3));
    // The same as one long forward call per stream, from zero.
    const L = Math.floor((ids.length - 1) / 3);
    let sum = 0;
    for (let b = 0; b < 3; b++) {
      const x = Array.from(ids.subarray(b * L, b * L + L)), y = Array.from(ids.subarray(b * L + 1, b * L + L + 1));
      sum += model.loss([x], [y]) * L;
    }
    expect(e.loss).toBeCloseTo(sum / (3 * L), 5);
    expect(model.training).toBe(true); // restored
    const loader = new SeqDataLoader(ids, { batchSize: 2, numSteps: 5, seed: 1 });
    expect((await evaluate(model, loader)).tokens % 10).toBe(0);
    await expect(evaluate(model, ids, { signal: AbortSignal.abort(new Error('stop')) , batchSize: 2, numSteps: 5 })).rejects.toThrow('stop');
    await expect(evaluate(model, ids.subarray(0, 20), { batchSize: 4, numSteps: 5 })).rejects.toThrow(
      /Expected `data` to hold at least 21 tokens \(one batch of batchSize 4 × numSteps 5, plus one\), got 20/,
    );
    // lossSteps/corpusStreams are what fit uses: one next() per batch.
    const steps = lossSteps(model, corpusStreams(ids, 3, 7), true);
    let n = 0;
    for (let r = steps.next(); r.done !== true; r = steps.next()) n++;
    expect(n).toBe(Math.ceil(L / 7));
  });
});

describe('fit: the divergence guard', () => {
  it('puts back the weights AND the optimiser state from before the update that broke them', async () => {
    const model = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: 8, seed: 8, initScale: 0.3, backend: 'js' });
    const loader = new SeqDataLoader(corpus, { batchSize: 4, numSteps: 10, seed: 9 });
    const records: { weights: Float32Array; state: ReturnType<SGD['stateDict']> }[] = [];
    class SpySGD extends SGD {
      override step(): void {
        records.push({ weights: Float32Array.from(model.flatParameters), state: this.stateDict() });
        super.step();
      }
    }
    const sgd = new SpySGD(model.parameters(), { lr: 1e-3, momentum: 0.9 });
    await fit(model, loader, sgd, { maxSteps: 3 });
    sgd.lr = 1e300; // the next update overflows float32 weights
    const error = await fit(model, loader, sgd, { maxSteps: 20 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainingDivergedError);
    expect((error as Error).message).toMatch(/Training diverged at step \d+ \(epoch 1, batch \d+\): .*and the optimiser its state from then/);
    const last = records.at(-1)!;
    expect(model.flatParameters).toEqual(last.weights);
    expect(sgd.stateDict()).toEqual(last.state);
    expect(sgd.stateDict().step).toBeGreaterThanOrEqual(3);
    expect(model.flatParameters.every(Number.isFinite)).toBe(true);
  });
});

describe('fit: bad input is rejected before any update', () => {
  const model = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: 4, seed: 1, backend: 'js' });
  const loader = new SeqDataLoader(split.train, { batchSize: 4, numSteps: 10 });
  const adam = new Adam(model.parameters());
  const cases: [FitOptions, RegExp][] = [
    [{}, /Expected `options` to set at least one of `epochs`, `maxSteps` and `timeLimit` \(seconds\), got none/],
    [{ epochs: 0 }, /Expected `epochs` to be a positive integer, got 0/],
    [{ maxSteps: 2.5 }, /Expected `maxSteps` to be a positive integer, got 2.5/],
    [{ timeLimit: -1 }, /Expected `timeLimit` to be a positive finite number, got -1/],
    [{ epochs: 1, clipNorm: 0 }, /Expected `clipNorm` to be a positive finite number, got 0/],
    [{ epochs: 1, clipValue: Infinity }, /Expected `clipValue` to be a positive finite number, got Infinity/],
    [{ epochs: 1, lr: 1 } as never, /Unknown option "lr" of fit/],
    [{ epochs: 1, evalEvery: 10 }, /Expected `validation` with `evalEvery` \(10\), got none/],
    [{ epochs: 1, validation: split.validation, evalEvery: 0 }, /Expected `evalEvery` to be a positive integer, got 0/],
    [{ epochs: 1, validation: split.validation.subarray(0, 40) }, /Expected `validation` to hold at least 41 tokens/],
    [{ epochs: 1, validation: [1, 2, 999] as never }, /Expected `validation\[2\]` to be a token id in \[0, 25\), got 999/],
    [{ epochs: 1, schedule: { name: 'bad' } as never }, /Expected `schedule` to be a schedule/],
    [{ epochs: 1, onStep: 1 as never }, /Expected `onStep` to be a function, got 1/],
    [{ epochs: 1, checkpointEvery: 5 }, /Expected `onCheckpoint` with `checkpointEvery` \(5\), got none/],
    [{ epochs: 1, statePolicy: 'keep' as never }, /Expected `statePolicy` to be 'auto', 'carry' or 'reset', got "keep"/],
    [{ epochs: 1, validation: split.validation, keepBest: false, restoreBest: true }, /Expected `keepBest` to be true with `restoreBest`/],
    [{ epochs: 1, resumeFrom: {} as never }, /Expected `resumeFrom` to be a TrainingState/],
  ];
  it.each(cases)('%o', async (options, message) => {
    const weights = model.flatParameters.slice();
    await expect(fit(model, loader, adam, options)).rejects.toThrow(message);
    expect(adam.stepCount).toBe(0);
    expect(model.flatParameters).toEqual(weights);
  });

  it('a schedule returning a bad lr fails at the step, before the update', async () => {
    const weights = model.flatParameters.slice();
    const bad = { name: 'bad', lrAt: () => -1 };
    await expect(fit(model, loader, adam, { epochs: 1, schedule: bad })).rejects.toThrow(
      /Expected schedule "bad" to return a finite lr ≥ 0, got -1 at step 0 \(epoch 0\)/,
    );
    expect(model.flatParameters).toEqual(weights);
    expect(adam.stepCount).toBe(0);
  });
});
