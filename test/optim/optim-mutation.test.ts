// The optimisers' shared machinery and option checks exactly (issue 13: Stryker survivors in
// src/optim/options.ts, optimizer.ts, adam.ts, adamw.ts, rmsprop.ts): bounds at their edges,
// the messages, the parameter list copy, stateDict(into)'s fit test and loadStateDict's checks.
import { describe, expect, it } from 'vitest';
import { Adam } from '../../src/optim/adam.js';
import { AdamW } from '../../src/optim/adamw.js';
import type { OptimizerStateDict } from '../../src/optim/optimizer.js';
import { RMSprop } from '../../src/optim/rmsprop.js';
import { SGD } from '../../src/optim/sgd.js';

const params = () => [
  { data: Float32Array.of(1, -2, 3), grad: Float32Array.of(0.5, 0.25, -1) },
  { data: Float64Array.of(0.5, 4), grad: Float64Array.of(2, -3) },
];

describe('option checks', () => {
  it('options must be a plain object (not null, not an array); unknown keys list the known ones', () => {
    for (const bad of [null, [], 'lr', 1]) {
      expect(() => new Adam(params(), bad as never)).toThrow(TypeError);
    }
    expect(() => new Adam(params(), [] as never)).toThrow(/^Expected `options` to be an object like \{ lr: 1e-3 \}, got an array of length 0\.$/);
    expect(() => new RMSprop(params(), null as never)).toThrow(/^Expected `options` to be an object like \{ lr: 2e-3, alpha: 0\.95 \}, got null\.$/);
    expect(() => new Adam(params(), { lr: 1e-3, foo: 1 } as never)).toThrow(
      /^Unknown option `foo` for Adam \(got 1\); the options are lr, betas, eps, weightDecay\.$/,
    );
    expect(() => new RMSprop(params(), { foo: 'x' } as never)).toThrow(
      /^Unknown option `foo` for RMSprop \(got "x"\); the options are lr, alpha, eps, momentum, centered, weightDecay\.$/,
    );
  });

  it('undefined is the default; null is a value, and refused', () => {
    expect(new Adam(params(), { eps: undefined }).options.eps).toBe(1e-8);
    expect(() => new Adam(params(), { eps: null as never })).toThrow(/^Expected `eps` to be a positive finite number, got null\.$/);
    expect(() => new Adam(params(), { lr: null as never })).toThrow(/^Expected `lr` to be a positive number, got null\.$/);
  });

  it('intervals: open and closed ends where documented', () => {
    // [0, 1): 0 in, 1 out; (0, ∞): 0 out; [0, ∞): 0 in; finite only.
    expect(new RMSprop(params(), { alpha: 0, momentum: 0, weightDecay: 0 }).options).toMatchObject({ alpha: 0, momentum: 0, weightDecay: 0 });
    expect(new Adam(params(), { betas: [0, 0] }).options.betas).toEqual([0, 0]);
    expect(new Adam(params(), { lr: Number.MIN_VALUE, eps: Number.MIN_VALUE }).options).toMatchObject({ lr: Number.MIN_VALUE, eps: Number.MIN_VALUE });
    expect(() => new RMSprop(params(), { alpha: -1e-12 })).toThrow(/^Expected `alpha` to be a number in \[0, 1\), got -1e-12\.$/);
    expect(() => new RMSprop(params(), { weightDecay: -1e-12 })).toThrow(/^Expected `weightDecay` to be a non-negative finite number, got -1e-12\.$/);
    expect(() => new Adam(params(), { lr: Infinity })).toThrow(/^Expected `lr` to be a positive finite number, got Infinity\.$/);
    expect(() => new Adam(params(), { lr: -1 })).toThrow(RangeError);
    expect(() => new Adam(params(), { eps: Infinity })).toThrow(RangeError);
    expect(() => new Adam(params(), { lr: '1' as never })).toThrow(TypeError);
    expect(() => new Adam(params(), { eps: '1' as never })).toThrow(/^Expected `eps` to be a positive finite number, got "1"\.$/);
    expect(() => new RMSprop(params(), { centered: 1 as never })).toThrow(/^Expected `centered` to be a boolean, got 1\.$/);
    expect(new RMSprop(params(), { centered: false }).options.centered).toBe(false);
  });

  it('betas must be an array of exactly two numbers', () => {
    const message = /^Expected `betas` to be a pair of numbers in \[0, 1\) like \[0\.9, 0\.999\], got /;
    expect(() => new Adam(params(), { betas: 'ab' as never })).toThrow(message);
    expect(() => new Adam(params(), { betas: { 0: 0.9, 1: 0.9, length: 2 } as never })).toThrow(message);
    expect(() => new AdamW(params(), { betas: [0.9, 0.9, 0.9] as never })).toThrow(message);
    expect(() => new Adam(params(), { betas: null as never })).toThrow(TypeError);
  });

  it('options: frozen (betas too), with the current lr; the resolved betas are a copy', () => {
    const betas: [number, number] = [0.8, 0.9];
    for (const opt of [new Adam(params(), { betas }), new AdamW(params(), { betas })]) {
      betas[0] = 0.5;
      expect(opt.options.betas).toEqual([0.8, 0.9]);
      betas[0] = 0.8;
      expect(Object.isFrozen(opt.options)).toBe(true);
      expect(Object.isFrozen(opt.options.betas)).toBe(true);
      opt.lr = 0.125;
      expect(opt.options.lr).toBe(0.125);
    }
    const r = new RMSprop(params(), { momentum: 0.5 });
    r.lr = 0.25;
    expect(r.options).toEqual({ lr: 0.25, alpha: 0.99, eps: 1e-8, momentum: 0.5, centered: false, weightDecay: 0 });
    expect(Object.isFrozen(r.options)).toBe(true);
  });
});

describe('updates', () => {
  it('Adam\'s weight decay is L2 (in the moments); AdamW\'s is decoupled (the weights first)', () => {
    // One step from m = v = 0: Adam moves by lr·sign(g + wd·w) (bias-corrected), AdamW multiplies by 1 − lr·wd then moves by lr·sign(g).
    const p = [{ data: Float64Array.of(2), grad: Float64Array.of(-1) }];
    new Adam(p, { lr: 0.1, weightDecay: 1, eps: 1e-300 }).step(); // g = −1 + 2 = 1: moves down
    expect(p[0]!.data[0]).toBeCloseTo(1.9, 14);
    const q = [{ data: Float64Array.of(2), grad: Float64Array.of(-1) }];
    new AdamW(q, { lr: 0.1, weightDecay: 1, eps: 1e-300 }).step(); // 2·0.9 = 1.8, then +0.1
    expect(q[0]!.data[0]).toBeCloseTo(1.9, 14);
    const r = [{ data: Float64Array.of(2), grad: Float64Array.of(-1) }];
    new AdamW(r, { lr: 0.1, weightDecay: 0.5, eps: 1e-300 }).step(); // 2·0.95 + 0.1
    expect(r[0]!.data[0]).toBeCloseTo(2.0, 14);
    const s = [{ data: Float64Array.of(2), grad: Float64Array.of(-1) }];
    new Adam(s, { lr: 0.1, weightDecay: 0.5, eps: 1e-300 }).step(); // g = −1 + 1 = 0: no move
    expect(s[0]!.data[0]).toBe(2);
  });

  it('RMSprop: one step from zero is lr·g/(√((1−α)g²) + eps), centred divides by √(v − ḡ²)', () => {
    const step = (options: object) => {
      const p = [{ data: Float64Array.of(1), grad: Float64Array.of(2) }];
      const opt = new RMSprop(p, { lr: 0.1, alpha: 0.75, eps: 1e-300, ...options });
      opt.step();
      return { x: p[0]!.data[0]!, state: opt.stateDict() };
    };
    expect(step({}).x).toBeCloseTo(1 - 0.1 * 2 / Math.sqrt(0.25 * 4), 14);
    // centred: v = 1, ḡ = 0.5, √(1 − 0.25)
    expect(step({ centered: true }).x).toBeCloseTo(1 - 0.1 * 2 / Math.sqrt(0.75), 14);
    expect(step({ centered: true }).state.buffers.gradAvg![0]![0]).toBe(0.5);
    // momentum: buf = g/r
    const m = step({ momentum: 0.5 });
    expect(m.state.buffers.momentumBuffer![0]![0]).toBeCloseTo(2, 14);
    expect(m.x).toBeCloseTo(0.8, 14);
    // weight decay: g = 2 + 0.5·1 = 2.5
    expect(step({ weightDecay: 0.5 }).state.buffers.squareAvg![0]![0]).toBeCloseTo(0.25 * 6.25, 14);
  });
});

describe('OptimizerBase', () => {
  it('keeps its own copy of the parameter list', () => {
    const list = params();
    const adam = new Adam(list);
    list.push({ data: Float32Array.of(1), grad: Float32Array.of(1) });
    expect(adam.params).toHaveLength(2);
    expect(adam.params[0]).toBe(list[0]);
    expect(adam.stateDict().buffers.expAvg).toHaveLength(2);
  });

  it('step() counts and passes the 1-based step: Adam\'s first step is bias-corrected to lr·sign(g)', () => {
    const p = [{ data: Float64Array.of(0), grad: Float64Array.of(3) }];
    const adam = new Adam(p, { lr: 0.5, eps: 1e-300 });
    adam.step();
    expect(adam.stepCount).toBe(1);
    expect(p[0]!.data[0]).toBeCloseTo(-0.5, 14);
    adam.step();
    expect(adam.stepCount).toBe(2);
    expect(p[0]!.data[0]).toBeCloseTo(-1, 14);
  });

  it('stateDict(into) allocates afresh unless into has exactly these names, counts, types and lengths', () => {
    const adam = new Adam(params(), { lr: 0.1 });
    adam.step();
    const fits = adam.stateDict();
    const copy = (patch: (b: Record<string, unknown>) => void): OptimizerStateDict => {
      const s = adam.stateDict();
      const buffers: Record<string, unknown> = { ...s.buffers };
      patch(buffers);
      return { ...s, buffers } as OptimizerStateDict;
    };
    const misfits: OptimizerStateDict[] = [
      { ...fits, buffers: null as never },
      { ...fits, buffers: 'x' as never },
      copy((b) => { b['extra'] = b['expAvg']; }),
      copy((b) => { delete b['expAvgSq']; }),
      copy((b) => { b['expAvgSq'] = 'ab'; }),
      copy((b) => { b['expAvgSq'] = [new Float32Array(3)]; }),
      copy((b) => { b['expAvgSq'] = [new Float32Array(3), new Float64Array(2), new Float32Array(1)]; }), // one too many
      copy((b) => { b['expAvgSq'] = [new Float32Array(3), new Float32Array(2)]; }), // type of the second
      copy((b) => { b['expAvgSq'] = [new Float32Array(3), new Float64Array(3)]; }), // length of the second
      copy((b) => { b['expAvgSq'] = [undefined, new Float64Array(2)]; }),
      copy((b) => { b['renamed'] = b['expAvgSq']; delete b['expAvgSq']; }),
    ];
    for (const into of misfits) {
      const intoArrays = Object.values(into.buffers ?? {}).flat();
      const out = adam.stateDict(into);
      expect(out).toEqual(adam.stateDict());
      for (const a of Object.values(out.buffers).flat()) expect(intoArrays).not.toContain(a);
    }
    const out = adam.stateDict(fits);
    expect(out.buffers).toBe(fits.buffers);
    expect(out).toEqual(adam.stateDict());
  });

  it('loadStateDict checks step, lr and buffers exactly, changing nothing on error', () => {
    const adam = new Adam(params(), { lr: 0.1 });
    adam.step();
    const good = adam.stateDict();
    const before = adam.stateDict();
    const cases: [object, ErrorConstructor, RegExp][] = [
      [{ step: '1' }, TypeError, /^Expected `state\.step` to be a non-negative integer, got "1"\.$/],
      [{ step: 2 ** 53 }, RangeError, /got 9007199254740992\.$/],
      [{ step: Infinity }, RangeError, /`state\.step`/],
      [{ step: -1 }, RangeError, /`state\.step`/],
      [{ lr: '0.1' }, TypeError, /^Expected `state\.lr` to be a non-negative finite number, got "0\.1"\.$/],
      [{ lr: Infinity }, RangeError, /`state\.lr`.*got Infinity\.$/],
      [{ lr: -1e-9 }, RangeError, /`state\.lr`/],
      [{ buffers: null }, TypeError, /^Expected `state\.buffers` to be an object, got null\.$/],
      [{ buffers: 5 }, TypeError, /^Expected `state\.buffers` to be an object, got 5\.$/],
      [{ buffers: { ...good.buffers, expAvg: 'ab' } }, RangeError, /^Expected `state\.buffers\.expAvg` to be an array of 2 arrays \(one per parameter\), got "ab"\.$/],
      [{ buffers: { ...good.buffers, expAvg: [...good.buffers.expAvg!, new Float32Array(1)] } }, RangeError, /array of 2 arrays.*got an array of length 3\.$/],
      [{ buffers: { ...good.buffers, expAvgSq: [good.buffers.expAvgSq![0], Float64Array.of(0, NaN)] } }, RangeError, /^Expected `state\.buffers\.expAvgSq\[1\]` to be finite, got NaN at index 1\.$/],
      [{ buffers: { ...good.buffers, expAvgSq: [Float32Array.of(-Infinity, 0, 0), good.buffers.expAvgSq![1]] } }, RangeError, /expAvgSq\[0\]` to be finite, got -Infinity at index 0\.$/],
      [{ buffers: { ...good.buffers, expAvg: [new Float64Array(3), good.buffers.expAvg![1]] } }, TypeError, /^Expected `state\.buffers\.expAvg\[0\]` to be a Float32Array \(as params\[0\]\.data\), got a Float64Array\.$/],
      [{ name: 'adamw' }, RangeError, /^Expected `state\.name` to be "adam" \(this optimiser\), got "adamw"\.$/],
    ];
    for (const [patch, type, message] of cases) {
      const state = { ...good, ...patch } as OptimizerStateDict;
      expect(() => adam.loadStateDict(state)).toThrow(type);
      expect(() => adam.loadStateDict(state)).toThrow(message);
      expect(adam.stateDict()).toEqual(before);
    }
    expect(() => adam.loadStateDict('x' as never)).toThrow(/^Expected `state` to be an optimiser state dict \(\{ name, step, lr, buffers \}\), got "x"\.$/);
    // The edges that are allowed: step 0, lr 0.
    adam.loadStateDict({ ...good, step: 0, lr: 0 });
    expect(adam.stepCount).toBe(0);
    expect(adam.lr).toBe(0);
    const sgd = new SGD(params(), { lr: 1 });
    sgd.loadStateDict({ name: 'sgd', step: 3, lr: 0.5, buffers: {} });
    expect([sgd.stepCount, sgd.lr]).toEqual([3, 0.5]);
  });
});
