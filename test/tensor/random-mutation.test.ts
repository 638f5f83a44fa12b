// The generator's stream exactly (issue 13: Stryker survivors in src/tensor/random.ts). Every
// initial weight, dropout mask, shuffle and sample comes from it, and checkpoints store its
// state, so the stream itself is the contract: it is checked here against a textbook sfc32
// seeded by splitmix32 (murmur3's finaliser), written independently below, and its derived
// draws (uniform, int, normal, shuffle) against their definitions.
import { describe, expect, it } from 'vitest';
import { Random } from '../../src/tensor/random.js';

/** sfc32 as published (PractRand), seeded with four splitmix32 outputs and 12 discarded draws. */
function reference(seed: number): () => number {
  let s = seed >>> 0;
  const split = (): number => {
    s = (s + 0x9e3779b9) | 0;
    let z = s >>> 0;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split() | 0, b = split() | 0, c = split() | 0, d = split() | 0;
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

describe('Random stream', () => {
  it('is sfc32 seeded by splitmix32, for small, large, negative and out-of-range seeds', () => {
    for (const seed of [0, 1, 42, 0x7fffffff, 4294967295, -1, 4294967296 + 5]) {
      const rng = new Random(seed), ref = reference(seed);
      for (let k = 0; k < 300; k++) expect(rng.nextUint32()).toBe(ref());
    }
  });

  it('pins the first draws of seed 0 (what every default model starts from)', () => {
    const rng = new Random(0);
    expect(rng.state).toEqual({ words: [99621017, 2830175463, 1368817051, 1275600331], spare: null });
    expect([rng.nextUint32(), rng.nextUint32(), rng.nextUint32()]).toEqual([4205396811, 3543653536, 1222415357]);
  });

  it('uniform: 27 high bits of one draw and 26 of the next, over 2^53', () => {
    const rng = new Random(42), ref = reference(42);
    for (let k = 0; k < 200; k++) {
      const hi = ref() >>> 5, lo = ref() >>> 6;
      expect(rng.uniform()).toBe((hi * 2 ** 26 + lo) / 2 ** 53);
    }
    expect([new Random(42).uniform()]).toEqual([0.23955312807799112]);
  });

  it('int(n): x mod n of the first draw below the largest multiple of n under 2^32, rejecting the rest', () => {
    for (const n of [1, 2, 7, 10, 3_000_000_000, 4294967295, 4294967296]) {
      const rng = new Random(9), ref = reference(9);
      const limit = 2 ** 32 - (2 ** 32 % n);
      let rejected = 0;
      for (let k = 0; k < 400; k++) {
        let x = ref();
        while (x >= limit) { x = ref(); rejected++; }
        expect(rng.int(n)).toBe(x % n);
      }
      if (n === 3_000_000_000) expect(rejected).toBeGreaterThan(50); // the rejection is exercised
      expect(rng.nextUint32()).toBe(ref()); // and consumed exactly the draws it should
    }
  });

  it('int(n) rejects a draw equal to the limit (it would make 0 more likely)', () => {
    // sfc32's output is a + b + d: this state's next draw is exactly 3e9, the limit for n = 3e9.
    const state = { words: [3_000_000_000, 0, 5, 0], spare: null };
    const rng = new Random(0), twin = new Random(0);
    rng.state = state;
    twin.state = state;
    expect(twin.nextUint32()).toBe(3_000_000_000);
    const next = twin.nextUint32();
    expect(next).toBeLessThan(3_000_000_000);
    expect(rng.int(3_000_000_000)).toBe(next);
  });

  it('int(n) refuses n outside [1, 2^32] or fractional', () => {
    const rng = new Random(1);
    for (const n of [0, -1, 1.5, 4294967297, NaN]) {
      expect(() => rng.int(n)).toThrow(RangeError);
      expect(() => rng.int(n)).toThrow(/^Expected `n` to be a positive integer ≤ 2\^32, got .*\.$/);
    }
    expect(() => rng.int('3' as never)).toThrow(/got "3"\.$/);
  });

  it('normal: Box–Muller pairs (cos first, then the cached sin), scaled by mean and std on both paths', () => {
    const rng = new Random(7), ref = new Random(7);
    for (let k = 0; k < 50; k++) {
      const u = ref.uniform(), v = ref.uniform();
      const r = Math.sqrt(-2 * Math.log(u));
      expect(rng.normal(2, 3)).toBe(2 + 3 * r * Math.cos(2 * Math.PI * v));
      expect(rng.state.spare).toBe(r * Math.sin(2 * Math.PI * v));
      expect(rng.normal(-1, 0.5)).toBe(-1 + 0.5 * (r * Math.sin(2 * Math.PI * v)));
      expect(rng.state.spare).toBe(null);
    }
    const pinned = new Random(7);
    expect([pinned.normal(), pinned.normal(), pinned.normal(2, 3)]).toEqual([0.9738859515003707, -1.5230027269150812, 5.6667430973481725]);
  });

  it('normal never takes log(0): a uniform draw of exactly 0 is drawn again', () => {
    // The all-zero state makes the next two 32-bit draws 0 and 1, so uniform() is exactly 0.
    const zero = { words: [0, 0, 0, 0], spare: null };
    const probe = new Random(1);
    probe.state = zero;
    expect(probe.uniform()).toBe(0);
    const ref = new Random(1);
    ref.state = zero;
    let u = ref.uniform(), skipped = 0;
    while (u === 0) { u = ref.uniform(); skipped++; }
    expect(skipped).toBeGreaterThan(0);
    const v = ref.uniform();
    const rng = new Random(1);
    rng.state = zero;
    const z = rng.normal();
    expect(Number.isFinite(z)).toBe(true);
    expect(z).toBe(Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
  });

  it('shuffle: Fisher–Yates from the end, one int(i + 1) per position i ≥ 1', () => {
    const rng = new Random(3), ref = new Random(3);
    const a = Array.from({ length: 10 }, (_, i) => i);
    expect(rng.shuffle(a)).toBe(a);
    const b = Array.from({ length: 10 }, (_, i) => i);
    for (let i = 9; i > 0; i--) {
      const j = ref.int(i + 1);
      [b[i], b[j]] = [b[j]!, b[i]!];
    }
    expect(a).toEqual(b);
    expect(a).toEqual([3, 6, 4, 8, 5, 7, 1, 9, 0, 2]);
    expect(rng.nextUint32()).toBe(ref.nextUint32()); // nine draws, not ten
    expect(new Random(1).shuffle([5])).toEqual([5]);
    expect(new Random(1).shuffle(Int32Array.of(1, 2))).toBeInstanceOf(Int32Array);
  });
});

describe('Random state', () => {
  it('words and spare, JSON-safe; a finite spare is what the next normal returns', () => {
    const rng = new Random(5);
    rng.state = { words: [0, 1, 2, 0xffffffff], spare: 0.25 };
    expect(rng.state).toEqual({ words: [0, 1, 2, 0xffffffff], spare: 0.25 });
    expect(rng.normal(1, 2)).toBe(1.5);
    rng.state = { words: [4, 3, 2, 1], spare: 0 };
    expect(rng.state.spare).toBe(0);
    expect(rng.normal()).toBe(0);
    const a = new Random(0), b = new Random(123);
    b.state = a.state;
    for (let k = 0; k < 20; k++) expect(b.nextUint32()).toBe(a.nextUint32());
  });

  it('refuses malformed words or spare, naming them, and keeps the old state', () => {
    const rng = new Random(1);
    const before = rng.state;
    const cases: [unknown, ErrorConstructor, RegExp][] = [
      [null, TypeError, /^Expected `state\.words` to be four unsigned 32-bit integers, got undefined\.$/],
      [{ words: 'abcd', spare: null }, TypeError, /got "abcd"\.$/],
      [{ words: [1, 2, 3, 4, 5], spare: null }, TypeError, /got an array of length 5\.$/],
      [{ words: [1, 2, 3, 4.5], spare: null }, TypeError, /four unsigned 32-bit integers/],
      [{ words: [1, 2, 3, 4294967296], spare: null }, TypeError, /four unsigned 32-bit integers/],
      [{ words: [-1, 2, 3, 4], spare: null }, TypeError, /four unsigned 32-bit integers/],
      [{ words: [1, 2, 3, 4], spare: '0.5' }, TypeError, /^Expected `state\.spare` to be null or a finite number, got "0\.5"\.$/],
      [{ words: [1, 2, 3, 4], spare: Infinity }, TypeError, /got Infinity\.$/],
      [{ words: [1, 2, 3, 4], spare: undefined }, TypeError, /got undefined\.$/],
    ];
    for (const [state, type, message] of cases) {
      expect(() => { rng.state = state as never; }).toThrow(type);
      expect(() => { rng.state = state as never; }).toThrow(message);
      expect(rng.state).toEqual(before);
    }
  });

  it('refuses a seed that is not an integer', () => {
    expect(() => new Random('1' as never)).toThrow(/^Expected `seed` to be an integer, got "1"\.$/);
    expect(() => new Random(NaN)).toThrow(TypeError);
  });
});
