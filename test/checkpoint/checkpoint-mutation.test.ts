// Tests that kill the mutants of src/checkpoint/checkpoint.ts that checkpoint.test.ts,
// hostile.test.ts and resume.test.ts leave alive (docs/mutation.md): whole messages of the
// argument and format errors, the boundaries of the version and size checks, when a training
// state's optimizer is stored as a reference, the training value's encoding (depth, tags,
// keys), and what a failed load leaves. Every file is built inside a test: a mutant that
// breaks saveCheckpoint must fail a test, not this file's import (docs/mutation.md).
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import {
  CHECKPOINT_FORMAT, CHECKPOINT_FORMAT_VERSION, loadCheckpoint, saveCheckpoint, type LoadedCheckpoint,
} from '../../src/checkpoint/checkpoint.js';
import { CheckpointFormatError, type CheckpointFormatErrorCode } from '../../src/checkpoint/errors.js';
import { decodeSafetensors, encodeSafetensors, type NamedSafetensorsTensor } from '../../src/checkpoint/safetensors.js';
import { Vocab } from '../../src/data/vocab.js';
import { LSTMLanguageModel, type LSTMLanguageModelOptions } from '../../src/lstm/model.js';
import { Adam } from '../../src/optim/adam.js';
import { RMSprop } from '../../src/optim/rmsprop.js';
import { constantLr, reduceOnPlateau, stepDecay } from '../../src/optim/schedules.js';
import { SGD } from '../../src/optim/sgd.js';
import { VERSION } from '../../src/version.js';

const models: LSTMLanguageModel[] = [];
afterAll(() => { for (const m of models) m.dispose(); });
afterEach(() => { vi.restoreAllMocks(); });

const vocab4 = (): Vocab => new Vocab(['a', 'b', 'c'], { level: 'char' });

/** A small model (V 4, H 3) that has taken one Adam step, so its buffers are not zero. */
function small(options: Partial<LSTMLanguageModelOptions> = {}): { model: LSTMLanguageModel; vocab: Vocab; adam: Adam } {
  const model = new LSTMLanguageModel({ vocabSize: 4, numHiddens: 3, seed: 1, backend: 'js', ...options });
  models.push(model);
  const adam = new Adam(model.parameters(), { lr: 1e-2 });
  model.zeroGrad();
  model.forwardBackward([[1, 2, 3]], [[2, 3, 1]]);
  adam.step();
  return { model, vocab: vocab4(), adam };
}

function load(bytes: Uint8Array, options?: Parameters<typeof loadCheckpoint>[1]): LoadedCheckpoint {
  const loaded = loadCheckpoint(bytes, options);
  models.push(loaded.model);
  return loaded;
}

type Edit = (metadata: Record<string, string>, tensors: NamedSafetensorsTensor[]) => void;

/** `bytes` with its metadata and tensors edited, re-encoded as a valid container. */
function edited(bytes: Uint8Array, edit: Edit): Uint8Array {
  const { metadata, tensors } = decodeSafetensors(bytes);
  const meta = { ...metadata };
  const list = [...tensors].map(([name, t]) => ({ name, ...t }) as NamedSafetensorsTensor);
  edit(meta, list);
  return encodeSafetensors(list, meta);
}

/** Edits one metadata entry's JSON. */
const json = (key: string, change: (value: Record<string, unknown>) => unknown): Edit => (meta) => {
  const value = JSON.parse(meta[key]!) as Record<string, unknown>;
  const replaced = change(value);
  meta[key] = JSON.stringify(replaced === undefined ? value : replaced);
};

function rejected(bytes: Uint8Array, code: CheckpointFormatErrorCode, message: string | RegExp): CheckpointFormatError {
  let caught: unknown;
  try {
    models.push(loadCheckpoint(bytes, { backend: 'js' }).model);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(CheckpointFormatError);
  const error = caught as CheckpointFormatError;
  expect(error.code).toBe(code);
  if (typeof message === 'string') expect(error.message).toBe(message);
  else expect(error.message).toMatch(message);
  return error;
}

const PARAMS_1 = 'vocabSize 4, numHiddens 3, numLayers 1, float32';

describe('saveCheckpoint: arguments, whole messages', () => {
  it('model, options, vocab', () => {
    const { model, vocab } = small();
    expect(() => saveCheckpoint(null as never, { vocab })).toThrow(new TypeError('Expected `model` to be an LSTMLanguageModel, got null.'));
    for (const [options, shown] of [[null, 'null'], [[], 'an array of length 0'], ['x', '"x"'], [undefined, 'undefined']] as const) {
      expect(() => saveCheckpoint(model, options as never)).toThrow(
        new TypeError(`Expected \`options\` to be an object like { vocab, optimizer?, schedule?, training? }, got ${shown}.`),
      );
    }
    expect(() => saveCheckpoint(model, { vocab, extra: 1 } as never)).toThrow(
      new TypeError('Unknown option "extra"; expected one of vocab, optimizer, schedule, training.'),
    );
    expect(() => saveCheckpoint(model, {} as never)).toThrow(new TypeError('Expected `vocab` to be a Vocab, got undefined.'));
    expect(() => saveCheckpoint(model, { vocab: new Vocab(['a'], { level: 'char' }) })).toThrow(
      new RangeError("Expected `vocab` to have the model's vocabSize 4 tokens, got 2."),
    );
    // Every known key is accepted.
    expect(() => saveCheckpoint(model, { vocab, optimizer: undefined, schedule: undefined, training: undefined })).not.toThrow();
  });

  it('a model whose GPU copy moved on since the last sync is refused', () => {
    const { model, vocab } = small();
    vi.spyOn(model, 'hostStale', 'get').mockReturnValue(true);
    expect(() => saveCheckpoint(model, { vocab })).toThrow(new Error(
      "Expected the model's host copy to be current, but its parameters changed on the GPU since the last sync: " +
        'call await model.sync() before saveCheckpoint().',
    ));
  });

  it('optimiser: a known class over exactly the model\'s parameters (the same objects or views of the same elements)', () => {
    const { model, vocab } = small();
    const other = small().model;
    const n = model.parameters().length;
    expect(() => saveCheckpoint(model, { vocab, optimizer: new SGD(other.parameters(), { lr: 1 }) })).toThrow(
      new RangeError(`Expected \`optimizer\` to update exactly model.parameters() (${n}, in order), got ${n} other parameters.`),
    );
    const reversed = model.parameters().reverse();
    expect(() => saveCheckpoint(model, { vocab, optimizer: new SGD(reversed, { lr: 1 }) })).toThrow(/exactly model\.parameters\(\)/);
    expect(() => saveCheckpoint(model, { vocab, optimizer: new SGD([...model.parameters(), ...other.parameters().slice(0, 1)], { lr: 1 }) }))
      .toThrow(`(${n}, in order), got ${n + 1} other parameters.`);
    // Views of the same elements are the same parameters.
    const views = model.parameters().map((p) => ({ data: p.data.subarray(0), grad: p.grad }));
    const viaViews = saveCheckpoint(model, { vocab, optimizer: new SGD(views, { lr: 0.5 }) });
    expect(load(viaViews).optimizer!.lr).toBe(0.5);
    // A view that starts later, or is shorter, is not.
    const shifted = model.parameters().map((p, i) => ({ data: i === 0 ? p.data.subarray(1) : p.data, grad: i === 0 ? p.grad.subarray(1) : p.grad }));
    expect(() => saveCheckpoint(model, { vocab, optimizer: new SGD(shifted, { lr: 1 }) })).toThrow(/exactly model\.parameters\(\)/);
    const p0 = model.parameters()[0]!;
    const moved = model.parameters().map((p, i) => (i === 0 ? { data: new Float32Array(p0.data.buffer, p0.data.byteOffset + 4, p0.data.length), grad: p0.grad } : p));
    expect(() => saveCheckpoint(model, { vocab, optimizer: new SGD(moved, { lr: 1 }) })).toThrow(/exactly model\.parameters\(\)/);
    const shorter = model.parameters().map((p, i) => ({ data: i === 0 ? p.data.subarray(0, 1) : p.data, grad: i === 0 ? p.grad.subarray(0, 1) : p.grad }));
    expect(() => saveCheckpoint(model, { vocab, optimizer: new SGD(shorter, { lr: 1 }) })).toThrow(/exactly model\.parameters\(\)/);
    // An object dressed as an optimiser is not one.
    const fake = { params: model.parameters(), stateDict: () => ({}), options: {} };
    expect(() => saveCheckpoint(model, { vocab, optimizer: fake as never })).toThrow(
      new TypeError('Expected `optimizer` to be an SGD, Adam, AdamW or RMSprop, got an object.'),
    );
    expect(() => saveCheckpoint(model, { vocab, optimizer: null as never })).toThrow(/got null\.$/);
  });

  it('schedule: a built-in one that scheduleFromJSON rebuilds', () => {
    const { model, vocab } = small();
    const message = (shown: string) =>
      `Expected \`schedule\` to be a built-in schedule (with toJSON), got ${shown}; a custom schedule is not saved: pass it again on resume.`;
    expect(() => saveCheckpoint(model, { vocab, schedule: null as never })).toThrow(new TypeError(message('null')));
    expect(() => saveCheckpoint(model, { vocab, schedule: 'constant' as never })).toThrow(new TypeError(message('"constant"')));
    expect(() => saveCheckpoint(model, { vocab, schedule: { name: 'x', lrAt: () => 1, toJSON: 1 } as never })).toThrow(new TypeError(message('an object')));
    // A function that describes itself is still not a built-in schedule.
    const described = Object.assign(() => 1, { lrAt: () => 1, toJSON: () => constantLr({ lr: 1 }).toJSON() });
    expect(() => saveCheckpoint(model, { vocab, schedule: described as never })).toThrow(new TypeError(message('a function')));
    const lying = { name: 'mine', lrAt: () => 1, toJSON: () => ({ name: 'mine' }) };
    expect(() => saveCheckpoint(model, { vocab, schedule: lying as never })).toThrow(
      /^Expected `schedule\.toJSON\(\)` to describe a built-in schedule that scheduleFromJSON rebuilds: Expected `json\.name` to be one of /,
    );
    const { metadata } = decodeSafetensors(saveCheckpoint(model, { vocab, schedule: stepDecay({ lr: 1, every: 2, factor: 0.5 }) }));
    expect(JSON.parse(metadata.schedule!)).toEqual({ description: stepDecay({ lr: 1, every: 2, factor: 0.5 }).toJSON() });
    const plateau = reduceOnPlateau({ lr: 1e-2 });
    const withState = JSON.parse(decodeSafetensors(saveCheckpoint(model, { vocab, schedule: plateau })).metadata.schedule!);
    expect(withState).toEqual({ description: plateau.toJSON(), state: plateau.stateDict() });
  });

  it('the metadata: library version, config, vocabulary and generator as JSON', () => {
    const { model, vocab } = small({ dropout: 0.1 });
    const { metadata } = decodeSafetensors(saveCheckpoint(model, { vocab }));
    // Literal values, and the JSON fields read back (not the writer's expressions restated).
    expect(Object.keys(metadata)).toEqual(['format', 'format_version', 'library_version', 'config', 'vocab', 'generator']);
    expect(metadata.format).toBe('lstm-lm.checkpoint');
    expect(metadata.format_version).toBe('1');
    expect(metadata.library_version).toBe(VERSION); // VERSION is package.json's: test/checkpoint/checkpoint.test.ts
    expect(JSON.parse(metadata.config!)).toEqual({ ...model.config });
    expect(JSON.parse(metadata.config!).dropout).toBe(0.1);
    const back = Vocab.fromJSON(JSON.parse(metadata.vocab!));
    expect(back.idxToToken).toEqual(vocab.idxToToken);
    expect(back.tokenFreqs).toEqual(vocab.tokenFreqs);
    expect(JSON.parse(metadata.generator!)).toEqual(model.generatorState);
    expect(CHECKPOINT_FORMAT).toBe('lstm-lm.checkpoint');
    expect(CHECKPOINT_FORMAT_VERSION).toBe(1);
  });

  it('optimiser metadata and buffers: name, options, step, lr, buffer names; one tensor per parameter and buffer', () => {
    const { model, vocab } = small({ dtype: 'float64' });
    const rms = new RMSprop(model.parameters(), { lr: 0.01, momentum: 0.5 });
    model.zeroGrad();
    model.forwardBackward([[1, 2]], [[2, 3]]);
    rms.step();
    const { metadata, tensors } = decodeSafetensors(saveCheckpoint(model, { vocab, optimizer: rms }));
    expect(JSON.parse(metadata.optimizer!)).toEqual({ name: 'rmsprop', options: rms.options, step: 1, lr: 0.01, buffers: ['squareAvg', 'momentumBuffer'] });
    const p0 = model.parameters()[0]!;
    const t = tensors.get(`optimizer.${p0.name}.momentumBuffer`)!;
    expect(t.dtype).toBe('F64');
    expect(t.shape).toEqual(p0.shape);
    expect(t.data).toEqual(rms.stateDict().buffers.momentumBuffer![0]);
  });
});

describe('saveCheckpoint: training values', () => {
  it('JSON values as they are; -0, NaN, ±Infinity as $number; undefined members dropped; arrays by index', () => {
    const { model, vocab } = small();
    const training = { a: null, b: true, c: 'x', d: 1.5, e: 0, f: -0, g: NaN, h: -Infinity, i: [1, [2, new Int16Array([3])]], j: undefined };
    const { metadata, tensors } = decodeSafetensors(saveCheckpoint(model, { vocab, training }));
    expect(metadata.training).toBe(
      '{"a":null,"b":true,"c":"x","d":1.5,"e":0,"f":{"$number":"-0"},"g":{"$number":"NaN"},"h":{"$number":"-Infinity"},' +
        '"i":[1,[2,{"$tensor":"training.i.1.1"}]]}',
    );
    expect(tensors.get('training.i.1.1')).toEqual({ dtype: 'I16', shape: [1], data: new Int16Array([3]) });
    const back = load(saveCheckpoint(model, { vocab, training })).training as unknown as Record<string, unknown>;
    expect(back).toEqual({ a: null, b: true, c: 'x', d: 1.5, e: 0, f: -0, g: NaN, h: -Infinity, i: [1, [2, new Int16Array([3])]] });
    expect(Object.is(back.e, 0)).toBe(true);
    expect(Object.is(back.f, -0)).toBe(true);
  });

  it('every typed array kind becomes its dtype and comes back as its own type', () => {
    const { model, vocab } = small();
    const arrays = {
      f32: new Float32Array([1.5]), f64: new Float64Array([2.5]), i32: new Int32Array([-3]), u32: new Uint32Array([4e9]),
      i16: new Int16Array([-5]), u16: new Uint16Array([6e4]), i8: new Int8Array([-7]), u8: new Uint8Array([200]),
    };
    const bytes = saveCheckpoint(model, { vocab, training: arrays });
    const { tensors } = decodeSafetensors(bytes);
    expect(Object.keys(arrays).map((k) => tensors.get(`training.${k}`)!.dtype)).toEqual(['F32', 'F64', 'I32', 'U32', 'I16', 'U16', 'I8', 'U8']);
    const back = load(bytes).training as unknown as Record<string, ArrayBufferView>;
    for (const [k, v] of Object.entries(arrays)) {
      expect(back[k]!.constructor).toBe(v.constructor);
      expect(back[k]).toEqual(v);
    }
  });

  it('refuses other views, class instances and forbidden keys, naming the path', () => {
    const { model, vocab } = small();
    const bad = (training: object) => () => saveCheckpoint(model, { vocab, training });
    expect(bad({ x: { y: new DataView(new ArrayBuffer(4)) } })).toThrow(
      new TypeError('Expected `training.x.y` to be a Float32/64, (U)Int8/16/32 array or JSON value, got a DataView.'),
    );
    expect(bad({ x: new Uint8ClampedArray(2) })).toThrow(/^Expected `training\.x` to be a Float32\/64, \(U\)Int8\/16\/32 array or JSON value, got a Uint8ClampedArray\.$/);
    expect(bad({ x: [0, new Map()] })).toThrow(
      new TypeError('Expected `training.x.1` to be a JSON value, a typed array or a plain object or array of them, got a Map.'),
    );
    expect(bad({ f: () => 1 })).toThrow(
      new TypeError('Expected `training.f` to be a JSON value, a typed array or a plain object or array of them, got a function.'),
    );
    expect(bad({ n: 1n } as never)).toThrow(/^Expected `training\.n` to be a JSON value, .* got 1\.$/);
    expect(bad({ x: [1, undefined] })).toThrow(
      new TypeError('Expected `training.x.1` to be a JSON value, a typed array or a plain object or array of them, got undefined.'),
    );
    for (const key of ['constructor', 'prototype', '$x']) {
      expect(bad({ ok: { [key]: 1 } })).toThrow(
        new TypeError(`Expected the keys of \`training.ok\` not to be __proto__, constructor, prototype or start with "$", got "${key}".`),
      );
    }
    expect(bad(JSON.parse('{"__proto__": 1}') as object)).toThrow(/got "__proto__"\.$/);
    expect(bad({ a: new Float32Array(1), b: [new Float32Array(1)], 'b.0': new Float32Array(1) })).toThrow(
      new TypeError('Expected the keys of `training` to give distinct paths, got "training.b.0" twice.'),
    );
    // A null-prototype object is plain.
    const bare = Object.assign(Object.create(null) as object, { k: 1 });
    expect(load(saveCheckpoint(model, { vocab, training: { bare } })).training).toEqual({ bare: { k: 1 } });
    // A string key starting with a letter, with a "$" later, is fine.
    expect(load(saveCheckpoint(model, { vocab, training: { a$: 1 } })).training).toEqual({ a$: 1 });
  });

  it('nesting: 32 levels below training are allowed, 33 are not', () => {
    const { model, vocab } = small();
    const nest = (levels: number, leaf: unknown): unknown => (levels === 0 ? leaf : { n: nest(levels - 1, leaf) });
    // training (depth 0) → 32 nested objects → a number at depth 33: numbers are not depth-checked.
    expect(load(saveCheckpoint(model, { vocab, training: nest(33, 1) as object })).training).toEqual(nest(33, 1));
    // An object (or array, or typed array) at depth 33 is refused.
    const path = 'training' + '.n'.repeat(33);
    expect(() => saveCheckpoint(model, { vocab, training: nest(33, {}) as object })).toThrow(
      new TypeError(`Expected \`${path}\` to nest at most 32 levels deep (a cycle?).`),
    );
    expect(() => saveCheckpoint(model, { vocab, training: nest(33, new Float32Array(1)) as object })).toThrow(/nest at most 32 levels deep/);
    expect(() => saveCheckpoint(model, { vocab, training: nest(32, [[]]) as object })).toThrow(/nest at most 32 levels deep/);
    expect(load(saveCheckpoint(model, { vocab, training: nest(32, {}) as object })).training).toEqual(nest(32, {}));
    expect(load(saveCheckpoint(model, { vocab, training: nest(32, new Float32Array([2])) as object })).training).toEqual(nest(32, new Float32Array([2])));
  });

  it('training.optimizer is stored as a reference only when it equals the optimiser\'s state bit for bit', () => {
    const { model, vocab, adam } = small();
    const state = adam.stateDict();
    const isRef = (optimizer: unknown, o: Adam | null = adam): boolean => {
      const bytes = saveCheckpoint(model, { vocab, ...(o === null ? {} : { optimizer: o }), training: { optimizer } as object });
      return decodeSafetensors(bytes).metadata.training === '{"optimizer":{"$optimizer":"state"}}';
    };
    expect(isRef(state)).toBe(true);
    expect(isRef(adam.stateDict())).toBe(true);
    expect(isRef(state, null)).toBe(false); // no optimiser saved
    expect(isRef({ ...state, name: 'sgd' })).toBe(false);
    expect(isRef({ ...state, step: 2 })).toBe(false);
    expect(isRef({ ...state, lr: 0.02 })).toBe(false);
    expect(isRef({ ...state, buffers: null })).toBe(false);
    expect(isRef({ ...state, buffers: [] })).toBe(false);
    expect(isRef({ ...state, buffers: { expAvg: state.buffers.expAvg } })).toBe(false);
    expect(isRef({ ...state, buffers: { ...state.buffers, extra: [] } })).toBe(false);
    expect(isRef({ ...state, buffers: { ...state.buffers, expAvg: state.buffers.expAvg!.slice(1) } })).toBe(false);
    expect(isRef({ ...state, buffers: { ...state.buffers, expAvg: state.buffers.expAvg!.slice(0, -1) } })).toBe(false);
    expect(isRef({ ...state, buffers: { ...state.buffers, expAvg: { ...state.buffers.expAvg } } })).toBe(false);
    const changed = (edit: (arrays: Float32Array[]) => unknown[]) => ({ ...state, buffers: { ...state.buffers, expAvgSq: edit(state.buffers.expAvgSq!.map((a) => a.slice() as Float32Array)) } });
    expect(isRef(changed((a) => a))).toBe(true); // copies with the same bits
    expect(isRef(changed((a) => { a[2]![1] = a[2]![1]! + 1; return a; }))).toBe(false);
    expect(isRef(changed((a) => { const last = a[a.length - 1]!; last[last.length - 1] = last[last.length - 1]! + 1; return a; }))).toBe(false);
    expect(isRef(changed((a) => a.map((x) => Float64Array.from(x))))).toBe(false);
    expect(isRef(changed((a) => a.map((x) => x.subarray(1))))).toBe(false);
    expect(isRef(changed((a) => a.map((x) => x.subarray(0, x.length - 1))))).toBe(false);
    expect(isRef(changed((a) => a.map((x) => Array.from(x))))).toBe(false);
    // The same bytes and length in another array type are not the same state.
    expect(isRef(changed((a) => a.map((x) => new Int32Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength)))))).toBe(false);
    // A view into a larger buffer with the same bits is the same state.
    expect(isRef(changed((a) => a.map((x) => { const big = new Float32Array(x.length + 2); big.set(x, 1); return big.subarray(1, 1 + x.length); })))).toBe(true);
    // lr compared with Object.is: −0 is not 0.
    const zero = small();
    zero.adam.lr = 0;
    const s0 = zero.adam.stateDict();
    const ref0 = (lr: number) => decodeSafetensors(saveCheckpoint(zero.model, { vocab, optimizer: zero.adam, training: { optimizer: { ...s0, lr } } })).metadata.training;
    expect(ref0(0)).toBe('{"optimizer":{"$optimizer":"state"}}');
    expect(ref0(-0)).not.toBe('{"optimizer":{"$optimizer":"state"}}');
    // Only training.optimizer is compared, and only when it is an object.
    expect(decodeSafetensors(saveCheckpoint(model, { vocab, optimizer: adam, training: { other: state } as object })).metadata.training).not.toContain('$optimizer');
    expect(decodeSafetensors(saveCheckpoint(model, { vocab, optimizer: adam, training: { optimizer: 'adam' } })).metadata.training).toBe('{"optimizer":"adam"}');
  });
});

describe('loadCheckpoint: arguments and what it builds', () => {
  it('bytes and options, whole messages', () => {
    const { model, vocab } = small();
    const bytes = saveCheckpoint(model, { vocab });
    expect(() => loadCheckpoint(new Uint16Array(4) as never)).toThrow(new TypeError('Expected `bytes` to be a Uint8Array, got a Uint16Array.'));
    for (const [options, shown] of [[null, 'null'], [[], 'an array of length 0'], [1, '1']] as const) {
      expect(() => loadCheckpoint(bytes, options as never)).toThrow(
        new TypeError(`Expected \`options\` to be an object like { backend: 'wasm', threads: 2 }, got ${shown}.`),
      );
    }
    expect(() => loadCheckpoint(bytes, { device: 1 } as never)).toThrow(
      new TypeError('Unknown option "device"; expected one of backend, threads, createWorker, gpuDevice.'),
    );
    // Every known key is accepted; undefined ones are left to the model's defaults.
    const loaded = load(bytes, { backend: undefined, threads: undefined, createWorker: undefined, gpuDevice: undefined });
    expect(loaded.model.threads).toBe(1);
    expect(load(bytes).model.config).toEqual(model.config);
    expect(load(bytes, { backend: 'js' }).model.backend).toBe('js');
  });

  it('passes createWorker and threads to the model', () => {
    const { model, vocab } = small();
    const createWorker = vi.fn(() => { throw new Error('no workers here'); });
    expect(() => loadCheckpoint(saveCheckpoint(model, { vocab }), { backend: 'wasm', threads: 2, createWorker })).toThrow();
    expect(createWorker).toHaveBeenCalled();
  });

  it('a failure while building disposes of the model and throws the error', () => {
    const { model, vocab, adam } = small();
    const bytes = saveCheckpoint(model, { vocab, optimizer: adam });
    const dispose = vi.spyOn(LSTMLanguageModel.prototype, 'dispose');
    const set = vi.spyOn(LSTMLanguageModel.prototype, 'generatorState', 'set').mockImplementation(() => { throw new Error('device lost'); });
    expect(() => loadCheckpoint(bytes)).toThrow(/^device lost$/);
    expect(set).toHaveBeenCalledTimes(1);
    expect(dispose).toHaveBeenCalledTimes(1);
    set.mockRestore();
    expect(load(bytes).optimizer!.stepCount).toBe(1);
    expect(dispose).toHaveBeenCalledTimes(1);
  });

  it('uploads the parameters after writing them, then sets the generator', () => {
    const { model, vocab } = small({ dropout: 0.3 });
    const bytes = saveCheckpoint(model, { vocab });
    let seen: number[] = [];
    vi.spyOn(LSTMLanguageModel.prototype, 'upload').mockImplementation(function (this: LSTMLanguageModel) { seen = Array.from(this.flatParameters); });
    const loaded = load(bytes);
    expect(seen).toEqual(Array.from(model.flatParameters));
    expect(loaded.model.generatorState).toEqual(model.generatorState);
  });

  it('the loaded pieces: no optimiser, schedule or training unless saved; a referenced optimizer state comes back as the optimiser\'s', () => {
    const { model, vocab, adam } = small();
    const plain = load(saveCheckpoint(model, { vocab }));
    expect(Object.keys(plain).sort()).toEqual(['libraryVersion', 'model', 'vocab']);
    const full = load(saveCheckpoint(model, { vocab, optimizer: adam, schedule: constantLr({ lr: 0.1 }), training: { optimizer: adam.stateDict(), step: 3 } }));
    expect(Object.keys(full).sort()).toEqual(['libraryVersion', 'model', 'optimizer', 'schedule', 'training', 'vocab']);
    expect(full.training).toEqual({ optimizer: adam.stateDict(), step: 3 });
    expect(full.training!.optimizer).toEqual(full.optimizer!.stateDict());
    expect(full.schedule!.lrAt({ step: 5, epoch: 0 })).toBe(0.1);
  });
});

describe('loadCheckpoint: format and version', () => {
  it('the format entry, with and without a PyTorch hint', () => {
    const { model, vocab } = small();
    const bytes = saveCheckpoint(model, { vocab });
    rejected(edited(bytes, (m) => { delete m.format; }), 'NOT_A_CHECKPOINT',
      'Not an lstm-lm checkpoint: the metadata entry "format" is missing, expected "lstm-lm.checkpoint".');
    rejected(edited(bytes, (m) => { m.format = 'x"y'; }), 'NOT_A_CHECKPOINT',
      'Not an lstm-lm checkpoint: the metadata entry "format" is "x\\"y", expected "lstm-lm.checkpoint".');
    rejected(edited(bytes, (m, t) => { delete m.format; t.push({ name: 'lstm.weight_ih_l0', dtype: 'F32', shape: [1], data: new Float32Array(1) }); }), 'NOT_A_CHECKPOINT',
      'Not an lstm-lm checkpoint: the metadata entry "format" is missing, expected "lstm-lm.checkpoint". It looks like a PyTorch state dict: read it with importPyTorch.');
  });

  it('format_version: a positive integer of at most 9 digits, not above 1', () => {
    const { model, vocab } = small();
    const bytes = saveCheckpoint(model, { vocab });
    const version = (v: string | undefined) => edited(bytes, (m) => { if (v === undefined) delete m.format_version; else m.format_version = v; });
    rejected(version(undefined), 'METADATA_FIELD', 'Invalid checkpoint: the metadata entry "format_version" is missing, expected a positive integer.');
    for (const v of ['0', '01', '', ' 1', '1 ', '-1', '1e0', 'x1', '1x', '1234567890']) {
      rejected(version(v), 'METADATA_FIELD', `Invalid checkpoint: the metadata entry "format_version" is ${JSON.stringify(v)}, expected a positive integer.`);
    }
    expect(load(version('1')).model.config).toEqual(model.config);
    rejected(version('2'), 'UNSUPPORTED_VERSION',
      `Unsupported checkpoint: format version 2 (written by lstm-lm ${VERSION}); this is lstm-lm ${VERSION}, which reads format version 1 and older. Upgrade lstm-lm to read it.`);
    rejected(version('999999999'), 'UNSUPPORTED_VERSION', /^Unsupported checkpoint: format version 999999999 /);
    rejected(version('10'), 'UNSUPPORTED_VERSION', /^Unsupported checkpoint: format version 10 /);
    // Without a library_version: "unknown".
    rejected(edited(bytes, (m) => { m.format_version = '3'; delete m.library_version; }), 'UNSUPPORTED_VERSION', /\(written by lstm-lm unknown\)/);
    expect(load(edited(bytes, (m) => { delete m.library_version; })).libraryVersion).toBe('unknown');
    expect(load(edited(bytes, (m) => { m.library_version = '0.0.1'; })).libraryVersion).toBe('0.0.1');
  });
});

describe('loadCheckpoint: config, vocabulary, generator', () => {
  it('config: an object with known keys; a layer count the tensors cannot hold, with or without an embedding', () => {
    const { model, vocab } = small();
    const bytes = saveCheckpoint(model, { vocab });
    rejected(edited(bytes, (m) => { m.config = '3'; }), 'CONFIG', 'Invalid checkpoint: metadata "config" must be an object (model.config), got 3.');
    rejected(edited(bytes, (m) => { m.config = 'null'; }), 'CONFIG', /must be an object \(model\.config\), got null\.$/);
    rejected(edited(bytes, json('config', (c) => { c.heads = 2; })), 'CONFIG',
      'Invalid checkpoint: metadata "config" has the unknown key "heads" (a newer library\'s option?); expected vocabSize, numHiddens, numLayers, dropout, embeddingSize, cell, init, initScale, seed, dtype.');
    // Each known key is accepted (here: as saved).
    expect(Object.keys(JSON.parse(decodeSafetensors(bytes).metadata.config!)).sort()).toEqual(
      ['cell', 'dropout', 'dtype', 'embeddingSize', 'init', 'initScale', 'numHiddens', 'numLayers', 'seed', 'vocabSize'],
    );
    rejected(edited(bytes, json('config', (c) => { c.numLayers = 2; })), 'MISSING_TENSOR',
      'Invalid checkpoint: metadata "config" (numLayers 2) needs 26 parameter tensors, but the file holds 14 tensors.');
    const embedded = small({ embeddingSize: 2 });
    const withEmbedding = saveCheckpoint(embedded.model, { vocab: embedded.vocab });
    rejected(edited(withEmbedding, json('config', (c) => { c.numLayers = 2; })), 'MISSING_TENSOR', /needs 27 parameter tensors, but the file holds 15 tensors\.$/);
    // One tensor short of the count: the count check passes, the missing tensor is named.
    rejected(edited(withEmbedding, (_, t) => { t.pop(); }), 'MISSING_TENSOR', 'Invalid checkpoint: metadata "config" (numLayers 1) needs 15 parameter tensors, but the file holds 14 tensors.');
    rejected(edited(withEmbedding, json('config', (c) => { c.embeddingSize = null; })), 'TENSOR_SHAPE', /vocabSize 4, numHiddens 3, numLayers 1, float32\)/);
    rejected(edited(bytes, json('config', (c) => { c.embeddingSize = 2; })), 'MISSING_TENSOR',
      'Invalid checkpoint: metadata "config" (numLayers 1) needs 15 parameter tensors, but the file holds 14 tensors.');
    // With an optimiser's buffers the file holds enough tensors: the missing one is named, with the config described.
    const { adam } = embedded;
    const both = saveCheckpoint(embedded.model, { vocab: embedded.vocab, optimizer: adam });
    rejected(edited(both, (_, t) => { t.splice(t.findIndex((x) => x.name === 'W_embed'), 1); }), 'MISSING_TENSOR',
      'Invalid checkpoint: tensor "W_embed" (a parameter of vocabSize 4, numHiddens 3, numLayers 1, embeddingSize 2, float32) is missing.');
  });

  it('vocabulary and generator: objects, checked by their own classes', () => {
    const { model, vocab } = small();
    const bytes = saveCheckpoint(model, { vocab });
    rejected(edited(bytes, (m) => { m.vocab = '["a"]'; }), 'VOCAB', 'Invalid checkpoint: metadata "vocab": Expected an object (vocab.toJSON()), got an array of length 1.');
    rejected(edited(bytes, (m) => { m.vocab = 'null'; }), 'VOCAB', /Expected an object \(vocab\.toJSON\(\)\), got null\.$/);
    rejected(edited(bytes, json('vocab', (v) => { (v.idxToToken as string[]).pop(); })), 'VOCAB',
      'Invalid checkpoint: metadata "vocab" has 3 tokens, but metadata "config" says vocabSize 4.');
    rejected(edited(bytes, (m) => { m.generator = '7'; }), 'GENERATOR', 'Invalid checkpoint: metadata "generator": Expected `state` to be { words, spare }, got 7.');
    rejected(edited(bytes, (m) => { m.generator = '[1,2,3,4]'; }), 'GENERATOR', /got an array of length 4\.$/);
    rejected(edited(bytes, (m) => { m.generator = 'null'; }), 'GENERATOR', /got null\.$/);
    rejected(edited(bytes, (m) => { delete m.vocab; }), 'METADATA_FIELD', 'Invalid checkpoint: the metadata entry "vocab" is missing.');
    rejected(edited(bytes, (m) => { delete m.config; }), 'METADATA_FIELD', 'Invalid checkpoint: the metadata entry "config" is missing.');
    rejected(edited(bytes, (m) => { delete m.generator; }), 'METADATA_FIELD', 'Invalid checkpoint: the metadata entry "generator" is missing.');
    rejected(edited(bytes, json('config', (c) => { c.numHiddens = 0; })), 'CONFIG',
      'Invalid checkpoint: metadata "config": Expected `numHiddens` to be a positive integer, got 0.');
    const loaded = load(bytes);
    expect(loaded.vocab.toJSON()).toEqual(vocab.toJSON());
    expect(loaded.vocab).toBeInstanceOf(Vocab);
  });

  it('parameters: F64 for a float64 model, in the model\'s dtype; finite', () => {
    const { model, vocab } = small({ dtype: 'float64' });
    const bytes = saveCheckpoint(model, { vocab });
    rejected(edited(bytes, (_, t) => { const w = t[0]!; Object.assign(w, { dtype: 'F32', data: Float32Array.from(w.data as Float64Array) }); }),
      'TENSOR_DTYPE', /is F32, expected F64 \(a parameter of vocabSize 4, numHiddens 3, numLayers 1, float64\)/);
    rejected(edited(bytes, (_, t) => { (t[3]!.data as Float64Array)[0] = Infinity; }), 'NON_FINITE', /has Infinity at index 0/);
    expect(Array.from(load(bytes).model.flatParameters)).toEqual(Array.from(model.flatParameters));
  });
});

describe('loadCheckpoint: tensors nobody asked for', () => {
  it('the message names what the file saves', () => {
    const { model, vocab, adam } = small();
    const extra: Edit = (_, t) => { t.push({ name: 'stray', dtype: 'F32', shape: [1], data: new Float32Array(1) }); };
    const e1 = rejected(edited(saveCheckpoint(model, { vocab }), extra), 'UNEXPECTED_TENSOR',
      `Invalid checkpoint: tensor "stray" is not part of ${PARAMS_1} (and the file saves no optimiser).`);
    expect(e1.tensor).toBe('stray');
    rejected(edited(saveCheckpoint(model, { vocab, optimizer: adam }), extra), 'UNEXPECTED_TENSOR',
      `Invalid checkpoint: tensor "stray" is not part of ${PARAMS_1} or its optimiser.`);
    rejected(edited(saveCheckpoint(model, { vocab, training: { s: 1 } }), extra), 'UNEXPECTED_TENSOR',
      `Invalid checkpoint: tensor "stray" is not part of ${PARAMS_1} (and the file saves no optimiser) or training state.`);
    rejected(edited(saveCheckpoint(model, { vocab, optimizer: adam, training: { s: 1 } }), extra), 'UNEXPECTED_TENSOR',
      `Invalid checkpoint: tensor "stray" is not part of ${PARAMS_1} or its optimiser or training state.`);
    const missing = rejected(edited(saveCheckpoint(model, { vocab }), (_, t) => { t[1]!.name = 'renamed'; }), 'MISSING_TENSOR', /^Invalid checkpoint: tensor "W_hi" \(a parameter of .*\) is missing\.$/);
    expect(missing.tensor).toBe(model.parameters()[1]!.name);
  });
});

describe('loadCheckpoint: optimiser', () => {
  const file = () => {
    const { model, vocab, adam } = small();
    return { model, adam, bytes: saveCheckpoint(model, { vocab, optimizer: adam }) };
  };
  const opt = (change: (o: Record<string, unknown>) => unknown): Edit => json('optimizer', change);
  const prefix = 'Invalid checkpoint: metadata "optimizer" ';

  it('its shape: an object with the five keys, a known name, options an object', () => {
    const { bytes } = file();
    rejected(edited(bytes, (m) => { m.optimizer = '[]'; }), 'OPTIMIZER', `${prefix}must be an object { name, options, step, lr, buffers }, got an array of length 0.`);
    rejected(edited(bytes, (m) => { m.optimizer = '"adam"'; }), 'OPTIMIZER', /must be an object \{ name, options, step, lr, buffers \}, got "adam"\.$/);
    rejected(edited(bytes, opt((o) => { o.momentum = 1; })), 'OPTIMIZER', `${prefix}has the unknown key "momentum".`);
    rejected(edited(bytes, opt((o) => { o.name = 'toString'; })), 'OPTIMIZER', `${prefix}names the optimiser "toString"; expected one of sgd, adam, adamw, rmsprop.`);
    rejected(edited(bytes, opt((o) => { o.name = 1; })), 'OPTIMIZER', `${prefix}names the optimiser 1; expected one of sgd, adam, adamw, rmsprop.`);
    rejected(edited(bytes, opt((o) => { o.name = ['adam']; })), 'OPTIMIZER', `${prefix}names the optimiser an array of length 1; expected one of sgd, adam, adamw, rmsprop.`);
    rejected(edited(bytes, opt((o) => { o.options = [0.01]; })), 'OPTIMIZER', `${prefix}has options an array of length 1, expected an object.`);
    rejected(edited(bytes, opt((o) => { o.options = null; })), 'OPTIMIZER', `${prefix}has options null, expected an object.`);
    rejected(edited(bytes, opt((o) => { o.lr = '0.01'; })), 'OPTIMIZER', `${prefix}has options.lr 0.01 and lr "0.01", which must agree.`);
  });

  it('the class checks its options and its step; lr 0 is state, not an option', () => {
    const { bytes } = file();
    rejected(edited(bytes, opt((o) => { o.step = 1.5; })), 'OPTIMIZER', 'Invalid checkpoint: metadata "optimizer" (adam): Expected `state.step` to be a non-negative integer, got 1.5.');
    rejected(edited(bytes, opt((o) => { (o.options as Record<string, unknown>).eps = -1; })), 'OPTIMIZER', /^Invalid checkpoint: metadata "optimizer" \(adam\): Expected `eps`/);
    // A negative lr is refused by the constructor (lr 0 alone is constructed with 1).
    rejected(edited(bytes, opt((o) => { o.lr = -1; (o.options as Record<string, unknown>).lr = -1; })), 'OPTIMIZER',
      'Invalid checkpoint: metadata "optimizer" (adam): Expected `lr` to be a positive finite number, got -1.');
    const zero = load(edited(bytes, opt((o) => { o.lr = 0; (o.options as Record<string, unknown>).lr = 0; })));
    expect(zero.optimizer!.lr).toBe(0);
    const other = load(edited(bytes, opt((o) => { o.lr = 0.5; (o.options as Record<string, unknown>).lr = 0.5; })));
    expect(other.optimizer!.lr).toBe(0.5);
    expect(other.optimizer!.options).toMatchObject({ lr: 0.5 });
  });

  it('buffers: exactly the class\'s names, in any order; each tensor there, of the parameter\'s shape and dtype', () => {
    const { bytes, adam, model } = file();
    const listed = (buffers: unknown) => edited(bytes, opt((o) => { o.buffers = buffers; }));
    for (const [buffers, shown] of [['expAvg', '"expAvg"'], [['expAvg', 'expAvg'], 'an array of length 2'], [['expAvg', 'other'], 'an array of length 2'], [['expAvg', 'expAvgSq', 'x'], 'an array of length 3'], [null, 'null']] as const) {
      rejected(listed(buffers), 'OPTIMIZER', `${prefix}lists the buffers ${shown}, but adam with these options has [expAvg, expAvgSq].`);
    }
    const swapped = load(listed(['expAvgSq', 'expAvg']));
    expect(swapped.optimizer!.stateDict()).toEqual(adam.stateDict());
    const name = `optimizer.${model.parameters()[2]!.name}.expAvgSq`;
    rejected(edited(bytes, (_, t) => { const b = t.find((x) => x.name === name)!; Object.assign(b, { dtype: 'F64', data: Float64Array.from(b.data as Float32Array) }); }),
      'TENSOR_DTYPE', `Invalid checkpoint: tensor "${name}" is F64, expected F32 (adam's expAvgSq of parameter ${model.parameters()[2]!.name}).`);
    rejected(edited(bytes, (_, t) => { (t.find((x) => x.name === name)!.data as Float32Array)[0] = NaN; }), 'NON_FINITE', /has NaN at index 0/);
  });

  it('the loaded optimiser: its class, its state, over the loaded model\'s parameters', () => {
    const { bytes, adam } = file();
    const loaded = load(bytes);
    expect(loaded.optimizer).toBeInstanceOf(Adam);
    expect(loaded.optimizer!.stateDict()).toEqual(adam.stateDict());
    expect(loaded.optimizer!.params.map((p) => p.data)).toEqual(loaded.model.parameters().map((p) => p.data));
    expect(loaded.optimizer!.params[0]!.data).toBe(loaded.model.parameters()[0]!.data);
  });
});

describe('loadCheckpoint: schedule', () => {
  it('{ description, state? }: objects, known keys, state only for a schedule that has one', () => {
    const { model, vocab } = small();
    const bytes = saveCheckpoint(model, { vocab, schedule: stepDecay({ lr: 1, every: 2, factor: 0.5 }) });
    const p = 'Invalid checkpoint: metadata "schedule": ';
    const sched = (change: (s: Record<string, unknown>) => unknown) => edited(bytes, json('schedule', change));
    rejected(sched(() => [1]), 'SCHEDULE', `${p}Expected { description, state? } with description an object (schedule.toJSON()), got an array of length 1.`);
    rejected(sched((s) => { s.description = 'stepDecay'; }), 'SCHEDULE', `${p}Expected { description, state? } with description an object (schedule.toJSON()), got an object.`);
    rejected(sched((s) => { s.extra = 1; }), 'SCHEDULE', `${p}Unknown key "extra"; expected description, state.`);
    rejected(sched((s) => { s.state = {}; }), 'SCHEDULE', `${p}Expected no state for schedule "stepDecay", which has none.`);
    const back = load(sched((s) => { s.state = undefined; })).schedule!;
    expect(back.lrAt({ step: 2, epoch: 2 })).toBe(0.5);
    const plateau = reduceOnPlateau({ lr: 1, patience: 0, factor: 0.5 });
    plateau.step(1);
    plateau.step(2);
    const withState = load(saveCheckpoint(model, { vocab, schedule: plateau })).schedule as typeof plateau;
    expect(withState.stateDict()).toEqual(plateau.stateDict());
    const fresh = load(edited(saveCheckpoint(model, { vocab, schedule: plateau }), json('schedule', (s) => { delete s.state; }))).schedule as typeof plateau;
    expect(fresh.stateDict()).toEqual(reduceOnPlateau({ lr: 1, patience: 0, factor: 0.5 }).stateDict());
  });
});

describe('loadCheckpoint: training', () => {
  const p = 'Invalid checkpoint: metadata "training" at ';
  const base = () => {
    const { model, vocab, adam } = small();
    return { model, vocab, adam, bytes: saveCheckpoint(model, { vocab, training: { h: new Float32Array([1, 2]), list: [1, 2] } }) };
  };
  const tr = (bytes: Uint8Array, change: (v: Record<string, unknown>) => unknown) => edited(bytes, json('training', change));

  it('the top level must be an object', () => {
    const { bytes } = base();
    rejected(tr(bytes, () => 'x'), 'TRAINING', `${p}the top level must be an object, got "x".`);
    rejected(tr(bytes, () => null), 'TRAINING', `${p}the top level must be an object, got null.`);
  });

  it('$number: one of four names, as a string', () => {
    const { bytes } = base();
    for (const [name, value] of [['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity], ['-0', -0]] as const) {
      const back = load(tr(bytes, (v) => { v.x = { $number: name }; })).training as unknown as { x: number };
      expect(Object.is(back.x, value)).toBe(true);
    }
    rejected(tr(bytes, (v) => { v.list = [1, { $number: 0 }]; }), 'TRAINING', `${p}training.list[1] has $number 0; expected "NaN", "Infinity", "-Infinity" or "-0".`);
    rejected(tr(bytes, (v) => { v.x = { $number: 'toString' }; }), 'TRAINING', /has \$number "toString"; expected/);
    rejected(tr(bytes, (v) => { v.x = { $number: ['NaN'] }; }), 'TRAINING', `${p}training.x has $number an array of length 1; expected "NaN", "Infinity", "-Infinity" or "-0".`);
    rejected(tr(bytes, (v) => { v.x = { $number: 'NaN', $tensor: 'training.h' }; }), 'TRAINING', `${p}training.x mixes a "$" key with others: [$number, $tensor].`);
  });

  it('$tensor: a string naming an unused 1-D training tensor', () => {
    const { bytes } = base();
    rejected(tr(bytes, (v) => { v.h = { $tensor: 5 }; }), 'TRAINING', `${p}training.h refers to 5; expected a tensor name "training.…".`);
    rejected(tr(bytes, (v) => { v.h = { $tensor: 'W_hi' }; }), 'TRAINING', `${p}training.h refers to "W_hi"; expected a tensor name "training.…".`);
    const missing = rejected(tr(bytes, (v) => { v.h = { $tensor: 'training.g' }; }), 'TRAINING', `${p}training.h refers to the tensor "training.g", which is missing.`);
    expect(missing.tensor).toBe('training.g');
    const twice = rejected(tr(bytes, (v) => { v.list = [{ $tensor: 'training.h' }]; }), 'TRAINING', `${p}training.list[0] refers to the tensor "training.h" a second time.`);
    expect(twice.tensor).toBe('training.h');
    const shaped = rejected(edited(bytes, (_, t) => { t.find((x) => x.name === 'training.h')!.shape = [1, 2]; }), 'TRAINING',
      `${p}training.h refers to the tensor "training.h", which is F32 [1, 2]; expected a 1-D float or integer array.`);
    expect(shaped.tensor).toBe('training.h');
    rejected(edited(bytes, (_, t) => { Object.assign(t.find((x) => x.name === 'training.h')!, { shape: [] , data: new Float32Array([1]) }); }), 'TRAINING', /which is F32 \[\]; expected a 1-D/);
    rejected(edited(bytes, (_, t) => { Object.assign(t.find((x) => x.name === 'training.h')!, { dtype: 'BOOL', data: new Uint8Array([1, 0]) }); }), 'TRAINING',
      /which is BOOL \[2\]; expected a 1-D float or integer array\.$/);
    rejected(edited(bytes, (_, t) => { Object.assign(t.find((x) => x.name === 'training.h')!, { dtype: 'I64', data: new BigInt64Array([1n, 0n]) }); }), 'TRAINING',
      /which is I64 \[2\]; expected/);
    rejected(tr(bytes, (v) => { v.h = { $other: 1 }; }), 'TRAINING', `${p}training.h has the unknown key "$other".`);
    const back = load(bytes).training as unknown as { h: Float32Array; list: number[] };
    expect(back).toEqual({ h: new Float32Array([1, 2]), list: [1, 2] });
  });

  it('$optimizer: only at training.optimizer, only "state", only in a file that saves an optimiser', () => {
    const { model, vocab, adam } = small();
    const ok = saveCheckpoint(model, { vocab, optimizer: adam, training: { optimizer: adam.stateDict() } });
    const msg = 'refers to the optimiser\'s state, which only training.optimizer may do, in a file that saves an optimiser.';
    expect(decodeSafetensors(ok).metadata.training).toBe('{"optimizer":{"$optimizer":"state"}}');
    expect(load(ok).training).toEqual({ optimizer: adam.stateDict() });
    rejected(tr(ok, (v) => { v.optimizer = { $optimizer: 'buffers' }; }), 'TRAINING', `${p}training.optimizer ${msg}`);
    rejected(tr(ok, (v) => { v.other = { $optimizer: 'state' }; }), 'TRAINING', `${p}training.other ${msg}`);
    rejected(tr(ok, (v) => { v.optimizer = [{ $optimizer: 'state' }]; }), 'TRAINING', `${p}training.optimizer[0] ${msg}`);
    const noOptimizer = saveCheckpoint(model, { vocab, training: { step: 1 } });
    rejected(tr(noOptimizer, (v) => { v.optimizer = { $optimizer: 'state' }; }), 'TRAINING', `${p}training.optimizer ${msg}`);
  });
});
