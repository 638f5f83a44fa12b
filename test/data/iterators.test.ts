import { describe, expect, it } from 'vitest';
import { seqDataIterRandom, seqDataIterSequential } from '../../src/data/iterators.js';
import { Random } from '../../src/tensor/random.js';
import { checkBatch, fingerprint, positions, rowStarts, rows } from './helpers.js';

const SEEDS = Array.from({ length: 60 }, (_, seed) => seed);
// (N, B, T): shapes that divide evenly and shapes with leftovers; B = 1; T = 1; the shortest corpora.
const SHAPES: [number, number, number][] = [
  [35, 2, 5],
  [100, 3, 7],
  [1000, 4, 35],
  [64, 1, 8],
  [50, 5, 1],
  [3 * 5 + 1, 2, 5], // (B + 1)·T + 1: the shortest sequential corpus
  [3 * 5, 2, 5], //     (B + 1)·T: the shortest random corpus
];

describe('seqDataIterSequential', () => {
  it('runs its @example', () => {
    const corpus = Array.from({ length: 35 }, (_, i) => i);
    const batches = [...seqDataIterSequential(corpus, 2, 5, new Random(0))];
    expect(batches.length).toBeGreaterThan(0);
    for (const { X, Y } of batches) {
      expect(X.data).toHaveLength(10);
      expect(Array.from(Y.data)).toEqual(Array.from(X.data, (x) => x + 1));
    }
  });

  for (const [N, B, T] of SHAPES.filter(([N, B, T]) => N >= (B + 1) * T + 1)) {
    it(`follows d2l for N=${N}, B=${B}, T=${T} over ${SEEDS.length} seeds`, () => {
      const offsets = new Set<number>();
      for (const seed of SEEDS) {
        const batches = [...seqDataIterSequential(positions(N), B, T, new Random(seed))];
        expect(batches.length).toBeGreaterThan(0);
        for (const batch of batches) expect(checkBatch(batch, B, T, N)).toBeUndefined();

        // Row 0 of batch 0 starts at the offset; the B streams have length L each.
        const offset = batches[0]!.X.data[0]!;
        offsets.add(offset);
        expect(offset).toBeGreaterThanOrEqual(0);
        expect(offset).toBeLessThanOrEqual(T);
        const L = Math.floor((N - offset - 1) / B);
        expect(batches).toHaveLength(Math.floor(L / T)); // d2l: Xs.shape[1] // num_steps

        batches.forEach(({ X }, i) => {
          expect(rowStarts(X)).toEqual(Array.from({ length: B }, (_, b) => offset + b * L + i * T));
        });
        // Continuity: row b of batch i + 1 picks up where row b of batch i stopped.
        for (let i = 0; i + 1 < batches.length; i++) {
          const now = rows(batches[i]!.X);
          const next = rows(batches[i + 1]!.X);
          for (let b = 0; b < B; b++) expect(next[b]![0]).toBe(now[b]![T - 1]! + 1);
          // ...and the targets of batch i end where the inputs of batch i + 1 begin.
          expect(rows(batches[i]!.Y).map((row) => row[T - 1])).toEqual(next.map((row) => row[0]));
        }
      }
      // The offset is drawn from [0, T] inclusive, as d2l's random.randint(0, num_steps).
      if (T < 10) expect([...offsets].sort((a, b) => a - b)).toEqual(Array.from({ length: T + 1 }, (_, o) => o));
    });
  }

  it('gives the same batches for the same seed, and different ones across seeds', () => {
    const corpus = positions(500);
    const epochs = SEEDS.map((seed) => fingerprint(seqDataIterSequential(corpus, 4, 10, new Random(seed))));
    for (const seed of SEEDS) {
      expect(fingerprint(seqDataIterSequential(corpus, 4, 10, new Random(seed)))).toBe(epochs[seed]);
    }
    expect(new Set(epochs).size).toBe(11); // one epoch per offset in [0, 10]
  });

  it('draws the offset from [0, numSteps] inclusive, every value alike', () => {
    const rng = new Random(11);
    const counts = new Array<number>(36).fill(0);
    const corpus = positions(200);
    for (let draw = 0; draw < 7200; draw++) {
      const offset = seqDataIterSequential(corpus, 4, 35, rng).next().value!.X.data[0]!;
      counts[offset]!++;
    }
    // 200 expected per value, standard deviation about 14.
    for (const count of counts) expect(Math.abs(count - 200)).toBeLessThan(70);
  });

  it('draws the offset when called, so successive calls on one generator differ', () => {
    const rng = new Random(3);
    const corpus = positions(2000);
    const starts = Array.from({ length: 20 }, () => seqDataIterSequential(corpus, 2, 50, rng).next().value!.X.data[0]);
    expect(new Set(starts).size).toBeGreaterThan(5);
  });

  it('accepts a number[] and an Int32Array alike', () => {
    const ints = positions(200);
    const a = fingerprint(seqDataIterSequential(ints, 3, 4, new Random(9)));
    const b = fingerprint(seqDataIterSequential(Array.from(ints), 3, 4, new Random(9)));
    expect(a).toBe(b);
  });

  it('yields fresh arrays that the caller may keep', () => {
    const batches = [...seqDataIterSequential(positions(200), 2, 5, new Random(1))];
    expect(new Set(batches.map(({ X }) => X.data.buffer)).size).toBe(batches.length);
  });
});

describe('seqDataIterRandom', () => {
  it('runs its @example', () => {
    const corpus = Array.from({ length: 35 }, (_, i) => i);
    const batches = [...seqDataIterRandom(corpus, 2, 5, new Random(0))];
    expect(batches.length).toBeGreaterThan(0);
    for (const batch of batches) expect(checkBatch(batch, 2, 5, 35)).toBeUndefined();
  });

  for (const [N, B, T] of SHAPES) {
    it(`follows d2l for N=${N}, B=${B}, T=${T} over ${SEEDS.length} seeds`, () => {
      const offsets = new Set<number>();
      let shuffled = false;
      for (const seed of SEEDS) {
        const batches = [...seqDataIterRandom(positions(N), B, T, new Random(seed))];
        expect(batches.length).toBeGreaterThan(0);
        for (const batch of batches) expect(checkBatch(batch, B, T, N)).toBeUndefined();

        const starts = batches.flatMap(({ X }) => rowStarts(X));
        // Aligned to one offset in [0, T): every start is offset + k·T.
        const offset = starts[0]! % T;
        offsets.add(offset);
        for (const start of starts) expect(start % T).toBe(offset);
        // Non-overlapping: aligned starts that are all distinct.
        expect(new Set(starts).size).toBe(starts.length);
        // d2l: num_subseqs = (len(corpus[offset:]) - 1) // T; num_batches = num_subseqs // B.
        const numSubseqs = Math.floor((N - offset - 1) / T);
        expect(batches).toHaveLength(Math.floor(numSubseqs / B));
        for (const start of starts) expect((start - offset) / T).toBeLessThan(numSubseqs);
        if (starts.some((s, i) => i > 0 && s < starts[i - 1]!)) shuffled = true;
      }
      if (T < 10) expect([...offsets].sort((a, b) => a - b)).toEqual(Array.from({ length: T }, (_, o) => o));
      if (Math.floor((N - T) / T) > 1) expect(shuffled).toBe(true);
    });
  }

  it('uses every subsequence when B divides their number, leftovers dropped otherwise', () => {
    // N = 41, T = 5, offset 0 → 8 subsequences; B = 4 uses all 8, B = 3 uses 6.
    for (const seed of SEEDS) {
      for (const B of [3, 4]) {
        const batches = [...seqDataIterRandom(positions(41), B, 5, new Random(seed))];
        const starts = batches.flatMap(({ X }) => rowStarts(X));
        const offset = starts[0]! % 5;
        const numSubseqs = Math.floor((41 - offset - 1) / 5);
        expect(starts).toHaveLength(Math.floor(numSubseqs / B) * B);
        if (B === 4 && numSubseqs === 8) {
          expect([...starts].sort((a, b) => a - b)).toEqual(Array.from({ length: 8 }, (_, k) => offset + 5 * k));
        }
      }
    }
  });

  it('gives the same batches for the same seed, and different ones across seeds', () => {
    const corpus = positions(500);
    const epochs = SEEDS.map((seed) => fingerprint(seqDataIterRandom(corpus, 4, 10, new Random(seed))));
    for (const seed of SEEDS) {
      expect(fingerprint(seqDataIterRandom(corpus, 4, 10, new Random(seed)))).toBe(epochs[seed]);
    }
    expect(new Set(epochs).size).toBe(SEEDS.length);
  });
});

describe('seqDataIterRandom offsets', () => {
  it('draws the offset from [0, numSteps), every value alike', () => {
    const rng = new Random(12);
    const counts = new Array<number>(36).fill(0);
    const corpus = positions(200);
    for (let draw = 0; draw < 7000; draw++) {
      const start = seqDataIterRandom(corpus, 4, 35, rng).next().value!.X.data[0]!;
      counts[start % 35]!++;
    }
    expect(counts[35]).toBe(0);
    // 200 expected per value, standard deviation about 14.
    for (const count of counts.slice(0, 35)) expect(Math.abs(count - 200)).toBeLessThan(70);
  });
});

describe('iterator argument checks', () => {
  const rng = new Random(0);
  for (const [name, iter, needed] of [
    ['seqDataIterSequential', seqDataIterSequential, 16],
    ['seqDataIterRandom', seqDataIterRandom, 15],
  ] as const) {
    it(`${name} rejects bad input, naming the argument and the value`, () => {
      // Eager: the call throws, not the first next().
      expect(() => iter([], 2, 5, rng)).toThrow(RangeError);
      expect(() => iter([], 2, 5, rng)).toThrow(
        new RegExp(`^Expected \`corpus\` to have at least ${needed} tokens for batchSize 2 and numSteps 5 .*, got 0\\.$`),
      );
      expect(() => iter(positions(needed - 1), 2, 5, rng)).toThrow(
        new RegExp(`^Expected \`corpus\` to have at least ${needed} tokens .*, got ${needed - 1}\\.$`),
      );
      expect(() => iter(positions(needed), 2, 5, rng)).not.toThrow();

      expect(() => iter(positions(100), 12.5, 5, rng)).toThrow(TypeError);
      expect(() => iter(positions(100), 12.5, 5, rng)).toThrow(
        /^Expected `batchSize` to be a positive integer, got 12\.5\.$/,
      );
      expect(() => iter(positions(100), 0, 5, rng)).toThrow(RangeError);
      expect(() => iter(positions(100), 0, 5, rng)).toThrow(/^Expected `batchSize` to be a positive integer, got 0\.$/);
      expect(() => iter(positions(100), -3, 5, rng)).toThrow(/^Expected `batchSize` to be a positive integer, got -3\.$/);
      expect(() => iter(positions(100), '2' as unknown as number, 5, rng)).toThrow(
        /^Expected `batchSize` to be a positive integer, got "2"\.$/,
      );
      expect(() => iter(positions(100), 2, 0, rng)).toThrow(/^Expected `numSteps` to be a positive integer, got 0\.$/);
      expect(() => iter(positions(100), 2, NaN, rng)).toThrow(/^Expected `numSteps` to be a positive integer, got NaN\.$/);
      expect(() => iter(positions(100), 2, Infinity, rng)).toThrow(
        /^Expected `numSteps` to be a positive integer, got Infinity\.$/,
      );

      const ids = Array.from(positions(100));
      expect(() => iter([...ids.slice(0, 7), 1.5, ...ids], 2, 5, rng)).toThrow(TypeError);
      expect(() => iter([...ids.slice(0, 7), 1.5, ...ids], 2, 5, rng)).toThrow(
        /^Expected `corpus\[7\]` to be a token id \(an integer in \[0, 2\^31\)\), got 1\.5\.$/,
      );
      expect(() => iter([...ids, -1], 2, 5, rng)).toThrow(RangeError);
      expect(() => iter([...ids, -1], 2, 5, rng)).toThrow(/^Expected `corpus\[100\]` to be a token id .*, got -1\.$/);
      expect(() => iter(Int32Array.of(...ids, -4), 2, 5, rng)).toThrow(/^Expected `corpus\[100\]` .*, got -4\.$/);
      expect(() => iter([...ids, 2 ** 31], 2, 5, rng)).toThrow(/got 2147483648\.$/);
      expect(() => iter([...ids, '3'] as unknown as number[], 2, 5, rng)).toThrow(/^Expected `corpus\[100\]` .*, got "3"\.$/);
      expect(() => iter('abc' as unknown as number[], 2, 5, rng)).toThrow(
        /^Expected `corpus` to be an array or Int32Array of token ids, got "abc"\.$/,
      );
      expect(() => iter(null as unknown as number[], 2, 5, rng)).toThrow(TypeError);

      expect(() => iter(positions(100), 2, 5, undefined as unknown as Random)).toThrow(
        /^Expected `rng` to be a Random \(e\.g\. `new Random\(0\)`\), got undefined\.$/,
      );
      expect(() => iter(positions(100), 2, 5, 42 as unknown as Random)).toThrow(TypeError);
    });
  }
});

describe('iterator checks, exactly (issue 13)', () => {
  it('names the minimum length formula of each sampler', () => {
    expect(() => seqDataIterSequential([], 2, 5, new Random(0))).toThrow(/ \(\(B \+ 1\)·T \+ 1, so that every epoch yields a batch\), got 0\.$/);
    expect(() => seqDataIterRandom([], 2, 5, new Random(0))).toThrow(/ \(\(B \+ 1\)·T, so that every epoch yields a batch\), got 0\.$/);
  });

  it('takes a Random only: null and objects missing int() or shuffle() are refused', () => {
    const half = { int: () => 0 };
    for (const iter of [seqDataIterSequential, seqDataIterRandom]) {
      for (const rng of [null, {}, half, { shuffle: () => undefined }, { int: 1, shuffle: () => undefined }]) {
        expect(() => iter(positions(100), 2, 5, rng as unknown as Random)).toThrow(TypeError);
        expect(() => iter(positions(100), 2, 5, rng as unknown as Random)).toThrow(/^Expected `rng` to be a Random/);
      }
    }
  });

  it('cuts every non-overlapping subsequence once in random mode, in [offset, N − 1)', () => {
    for (const [N, T] of [[31, 5], [30, 5], [26, 5], [12, 3]] as const) {
      const rng = new Random(N);
      for (let e = 0; e < 8; e++) {
        const starts = [...seqDataIterRandom(positions(N), 1, T, rng)].map((b) => b.X.data[0]!).sort((a, b) => a - b);
        const offset = starts[0]! % T;
        expect(starts).toEqual(Array.from({ length: Math.floor((N - offset - 1) / T) }, (_, k) => offset + k * T));
      }
    }
  });
});
