import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LSTMLanguageModel, type LSTMLanguageModelOptions } from '../../src/lstm/model.js';
import { planSplit, SPLIT_RULE } from '../../src/lstm/runner.js';
import type { Pass } from '../../src/lstm/pass.js';
import { nodeWorkerFactory } from '../../node/index.js';

// The recurrence split by batch rows and split by hidden units (one phase per step) make
// every number from the same terms in the same order: forward, backward and training must be
// bit-identical between them, on js and wasm, with 1 and 2 threads, in 1, 2, 3 and 9 parts
// (parts beyond the threads run in turn; the weight gradients' rows are cut wherever the even shares fall). H = 44 leaves a part of units that is not a
// multiple of 8; B = 1 and 3 (one row, and more rows than parts).

// test/setup.ts sets the rule for the other tests; each test here starts from the real one.
const saved = { ...SPLIT_RULE };
beforeEach(() => {
  SPLIT_RULE.workPerPart = 1e6;
  SPLIT_RULE.force = 'auto';
  SPLIT_RULE.forceParts = 0;
});
afterEach(() => {
  Object.assign(SPLIT_RULE, saved);
});

const bits = (a: ArrayLike<number>): number[] => Array.from(a, (x) => x);

interface Outcome { logits: number[]; state: number[]; losses: number[]; grads: number[]; stateGrad: number[]; params: number[] }

async function run(
  options: Partial<LSTMLanguageModelOptions>, force: 'rows' | 'columns', parts: number, B: number, T: number,
): Promise<Outcome> {
  SPLIT_RULE.force = force;
  SPLIT_RULE.forceParts = parts;
  const model = new LSTMLanguageModel({
    vocabSize: 11, numHiddens: 44, numLayers: 2, embeddingSize: 6, dropout: 0.25, seed: 5, init: 'pytorch',
    createWorker: nodeWorkerFactory, ...options,
  } as LSTMLanguageModelOptions);
  try {
    if (model.threads > 1) await new Promise((resolve) => setTimeout(resolve, 300)); // the worker running its parts
    const ids = (shift: number) => Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => (3 * b + 5 * t + shift) % 11));
    const fwd = model.forward(ids(0));
    const out: Outcome = { logits: bits(fwd.logits), state: [...bits(fwd.state.h), ...bits(fwd.state.c)], losses: [], grads: [], stateGrad: [], params: [] };
    let state = model.initState(B);
    for (let step = 0; step < 3; step++) { // training: SGD on the gradients, state carried
      model.zeroGrad();
      const r = model.forwardBackward(ids(step), ids(step + 1), state);
      state = r.state;
      out.losses.push(r.loss);
      if (step === 0) {
        out.grads = bits(model.flatGradients);
        out.stateGrad = [...bits(r.stateGrad.h), ...bits(r.stateGrad.c)];
      }
      const W = model.flatParameters, dW = model.flatGradients;
      for (let i = 0; i < W.length; i++) W[i] = W[i]! - 0.5 * dW[i]!;
    }
    out.params = bits(model.flatParameters);
    return out;
  } finally {
    model.dispose();
  }
}

describe('the recurrence split by hidden units against the split by batch rows', () => {
  const cases: [string, Partial<LSTMLanguageModelOptions>][] = [
    ['js float64', { backend: 'js', dtype: 'float64' }],
    ['js float32', { backend: 'js' }],
    ['wasm, 1 thread', { backend: 'wasm', threads: 1 }],
    ['wasm, 2 threads', { backend: 'wasm', threads: 2 }],
  ];
  for (const [name, options] of cases) {
    it(`${name}: forward, backward and 3 training steps bit-identical (B = 1 and 3; 1, 2, 3, 9 parts)`, async () => {
      for (const B of [1, 3]) {
        const one = await run(options, 'rows', 1, B, 4);
        expect(one.losses.every(Number.isFinite)).toBe(true);
        for (const parts of [1, 2, 3, 9]) {
          const rows = await run(options, 'rows', parts, B, 4);
          const columns = await run(options, 'columns', parts, B, 4);
          expect(columns, `${parts} parts, B = ${B}`).toEqual(rows);
          // Against one part: the loss is a sum of the parts' sums (its rounding depends on
          // the parts, as with threads); every array is bit-identical.
          expect({ ...columns, losses: [] }, `${parts} parts against 1, B = ${B}`).toEqual({ ...one, losses: [] });
          for (let s = 0; s < 3; s++) expect(Math.abs(columns.losses[s]! - one.losses[s]!)).toBeLessThan(1e-6);
        }
      }
    }, 60_000);
  }
});

describe('planSplit', () => {
  const plan = (threads: number, B: number, T: number, H: number, L: number): [number, boolean, number] => {
    const p = { ws: { B, T }, config: { numHiddens: H, numLayers: L }, parts: 0, byUnits: false, recurrenceParts: 0 } as unknown as Pass;
    planSplit(p, threads);
    return [p.parts, p.byUnits, p.recurrenceParts];
  };
  it('parts of ≥ 1e6 flops of recurrence each; by units when a step pays for its barrier and rows are few or W_h is big', () => {
    expect(plan(1, 64, 100, 512, 2)).toEqual([1, false, 1]);
    expect(plan(2, 64, 100, 512, 2)).toEqual([2, false, 2]); // training: rows, two parts
    expect(plan(2, 1, 1, 512, 2)).toEqual([2, true, 2]); // generation: 2.1e6 flops a step, two parts by units
    expect(plan(2, 1, 1, 256, 1)).toEqual([1, false, 1]); // a step of 5.2e5: one part
    expect(plan(2, 1, 1, 1024, 1)).toEqual([2, true, 2]); // a step of 8.4e6: two parts
    expect(plan(2, 1, 1, 1500, 1)).toEqual([2, true, 2]); // 1.8e7: two parts, by units
    expect(plan(2, 2, 1, 1024, 1)).toEqual([2, true, 2]);
    expect(plan(2, 4, 1, 1024, 1)).toEqual([2, true, 2]); // B ≥ 2·threads, but 4·H² floats are 16 MiB: units
    expect(plan(2, 8, 1, 700, 1)).toEqual([2, false, 2]); // B ≥ 2·threads and 7.5 MiB of W_h: rows
    expect(plan(2, 32, 35, 1024, 1)).toEqual([2, true, 2]); // the H = 1024 benchmark: units
    expect(plan(4, 3, 35, 1024, 1)).toEqual([4, true, 4]); // a step has 2.5e7 flops: 4 parts
    expect(plan(4, 1, 35, 512, 1)).toEqual([4, true, 2]); // a step of 2.1e6 flops: 2 parts of units, 4 of the rest
    expect(plan(4, 1, 35, 400, 1)).toEqual([4, false, 1]); // a step of 1.28e6: not split
    expect(plan(2, 1, 100, 512, 2)).toEqual([2, true, 2]); // one row: the recurrence by units
    expect(plan(2, 1, 100, 256, 2)).toEqual([2, false, 1]); // one row, a step of 5.2e5: the recurrence in one part
    expect(plan(8, 1, 100, 32, 1)).toEqual([1, false, 1]); // T·B·L·8·H² = 8.2e5: one part
    expect(plan(8, 2, 250, 32, 1)).toEqual([4, false, 2]); // 4.1e6: 4 parts; the recurrence by its 2 rows
  });
  it('force and forceParts override the rule', () => {
    SPLIT_RULE.force = 'columns';
    expect(plan(2, 64, 100, 512, 2)).toEqual([2, true, 2]);
    expect(plan(2, 1, 1, 64, 1)).toEqual([1, true, 1]); // a step too small to split: one part
    SPLIT_RULE.forceParts = 3;
    expect(plan(1, 1, 1, 8, 1)).toEqual([3, true, 3]);
    SPLIT_RULE.force = 'rows';
    expect(plan(2, 1, 1, 2048, 1)).toEqual([3, false, 3]);
  });
});
