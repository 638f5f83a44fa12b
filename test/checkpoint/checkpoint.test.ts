import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import pkg from '../../package.json' with { type: 'json' };
import { readCheckpoint, writeCheckpoint } from '../../node/index.js';
import { CHECKPOINT_FORMAT, loadCheckpoint, saveCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { decodeSafetensors } from '../../src/checkpoint/safetensors.js';
import { Vocab } from '../../src/data/vocab.js';
import { LSTMLanguageModel, type LSTMLanguageModelOptions } from '../../src/lstm/model.js';
import { Adam } from '../../src/optim/adam.js';
import { AdamW } from '../../src/optim/adamw.js';
import { RMSprop } from '../../src/optim/rmsprop.js';
import { cosineWithWarmup, reduceOnPlateau, stepDecay } from '../../src/optim/schedules.js';
import { SGD } from '../../src/optim/sgd.js';
import { VERSION } from '../../src/version.js';

const models: LSTMLanguageModel[] = [];
afterAll(() => { for (const m of models) m.dispose(); });
const track = <T extends { model: LSTMLanguageModel }>(x: T): T => { models.push(x.model); return x; };

const bits = (a: ArrayBufferView): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');

/** A vocabulary of exactly `size` ids ('<unk>' and size − 1 letters). */
function vocabOf(size: number): Vocab {
  const tokens = Array.from({ length: size - 1 }, (_, i) => String.fromCodePoint(0x61 + i));
  return new Vocab(tokens, { level: 'char' });
}

/** A model that has taken a few Adam-free SGD steps with dropout (so nothing is at its initial value). */
function trained(options: Partial<LSTMLanguageModelOptions> = {}): { model: LSTMLanguageModel; vocab: Vocab } {
  const vocab = vocabOf(6);
  const model = new LSTMLanguageModel({ vocabSize: 6, numHiddens: 5, seed: 7, init: 'pytorch', backend: 'js', ...options });
  models.push(model);
  const sgd = new SGD(model.parameters(), { lr: 0.5 });
  const state = model.initState(2);
  for (let s = 0; s < 3; s++) {
    model.zeroGrad();
    model.forwardBackward([[1, 2, 3, 4], [5, 4, 3, 2]], [[2, 3, 4, 5], [4, 3, 2, 1]], state);
    sgd.step();
  }
  return { model, vocab };
}

describe('saveCheckpoint / loadCheckpoint: round trip', () => {
  const configs: Partial<LSTMLanguageModelOptions>[] = [
    {},
    { dtype: 'float64' },
    { numLayers: 2 },
    { numLayers: 3, dropout: 0.3 },
    { embeddingSize: 4 },
    { numLayers: 2, embeddingSize: 3, dropout: 0.5, dtype: 'float64' },
    { init: 'd2l', initScale: 0.1, seed: 4294967295 },
  ];
  it.each(configs)('bit-exact parameters, config, generator, vocabulary: %o', (options) => {
    const { model, vocab } = trained(options);
    const bytes = saveCheckpoint(model, { vocab });
    const loaded = track(loadCheckpoint(bytes, { backend: 'js' }));
    expect(loaded.model.config).toEqual(model.config);
    expect(loaded.model.parameters().map((p) => [p.name, p.shape])).toEqual(model.parameters().map((p) => [p.name, p.shape]));
    expect(bits(loaded.model.flatParameters)).toBe(bits(model.flatParameters));
    expect(loaded.model.generatorState).toEqual(model.generatorState);
    expect(loaded.vocab.toJSON()).toEqual(vocab.toJSON());
    expect(loaded.vocab.level).toBe('char');
    expect(loaded.libraryVersion).toBe(VERSION);
    expect(loaded.optimizer).toBeUndefined();
    // The same state gives the same bytes: saving the loaded model reproduces the file.
    expect(bits(saveCheckpoint(loaded.model, { vocab: loaded.vocab }))).toBe(bits(bytes));
    // The next dropout masks, and so the next gradients, are the same.
    const X = [[1, 2, 3], [3, 2, 1]], Y = [[2, 3, 4], [2, 1, 0]];
    model.zeroGrad();
    loaded.model.zeroGrad();
    const a = model.forwardBackward(X, Y).loss, b = loaded.model.forwardBackward(X, Y).loss;
    expect(b).toBe(a);
    expect(bits(loaded.model.flatGradients)).toBe(bits(model.flatGradients));
  });

  it('stores parameters under their own names, F32 (F64 for float64), and the metadata of the format', () => {
    const { model, vocab } = trained({ numLayers: 2, embeddingSize: 3 });
    const { metadata, tensors } = decodeSafetensors(saveCheckpoint(model, { vocab }));
    expect([...tensors.keys()]).toEqual(model.parameters().map((p) => p.name));
    expect([...tensors.keys()].slice(0, 2)).toEqual(['W_embed', 'W_xi']);
    expect(tensors.has('layer1.W_xi')).toBe(true);
    expect(new Set([...tensors.values()].map((t) => t.dtype))).toEqual(new Set(['F32']));
    expect(Object.keys(metadata)).toEqual(['format', 'format_version', 'library_version', 'config', 'vocab', 'generator']);
    expect(metadata.format).toBe(CHECKPOINT_FORMAT);
    expect(metadata.format_version).toBe('1');
    expect(JSON.parse(metadata.config!)).toEqual(model.config);
    const f64 = trained({ dtype: 'float64' });
    const t64 = decodeSafetensors(saveCheckpoint(f64.model, { vocab: f64.vocab })).tensors;
    expect(new Set([...t64.values()].map((t) => t.dtype))).toEqual(new Set(['F64']));
  });

  it('loads onto another backend and thread count (the file does not decide them)', () => {
    const { model, vocab } = trained({ numLayers: 2, backend: 'js' });
    const loaded = track(loadCheckpoint(saveCheckpoint(model, { vocab }), { backend: 'wasm' }));
    expect(loaded.model.backend).toBe('wasm');
    expect(bits(loaded.model.flatParameters)).toBe(bits(model.flatParameters));
  });

  it('src/version.ts agrees with package.json', () => {
    expect(VERSION).toBe(pkg.version);
  });
});

describe('saveCheckpoint / loadCheckpoint: optimisers, schedules, training state', () => {
  const optimisers = [
    ['SGD', (m: LSTMLanguageModel) => new SGD(m.parameters(), { lr: 0.3 })],
    ['SGD momentum Nesterov', (m: LSTMLanguageModel) => new SGD(m.parameters(), { lr: 0.3, momentum: 0.9, nesterov: true, weightDecay: 1e-4 })],
    ['Adam', (m: LSTMLanguageModel) => new Adam(m.parameters(), { lr: 1e-2, betas: [0.8, 0.99] })],
    ['AdamW', (m: LSTMLanguageModel) => new AdamW(m.parameters(), { lr: 1e-2 })],
    ['RMSprop centered', (m: LSTMLanguageModel) => new RMSprop(m.parameters(), { lr: 1e-2, alpha: 0.95, momentum: 0.5, centered: true })],
  ] as const;
  it.each(optimisers)('%s: options, step, lr and buffers round trip; the next steps agree bit for bit', (_, make) => {
    for (const dtype of ['float32', 'float64'] as const) {
      const { model, vocab } = trained({ numLayers: 2, dropout: 0.2, dtype });
      const optimizer = make(model);
      const X = [[1, 2, 3, 4]], Y = [[2, 3, 4, 5]];
      const step = (m: LSTMLanguageModel, o: typeof optimizer): void => { m.zeroGrad(); m.forwardBackward(X, Y); o.step(); };
      step(model, optimizer);
      step(model, optimizer);
      optimizer.lr = 0; // a schedule may end at 0: still a valid state
      optimizer.lr = 3e-3;
      const loaded = track(loadCheckpoint(saveCheckpoint(model, { vocab, optimizer }), { backend: model.backend }));
      const o2 = loaded.optimizer!;
      expect(o2.constructor).toBe(optimizer.constructor);
      expect(o2.options).toEqual(optimizer.options);
      expect(o2.stateDict()).toEqual(optimizer.stateDict());
      expect(o2.params).toHaveLength(loaded.model.parameters().length);
      for (let s = 0; s < 2; s++) {
        step(model, optimizer);
        step(loaded.model, o2 as typeof optimizer);
      }
      expect(bits(loaded.model.flatParameters)).toBe(bits(model.flatParameters));
    }
  });

  it('an lr of 0 (end of a schedule) round trips', () => {
    const { model, vocab } = trained();
    const adam = new Adam(model.parameters(), { lr: 1e-2 });
    adam.lr = 0;
    const loaded = track(loadCheckpoint(saveCheckpoint(model, { vocab, optimizer: adam })));
    expect(loaded.optimizer!.lr).toBe(0);
  });

  it('stores buffers as optimizer.<param>.<buffer>', () => {
    const { model, vocab } = trained({ numLayers: 2 });
    const adam = new Adam(model.parameters());
    const { metadata, tensors } = decodeSafetensors(saveCheckpoint(model, { vocab, optimizer: adam }));
    const names = model.parameters().map((p) => p.name);
    expect([...tensors.keys()]).toEqual([...names, ...names.map((n) => `optimizer.${n}.expAvg`), ...names.map((n) => `optimizer.${n}.expAvgSq`)]);
    expect(JSON.parse(metadata.optimizer!)).toEqual({ name: 'adam', options: adam.options, step: 0, lr: 1e-3, buffers: ['expAvg', 'expAvgSq'] });
  });

  it('schedules: built-in ones by description, reduceOnPlateau with its state', () => {
    const { model, vocab } = trained();
    const plateau = reduceOnPlateau({ lr: 1e-2, factor: 0.5, patience: 0 });
    plateau.step(2);
    plateau.step(3);
    const loaded = track(loadCheckpoint(saveCheckpoint(model, { vocab, schedule: plateau })));
    const s = loaded.schedule as typeof plateau;
    expect(s.toJSON()).toEqual(plateau.toJSON());
    expect(s.stateDict()).toEqual(plateau.stateDict());
    expect(s.lr).toBe(5e-3);
    for (const schedule of [stepDecay({ lr: 1, every: 3, factor: 0.5 }), cosineWithWarmup({ lr: 1e-2, warmupSteps: 5, totalSteps: 50 })]) {
      const back = track(loadCheckpoint(saveCheckpoint(model, { vocab, schedule }))).schedule!;
      expect(back.toJSON!()).toEqual(schedule.toJSON());
      for (const step of [0, 4, 9, 49]) expect(back.lrAt({ step, epoch: step })).toBe(schedule.lrAt({ step, epoch: step }));
    }
  });

  it('training: JSON values (NaN, ±Infinity, −0 included) and typed arrays as tensors training.<path>, returned as saved', () => {
    const { model, vocab } = trained();
    const training = {
      step: 12, best: Infinity, worst: -Infinity, pending: null, nan: NaN, zero: -0, name: 'run',
      recurrent: { h: new Float32Array([1.5, -2]), c: new Float32Array([0.25, 3]) },
      history: [1, 2.5, { ids: new Int32Array([3, -4]), bytes: new Uint8Array([9]) }, new Float64Array([Math.PI])],
      skipped: undefined,
    };
    const bytes = saveCheckpoint(model, { vocab, training });
    const { metadata, tensors } = decodeSafetensors(bytes);
    expect([...tensors.keys()].filter((n) => n.startsWith('training.'))).toEqual([
      'training.recurrent.h', 'training.recurrent.c', 'training.history.2.ids', 'training.history.2.bytes', 'training.history.3',
    ]);
    expect(metadata.training).toContain('"best":{"$number":"Infinity"}');
    const back = track(loadCheckpoint(bytes)).training as unknown as typeof training;
    const { skipped: _, ...expected } = training;
    expect(back).toEqual(expected);
    expect(Object.is(back.zero, -0)).toBe(true);
    expect(back.history[2]).toEqual({ ids: new Int32Array([3, -4]), bytes: new Uint8Array([9]) });
  });

  it('training: fit-style state whose optimizer is the saved optimiser is stored once (a reference), and comes back as its state dict', () => {
    const { model, vocab } = trained();
    const adam = new Adam(model.parameters(), { lr: 1e-2 });
    model.zeroGrad();
    model.forwardBackward([[1, 2]], [[2, 3]]);
    adam.step();
    const training = { format: 'lstm-lm/training-state', step: 1, optimizer: adam.stateDict() };
    const bytes = saveCheckpoint(model, { vocab, optimizer: adam, training });
    const { metadata, tensors } = decodeSafetensors(bytes);
    expect(metadata.training).toBe('{"format":"lstm-lm/training-state","step":1,"optimizer":{"$optimizer":"state"}}');
    expect([...tensors.keys()].some((n) => n.startsWith('training.'))).toBe(false);
    const loaded = track(loadCheckpoint(bytes));
    expect(loaded.training).toEqual(training);
    // A state that is not the optimiser's current one is stored in full.
    adam.step();
    const full = decodeSafetensors(saveCheckpoint(model, { vocab, optimizer: adam, training }));
    expect(full.tensors.has('training.optimizer.buffers.expAvg.0')).toBe(true);
    expect(track(loadCheckpoint(saveCheckpoint(model, { vocab, optimizer: adam, training }))).training).toEqual(training);
  });
});

describe('saveCheckpoint: argument errors', () => {
  const { model, vocab } = trained();
  it.each([
    [() => saveCheckpoint({} as never, { vocab }), TypeError, /Expected `model` to be an LSTMLanguageModel, got an object/],
    [() => saveCheckpoint(model, undefined as never), TypeError, /Expected `options` to be an object/],
    [() => saveCheckpoint(model, { vocab, optimiser: 1 } as never), TypeError, /Unknown option "optimiser"/],
    [() => saveCheckpoint(model, { vocab: vocab.toJSON() as never }), TypeError, /Expected `vocab` to be a Vocab/],
    [() => saveCheckpoint(model, { vocab: vocabOf(5) }), RangeError, /vocabSize 6 tokens, got 5/],
    [() => saveCheckpoint(model, { vocab, optimizer: {} as never }), TypeError, /SGD, Adam, AdamW or RMSprop/],
    [() => saveCheckpoint(model, { vocab, optimizer: new SGD(model.parameters().slice(1), { lr: 1 }) }), RangeError, /exactly model.parameters\(\) \(14, in order\), got 13/],
    [() => saveCheckpoint(model, { vocab, schedule: { name: 'mine', lrAt: () => 1 } }), TypeError, /a custom schedule is not saved/],
    [() => saveCheckpoint(model, { vocab, training: [] as never }), TypeError, /Expected `training` to be a plain object/],
    [() => saveCheckpoint(model, { vocab, training: { when: new Date() } }), TypeError, /`training.when`.*got a Date/],
    [() => saveCheckpoint(model, { vocab, training: { $tensor: 1 } }), TypeError, /not .* start with "\$", got "\$tensor"/],
    [() => saveCheckpoint(model, { vocab, training: { a: new BigInt64Array(1) } }), TypeError, /`training.a`.*BigInt64Array/],
    [() => saveCheckpoint(model, { vocab, training: { 'a.b': new Float32Array(1), a: { b: new Float32Array(1) } } }), TypeError, /distinct paths, got "training.a.b" twice/],
  ] as const)('%#: %s', (f, Err, message) => {
    expect(f).toThrow(Err);
    expect(f).toThrow(message);
  });
  it('a cycle in training is refused, not a stack overflow', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => saveCheckpoint(model, { vocab, training: cyclic })).toThrow(/nest at most 32 levels deep/);
  });
});

describe('lstm-lm/node: writeCheckpoint / readCheckpoint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lstm-lm-ckpt-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('writes atomically and reads back (threads work through nodeWorkerFactory by default)', async () => {
    const { model, vocab } = trained({ numLayers: 2 });
    const path = join(dir, 'model.safetensors');
    await writeCheckpoint(path, model, { vocab });
    expect(bits(readFileSync(path))).toBe(bits(saveCheckpoint(model, { vocab })));
    const loaded = track(await readCheckpoint(path, { backend: 'wasm', threads: 2 }));
    expect(loaded.model.threads).toBe(2);
    expect(bits(loaded.model.flatParameters)).toBe(bits(model.flatParameters));
    await expect(readCheckpoint(join(dir, 'missing.safetensors'))).rejects.toThrow(/ENOENT/);
    await expect(writeCheckpoint(path, model, { vocab: vocabOf(3) })).rejects.toThrow(RangeError);
  });
});
