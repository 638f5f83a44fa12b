// The divergence guard and the state flow between batches (src/train/guard.ts,
// src/train/state-flow.ts) exactly (issue 13: mutation testing): what save/restore copy and
// when, an optimiser without state dicts, allFinite at every position, and which state each
// batch starts from under each policy.
import { afterAll, describe, expect, it } from 'vitest';
import { LSTMLanguageModel } from '../../src/lstm/model.js';
import { Adam } from '../../src/optim/adam.js';
import { DivergenceGuard, TrainingDivergedError, allFinite } from '../../src/train/guard.js';
import { StateFlow, carriesState } from '../../src/train/state-flow.js';

const models: LSTMLanguageModel[] = [];
afterAll(() => models.forEach((m) => m.dispose()));
const make = (numLayers = 1) => {
  const m = new LSTMLanguageModel({ vocabSize: 5, numHiddens: 3, numLayers, seed: 2, initScale: 0.5, backend: 'js' });
  models.push(m);
  return m;
};
const X = [[1, 2, 3], [4, 0, 1]], Y = [[2, 3, 4], [0, 1, 2]];

describe('DivergenceGuard', () => {
  it('restores the weights and optimiser state of the last save, and zeroes the gradients', () => {
    const model = make();
    const adam = new Adam(model.parameters(), { lr: 0.1 });
    const guard = new DivergenceGuard(model, adam);
    const initial = model.flatParameters.slice();
    model.forwardBackward(X, Y);
    adam.step();
    // Without a save since construction, restore goes back to the construction-time copy.
    guard.restore();
    expect(model.flatParameters).toEqual(initial);
    expect(adam.stepCount).toBe(0);
    expect(adam.stateDict().buffers.expAvg!.every((b) => b.every((x) => x === 0))).toBe(true);
    expect(model.flatGradients.every((g) => g === 0)).toBe(true);

    model.forwardBackward(X, Y);
    adam.step();
    guard.save();
    const saved = model.flatParameters.slice(), savedState = adam.stateDict();
    model.forwardBackward(X, Y);
    adam.step();
    model.forwardBackward(X, Y); // gradients left behind
    expect(model.flatParameters).not.toEqual(saved);
    guard.restore();
    expect(model.flatParameters).toEqual(saved);
    expect(adam.stateDict()).toEqual(savedState);
    expect(adam.stepCount).toBe(1);
    expect(model.flatGradients.every((g) => g === 0)).toBe(true);
  });

  it('works with an optimiser that has no state dict: weights only', () => {
    const model = make();
    let steps = 0;
    const plain = { step: () => { steps++; } };
    const guard = new DivergenceGuard(model, plain);
    model.flatParameters[0] = 42;
    guard.save();
    model.flatParameters[0] = NaN;
    guard.restore();
    expect(model.flatParameters[0]).toBe(42);
    expect(steps).toBe(0);
  });

  it('TrainingDivergedError is an Error named after itself', () => {
    const e = new TrainingDivergedError('loss is NaN');
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('TrainingDivergedError');
    expect(e.message).toBe('loss is NaN');
  });
});

describe('allFinite', () => {
  it('is false for NaN or ±Infinity at any position, true otherwise (and for an empty array)', () => {
    expect(allFinite(new Float32Array(0))).toBe(true);
    expect(allFinite(Float64Array.of(0, -1e300, 3))).toBe(true);
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (let at = 0; at < 3; at++) {
        const a = new Float64Array(3);
        a[at] = bad;
        expect(allFinite(a)).toBe(false);
      }
    }
  });
});

describe('carriesState', () => {
  it('carry always, reset never, auto unless the loader is random', () => {
    expect(carriesState('carry', { random: true })).toBe(true);
    expect(carriesState('carry', {})).toBe(true);
    expect(carriesState('reset', { random: false })).toBe(false);
    expect(carriesState('reset', {})).toBe(false);
    expect(carriesState('auto', { random: true })).toBe(false);
    expect(carriesState('auto', { random: false })).toBe(true);
    expect(carriesState('auto', {})).toBe(true);
  });
  it('refuses anything else, naming statePolicy', () => {
    for (const bad of ['Carry', undefined, null, 1]) {
      expect(() => carriesState(bad, {})).toThrow(RangeError);
    }
    expect(() => carriesState('keep', {})).toThrow(/^Expected `statePolicy` to be 'auto', 'carry' or 'reset', got "keep"\.$/);
  });
});

describe('StateFlow', () => {
  const fill = (s: { h: Float32Array | Float64Array; c: Float32Array | Float64Array }, v: number) => { s.h.fill(v); s.c.fill(v + 1); };

  it('carrying: zeros first, then the arrays the last batch left, in place; a new B starts from zeros', () => {
    const model = make(2);
    const flow = new StateFlow(model, true);
    expect(flow.carried()).toBe(null); // nothing yet
    const s = flow.next(2);
    expect(s.h.length).toBe(2 * 2 * 3);
    expect(s.h.every((x) => x === 0) && s.c.every((x) => x === 0)).toBe(true);
    fill(s, 0.5);
    expect(flow.carried()).toEqual({ h: s.h.slice(), c: s.c.slice() });
    expect(flow.carried()!.h).not.toBe(s.h); // a copy
    expect(flow.carried()!.c).not.toBe(s.c);
    const again = flow.next(2);
    expect(again).toBe(s);
    expect(again.h.every((x) => x === 0.5) && again.c.every((x) => x === 1.5)).toBe(true);
    const other = flow.next(3);
    expect(other.h.length).toBe(2 * 3 * 3);
    expect(other.h.every((x) => x === 0)).toBe(true);
  });

  it('reset(): the next batch starts from zeros, in the same arrays', () => {
    const model = make();
    const flow = new StateFlow(model, true);
    const s = flow.next(2);
    fill(s, 0.25);
    flow.reset();
    expect(flow.carried()).toBe(null);
    const t = flow.next(2);
    expect(t).toBe(s);
    expect(t.h.every((x) => x === 0) && t.c.every((x) => x === 0)).toBe(true);
  });

  it('not carrying: every batch starts from zeros, and nothing is carried', () => {
    const model = make();
    const flow = new StateFlow(model, false);
    const s = flow.next(2);
    fill(s, 0.75);
    expect(flow.carried()).toBe(null);
    const t = flow.next(2);
    expect(t.h.every((x) => x === 0) && t.c.every((x) => x === 0)).toBe(true);
  });

  it('restore(state) makes the next batch start from a copy of it; restore(null) from zeros', () => {
    const model = make(2);
    const flow = new StateFlow(model, true);
    flow.next(1);
    const state = model.initState(2);
    state.h.forEach((_, i) => { state.h[i] = i; state.c[i] = -i; });
    flow.restore(state);
    expect(flow.carried()).toEqual(state);
    const s = flow.next(2);
    expect(s).not.toBe(state);
    expect(s).toEqual(state);
    state.h[0] = 99; // a copy was taken
    expect(s.h[0]).toBe(0);
    fill(s, 3);
    flow.restore(null);
    expect(flow.carried()).toBe(null);
    const t = flow.next(2);
    expect(t.h.every((x) => x === 0) && t.c.every((x) => x === 0)).toBe(true);
  });
});

describe('DivergenceGuard with a half-implemented optimiser', () => {
  it('an optimiser with stateDict but no loadStateDict: restore puts the weights back instead of throwing', () => {
    // Found by this file: the guard saved the state whenever stateDict existed and then called
    // loadStateDict! on restore — a TypeError at the moment of divergence.
    const model = make();
    const half = { step: () => {}, stateDict: () => ({ name: 'sgd', step: 0, lr: 1, buffers: {} }) as never };
    const guard = new DivergenceGuard(model, half);
    const w = model.flatParameters.slice();
    model.flatParameters[1] = NaN;
    expect(() => guard.restore()).not.toThrow();
    expect(model.flatParameters).toEqual(w);
    guard.save();
  });

  it('an optimiser with loadStateDict but no stateDict: weights only, no call to the missing half', () => {
    const model = make();
    const loads: unknown[] = [];
    const half = { step: () => {}, loadStateDict: (s: unknown) => { loads.push(s); } };
    const guard = new DivergenceGuard(model, half);
    guard.save();
    guard.restore();
    expect(loads).toEqual([]);
  });
});
