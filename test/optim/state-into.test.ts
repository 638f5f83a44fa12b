import { describe, expect, it } from 'vitest';
import { Adam, RMSprop, SGD } from '../../src/index.js';

// stateDict(into): the divergence guard saves the optimiser every step without allocating.
function params() {
  return [
    { data: Float32Array.from([1, -2, 3]), grad: Float32Array.from([0.5, 0.25, -1]) },
    { data: Float64Array.from([0.5, 4]), grad: Float64Array.from([2, -3]) },
  ];
}

describe('stateDict(into)', () => {
  it.each([
    ['Adam', () => new Adam(params(), { lr: 0.1 })],
    ['RMSprop centered with momentum', () => new RMSprop(params(), { lr: 0.1, centered: true, momentum: 0.9 })],
    ['SGD with momentum', () => new SGD(params(), { lr: 0.1, momentum: 0.9 })],
  ])('%s: copies into the given arrays, equal to a fresh copy', (_name, make) => {
    const opt = make();
    opt.step();
    const into = opt.stateDict();
    const arrays = Object.values(into.buffers).flat();
    opt.step();
    opt.step();
    const reused = opt.stateDict(into);
    expect(Object.values(reused.buffers).flat()).toEqual(arrays); // the same arrays…
    Object.values(reused.buffers).flat().forEach((a, i) => expect(a).toBe(arrays[i])); // …by identity
    expect(reused).toEqual(opt.stateDict()); // and the current values, step and lr
    expect(reused.step).toBe(3);
  });

  it('allocates fresh arrays when `into` does not fit (another optimiser, other lengths)', () => {
    const adam = new Adam(params(), { lr: 0.1 });
    const sgd = new SGD(params(), { lr: 0.1, momentum: 0.9 });
    const foreign = sgd.stateDict();
    const state = adam.stateDict(foreign);
    expect(Object.keys(state.buffers).sort()).toEqual(['expAvg', 'expAvgSq']);
    expect(state).toEqual(adam.stateDict());
    const short = adam.stateDict();
    (short.buffers as Record<string, unknown[]>)['expAvg'] = [new Float32Array(1), new Float64Array(2)];
    expect(adam.stateDict(short).buffers['expAvg']![0]!.length).toBe(3);
  });
});
