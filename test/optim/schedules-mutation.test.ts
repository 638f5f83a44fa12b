// The learning-rate schedules exactly (issue 13: Stryker survivors in src/optim/schedules.ts):
// values at the edges of each piece, the plateau schedule's threshold, cooldown, minimum
// reduction and state, frozen JSON, and every refused argument with its type and message.
import { describe, expect, it } from 'vitest';
import {
  constantLr, cosineWithWarmup, exponentialDecay, reduceOnPlateau, scheduleFromJSON, scheduledLr, stepDecay,
} from '../../src/optim/schedules.js';

const at = (step: number, epoch = 0) => ({ step, epoch });

describe('scheduledLr arguments', () => {
  it('refuses a schedule without lrAt and a position that is not an object', () => {
    const s = constantLr({ lr: 1 });
    for (const bad of [null, 5, { name: 'x' }, { name: 'x', lrAt: 1 }]) {
      expect(() => scheduledLr(bad as never, at(0))).toThrow(TypeError);
    }
    expect(() => scheduledLr(null as never, at(0))).toThrow(/^Expected `schedule` to be a schedule \(an object with lrAt\(\{ step, epoch \}\)\), got null\.$/);
    expect(() => scheduledLr(s, null as never)).toThrow(/^Expected `at` to be \{ step, epoch \}, got null\.$/);
    expect(() => scheduledLr(s, 3 as never)).toThrow(/^Expected `at` to be \{ step, epoch \}, got 3\.$/);
    expect(() => scheduledLr({ lrAt: () => -1 } as never, at(2, 1))).toThrow(/^Expected schedule "undefined" to return a finite lr ≥ 0, got -1 at step 2 \(epoch 1\)\.$/);
    expect(scheduledLr({ name: 'tiny', lrAt: () => Number.MIN_VALUE }, at(0))).toBe(Number.MIN_VALUE);
  });
});

describe('built-in schedules', () => {
  it('are frozen, and their JSON is a frozen copy', () => {
    const s = stepDecay({ lr: 1, every: 1, factor: 0.5 });
    expect(Object.isFrozen(s)).toBe(true);
    expect(Object.isFrozen(s.toJSON())).toBe(true);
    expect(s.name).toBe('stepDecay');
    expect(constantLr({ lr: 2 }).name).toBe('constant');
    expect(exponentialDecay({ lr: 1, factor: 0.5 }).toJSON()).toEqual({ name: 'exponentialDecay', lr: 1, factor: 0.5, after: 0, unit: 'epoch' });
  });

  it('stepDecay: every 1 halves each unit; unit step ignores epochs and unit epoch ignores steps', () => {
    const e = stepDecay({ lr: 8, every: 1, factor: 0.5 });
    expect([0, 1, 2, 3].map((k) => e.lrAt(at(100, k)))).toEqual([8, 4, 2, 1]);
    const s = stepDecay({ lr: 8, every: 2, factor: 0.5, unit: 'step' });
    expect([0, 1, 2, 3, 4].map((k) => s.lrAt(at(k, 100)))).toEqual([8, 8, 4, 4, 2]);
    expect(stepDecay({ lr: 8, every: 2, factor: 0.5, unit: 'epoch' }).lrAt(at(7, 3))).toBe(4);
  });

  it('exponentialDecay: lr until `after`, counting steps or epochs', () => {
    const s = exponentialDecay({ lr: 8, factor: 0.5, after: 2, unit: 'step' });
    expect([0, 1, 2, 3, 4].map((k) => s.lrAt(at(k, 50)))).toEqual([8, 8, 4, 2, 1]);
    const e = exponentialDecay({ lr: 8, factor: 0.5, after: 2 });
    expect([0, 1, 2, 3].map((k) => e.lrAt(at(50, k)))).toEqual([8, 8, 4, 2]);
  });

  it('cosineWithWarmup: warm-up up to warmupSteps − 1, peak at warmupSteps, the cosine between, minLr from totalSteps', () => {
    const s = cosineWithWarmup({ lr: 1, warmupSteps: 3, totalSteps: 7, minLr: 0.2 });
    expect(s.lrAt(at(0))).toBe(0.25);
    expect(s.lrAt(at(2))).toBe(0.75);
    expect(s.lrAt(at(3))).toBe(1);
    expect(s.lrAt(at(5))).toBeCloseTo(0.2 + 0.5 * 0.8, 15); // halfway
    expect(s.lrAt(at(4))).toBeCloseTo(0.2 + 0.5 * (1 + Math.cos(Math.PI / 4)) * 0.8, 15);
    expect(s.lrAt(at(7))).toBe(0.2);
    expect(s.lrAt(at(8, 9))).toBe(0.2);
    const n = cosineWithWarmup({ lr: 2, totalSteps: 1 }); // no warm-up, one step
    expect(n.lrAt(at(0))).toBe(2);
    expect(n.lrAt(at(1))).toBe(0);
    expect(cosineWithWarmup({ lr: 1, totalSteps: 4, minLr: 1 }).lrAt(at(2))).toBe(1); // minLr = lr is allowed
  });
});

describe('reduceOnPlateau exactly', () => {
  it('defaults', () => {
    const s = reduceOnPlateau({ lr: 1 });
    expect(s.toJSON()).toEqual({ name: 'reduceOnPlateau', lr: 1, factor: 0.1, patience: 10, threshold: 1e-4, cooldown: 0, minLr: 0 });
    expect(Object.isFrozen(s.toJSON())).toBe(true);
    expect(s.name).toBe('reduceOnPlateau');
    // patience 10: the 11th stall reduces.
    s.step(1);
    for (let k = 0; k < 10; k++) expect(s.step(1)).toBe(1);
    expect(s.step(1)).toBeCloseTo(0.1, 15);
  });

  it('an improvement must beat best·(1 − threshold): equal is a stall', () => {
    const s = reduceOnPlateau({ lr: 1, factor: 0.5, patience: 0, threshold: 0.5 });
    expect(s.step(4)).toBe(1); // first: improves on ∞
    expect(s.stateDict()).toEqual({ lr: 1, best: 4, badEvaluations: 0, cooldownLeft: 0 });
    expect(s.step(2)).toBe(0.5); // 2 = 4·0.5: not below, a stall
    expect(s.stateDict().best).toBe(4);
    expect(s.step(1.9)).toBe(0.5); // below 2: improves
    expect(s.stateDict()).toEqual({ lr: 0.5, best: 1.9, badEvaluations: 0, cooldownLeft: 0 });
    const t = reduceOnPlateau({ lr: 1, factor: 0.5, patience: 0, threshold: 0 });
    t.step(1);
    expect(t.step(1)).toBe(0.5); // threshold 0: equal is still a stall
  });

  it('patience counts stalls: more than `patience` reduce; bad evaluations are counted and reset', () => {
    const s = reduceOnPlateau({ lr: 1, factor: 0.5, patience: 2 });
    s.step(1);
    expect(s.step(1)).toBe(1);
    expect(s.stateDict().badEvaluations).toBe(1);
    expect(s.step(1)).toBe(1);
    expect(s.stateDict().badEvaluations).toBe(2);
    expect(s.step(1)).toBe(0.5);
    expect(s.stateDict().badEvaluations).toBe(0);
  });

  it('cooldown: the evaluations after a reduction count no stalls', () => {
    const s = reduceOnPlateau({ lr: 1, factor: 0.5, patience: 0, cooldown: 2 });
    s.step(1);
    expect(s.step(1)).toBe(0.5);
    expect(s.stateDict().cooldownLeft).toBe(2);
    expect(s.step(1)).toBe(0.5);
    expect(s.stateDict()).toMatchObject({ cooldownLeft: 1, badEvaluations: 0 });
    expect(s.step(1)).toBe(0.5);
    expect(s.stateDict()).toMatchObject({ cooldownLeft: 0, badEvaluations: 0 });
    expect(s.step(1)).toBe(0.25);
  });

  it('a reduction of 1e-8 or less is skipped; minLr is a floor', () => {
    const s = reduceOnPlateau({ lr: 2e-8, factor: 0.5, patience: 0 });
    s.step(1);
    expect(s.step(1)).toBe(2e-8); // would lose 1e-8: skipped
    const t = reduceOnPlateau({ lr: 3e-8, factor: 0.5, patience: 0 });
    t.step(1);
    expect(t.step(1)).toBe(1.5e-8);
    const u = reduceOnPlateau({ lr: 1, factor: 0.1, patience: 0, minLr: 0.25 });
    u.step(1);
    expect(u.step(1)).toBe(0.25);
    expect(u.step(1)).toBe(0.25);
    expect(u.lrAt(at(99))).toBe(0.25);
  });

  it('loadStateDict: best null means none yet; every field is taken', () => {
    const s = reduceOnPlateau({ lr: 1, factor: 0.5, patience: 0 });
    s.loadStateDict({ lr: 0.5, best: null, badEvaluations: 0, cooldownLeft: 0 });
    expect(s.step(1e300)).toBe(0.5); // improves on none
    expect(s.stateDict().best).toBe(1e300);
    s.loadStateDict({ lr: 0.5, best: -3, badEvaluations: 4, cooldownLeft: 1 });
    expect(s.stateDict()).toEqual({ lr: 0.5, best: -3, badEvaluations: 4, cooldownLeft: 1 });
    expect(s.lr).toBe(0.5);
    s.loadStateDict({ lr: 0, best: 0, badEvaluations: 0, cooldownLeft: 0 });
    expect(s.lr).toBe(0);
    expect(() => s.loadStateDict('x' as never)).toThrow(/^Expected `state` to be \{ lr, best, badEvaluations, cooldownLeft \}, got "x"\.$/);
    expect(() => s.loadStateDict({ lr: 1, best: '1', badEvaluations: 0, cooldownLeft: 0 } as never)).toThrow(TypeError);
    expect(() => s.step('1' as never)).toThrow(/^Expected `valLoss` to be a finite number, got "1"\.$/);
    expect(() => s.step(-Infinity)).toThrow(RangeError);
    expect(s.step(-1e300)).toBe(0);
  });
});

describe('schedule arguments', () => {
  const cases: [string, () => unknown, ErrorConstructor, RegExp][] = [
    ['constantLr unknown key', () => constantLr({ lr: 1, x: 1 } as never), TypeError, /^Unknown option `x` for constantLr \(got 1\); the options are lr\.$/],
    ['constantLr not an object', () => constantLr(1 as never), TypeError, /^Expected `options` to be an object like \{ lr: 1 \}, got 1\.$/],
    ['stepDecay every 0', () => stepDecay({ lr: 1, every: 0, factor: 0.5 }), RangeError, /^Expected `every` to be a positive integer, got 0\.$/],
    ['stepDecay every "2"', () => stepDecay({ lr: 1, every: '2' as never, factor: 0.5 }), TypeError, /got "2"\.$/],
    ['stepDecay factor 0', () => stepDecay({ lr: 1, every: 1, factor: 0 }), RangeError, /^Expected `factor` to be a number in \(0, 1\), got 0\.$/],
    ['stepDecay unit null', () => stepDecay({ lr: 1, every: 1, factor: 0.5, unit: null as never }), TypeError, /^Expected `unit` to be 'step' or 'epoch', got null\.$/],
    ['exponentialDecay unit', () => exponentialDecay({ lr: 1, factor: 0.5, unit: 'batch' as never }), TypeError, /`unit`/],
    ['exponentialDecay after 1.5', () => exponentialDecay({ lr: 1, factor: 0.5, after: 1.5 }), TypeError, /`after`/],
    ['cosine totalSteps 0', () => cosineWithWarmup({ lr: 1, totalSteps: 0 }), RangeError, /^Expected `totalSteps` to be a positive integer, got 0\.$/],
    ['cosine totalSteps < warmupSteps', () => cosineWithWarmup({ lr: 1, warmupSteps: 5, totalSteps: 4 }), RangeError, /^Expected `totalSteps` to be greater than `warmupSteps` \(5\), got 4\.$/],
    ['cosine minLr < 0', () => cosineWithWarmup({ lr: 1, totalSteps: 4, minLr: -0.1 }), RangeError, /^Expected `minLr` to be a number in \[0, lr = 1\], got -0\.1\.$/],
    ['cosine warmupSteps -1', () => cosineWithWarmup({ lr: 1, warmupSteps: -1, totalSteps: 4 }), RangeError, /`warmupSteps`/],
    ['plateau factor 1', () => reduceOnPlateau({ lr: 1, factor: 1 }), RangeError, /^Expected `factor` to be a number in \(0, 1\), got 1\.$/],
    ['plateau cooldown -1', () => reduceOnPlateau({ lr: 1, cooldown: -1 }), RangeError, /^Expected `cooldown` to be a non-negative integer, got -1\.$/],
    ['plateau unknown key', () => reduceOnPlateau({ lr: 1, mode: 'max' } as never), TypeError, /^Unknown option `mode` for reduceOnPlateau .*the options are lr, factor, patience, threshold, cooldown, minLr\.$/],
    ['plateau lr 0', () => reduceOnPlateau({ lr: 0 }), RangeError, /`lr`/],
    ['fromJSON null', () => scheduleFromJSON(null as never), TypeError, /^Expected `json` to be a schedule description \{ name, \.\.\.options \}, got null\.$/],
    ['fromJSON no name', () => scheduleFromJSON({ lr: 1 } as never), RangeError, /^Expected `json\.name` to be one of constant, stepDecay, exponentialDecay, cosineWithWarmup, reduceOnPlateau, got undefined\.$/],
  ];
  for (const [label, call, type, message] of cases) {
    it(`refuses ${label}`, () => {
      expect(call).toThrow(type);
      expect(call).toThrow(message);
    });
  }

  it('each factory names itself, its example and its lr in messages', () => {
    const cases: [() => unknown, RegExp][] = [
      [() => stepDecay(null as never), /^Expected `options` to be an object like \{ lr: 1, every: 10, factor: 0\.5 \}, got null\.$/],
      [() => exponentialDecay(null as never), /^Expected `options` to be an object like \{ lr: 2e-3, factor: 0\.97, after: 10 \}, got null\.$/],
      [() => cosineWithWarmup(null as never), /^Expected `options` to be an object like \{ lr: 1e-3, warmupSteps: 100, totalSteps: 5000 \}, got null\.$/],
      [() => reduceOnPlateau(null as never), /^Expected `options` to be an object like \{ lr: 2e-3, factor: 0\.5, patience: 2 \}, got null\.$/],
      [() => exponentialDecay({ lr: 1, factor: 0.5, x: 1 } as never), /^Unknown option `x` for exponentialDecay \(got 1\); the options are lr, factor, after, unit\.$/],
      [() => cosineWithWarmup({ lr: 1, totalSteps: 2, x: 1 } as never), /^Unknown option `x` for cosineWithWarmup \(got 1\); the options are lr, warmupSteps, totalSteps, minLr\.$/],
      [() => stepDecay({ lr: 1, every: 1, factor: 0.5, x: 1 } as never), /^Unknown option `x` for stepDecay \(got 1\); the options are lr, every, factor, unit\.$/],
      [() => stepDecay({ lr: 0, every: 1, factor: 0.5 }), /^Expected `lr` to be a positive finite number, got 0\.$/],
      [() => exponentialDecay({ lr: 0, factor: 0.5 }), /^Expected `lr` to be a positive finite number, got 0\.$/],
      [() => exponentialDecay({ lr: 1, factor: 1 }), /^Expected `factor` to be a number in \(0, 1\), got 1\.$/],
      [() => cosineWithWarmup({ lr: 0, totalSteps: 2 }), /^Expected `lr` to be a positive finite number, got 0\.$/],
      [() => scheduleFromJSON('constant' as never), /^Expected `json` to be a schedule description \{ name, \.\.\.options \}, got "constant"\.$/],
    ];
    for (const [call, message] of cases) expect(call).toThrow(message);
    expect(() => reduceOnPlateau({ lr: 1 }).loadStateDict(null as never)).toThrow(/^Expected `state` to be \{ lr, best, badEvaluations, cooldownLeft \}, got null\.$/);
  });

  it('the warm-up hands over at warmupSteps to exactly lr (the cosine at 0, not (lr·(w + 1))/(w + 1))', () => {
    expect(cosineWithWarmup({ lr: 0.1, warmupSteps: 2, totalSteps: 10 }).lrAt(at(2))).toBe(0.1);
  });

  it('scheduleFromJSON rebuilds each name into its own kind', () => {
    expect(scheduleFromJSON({ name: 'constant', lr: 3 }).lrAt(at(9, 9))).toBe(3);
    expect(scheduleFromJSON({ name: 'stepDecay', lr: 1, every: 1, factor: 0.5, unit: 'step' }).lrAt(at(2, 0))).toBe(0.25);
    expect(scheduleFromJSON({ name: 'exponentialDecay', lr: 1, factor: 0.5, after: 0, unit: 'epoch' }).lrAt(at(0, 1))).toBe(0.25);
    expect(scheduleFromJSON({ name: 'cosineWithWarmup', lr: 1, warmupSteps: 1, totalSteps: 3, minLr: 0 }).lrAt(at(0))).toBe(0.5);
    const p = scheduleFromJSON({ name: 'reduceOnPlateau', lr: 1, factor: 0.5, patience: 0, threshold: 0, cooldown: 0, minLr: 0 }) as ReturnType<typeof reduceOnPlateau>;
    p.step(1);
    expect(p.step(1)).toBe(0.5);
  });
});
