import { describe, expect, it } from 'vitest';
import { loadCorpus, preprocess } from '../../src/data/corpus.js';
import { seqDataIterRandom, seqDataIterSequential } from '../../src/data/iterators.js';
import { SeqDataLoader } from '../../src/data/loader.js';
import { Random } from '../../src/tensor/random.js';
import { checkBatch, fingerprint, positions, rowStarts } from './helpers.js';
import { readTimeMachine } from './timemachine.js';

describe('SeqDataLoader', () => {
  it('runs its @example', () => {
    const { corpus } = loadCorpus(preprocess(readTimeMachine()), { token: 'char' });
    const loader = new SeqDataLoader(corpus, { batchSize: 32, numSteps: 35, seed: 1 });
    for (let epoch = 0; epoch < 10; epoch++) {
      let count = 0;
      for (const { X, Y } of loader) {
        expect(X.data).toHaveLength(32 * 35);
        expect(Y.data).toHaveLength(32 * 35);
        count++;
      }
      expect(count - loader.numBatches).toBeGreaterThanOrEqual(0);
      expect(count - loader.numBatches).toBeLessThanOrEqual(1);
    }
    expect(loader.numBatches).toBe(152); // ⌊⌊(170580 − 35 − 1)/32⌋/35⌋
  });

  it('exposes its settings, with sequential sampling and seed 0 by default', () => {
    const loader = new SeqDataLoader([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], { batchSize: 2, numSteps: 3 });
    expect(loader.batchSize).toBe(2);
    expect(loader.numSteps).toBe(3);
    expect(loader.random).toBe(false);
    expect(loader.corpus).toEqual(positions(10));
    expect(fingerprint(loader)).toBe(
      fingerprint(new SeqDataLoader(positions(10), { batchSize: 2, numSteps: 3, random: false, seed: 0 })),
    );
  });

  it('owns a copy of the corpus', () => {
    const ids = positions(100);
    const loader = new SeqDataLoader(ids, { batchSize: 2, numSteps: 5 });
    ids.fill(0);
    expect(loader.corpus).toEqual(positions(100));
  });

  for (const random of [false, true]) {
    const mode = random ? 'random' : 'sequential';

    it(`${mode}: yields well-formed batches and d2l's count every epoch`, () => {
      for (const [N, B, T] of [[200, 3, 7], [64, 1, 8], [3 * 5 + 1, 2, 5], [1000, 4, 35]] as const) {
        const loader = new SeqDataLoader(positions(N), { batchSize: B, numSteps: T, random, seed: 5 });
        const counts = new Set<number>();
        for (let epoch = 0; epoch < 40; epoch++) {
          const batches = [...loader];
          for (const batch of batches) expect(checkBatch(batch, B, T, N)).toBeUndefined();
          const offset = random ? Math.min(...batches.flatMap(({ X }) => rowStarts(X))) % T : batches[0]!.X.data[0]!;
          const perEpoch = random
            ? Math.floor(Math.floor((N - offset - 1) / T) / B)
            : Math.floor(Math.floor((N - offset - 1) / B) / T);
          expect(batches).toHaveLength(perEpoch);
          counts.add(batches.length);
        }
        // numBatches is the guaranteed minimum; an epoch may give one more, never fewer.
        for (const count of counts) expect([loader.numBatches, loader.numBatches + 1]).toContain(count);
        expect(counts.has(loader.numBatches)).toBe(true);
      }
    });

    it(`${mode}: gives a different epoch each time, reproducibly from the seed`, () => {
      const options = { batchSize: 4, numSteps: 10, random, seed: 42 };
      const a = new SeqDataLoader(positions(3000), options);
      const b = new SeqDataLoader(positions(3000), options);
      const epochsA = Array.from({ length: 8 }, () => fingerprint(a));
      const epochsB = Array.from({ length: 8 }, () => fingerprint(b));
      expect(epochsB).toEqual(epochsA);
      const other = new SeqDataLoader(positions(3000), { ...options, seed: 43 });
      expect(Array.from({ length: 8 }, () => fingerprint(other))).not.toEqual(epochsA);
      if (random) {
        expect(new Set(epochsA).size).toBe(8); // a new shuffle every epoch
      } else {
        // A sequential epoch is determined by its offset in [0, T] (11 values here): epochs
        // differ exactly when their offsets differ, and the offsets vary from epoch to epoch.
        const offsets = epochsA.map((epoch) => epoch.split(',')[0]);
        expect(new Set(epochsA).size).toBe(new Set(offsets).size);
        expect(new Set(offsets).size).toBeGreaterThan(1);
      }
    });

    it(`${mode}: draws its epochs from one generator created from the seed`, () => {
      const loader = new SeqDataLoader(positions(500), { batchSize: 3, numSteps: 6, random, seed: 7 });
      const rng = new Random(7);
      const iter = random ? seqDataIterRandom : seqDataIterSequential;
      for (let epoch = 0; epoch < 5; epoch++) {
        expect(fingerprint(loader)).toBe(fingerprint(iter(positions(500), 3, 6, rng)));
      }
    });
  }

  it('numBatches is one less than some epochs give when B = 1 (d2l\'s count depends on the offset)', () => {
    const loader = new SeqDataLoader(positions(100), { batchSize: 1, numSteps: 10, seed: 3 });
    expect(loader.numBatches).toBe(8); // offset 10: ⌊89/10⌋
    const counts = new Set(Array.from({ length: 50 }, () => [...loader].length));
    expect([...counts].sort()).toEqual([8, 9]); // offset 0 gives ⌊99/10⌋ = 9
  });

  it('numBatches is the least any epoch yields, never more (issue 13: it could over-promise)', () => {
    for (const random of [false, true]) {
      for (const B of [1, 2, 3]) {
        for (const T of [1, 2, 3, 5]) {
          const min = (B + 1) * T + (random ? 0 : 1);
          for (let N = min; N < min + 2 * B * T + 3; N++) {
            const loader = new SeqDataLoader(positions(N), { batchSize: B, numSteps: T, random, seed: N });
            const counts = new Set<number>();
            for (let e = 0; e < 6 * T; e++) {
              const epoch = loader.epoch();
              const yielded = [...epoch].length;
              expect(yielded).toBe(epoch.numBatches);
              // d2l's count at this epoch's offset, from the formula
              const expected = random
                ? Math.floor(Math.floor((N - epoch.offset - 1) / T) / B)
                : Math.floor(Math.floor((N - epoch.offset - 1) / B) / T);
              expect(yielded).toBe(expected);
              counts.add(yielded);
            }
            expect(Math.min(...counts)).toBeGreaterThanOrEqual(loader.numBatches);
            // …and the promise is tight: at the largest offset an epoch yields exactly numBatches.
            const maxOffset = random ? T - 1 : T;
            const atMax = random
              ? Math.floor(Math.floor((N - maxOffset - 1) / T) / B)
              : Math.floor(Math.floor((N - maxOffset - 1) / B) / T);
            expect(loader.numBatches).toBe(atMax);
            expect(loader.numBatches).toBeGreaterThanOrEqual(1);
          }
        }
      }
    }
  });

  it('draws offsets over the whole range, the largest included, and epoch() checks its options', () => {
    for (const random of [false, true]) {
      const loader = new SeqDataLoader(positions(200), { batchSize: 2, numSteps: 4, random, seed: 9 });
      const offsets = new Set(Array.from({ length: 200 }, () => loader.epoch().offset));
      expect([...offsets].sort()).toEqual(random ? [0, 1, 2, 3] : [0, 1, 2, 3, 4]);
      expect(() => loader.epoch(5 as never)).toThrow(/^Expected `options` to be an object like \{ startBatch: 0 \}, got 5\.$/);
      expect(() => new SeqDataLoader(positions(100), null as never)).toThrow(
        /^Expected `options` to be an object with `batchSize` and `numSteps`, got null\.$/,
      );
      expect(() => loader.epoch(null as never)).toThrow(/^Expected `options` to be an object like \{ startBatch: 0 \}, got null\.$/);
      expect(() => loader.epoch({ startBatch: -1 })).toThrow(/^Expected `startBatch` to be a non-negative integer, got -1\.$/);
      expect([...loader.epoch({ startBatch: 10_000 })]).toEqual([]);
    }
  });

  it('rejects bad input, naming the argument and the value', () => {
    expect(() => new SeqDataLoader(positions(100), undefined as unknown as { batchSize: 1; numSteps: 1 })).toThrow(
      /^Expected `options` to be an object with `batchSize` and `numSteps`, got undefined\.$/,
    );
    expect(() => new SeqDataLoader(positions(100), { numSteps: 5 } as { batchSize: 2; numSteps: 5 })).toThrow(
      /^Expected `batchSize` to be a positive integer, got undefined\.$/,
    );
    expect(() => new SeqDataLoader(positions(100), { batchSize: 12.5, numSteps: 5 })).toThrow(
      /^Expected `batchSize` to be a positive integer, got 12\.5\.$/,
    );
    expect(() => new SeqDataLoader(positions(100), { batchSize: 2, numSteps: -5 })).toThrow(RangeError);
    expect(() => new SeqDataLoader(positions(100), { batchSize: 2, numSteps: -5 })).toThrow(
      /^Expected `numSteps` to be a positive integer, got -5\.$/,
    );
    expect(() => new SeqDataLoader(positions(100), { batchSize: 2, numSteps: 5, random: 1 as unknown as boolean })).toThrow(
      /^Expected `random` to be a boolean, got 1\.$/,
    );
    expect(() => new SeqDataLoader(positions(100), { batchSize: 2, numSteps: 5, seed: 0.5 })).toThrow(
      /^Expected `seed` to be an integer, got 0\.5\.$/,
    );
    expect(() => new SeqDataLoader([], { batchSize: 2, numSteps: 5 })).toThrow(
      /^Expected `corpus` to have at least 16 tokens for batchSize 2 and numSteps 5 .*, got 0\.$/,
    );
    expect(() => new SeqDataLoader(positions(14), { batchSize: 2, numSteps: 5, random: true })).toThrow(
      /^Expected `corpus` to have at least 15 tokens for batchSize 2 and numSteps 5 .*, got 14\.$/,
    );
    expect(() => new SeqDataLoader([0, 1, -2, ...positions(50)], { batchSize: 2, numSteps: 5 })).toThrow(
      /^Expected `corpus\[2\]` to be a token id \(an integer in \[0, 2\^31\)\), got -2\.$/,
    );
  });
});
