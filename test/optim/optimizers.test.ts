// What every optimiser shares (src/optim/optimizer.ts) and each one's option checks: bad
// options, the lr setter, options as JSON, and state dicts (round trip, rejection of malformed
// dicts with nothing changed). Parity with torch is in parity.test.ts.
import { describe, expect, it } from 'vitest';
import { Adam } from '../../src/optim/adam.js';
import { AdamW } from '../../src/optim/adamw.js';
import type { OptimizerBase, OptimizerStateDict } from '../../src/optim/optimizer.js';
import { RMSprop } from '../../src/optim/rmsprop.js';
import { SGD } from '../../src/optim/sgd.js';
import { Random } from '../../src/tensor/random.js';
import type { FloatArray } from '../../src/tensor/float-array.js';

type Param = { data: FloatArray; grad: FloatArray };
type Make = (params: Param[]) => OptimizerBase<{ lr: number }>;

/** Three parameters: two float32 and one float64 (a list may mix them). */
function makeParams(seed = 1): Param[] {
  const rng = new Random(seed);
  const f = (F: Float32ArrayConstructor | Float64ArrayConstructor, n: number) => {
    const data = new F(n);
    for (let i = 0; i < n; i++) data[i] = rng.normal();
    return { data, grad: new F(n) };
  };
  return [f(Float32Array, 12), f(Float64Array, 5), f(Float32Array, 6)];
}

/** Fills the gradients with step k's draw (the same for every run). */
function setGrads(params: Param[], k: number): void {
  const rng = new Random(1000 + k);
  for (const { grad } of params) for (let i = 0; i < grad.length; i++) grad[i] = rng.normal() * (0.1 + (k % 4));
}

const CONFIGS: Record<string, Make> = {
  'SGD nesterov, weight decay': (p) => new SGD(p, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 }),
  'Adam, weight decay': (p) => new Adam(p, { lr: 0.01, weightDecay: 0.1 }),
  AdamW: (p) => new AdamW(p, { lr: 0.01 }),
  'RMSprop centered, momentum': (p) => new RMSprop(p, { lr: 0.005, centered: true, momentum: 0.5 }),
};

describe('stateDict / loadStateDict', () => {
  for (const [label, make] of Object.entries(CONFIGS)) {
    it(`${label}: saving at step 10 and resuming in a fresh optimiser is bit-identical to 20 steps straight`, () => {
      const straight = makeParams();
      const a = make(straight);
      for (let k = 0; k < 20; k++) { setGrads(straight, k); a.step(); }

      const first = makeParams();
      const b = make(first);
      for (let k = 0; k < 10; k++) { setGrads(first, k); b.step(); }
      b.lr = b.lr / 2; // a schedule's change is part of the state
      const saved = b.stateDict();
      const savedData = first.map((p) => p.data.slice());
      expect(saved.step).toBe(10);

      const resumed = makeParams(99).map((p, j) => ({ data: savedData[j]!, grad: p.grad }));
      const c = make(resumed);
      c.loadStateDict(saved);
      expect(c.stepCount).toBe(10);
      expect(c.lr).toBe(b.lr);
      c.lr = c.lr * 2;
      for (let k = 10; k < 20; k++) { setGrads(resumed, k); c.step(); }
      resumed.forEach((p, j) => expect(p.data).toEqual(straight[j]!.data));
      expect(c.stateDict()).toEqual(a.stateDict());
    });
  }

  it('returns copies, of the parameters\' types, and loads copies', () => {
    const params = makeParams();
    const adam = new Adam(params);
    setGrads(params, 0);
    adam.step();
    const state = adam.stateDict();
    expect(state).toMatchObject({ name: 'adam', step: 1, lr: 1e-3 });
    expect(Object.keys(state.buffers)).toEqual(['expAvg', 'expAvgSq']);
    expect(state.buffers.expAvg!.map((b) => b.constructor)).toEqual([Float32Array, Float64Array, Float32Array]);
    const m0 = state.buffers.expAvg![0]![0];
    state.buffers.expAvg![0]![0] = 123; // changing the copy changes nothing inside
    expect(adam.stateDict().buffers.expAvg![0]![0]).toBe(m0);
    adam.loadStateDict(state);
    state.buffers.expAvg![0]![0] = 456;
    expect(adam.stateDict().buffers.expAvg![0]![0]).toBe(123);
  });

  it('names the buffers after the options (SGD without momentum has none)', () => {
    const p = makeParams();
    expect(Object.keys(new SGD(p, { lr: 1 }).stateDict().buffers)).toEqual([]);
    expect(Object.keys(new SGD(p, { lr: 1, momentum: 0.9 }).stateDict().buffers)).toEqual(['momentumBuffer']);
    expect(Object.keys(new RMSprop(p).stateDict().buffers)).toEqual(['squareAvg']);
    expect(Object.keys(new RMSprop(p, { centered: true, momentum: 0.1 }).stateDict().buffers)).toEqual(['squareAvg', 'gradAvg', 'momentumBuffer']);
  });

  it('rejects a malformed state dict, naming the field, and changes nothing', () => {
    const params = makeParams();
    const opt = new RMSprop(params, { centered: true });
    for (let k = 0; k < 3; k++) { setGrads(params, k); opt.step(); }
    const before = opt.stateDict();
    const good = (): OptimizerStateDict => opt.stateDict();
    const with_ = (patch: (s: any) => void): OptimizerStateDict => {
      const s: any = good();
      patch(s);
      return s;
    };
    const cases: [OptimizerStateDict, RegExp][] = [
      [null as never, /Expected `state` to be an optimiser state dict/],
      [with_((s) => { s.name = 'adam'; }), /Expected `state.name` to be "rmsprop" \(this optimiser\), got "adam"/],
      [with_((s) => { s.step = -1; }), /Expected `state.step` to be a non-negative integer, got -1/],
      [with_((s) => { s.step = 2.5; }), /`state.step`.*got 2.5/],
      [with_((s) => { s.lr = NaN; }), /Expected `state.lr` to be a non-negative finite number, got NaN/],
      [with_((s) => { s.buffers = undefined; }), /Expected `state.buffers` to be an object, got undefined/],
      [with_((s) => { delete s.buffers.gradAvg; }), /Expected `state.buffers` to hold exactly \[squareAvg, gradAvg\].*got \[squareAvg\]/],
      [with_((s) => { s.buffers.momentumBuffer = s.buffers.gradAvg; }), /hold exactly \[squareAvg, gradAvg\].*got \[squareAvg, gradAvg, momentumBuffer\]/],
      [with_((s) => { s.buffers.gradAvg.pop(); }), /Expected `state.buffers.gradAvg` to be an array of 3 arrays \(one per parameter\), got an array of length 2/],
      [with_((s) => { s.buffers.gradAvg[1] = new Float32Array(5); }), /Expected `state.buffers.gradAvg\[1\]` to be a Float64Array \(as params\[1\].data\), got a Float32Array/],
      [with_((s) => { s.buffers.gradAvg[2] = [0, 0, 0, 0, 0, 0]; }), /`state.buffers.gradAvg\[2\]` to be a Float32Array.*got an array of length 6/],
      [with_((s) => { s.buffers.gradAvg[2] = new Float32Array(7); }), /Expected `state.buffers.gradAvg\[2\]` to have length 6 \(as params\[2\].data\), got 7/],
      // The last element of the last buffer: everything before it would already have been copied by a naive loader.
      [with_((s) => { s.step = 50; s.lr = 1; s.buffers.gradAvg[2][5] = Infinity; }), /Expected `state.buffers.gradAvg\[2\]` to be finite, got Infinity at index 5/],
    ];
    for (const [state, message] of cases) {
      expect(() => opt.loadStateDict(state)).toThrow(message);
      expect(opt.stateDict()).toEqual(before);
      expect(opt.lr).toBe(before.lr);
    }
  });
});

describe('options', () => {
  const p = makeParams();
  it('are resolved, frozen, JSON-serialisable and rebuild the same optimiser, with the current lr', () => {
    const adam = new Adam(p, { betas: [0.8, 0.9] });
    expect(adam.name).toBe('adam');
    expect(adam.options).toEqual({ lr: 1e-3, betas: [0.8, 0.9], eps: 1e-8, weightDecay: 0 });
    expect(Object.isFrozen(adam.options)).toBe(true);
    adam.lr = 5e-4;
    const again = new Adam(p, JSON.parse(JSON.stringify(adam.options)));
    expect(again.options).toEqual(adam.options);
    expect(new AdamW(p).options).toEqual({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2 });
    expect(new AdamW(p).name).toBe('adamw');
    expect(new SGD(p, { lr: 1 }).options).toEqual({ lr: 1, momentum: 0, nesterov: false, weightDecay: 0 });
    expect(new RMSprop(p).options).toEqual({ lr: 1e-2, alpha: 0.99, eps: 1e-8, momentum: 0, centered: false, weightDecay: 0 });
    expect(new RMSprop(p).name).toBe('rmsprop');
    expect(new SGD(p, { lr: 1, momentum: undefined }).options.momentum).toBe(0); // undefined means the default
  });

  it('lr: settable to any finite value ≥ 0 (a schedule may reach 0), else throws and keeps the old one', () => {
    for (const opt of [new SGD(p, { lr: 1 }), new Adam(p), new AdamW(p), new RMSprop(p)]) {
      const old = opt.lr;
      opt.lr = 0;
      expect(opt.lr).toBe(0);
      opt.lr = old;
      expect(() => { opt.lr = -1e-3; }).toThrow(/Expected `lr` to be a non-negative finite number, got -0.001/);
      expect(() => { opt.lr = NaN; }).toThrow(RangeError);
      expect(() => { opt.lr = '1' as never; }).toThrow(TypeError);
      expect(opt.lr).toBe(old);
    }
  });

  it('a step at lr 0 changes nothing but advances the moments', () => {
    const params = makeParams();
    const adam = new Adam(params);
    adam.lr = 0;
    const before = params.map((x) => x.data.slice());
    setGrads(params, 0);
    adam.step();
    params.forEach((x, j) => expect(x.data).toEqual(before[j]));
    expect(adam.stepCount).toBe(1);
  });

  const bad: [string, () => unknown, RegExp, ErrorConstructor][] = [
    ['unknown key (SGD)', () => new SGD(p, { lr: 1, weight_decay: 0.1 } as never), /Unknown option `weight_decay` for SGD \(got 0.1\); the options are lr, momentum, nesterov, weightDecay/, TypeError],
    ['unknown key (Adam)', () => new Adam(p, { beta1: 0.9 } as never), /Unknown option `beta1` for Adam/, TypeError],
    ['unknown key (AdamW)', () => new AdamW(p, { amsgrad: true } as never), /Unknown option `amsgrad` for AdamW/, TypeError],
    ['unknown key (RMSprop)', () => new RMSprop(p, { rho: 0.9 } as never), /Unknown option `rho` for RMSprop/, TypeError],
    ['options not an object', () => new Adam(p, 0.01 as never), /Expected `options` to be an object like \{ lr: 1e-3 \}, got 0.01/, TypeError],
    ['SGD without lr', () => new SGD(p, {} as never), /Expected `lr` to be a positive number, got undefined/, TypeError],
    ['lr 0 at construction', () => new Adam(p, { lr: 0 }), /Expected `lr` to be a positive finite number, got 0/, RangeError],
    ['momentum ≥ 1', () => new SGD(p, { lr: 1, momentum: 1 }), /Expected `momentum` to be a number in \[0, 1\), got 1/, RangeError],
    ['negative momentum', () => new RMSprop(p, { momentum: -0.5 }), /Expected `momentum` to be a number in \[0, 1\), got -0.5/, RangeError],
    ['nesterov without momentum', () => new SGD(p, { lr: 1, nesterov: true }), /Expected `momentum` to be > 0 with `nesterov: true`, got 0/, RangeError],
    ['nesterov not boolean', () => new SGD(p, { lr: 1, momentum: 0.9, nesterov: 1 as never }), /Expected `nesterov` to be a boolean, got 1/, TypeError],
    ['negative weightDecay', () => new SGD(p, { lr: 1, weightDecay: -0.1 }), /Expected `weightDecay` to be a non-negative finite number, got -0.1/, RangeError],
    ['infinite weightDecay', () => new AdamW(p, { weightDecay: Infinity }), /`weightDecay`.*got Infinity/, RangeError],
    ['beta1 = 1', () => new Adam(p, { betas: [1, 0.999] }), /Expected `betas\[0\]` to be a number in \[0, 1\), got 1/, RangeError],
    ['beta2 < 0', () => new AdamW(p, { betas: [0.9, -0.1] }), /Expected `betas\[1\]` to be a number in \[0, 1\), got -0.1/, RangeError],
    ['betas not a pair', () => new Adam(p, { betas: [0.9] as never }), /Expected `betas` to be a pair of numbers in \[0, 1\) like \[0.9, 0.999\], got an array of length 1/, TypeError],
    ['beta a string', () => new Adam(p, { betas: ['0.9', 0.999] as never }), /Expected `betas\[0\]` to be a number in \[0, 1\), got "0.9"/, TypeError],
    ['eps = 0', () => new Adam(p, { eps: 0 }), /Expected `eps` to be a positive finite number, got 0/, RangeError],
    ['eps < 0', () => new RMSprop(p, { eps: -1e-8 }), /Expected `eps` to be a positive finite number, got -1e-8/, RangeError],
    ['alpha = 1', () => new RMSprop(p, { alpha: 1 }), /Expected `alpha` to be a number in \[0, 1\), got 1/, RangeError],
    ['centered not boolean', () => new RMSprop(p, { centered: 'yes' as never }), /Expected `centered` to be a boolean, got "yes"/, TypeError],
    ['params not an array', () => new Adam({} as never), /Expected `params` to be an array/, TypeError],
    ['a parameter without float arrays', () => new RMSprop([{ data: [1], grad: [1] }] as never), /Expected `params\[0\]` to have Float32Array\/Float64Array/, TypeError],
  ];
  for (const [label, make, message, type] of bad) {
    it(`rejects ${label}`, () => {
      expect(make).toThrow(message);
      expect(make).toThrow(type);
    });
  }
});
