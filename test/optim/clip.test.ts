// clipGradValue (clipGradNorm's tests are in optim.test.ts, from the seed).
import { describe, expect, it } from 'vitest';
import { clipGradValue } from '../../src/optim/clip.js';

describe('clipGradValue', () => {
  it('clamps every element to [−v, v] and leaves the others and the values alone', () => {
    const a = { data: Float32Array.from([1, 2, 3, 4]), grad: Float32Array.from([-7, -0.5, 0.5, 7]) };
    const b = { data: Float64Array.from([9, 9]), grad: Float64Array.from([2, -2]) };
    clipGradValue([a, b], 1.5);
    expect(Array.from(a.grad)).toEqual([-1.5, -0.5, 0.5, 1.5]);
    expect(Array.from(b.grad)).toEqual([1.5, -1.5]);
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4]);
    expect(Array.from(b.data)).toEqual([9, 9]);
  });
  it('clamps ±∞ and keeps NaN, so a divergence check still sees it', () => {
    const p = { data: new Float64Array(3), grad: Float64Array.from([Infinity, -Infinity, NaN]) };
    clipGradValue([p], 5);
    expect(p.grad[0]).toBe(5);
    expect(p.grad[1]).toBe(-5);
    expect(p.grad[2]).toBeNaN();
  });
  it('rejects a bad clip value or parameter list', () => {
    const p = [{ data: new Float32Array(1), grad: new Float32Array(1) }];
    expect(() => clipGradValue(p, 0)).toThrow(/Expected `clipValue` to be a positive finite number, got 0/);
    expect(() => clipGradValue(p, -1)).toThrow(RangeError);
    expect(() => clipGradValue(p, Infinity)).toThrow(RangeError);
    expect(() => clipGradValue(p, '5' as never)).toThrow(/got "5"/);
    expect(() => clipGradValue(p, '5' as never)).toThrow(TypeError);
    expect(() => clipGradValue(null as never, 5)).toThrow(/Expected `params` to be an array/);
  });
});
