import { describe, expect, it } from 'vitest';
import { Random } from '../../src/tensor/random.js';

describe('Random', () => {
  it('the same seed gives the same stream; different seeds differ', () => {
    const a = new Random(42), b = new Random(42), c = new Random(43);
    const xs = Array.from({ length: 100 }, () => a.uniform());
    expect(Array.from({ length: 100 }, () => b.uniform())).toEqual(xs);
    expect(Array.from({ length: 100 }, () => c.uniform())).not.toEqual(xs);
  });
  it('uniform in [0, 1) with mean ½; int in [0, n) covering every value; normal has mean 0, sd 1', () => {
    const r = new Random(7), N = 200_000;
    let sum = 0, sumN = 0, sumN2 = 0;
    const counts = new Array<number>(7).fill(0);
    let outside = 0;
    for (let i = 0; i < N; i++) {
      const u = r.uniform();
      if (!(u >= 0 && u < 1)) outside++;
      sum += u;
      counts[r.int(7)]!++;
      const z = r.normal();
      sumN += z;
      sumN2 += z * z;
    }
    expect(outside).toBe(0);
    expect(sum / N).toBeCloseTo(0.5, 2);
    for (const c of counts) expect(c / N).toBeCloseTo(1 / 7, 2);
    expect(sumN / N).toBeCloseTo(0, 2);
    expect(Math.sqrt(sumN2 / N)).toBeCloseTo(1, 2);
  });
  it('shuffle is a permutation', () => {
    const a = Array.from({ length: 50 }, (_, i) => i);
    new Random(3).shuffle(a);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(a).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
  it('bad arguments are errors naming them', () => {
    expect(() => new Random(1.5)).toThrow(/Expected `seed` to be an integer, got 1\.5/);
    expect(() => new Random(1).int(0)).toThrow(/Expected `n` to be a positive integer.*got 0/);
  });
});

describe('Random state', () => {
  it('saves and restores the whole stream, normal deviates included', () => {
    const rng = new Random(12);
    rng.normal(); // leaves a spare deviate cached
    const saved = rng.state;
    expect(JSON.parse(JSON.stringify(saved))).toEqual(saved);
    const expected = [rng.normal(), rng.uniform(), rng.nextUint32(), rng.normal()];
    const other = new Random(99);
    other.state = saved;
    expect([other.normal(), other.uniform(), other.nextUint32(), other.normal()]).toEqual(expected);
    for (let i = 0; i < 1000; i++) rng.nextUint32();
    expect(rng.state.words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff)).toBe(true);
  });

  it('rejects a malformed state without changing the generator', () => {
    const rng = new Random(1);
    const before = rng.state;
    expect(() => (rng.state = { words: [1, 2, 3], spare: null })).toThrow(/Expected `state.words` to be four unsigned 32-bit integers, got an array of length 3/);
    expect(() => (rng.state = { words: [1, 2, 3, -1], spare: null })).toThrow(TypeError);
    expect(() => (rng.state = { words: [1, 2, 3, 4], spare: NaN })).toThrow(/Expected `state.spare` to be null or a finite number, got NaN/);
    expect(rng.state).toEqual(before);
  });
});
