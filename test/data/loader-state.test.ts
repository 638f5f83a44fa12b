import { describe, expect, it } from 'vitest';
import { SeqDataLoader } from '../../src/data/loader.js';
import { fingerprint, positions } from './helpers.js';

describe('SeqDataLoader position: generatorState and epoch({ startBatch })', () => {
  for (const random of [false, true]) {
    const mode = random ? 'random' : 'sequential';

    it(`${mode}: restoring the generator state replays an epoch, from any batch`, () => {
      const loader = new SeqDataLoader(positions(500), { batchSize: 3, numSteps: 7, random, seed: 11 });
      loader.epoch(); // move past the first epoch
      const saved = loader.generatorState;
      const epoch = loader.epoch();
      const whole = [...epoch];
      expect(epoch.numBatches).toBe(whole.length);
      expect(epoch.offset).toBeGreaterThanOrEqual(0);
      expect(epoch.offset).toBeLessThanOrEqual(random ? 6 : 7);
      const after = loader.generatorState;
      for (const k of [0, 1, whole.length - 1, whole.length, whole.length + 5]) {
        loader.generatorState = saved;
        const rest = loader.epoch({ startBatch: k });
        expect(rest.offset).toBe(epoch.offset);
        expect(fingerprint(rest)).toBe(fingerprint(whole.slice(k)));
        expect(loader.generatorState).toEqual(after); // the same draws, whatever k
      }
      // The state is JSON: it survives a round trip.
      loader.generatorState = JSON.parse(JSON.stringify(saved));
      expect(fingerprint(loader)).toBe(fingerprint(whole));
    });
  }

  it('for…of is epoch(): the same epochs from the same seed', () => {
    const a = new SeqDataLoader(positions(300), { batchSize: 2, numSteps: 5, seed: 3 });
    const b = new SeqDataLoader(positions(300), { batchSize: 2, numSteps: 5, seed: 3 });
    expect(fingerprint(a)).toBe(fingerprint(b.epoch()));
    expect(fingerprint(a.epoch())).toBe(fingerprint(b));
  });

  it('rejects a bad startBatch or generator state with nothing changed', () => {
    const loader = new SeqDataLoader(positions(300), { batchSize: 2, numSteps: 5, seed: 3 });
    const before = loader.generatorState;
    expect(() => loader.epoch({ startBatch: -1 })).toThrow(/Expected `startBatch` to be a non-negative integer, got -1/);
    expect(() => loader.epoch({ startBatch: 1.5 })).toThrow(TypeError);
    expect(() => loader.epoch(null as never)).toThrow(/Expected `options` to be an object/);
    expect(() => { loader.generatorState = { words: [1, 2, 3], spare: null }; }).toThrow(/four unsigned 32-bit integers/);
    expect(loader.generatorState).toEqual(before);
  });
});
