// checkTrainables (src/optim/params.ts), through every public entry that takes a parameter
// list: a null or half-float parameter and a gradient of another length are refused with an
// error naming the entry, before any parameter changes (issue 13: mutation testing).
import { describe, expect, it } from 'vitest';
import { Adam } from '../../src/optim/adam.js';
import { clipGradNorm, clipGradValue } from '../../src/optim/clip.js';
import { checkTrainables } from '../../src/optim/params.js';
import { RMSprop } from '../../src/optim/rmsprop.js';
import { SGD } from '../../src/optim/sgd.js';

const good = () => ({ data: Float32Array.of(1, 2), grad: Float32Array.of(30, 40) });

const entries: [string, (params: unknown) => unknown][] = [
  ['checkTrainables', (p) => checkTrainables(p)],
  ['new SGD', (p) => new SGD(p as never, { lr: 0.1 })],
  ['new Adam', (p) => new Adam(p as never)],
  ['new RMSprop', (p) => new RMSprop(p as never)],
  ['clipGradNorm', (p) => clipGradNorm(p as never, 1)],
  ['clipGradValue', (p) => clipGradValue(p as never, 1)],
];

describe.each(entries)('%s', (_, call) => {
  it('refuses null and undefined parameters with a TypeError naming the index', () => {
    for (const bad of [null, undefined]) {
      const first = good();
      expect(() => call([first, bad])).toThrow(new TypeError(
        `Expected \`params[1]\` to have Float32Array/Float64Array \`data\` and \`grad\`, got ${String(bad)}.`));
      expect(Array.from(first.grad)).toEqual([30, 40]);
    }
  });

  it('refuses a parameter whose data or grad alone is not a float array', () => {
    for (const bad of [
      { data: Float32Array.of(1), grad: [1] },
      { data: [1], grad: Float64Array.of(1) },
      { data: Float64Array.of(1) },
    ]) {
      expect(() => call([bad])).toThrow(/^Expected `params\[0\]` to have Float32Array\/Float64Array `data` and `grad`, got /);
    }
  });

  it('refuses a gradient of another length with a RangeError giving both lengths', () => {
    const first = good();
    const p = { data: new Float32Array(3), grad: new Float32Array(2) };
    expect(() => call([first, p])).toThrow(new RangeError('Expected `params[1].grad` to have the length of its data (3), got 2.'));
    expect(Array.from(first.grad)).toEqual([30, 40]);
  });

  it('accepts float arrays of either width, and an empty list', () => {
    expect(() => call([good(), { data: new Float64Array(2), grad: new Float64Array(2) }])).not.toThrow();
    expect(() => call([])).not.toThrow();
  });
});
