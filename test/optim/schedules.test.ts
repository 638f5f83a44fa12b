// The learning-rate schedules: values at chosen steps, JSON round trips, the plateau
// schedule's state, and bad options. Parity with torch's StepLR, CosineAnnealingLR and
// ReduceLROnPlateau is in parity.test.ts.
import { describe, expect, it } from 'vitest';
import {
  type Schedule, constantLr, cosineWithWarmup, exponentialDecay, reduceOnPlateau, scheduleFromJSON, scheduledLr, stepDecay,
} from '../../src/optim/schedules.js';

const at = (step: number, epoch = 0) => ({ step, epoch });

describe('schedules', () => {
  it('constantLr', () => {
    const s = constantLr({ lr: 0.5 });
    expect([0, 1, 1e6].map((k) => s.lrAt(at(k, k)))).toEqual([0.5, 0.5, 0.5]);
    expect(s.toJSON()).toEqual({ name: 'constant', lr: 0.5 });
  });

  it('stepDecay counts epochs by default, or steps', () => {
    const s = stepDecay({ lr: 1, every: 10, factor: 0.5 });
    expect([0, 9, 10, 25].map((e) => s.lrAt(at(1000, e)))).toEqual([1, 1, 0.5, 0.25]);
    const t = stepDecay({ lr: 1, every: 3, factor: 0.1, unit: 'step' });
    expect(t.lrAt(at(2, 50))).toBe(1);
    expect(t.lrAt(at(3, 0))).toBeCloseTo(0.1, 15);
    expect(t.lrAt(at(6, 0))).toBeCloseTo(0.01, 15);
    expect(s.toJSON()).toEqual({ name: 'stepDecay', lr: 1, every: 10, factor: 0.5, unit: 'epoch' });
  });

  it('exponentialDecay is char-rnn\'s: ×0.97 per epoch from the end of the 10th', () => {
    const s = exponentialDecay({ lr: 2e-3, factor: 0.97, after: 10 });
    expect(s.lrAt(at(0, 0))).toBe(2e-3);
    expect(s.lrAt(at(0, 9))).toBe(2e-3); // the 10th epoch
    expect(s.lrAt(at(0, 10))).toBeCloseTo(2e-3 * 0.97, 15);
    expect(s.lrAt(at(0, 12))).toBeCloseTo(2e-3 * 0.97 ** 3, 15);
    // char-rnn's loop: lr *= 0.97 at the end of each epoch e (1-based) with e >= 10.
    let lr = 2e-3;
    for (let e = 1; e <= 30; e++) {
      if (e >= 10) lr *= 0.97;
      expect(s.lrAt(at(0, e))).toBeCloseTo(lr, 15); // epoch index e (0-based) follows e completed epochs
    }
    expect(exponentialDecay({ lr: 1, factor: 0.5 }).lrAt(at(0, 0))).toBe(0.5); // after 0: decays from the first
    expect(exponentialDecay({ lr: 1, factor: 0.5, after: 2, unit: 'step' }).lrAt(at(3, 0))).toBe(0.25);
  });

  it('cosineWithWarmup: nanoGPT\'s warm-up, then a half cosine to minLr, then minLr', () => {
    const s = cosineWithWarmup({ lr: 1e-3, warmupSteps: 100, totalSteps: 1100, minLr: 1e-4 });
    expect(s.lrAt(at(0))).toBeCloseTo(1e-3 / 101, 18);
    expect(s.lrAt(at(49))).toBeCloseTo(1e-3 * 50 / 101, 18);
    expect(s.lrAt(at(99))).toBeCloseTo(1e-3 * 100 / 101, 18);
    expect(s.lrAt(at(100))).toBe(1e-3);
    expect(s.lrAt(at(600))).toBeCloseTo(5.5e-4, 15); // halfway: the mean of lr and minLr
    expect(s.lrAt(at(1100))).toBe(1e-4);
    expect(s.lrAt(at(5000))).toBe(1e-4);
    for (let k = 100; k < 1100; k++) expect(s.lrAt(at(k + 1))).toBeLessThan(s.lrAt(at(k)));
    expect(cosineWithWarmup({ lr: 1, totalSteps: 10 }).toJSON()).toEqual({ name: 'cosineWithWarmup', lr: 1, warmupSteps: 0, totalSteps: 10, minLr: 0 });
  });

  it('reduceOnPlateau: waits `patience` stalls, reduces, respects minLr, and its state round-trips', () => {
    const s = reduceOnPlateau({ lr: 1, factor: 0.5, patience: 1, minLr: 0.2 });
    expect(s.lrAt(at(123))).toBe(1);
    expect(s.stateDict()).toEqual({ lr: 1, best: null, badEvaluations: 0, cooldownLeft: 0 });
    expect([3, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1].map((v) => s.step(v))).toEqual([1, 1, 1, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2]);
    expect(s.lrAt(at(0))).toBe(0.2);
    const json = JSON.parse(JSON.stringify({ schedule: s, state: s.stateDict() }));
    const t = scheduleFromJSON(json.schedule) as ReturnType<typeof reduceOnPlateau>;
    expect(t.lr).toBe(1); // fresh: the state is loaded separately
    t.loadStateDict(json.state);
    expect(t.stateDict()).toEqual(s.stateDict());
    expect(t.step(0.5)).toBe(s.step(0.5));
  });

  it('reduceOnPlateau rejects a bad loss or state, changing nothing', () => {
    const s = reduceOnPlateau({ lr: 1 });
    s.step(2);
    const before = s.stateDict();
    expect(() => s.step(NaN)).toThrow(/Expected `valLoss` to be a finite number, got NaN/);
    expect(() => s.loadStateDict({ ...before, lr: -1 })).toThrow(/Expected `state.lr` to be a non-negative finite number, got -1/);
    expect(() => s.loadStateDict({ ...before, best: Infinity })).toThrow(/Expected `state.best` to be a finite number or null, got Infinity/);
    expect(() => s.loadStateDict({ ...before, badEvaluations: 1.5 })).toThrow(/`state.badEvaluations`.*got 1.5/);
    expect(() => s.loadStateDict({ ...before, cooldownLeft: -1 })).toThrow(/`state.cooldownLeft`.*got -1/);
    expect(() => s.loadStateDict(null as never)).toThrow(TypeError);
    expect(s.stateDict()).toEqual(before);
  });

  it('every built-in survives JSON and scheduleFromJSON', () => {
    const all: Schedule[] = [
      constantLr({ lr: 0.1 }), stepDecay({ lr: 1, every: 2, factor: 0.9, unit: 'step' }),
      exponentialDecay({ lr: 2e-3, factor: 0.97, after: 10 }),
      cosineWithWarmup({ lr: 1e-3, warmupSteps: 5, totalSteps: 50, minLr: 1e-5 }), reduceOnPlateau({ lr: 0.1, patience: 3 }),
    ];
    for (const s of all) {
      const back = scheduleFromJSON(JSON.parse(JSON.stringify(s)));
      expect(back.name).toBe(s.name);
      expect(back.toJSON!()).toEqual(s.toJSON!());
      for (const [step, epoch] of [[0, 0], [7, 1], [49, 12], [500, 40]] as const) {
        expect(back.lrAt({ step, epoch })).toBe(s.lrAt({ step, epoch }));
      }
    }
    expect(() => scheduleFromJSON({ name: 'linear', lr: 1 } as never)).toThrow(/Expected `json.name` to be one of constant, .*got "linear"/);
    expect(() => scheduleFromJSON({ name: 'stepDecay', lr: 1, every: 0, factor: 0.5 } as never)).toThrow(/Expected `every` to be a positive integer, got 0/);
  });
});

describe('scheduledLr', () => {
  it('returns the schedule\'s lr, checked', () => {
    expect(scheduledLr(stepDecay({ lr: 1, every: 1, factor: 0.5 }), at(0, 2))).toBe(0.25);
    expect(scheduledLr({ name: 'zero', lrAt: () => 0 }, at(5))).toBe(0);
  });
  it('throws naming the schedule and the step when the lr is not finite or negative', () => {
    const broken = { name: 'mine', lrAt: ({ step }: { step: number }) => (step < 3 ? 0.1 : step === 3 ? NaN : -1) };
    expect(scheduledLr(broken, at(2))).toBe(0.1);
    expect(() => scheduledLr(broken, at(3, 1))).toThrow(/Expected schedule "mine" to return a finite lr ≥ 0, got NaN at step 3 \(epoch 1\)/);
    expect(() => scheduledLr(broken, at(4))).toThrow(/got -1 at step 4/);
    expect(() => scheduledLr({ name: 'inf', lrAt: () => Infinity }, at(0))).toThrow(RangeError);
    expect(() => scheduledLr({ name: 'str', lrAt: () => '1' as never }, at(0))).toThrow(/got "1" at step 0/);
  });
  it('rejects a bad schedule or position', () => {
    expect(() => scheduledLr({} as never, at(0))).toThrow(/Expected `schedule` to be a schedule/);
    expect(() => scheduledLr(constantLr({ lr: 1 }), at(-1))).toThrow(/Expected `at.step` to be a non-negative integer, got -1/);
    expect(() => scheduledLr(constantLr({ lr: 1 }), at(0, 0.5))).toThrow(/Expected `at.epoch` to be a non-negative integer, got 0.5/);
  });
});

describe('schedule options', () => {
  const bad: [string, () => unknown, RegExp, ErrorConstructor][] = [
    ['unknown key', () => stepDecay({ lr: 1, every: 2, factor: 0.5, gamma: 0.5 } as never), /Unknown option `gamma` for stepDecay/, TypeError],
    ['lr 0', () => constantLr({ lr: 0 }), /Expected `lr` to be a positive finite number, got 0/, RangeError],
    ['factor 1', () => stepDecay({ lr: 1, every: 2, factor: 1 }), /Expected `factor` to be a number in \(0, 1\), got 1/, RangeError],
    ['every 1.5', () => stepDecay({ lr: 1, every: 1.5, factor: 0.5 }), /Expected `every` to be a positive integer, got 1.5/, TypeError],
    ['unit', () => stepDecay({ lr: 1, every: 1, factor: 0.5, unit: 'batch' as never }), /Expected `unit` to be 'step' or 'epoch', got "batch"/, TypeError],
    ['after -1', () => exponentialDecay({ lr: 1, factor: 0.97, after: -1 }), /Expected `after` to be a non-negative integer, got -1/, RangeError],
    ['totalSteps ≤ warmupSteps', () => cosineWithWarmup({ lr: 1, warmupSteps: 10, totalSteps: 10 }), /Expected `totalSteps` to be greater than `warmupSteps` \(10\), got 10/, RangeError],
    ['minLr > lr', () => cosineWithWarmup({ lr: 1e-3, totalSteps: 10, minLr: 1e-2 }), /Expected `minLr` to be a number in \[0, lr = 0.001\], got 0.01/, RangeError],
    ['patience -1', () => reduceOnPlateau({ lr: 1, patience: -1 }), /Expected `patience` to be a non-negative integer, got -1/, RangeError],
    ['threshold 1', () => reduceOnPlateau({ lr: 1, threshold: 1 }), /Expected `threshold` to be a number in \[0, 1\), got 1/, RangeError],
    ['negative minLr', () => reduceOnPlateau({ lr: 1, minLr: -1 }), /Expected `minLr` to be a non-negative finite number, got -1/, RangeError],
    ['no options', () => cosineWithWarmup(undefined as never), /Expected `options` to be an object like/, TypeError],
  ];
  for (const [label, make, message, type] of bad) {
    it(`rejects ${label}`, () => {
      expect(make).toThrow(message);
      expect(make).toThrow(type);
    });
  }
});
