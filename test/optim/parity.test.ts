// Parity with torch.optim: 20-step trajectories from test/golden/optim-golden.json (made by
// test/golden/make_optim_golden.py in float64). Float64 parameters must match element-wise to
// 1e-6 relative (measured: ≤ 1e-13); float32 ones to float32 rounding, 1e-6 of each
// parameter's largest magnitude (measured: ≤ 3.5e-7, a few ulps).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Adam } from '../../src/optim/adam.js';
import { AdamW } from '../../src/optim/adamw.js';
import type { OptimizerBase } from '../../src/optim/optimizer.js';
import { RMSprop } from '../../src/optim/rmsprop.js';
import { cosineWithWarmup, reduceOnPlateau, scheduledLr, stepDecay } from '../../src/optim/schedules.js';
import { SGD } from '../../src/optim/sgd.js';
import type { FloatArray } from '../../src/tensor/float-array.js';

interface Case {
  optimizer: 'SGD' | 'Adam' | 'AdamW' | 'RMSprop';
  options: Record<string, unknown>;
  trajectory: number[][][];
  buffers: Record<string, number[][]>;
  stateStep: number | null;
}
const golden = JSON.parse(readFileSync(new URL('../golden/optim-golden.json', import.meta.url), 'utf8')) as {
  config: { steps: number };
  initialParams: number[][];
  grads: number[][][];
  cases: Record<string, Case>;
  schedules: Record<string, any>;
};
const CLASSES = { SGD, Adam, AdamW, RMSprop } as const;
const NAMES = { SGD: 'sgd', Adam: 'adam', AdamW: 'adamw', RMSprop: 'rmsprop' } as const;

type Ctor = new (params: { data: FloatArray; grad: FloatArray }[], options: any) => OptimizerBase<{ lr: number }>;

function makeParams(F: Float32ArrayConstructor | Float64ArrayConstructor) {
  return golden.initialParams.map((p) => ({ data: F.from(p), grad: new F(p.length) }));
}

/** Element-wise: max over elements of |a − b| / |b|. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.abs(b[i]!));
  return worst;
}

/**
 * Norm-wise, for float32: max |a − b| / max |b| over one parameter. Float32 rounding of each
 * step is relative to the parameter's scale, so an element that passes near 0 carries an
 * error that is tiny in absolute terms but large relative to itself.
 */
function normRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

function run(c: Case, F: Float32ArrayConstructor | Float64ArrayConstructor) {
  const err = F === Float64Array ? relErr : normRelErr;
  const params = makeParams(F);
  const opt = new (CLASSES[c.optimizer] as unknown as Ctor)(params, c.options);
  let worst = 0;
  for (let k = 0; k < golden.config.steps; k++) {
    params.forEach((p, j) => p.grad.set(golden.grads[k]![j]!));
    opt.step();
    params.forEach((p, j) => { worst = Math.max(worst, err(p.data, c.trajectory[k]![j]!)); });
  }
  return { opt, worst };
}

describe('optimisers match torch.optim over 20 steps', () => {
  for (const [name, c] of Object.entries(golden.cases)) {
    it(`${name}: ${c.optimizer}(${JSON.stringify(c.options)})`, () => {
      const f64 = run(c, Float64Array);
      expect(f64.worst).toBeLessThanOrEqual(1e-6);
      const f32 = run(c, Float32Array);
      expect(f32.worst).toBeLessThanOrEqual(1e-6); // measured ≤ 3.5e-7: a few float32 ulps
      // The state dict holds torch's buffers, under our names, after the same 20 steps.
      const state = f64.opt.stateDict();
      expect(state.name).toBe(NAMES[c.optimizer]);
      expect(state.step).toBe(golden.config.steps);
      expect(Object.keys(state.buffers).sort()).toEqual(Object.keys(c.buffers).sort());
      for (const [key, list] of Object.entries(c.buffers)) {
        list.forEach((b, j) => expect(relErr(state.buffers[key]![j]!, b)).toBeLessThanOrEqual(1e-6));
      }
    });
  }
});

describe('schedules match torch.optim.lr_scheduler', () => {
  it('stepDecay (unit step) driving Adam is StepLR(step_size 5, gamma 0.5)', () => {
    const g = golden.schedules.stepLR_adam;
    const { name: _, ...options } = g.schedule;
    const schedule = stepDecay(options);
    const params = makeParams(Float64Array);
    const adam = new Adam(params, g.options);
    for (let k = 0; k < golden.config.steps; k++) {
      adam.lr = scheduledLr(schedule, { step: k, epoch: 0 });
      expect(adam.lr).toBeCloseTo(g.lrs[k], 15);
      params.forEach((p, j) => p.grad.set(golden.grads[k]![j]!));
      adam.step();
    }
    params.forEach((p, j) => expect(relErr(p.data, g.finalParams[j])).toBeLessThanOrEqual(1e-6));
  });
  it('cosineWithWarmup without warm-up is CosineAnnealingLR', () => {
    const g = golden.schedules.cosine;
    const { name: _, ...options } = g.schedule;
    const schedule = cosineWithWarmup(options);
    (g.lrs as number[]).forEach((lr, step) => expect(Math.abs(schedule.lrAt({ step, epoch: 0 }) - lr)).toBeLessThan(1e-15));
  });
  it('reduceOnPlateau is ReduceLROnPlateau (mode min, relative threshold, cooldown)', () => {
    const g = golden.schedules.reduceOnPlateau;
    const { name: _, ...options } = g.schedule;
    const plateau = reduceOnPlateau(options);
    (g.valLosses as number[]).forEach((v, i) => {
      expect(plateau.step(v)).toBe(g.lrsAfter[i]);
      expect(plateau.lr).toBe(g.lrsAfter[i]);
    });
    expect(plateau.stateDict()).toEqual({
      lr: g.lrsAfter.at(-1), best: g.final.best, badEvaluations: g.final.numBadEpochs, cooldownLeft: g.final.cooldownCounter,
    });
  });
});
