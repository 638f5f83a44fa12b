import { describe, expect, it } from 'vitest';
import { clipGradNorm } from '../../src/optim/clip.js';
import { SGD } from '../../src/optim/sgd.js';

function param(data: number[], grad: number[]) {
  return { data: Float32Array.from(data), grad: Float32Array.from(grad) };
}

describe('clipGradNorm', () => {
  it('returns the global pre-clip norm and scales every gradient to maxNorm', () => {
    const ps = [param([1, 1], [3, 0]), param([1], [4])]; // global norm 5
    expect(clipGradNorm(ps, 1)).toBeCloseTo(5, 6);
    expect(Array.from(ps[0]!.grad)).toEqual([Math.fround(0.6), 0]);
    expect(ps[1]!.grad[0]).toBeCloseTo(0.8, 6);
    expect(clipGradNorm(ps, 1)).toBeCloseTo(1, 6);
  });
  it('leaves gradients alone below the threshold and ignores the parameter values', () => {
    const ps = [param([100, 100], [0.3, 0.4])];
    expect(clipGradNorm(ps, 1)).toBeCloseTo(0.5, 6);
    expect(Array.from(ps[0]!.grad)).toEqual([Math.fround(0.3), Math.fround(0.4)]);
  });
  it('returns a non-finite norm without scaling anything', () => {
    const ps = [param([0, 0], [NaN, 1])];
    expect(clipGradNorm(ps, 1)).toBeNaN();
    expect(ps[0]!.grad[1]).toBe(1);
  });
  it('rejects bad arguments', () => {
    expect(() => clipGradNorm([param([0], [1])], 0)).toThrow(/Expected `maxNorm` to be a positive number, got 0/);
    expect(() => clipGradNorm([param([0], [1])], NaN)).toThrow(RangeError);
    expect(() => clipGradNorm({} as never, 1)).toThrow(/Expected `params` to be an array/);
    expect(() => clipGradNorm([{ data: [1], grad: [1] }] as never, 1)).toThrow(/Expected `params\[0\]` to have Float32Array\/Float64Array/);
  });
});

describe('SGD', () => {
  it('step does data −= lr·grad and leaves the gradients', () => {
    const p = param([1, 2], [0.5, -1]);
    const sgd = new SGD([p], { lr: 0.1 });
    sgd.step();
    expect(p.data[0]).toBeCloseTo(0.95, 6);
    expect(p.data[1]).toBeCloseTo(2.1, 6);
    expect(Array.from(p.grad)).toEqual([0.5, -1]);
  });
  it('rejects a bad learning rate, at construction and assignment, keeping the old one', () => {
    const p = param([1], [1]);
    expect(() => new SGD([p], { lr: NaN })).toThrow(/Expected `lr` to be a positive finite number, got NaN/);
    expect(() => new SGD([p], { lr: -1 })).toThrow(RangeError);
    expect(() => new SGD([p], { lr: '1' as never })).toThrow(TypeError);
    expect(() => new SGD([p], undefined as never)).toThrow(/Expected `options` to be an object/);
    const sgd = new SGD([p], { lr: 1 });
    expect(() => { sgd.lr = Infinity; }).toThrow(/got Infinity/);
    expect(sgd.lr).toBe(1);
  });
});

describe('SGD, exactly (issue 13: Stryker survivors)', () => {
  const param = (data: number[], grad: number[]) => ({ data: Float32Array.from(data), grad: Float32Array.from(grad) });

  it('shows a valid example when options is not an object', () => {
    expect(() => new SGD([param([1], [1])], null as never)).toThrow(/^Expected `options` to be an object like \{ lr: 1 \}, got null\.$/);
  });

  it('without weight decay, a step never reads the weights: an infinite weight stays infinite (no 0·∞ = NaN)', () => {
    for (const momentum of [0, 0.9]) {
      const p = param([Infinity, -Infinity, 2], [1, 1, 1]);
      const sgd = new SGD([p], { lr: 0.5, momentum });
      sgd.step();
      sgd.step();
      expect(Array.from(p.data.subarray(0, 2))).toEqual([Infinity, -Infinity]);
      expect(p.data[2]).toBeCloseTo(momentum === 0 ? 1 : 2 - 0.5 - 0.5 * 1.9, 6);
    }
  });
});

describe('clips, exactly (issue 13: a string maxNorm was accepted)', () => {
  const P = [{ data: Float32Array.of(0, 0), grad: Float32Array.of(3, 4) }];
  it('refuse a maxNorm or clipValue that is not a number with a TypeError, and change nothing', () => {
    for (const bad of ['1', '0', null, [2]]) {
      expect(() => clipGradNorm(P, bad as never)).toThrow(TypeError);
      expect(() => clipGradNorm(P, bad as never)).toThrow(/^Expected `maxNorm` to be a positive number, got /);
    }
    expect(() => clipGradNorm(P, 0)).toThrow(RangeError);
    expect(Array.from(P[0]!.grad)).toEqual([3, 4]);
  });
});
