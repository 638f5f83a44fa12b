// The halt of queued training steps (model.ts's trainStepAsync and src/webgpu/calls.ts): a
// step skipped because an earlier one halted must not lift the halt when its result is read —
// only the halting step's own read does. Otherwise a newer halting step, queued after the
// first halt was lifted, would have its halt lifted by an older skipped step's read, and the
// steps queued behind it would run on undone weights. (issue 13: model.ts:485's mutant
// "always resume" survived every other test.)
import { describe, expect, it } from 'vitest';
import { LSTMLanguageModel } from '../../src/lstm/model.js';
import { SGD } from '../../src/optim/sgd.js';
import { testDevice } from './device.js';

const X = [[1, 2, 3], [4, 0, 2]], Y = [[2, 3, 4], [0, 1, 3]];

describe('queued steps behind a halt', () => {
  it('a skipped step’s read does not lift a newer step’s halt', async () => {
    const model = new LSTMLanguageModel({ vocabSize: 5, numHiddens: 3, seed: 4, backend: 'webgpu', gpuDevice: await testDevice() });
    const sgd = new SGD(model.parameters(), { lr: 0.1 });
    const step = (lr: number): Promise<{ stepped: boolean }> => {
      sgd.lr = lr;
      const p = model.trainStepAsync(X, Y, undefined, sgd);
      sgd.lr = 0.1;
      return p;
    };
    const s1 = step(1e39), s2 = step(0.1), s3 = step(0.1); // s1 diverges (lr ∞ in float32): s2, s3 skipped
    expect((await s1).stepped).toBe(false); // the halting step's read lifts the halt
    const s4 = step(1e39); // queued after the halt was lifted: runs, diverges, halts again
    expect((await s2).stepped).toBe(false); // skipped behind s1: its read must not lift s4's halt
    const s5 = step(0.1); // queued behind s4, whose result is not read yet: skipped
    expect((await s3).stepped).toBe(false);
    expect((await s4).stepped).toBe(false);
    expect((await s5).stepped).toBe(false);
    expect((await step(0.1)).stepped).toBe(true); // s4 read: steps run again
    expect(sgd.stepCount).toBe(1);
    await model.sync();
    expect(model.flatParameters.every(Number.isFinite)).toBe(true);
    model.dispose();
  });
});
