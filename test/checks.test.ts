import { describe, expect, it } from 'vitest';
import { checkPositiveInteger, checkTokenIds, show } from '../src/checks.js';

describe('show', () => {
  it('renders values for error messages', () => {
    expect(show('a"b')).toBe('"a\\"b"');
    expect(show(12.5)).toBe('12.5');
    expect(show(undefined)).toBe('undefined');
    expect(show(null)).toBe('null');
    expect(show(NaN)).toBe('NaN');
    expect(show([1, 2])).toBe('an array of length 2');
    expect(show(new Float32Array(3))).toBe('a Float32Array');
    expect(show({ a: 1 })).toBe('an object');
    expect(show(() => 1)).toBe('a function');
    expect(show(Symbol('s'))).toBe('Symbol(s)');
  });
});

describe('checkPositiveInteger', () => {
  it('returns the value or throws TypeError / RangeError', () => {
    expect(checkPositiveInteger('n', 3)).toBe(3);
    expect(() => checkPositiveInteger('n', 2.5)).toThrow(TypeError);
    expect(() => checkPositiveInteger('n', 0)).toThrow(RangeError);
  });
});

describe('checkTokenIds', () => {
  it('returns an Int32Array: the argument itself when it is one, else a copy', () => {
    const ints = Int32Array.of(1, 2);
    expect(checkTokenIds('c', ints)).toBe(ints);
    expect(checkTokenIds('c', [1, 2])).toEqual(ints);
    expect(checkTokenIds('c', { length: 2, 0: 5, 1: 6 })).toEqual(Int32Array.of(5, 6));
  });

  it('rejects what is not array-like, a negative or fractional length included (issue 13: `{ length: -1 }`)', () => {
    for (const bad of [{ length: -1 }, { length: 1.5 }, { length: 2 ** 32 }, { length: '2' }, {}, null, 'ab', 3]) {
      expect(() => checkTokenIds('corpus', bad)).toThrow(TypeError);
      expect(() => checkTokenIds('corpus', bad)).toThrow(/^Expected `corpus` to be an array or Int32Array of token ids, got /);
    }
    expect(checkTokenIds('corpus', { length: 0 })).toEqual(new Int32Array(0));
  });

  it('takes ids in [0, 2^31) and names the first bad one with its index', () => {
    expect(checkTokenIds('c', [0, 2147483647])).toEqual(Int32Array.of(0, 2147483647));
    expect(() => checkTokenIds('c', [0, 2147483648])).toThrow(RangeError);
    expect(() => checkTokenIds('c', [0, 2147483648])).toThrow(/^Expected `c\[1\]` to be a token id \(an integer in \[0, 2\^31\)\), got 2147483648\.$/);
    expect(() => checkTokenIds('c', [-1])).toThrow(RangeError);
    expect(() => checkTokenIds('c', [0.5])).toThrow(TypeError);
    expect(() => checkTokenIds('c', ['1'])).toThrow(/got "1"\.$/);
    expect(() => checkTokenIds('c', Int32Array.of(1, -3))).toThrow(/^Expected `c\[1\]` .*got -3\.$/);
  });
});

describe('show, exactly', () => {
  it('renders objects without a constructor, or with an unnamed one, as an object', () => {
    expect(show(Object.create(null))).toBe('an object');
    expect(show({ constructor: { name: 5 } })).toBe('an object');
    expect(show(new (class Thing {})())).toBe('a Thing');
  });
});
