// LSTMLanguageModel when a step's norm is not finite though its loss is, and when backward
// throws midway (as a lost worker makes it): the clip and layer modules are wrapped so that a
// test can steer them; by default they are the real ones.
import { afterEach, describe, expect, it, vi } from 'vitest';

const steer = vi.hoisted(() => ({ gradNorm: undefined as number | undefined, backwardThrows: false }));
vi.mock('../../src/optim/clip.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/optim/clip.js')>();
  return {
    ...real,
    clipGradients: (...args: Parameters<typeof real.clipGradients>) => {
      const norm = real.clipGradients(...args);
      return steer.gradNorm ?? norm;
    },
  };
});
vi.mock('../../src/lstm/layer.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/lstm/layer.js')>();
  return {
    ...real,
    recurrenceBackward: (...args: Parameters<typeof real.recurrenceBackward>) => {
      if (steer.backwardThrows) throw new Error('A kernel worker stopped');
      return real.recurrenceBackward(...args);
    },
  };
});

const { LSTMLanguageModel } = await import('../../src/lstm/model.js');

afterEach(() => {
  steer.gradNorm = undefined;
  steer.backwardThrows = false;
});

const X = [[1, 2, 3], [0, 4, 2]], Y = [[2, 3, 4], [4, 2, 1]];

describe('trainStepAsync with a finite loss and a norm that is not', () => {
  it.each([Infinity, NaN])('norm %s: not stepped, the optimiser never called, the weights unchanged', async (norm) => {
    const model = new LSTMLanguageModel({ vocabSize: 5, numHiddens: 4, seed: 1, backend: 'js' });
    const before = Array.from(model.flatParameters);
    let steps = 0;
    steer.gradNorm = norm;
    const r = await model.trainStepAsync(X, Y, undefined, { step: () => { steps++; } });
    expect(Number.isFinite(r.loss)).toBe(true);
    expect(r.gradNorm).toBe(norm);
    expect(r.stepped).toBe(false);
    expect(steps).toBe(0);
    expect(Array.from(model.flatParameters)).toEqual(before);
  });
});

describe('forwardBackward whose backward throws', () => {
  it('throws, and leaves the state passed in as it was (the final state is written only after backward)', () => {
    for (const numLayers of [1, 2]) {
      const model = new LSTMLanguageModel({ vocabSize: 5, numHiddens: 4, numLayers, seed: 1, backend: 'js' });
      const state = model.initState(2);
      state.h.fill(0.25);
      state.c.fill(-0.5);
      steer.backwardThrows = true;
      expect(() => model.forwardBackward(X, Y, state)).toThrow('A kernel worker stopped');
      expect(state.h.every((v) => v === 0.25)).toBe(true);
      expect(state.c.every((v) => v === -0.5)).toBe(true);
      steer.backwardThrows = false;
      model.forwardBackward(X, Y, state);
      expect(state.h.every((v) => v === 0.25)).toBe(false);
    }
  });
});
