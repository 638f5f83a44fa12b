// A model checkpoint: the model's parameters, config, vocabulary and generator state, and, for
// a training checkpoint, the optimiser, the schedule and the training loop's state, in one
// safetensors file (docs/checkpoints.md). Reading treats the file as hostile: every part is
// checked (with the library's own validation: resolveConfig, Vocab.fromJSON, the optimiser's
// constructor and loadStateDict, scheduleFromJSON) before the model is built, so a bad file
// throws one CheckpointFormatError and nothing is half-loaded.
import { show } from '../checks.js';
import { Vocab } from '../data/vocab.js';
import { resolveConfig, type ModelConfig } from '../lstm/config.js';
import { LSTMLanguageModel, type LSTMLanguageModelOptions } from '../lstm/model.js';
import { parameterLayout } from '../lstm/parameters.js';
import { Adam } from '../optim/adam.js';
import { AdamW } from '../optim/adamw.js';
import type { OptimizerName, OptimizerStateDict } from '../optim/optimizer.js';
import type { Trainable } from '../optim/params.js';
import { RMSprop } from '../optim/rmsprop.js';
import { scheduleFromJSON, type ReduceOnPlateauState, type Schedule, type ScheduleJSON } from '../optim/schedules.js';
import { SGD } from '../optim/sgd.js';
import type { FloatArray } from '../tensor/float-array.js';
import { Random, type RandomState } from '../tensor/random.js';
import type { WorkerFactory } from '../threads/pool.js';
import type { TrainingState } from '../train/fit.js';
import { VERSION } from '../version.js';
import { CheckpointFormatError } from './errors.js';
import { checkTensor, isPlainObject, readJsonField, refuse, type PlainJson } from './fields.js';
import {
  checkFinite, decodeSafetensors, encodeSafetensors, type NamedSafetensorsTensor, type SafetensorsTensor,
} from './safetensors.js';

/** The `format` metadata entry of a checkpoint. */
export const CHECKPOINT_FORMAT = 'lstm-lm.checkpoint';
/** The format version this library writes, and the newest it reads. */
export const CHECKPOINT_FORMAT_VERSION = 1;

/** The optimisers a checkpoint can hold. */
export type CheckpointOptimizer = SGD | Adam | AdamW | RMSprop;

type OptimizerClass = new (params: readonly Trainable[], options: never) => CheckpointOptimizer;
const OPTIMIZERS: Readonly<Record<OptimizerName, OptimizerClass>> = { sgd: SGD, adam: Adam, adamw: AdamW, rmsprop: RMSprop };

/**
 * The training loop's resumable state as `saveCheckpoint` stores it: JSON values (numbers,
 * NaN and ±Infinity included), typed arrays (stored as tensors `training.<path>`), and plain
 * objects and arrays of them. Keys must not start with `$` or be `__proto__`, `constructor`,
 * `prototype`.
 */
export type TrainingValue =
  | null | boolean | number | string
  | Float32Array | Float64Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array
  | readonly TrainingValue[]
  | { readonly [key: string]: TrainingValue | undefined };

/** Options of {@link saveCheckpoint}. */
export interface SaveCheckpointOptions {
  /** The vocabulary (its size must be the model's `vocabSize`). */
  vocab: Vocab;
  /** An optimiser over `model.parameters()`: its options, step, lr and buffers are saved. */
  optimizer?: CheckpointOptimizer;
  /** A built-in learning-rate schedule (`toJSON`), with its state when it has one (reduceOnPlateau). */
  schedule?: Schedule;
  /**
   * The training loop's state: `fit`'s {@link TrainingState} (its `result.state` or an
   * `onCheckpoint` state), or any plain object of {@link TrainingValue}s; `loadCheckpoint`
   * returns it as saved. When its `optimizer` is `optimizer`'s state, it is stored once.
   */
  training?: TrainingState | object;
}

/** Options of {@link loadCheckpoint}: where the loaded model runs (not part of the file). */
export interface LoadCheckpointOptions {
  /** As the model's option. Default `'auto'`. */
  backend?: LSTMLanguageModelOptions['backend'];
  /** As the model's option. Default 1. */
  threads?: number;
  /** As the model's option (in Node, `nodeWorkerFactory` from `lstm-lm/node`). */
  createWorker?: WorkerFactory;
  /**
   * As the model's option: with `backend: 'webgpu'` (or `'auto'`) the model runs on this GPU,
   * and the loaded parameters are uploaded to it before `loadCheckpoint` returns.
   */
  gpuDevice?: GPUDevice;
}

/** What {@link loadCheckpoint} returns. */
export interface LoadedCheckpoint {
  /** The model, with the saved parameters and generator state (so the same dropout masks follow). */
  model: LSTMLanguageModel;
  vocab: Vocab;
  /** The optimiser over `model.parameters()`, when one was saved. */
  optimizer?: CheckpointOptimizer;
  /** The schedule, when one was saved (a plateau schedule with its state). */
  schedule?: Schedule;
  /**
   * The training state, when one was saved: as given to `saveCheckpoint` (typed arrays as their
   * own types), for `fit(model, loader, optimizer, { resumeFrom: training })`, which checks it.
   */
  training?: TrainingState;
  /** The library version that wrote the file. */
  libraryVersion: string;
}

const SAVE_KEYS = ['vocab', 'optimizer', 'schedule', 'training'];
const LOAD_KEYS = ['backend', 'threads', 'createWorker', 'gpuDevice'];

function checkOptionObject(options: unknown, keys: readonly string[], like: string): Record<string, unknown> {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`Expected \`options\` to be an object like ${like}, got ${show(options)}.`);
  }
  for (const key of Object.keys(options)) {
    if (!keys.includes(key)) throw new TypeError(`Unknown option ${show(key)}; expected one of ${keys.join(', ')}.`);
  }
  return options as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Writing

/**
 * The model as one safetensors file: its parameters under their own names (`W_xi`, …,
 * `layer1.W_xi`, …, `W_hq`, `b_q`; F32, or F64 for a float64 model), its config, vocabulary and
 * generator state in the metadata; with `optimizer`, its buffers as `optimizer.<param>.<buffer>`
 * and its name, options, step and lr; with `schedule`, its description and state; with
 * `training`, the training loop's state (typed arrays as tensors `training.<path>`). The layout
 * is in docs/checkpoints.md. Deterministic: the same state gives the same bytes.
 *
 * Throws a TypeError or RangeError naming the option for a vocabulary of another size, an
 * optimiser over other parameters, a schedule that cannot be described (no `toJSON`), or a
 * training value that is not JSON and typed arrays.
 *
 * It reads the parameters on the host (`model.parameters()`). A webgpu model computes on the
 * GPU and its host copy is current only after `await model.sync()`: a stale host copy
 * (`model.hostStale`) is refused with an Error saying so.
 *
 * @example
 * const bytes = saveCheckpoint(model, { vocab });                        // a model to use
 * const more = saveCheckpoint(model, { vocab, optimizer: adam, training }); // a model to resume
 * const { model: same } = loadCheckpoint(bytes);
 *
 * @example
 * // webgpu: bring the GPU's parameters to the host first
 * await gpuModel.sync();
 * const gpuBytes = saveCheckpoint(gpuModel, { vocab });
 */
export function saveCheckpoint(model: LSTMLanguageModel, options: SaveCheckpointOptions): Uint8Array {
  if (!(model instanceof LSTMLanguageModel)) {
    throw new TypeError(`Expected \`model\` to be an LSTMLanguageModel, got ${show(model)}.`);
  }
  if (model.hostStale) {
    throw new Error(
      "Expected the model's host copy to be current, but its parameters changed on the GPU since the last sync: " +
        'call await model.sync() before saveCheckpoint().',
    );
  }
  const o = checkOptionObject(options, SAVE_KEYS, '{ vocab, optimizer?, schedule?, training? }');
  const vocab = o.vocab;
  if (!(vocab instanceof Vocab)) throw new TypeError(`Expected \`vocab\` to be a Vocab, got ${show(vocab)}.`);
  if (vocab.size !== model.vocabSize) {
    throw new RangeError(`Expected \`vocab\` to have the model's vocabSize ${model.vocabSize} tokens, got ${vocab.size}.`);
  }
  const dtype = model.dtype === 'float64' ? 'F64' : 'F32';
  const params = model.parameters();
  const tensors: NamedSafetensorsTensor[] = params.map((p) => tensor(p.name, dtype, p.shape, p.data));
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    format_version: String(CHECKPOINT_FORMAT_VERSION),
    library_version: VERSION,
    config: JSON.stringify(model.config),
    vocab: JSON.stringify(vocab.toJSON()),
    generator: JSON.stringify(model.generatorState),
  };
  if (o.optimizer !== undefined) {
    const optimizer = o.optimizer as CheckpointOptimizer;
    const known = (Object.keys(OPTIMIZERS) as OptimizerName[]).find((n) => optimizer instanceof OPTIMIZERS[n]);
    if (known === undefined) {
      throw new TypeError(`Expected \`optimizer\` to be an SGD, Adam, AdamW or RMSprop, got ${show(optimizer)}.`);
    }
    const mine = optimizer.params.length === params.length && optimizer.params.every((p, i) => sameParameter(p, params[i]!));
    if (!mine) {
      throw new RangeError(
        `Expected \`optimizer\` to update exactly model.parameters() (${params.length}, in order), got ${optimizer.params.length} other parameters.`,
      );
    }
    const state = optimizer.stateDict();
    const buffers = Object.keys(state.buffers);
    metadata.optimizer = JSON.stringify({ name: state.name, options: optimizer.options, step: state.step, lr: state.lr, buffers });
    for (const b of buffers) {
      state.buffers[b]!.forEach((data, i) => tensors.push(tensor(`optimizer.${params[i]!.name}.${b}`, dtype, params[i]!.shape, data)));
    }
  }
  if (o.schedule !== undefined) metadata.schedule = JSON.stringify(describeSchedule(o.schedule as Schedule));
  if (o.training !== undefined) {
    if (!isPlainObject(o.training)) {
      throw new TypeError(`Expected \`training\` to be a plain object of JSON values and typed arrays, got ${show(o.training)}.`);
    }
    // fit's TrainingState holds the optimiser's state dict: when it is the optimiser's current
    // state (saved above), store a reference instead of a second copy of every buffer.
    let training = o.training as Record<string, unknown>;
    const optimizer = o.optimizer as CheckpointOptimizer | undefined;
    if (optimizer !== undefined && isPlainObject(training.optimizer) && sameState(training.optimizer, optimizer.stateDict())) {
      training = { ...training, optimizer: OPTIMIZER_REF };
    }
    metadata.training = JSON.stringify(encodeTraining(training, 'training', tensors, new Set(), 0));
  }
  return encodeSafetensors(tensors, metadata);
}

function tensor(name: string, dtype: 'F32' | 'F64', shape: readonly number[], data: FloatArray): NamedSafetensorsTensor {
  return (dtype === 'F64' ? { name, dtype, shape, data: data as Float64Array } : { name, dtype, shape, data: data as Float32Array });
}

/** Marks `training.optimizer` as "the optimiser's state dict, saved under `optimizer`". */
const OPTIMIZER_REF = Symbol('optimizer state');

/** True when `a` is a state dict equal, bit for bit, to `b`. */
function sameState(a: Record<string, unknown>, b: OptimizerStateDict): boolean {
  if (a.name !== b.name || a.step !== b.step || !Object.is(a.lr, b.lr) || !isPlainObject(a.buffers)) return false;
  const names = Object.keys(b.buffers);
  const given = a.buffers as Record<string, unknown>;
  if (Object.keys(given).length !== names.length) return false;
  return names.every((n) => {
    const x = given[n], y = b.buffers[n]!;
    return Array.isArray(x) && x.length === y.length && x.every((arr: unknown, i) => sameBits(arr, y[i]!));
  });
}

function sameBits(x: unknown, y: FloatArray): boolean {
  if (!ArrayBuffer.isView(x) || (x as FloatArray).constructor !== y.constructor || (x as FloatArray).length !== y.length) return false;
  const a = new Uint8Array(x.buffer, x.byteOffset, x.byteLength), b = new Uint8Array(y.buffer, y.byteOffset, y.byteLength);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The same parameter: the same object, or a view of the same elements. */
function sameParameter(a: { data: FloatArray }, b: { data: FloatArray }): boolean {
  if (a === b) return true;
  const x = a.data, y = b.data;
  return x.buffer === y.buffer && x.byteOffset === y.byteOffset && x.length === y.length;
}

function describeSchedule(schedule: Schedule): { description: ScheduleJSON; state?: ReduceOnPlateauState } {
  if (typeof schedule !== 'object' || schedule === null || typeof schedule.toJSON !== 'function') {
    throw new TypeError(
      `Expected \`schedule\` to be a built-in schedule (with toJSON), got ${show(schedule)}; a custom schedule is not saved: pass it again on resume.`,
    );
  }
  const description = schedule.toJSON();
  try {
    scheduleFromJSON(JSON.parse(JSON.stringify(description)) as ScheduleJSON);
  } catch (error) {
    throw new TypeError(
      `Expected \`schedule.toJSON()\` to describe a built-in schedule that scheduleFromJSON rebuilds: ${(error as Error).message}`,
    );
  }
  const withState = schedule as Schedule & { stateDict?: () => ReduceOnPlateauState };
  return typeof withState.stateDict === 'function' ? { description, state: withState.stateDict() } : { description };
}

type TypedArray = Exclude<TrainingValue, null | boolean | number | string | readonly TrainingValue[] | { readonly [key: string]: unknown }>;

/** Typed arrays the `training` field stores, by their tag, with their safetensors dtype. */
const TRAINING_DTYPES: Readonly<Record<string, SafetensorsTensor['dtype']>> = {
  Float32Array: 'F32', Float64Array: 'F64', Int32Array: 'I32', Uint32Array: 'U32',
  Int16Array: 'I16', Uint16Array: 'U16', Int8Array: 'I8', Uint8Array: 'U8',
};
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);
/** Nesting allowed in `training` (the reader's JSON parser allows 64; a `$tensor` reference adds one). */
const MAX_TRAINING_DEPTH = 32;

/**
 * The JSON of a training value: typed arrays become `{ "$tensor": name }` (and tensors named
 * after their path), NaN, ±Infinity and −0 become `{ "$number": "NaN" }` etc.
 */
function encodeTraining(value: unknown, path: string, tensors: NamedSafetensorsTensor[], names: Set<string>, depth: number): PlainJson {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (value === OPTIMIZER_REF) return { $optimizer: 'state' };
  if (typeof value === 'number') {
    return Number.isFinite(value) && !Object.is(value, -0) ? value : { $number: Object.is(value, -0) ? '-0' : String(value) };
  }
  if (depth > MAX_TRAINING_DEPTH) throw new TypeError(`Expected \`${path}\` to nest at most ${MAX_TRAINING_DEPTH} levels deep (a cycle?).`);
  if (ArrayBuffer.isView(value)) {
    const tag = (value as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] ?? '';
    const dtype = TRAINING_DTYPES[tag];
    if (dtype === undefined) {
      throw new TypeError(`Expected \`${path}\` to be a Float32/64, (U)Int8/16/32 array or JSON value, got ${show(value)}.`);
    }
    if (names.has(path)) throw new TypeError(`Expected the keys of \`training\` to give distinct paths, got ${show(path)} twice.`);
    names.add(path);
    const data = value as TypedArray;
    tensors.push({ name: path, dtype, shape: [data.length], data } as NamedSafetensorsTensor);
    return { $tensor: path };
  }
  if (Array.isArray(value)) return value.map((v, i) => encodeTraining(v, `${path}.${i}`, tensors, names, depth + 1));
  const proto = typeof value === 'object' ? Object.getPrototypeOf(value) : undefined;
  if (proto !== Object.prototype && proto !== null) {
    throw new TypeError(`Expected \`${path}\` to be a JSON value, a typed array or a plain object or array of them, got ${show(value)}.`);
  }
  const out: { [key: string]: PlainJson } = {};
  for (const [key, v] of Object.entries(value as object)) {
    if (v === undefined) continue;
    if (FORBIDDEN.has(key) || key.startsWith('$')) {
      throw new TypeError(`Expected the keys of \`${path}\` not to be __proto__, constructor, prototype or start with "$", got ${show(key)}.`);
    }
    out[key] = encodeTraining(v, `${path}.${key}`, tensors, names, depth + 1);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading

/**
 * Reads a checkpoint written by {@link saveCheckpoint}: the model (on `backend`/`threads`,
 * which are not part of the file) with its parameters and generator state, its vocabulary, and
 * the optimiser, schedule and training state when they were saved. Bit-exact: the parameters,
 * buffers and generator state are those saved.
 *
 * The file is input from anywhere: every problem — the container's (truncated, bad header,
 * overlapping ranges …), not this format or a newer version, a config the model refuses, a
 * vocabulary of another size, a missing, extra, wrongly typed or shaped tensor, NaN or
 * ±Infinity in a parameter or buffer, `__proto__` keys, optimiser or schedule state their
 * classes refuse — throws a `CheckpointFormatError` whose `code` and message say what and where,
 * before the model is built. Only a model too big for this engine (memory limits) throws the
 * model's own RangeError, and bad `options` a TypeError/RangeError naming them.
 *
 * With `{ backend: 'webgpu', gpuDevice }` the model runs on the GPU: the parameters are written
 * on the host and uploaded (`model.upload()`), so the GPU holds them when it returns.
 *
 * @example
 * const { model, vocab, optimizer, training } = loadCheckpoint(bytes, { backend: 'wasm' });
 * model.forward([vocab.encode(['t', 'h', 'e'])]);
 *
 * @example
 * const { model: gpuModel } = loadCheckpoint(bytes, { backend: 'webgpu', gpuDevice: await requestGpuDevice() });
 * await gpuModel.forwardAsync([vocab.encode(['t', 'h', 'e'])]);
 */
export function loadCheckpoint(bytes: Uint8Array, options: LoadCheckpointOptions = {}): LoadedCheckpoint {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`Expected \`bytes\` to be a Uint8Array, got ${show(bytes)}.`);
  const runtime = checkOptionObject(options, LOAD_KEYS, "{ backend: 'wasm', threads: 2 }");
  const { metadata, tensors } = decodeSafetensors(bytes);
  const plan = readCheckpoint(metadata, tensors);

  // Everything is checked: build. Nothing below reads the file's values unchecked.
  const modelOptions: LSTMLanguageModelOptions = { ...plan.config };
  for (const key of LOAD_KEYS) if (runtime[key] !== undefined) (modelOptions as unknown as Record<string, unknown>)[key] = runtime[key];
  const model = new LSTMLanguageModel(modelOptions);
  try {
    for (const p of model.parameters()) p.data.set(tensors.get(p.name)!.data as FloatArray);
    model.upload(); // webgpu: the GPU gets the loaded parameters (a no-op on other backends)
    model.generatorState = plan.generator;
    const loaded: LoadedCheckpoint = { model, vocab: plan.vocab, libraryVersion: plan.libraryVersion };
    if (plan.optimizer !== undefined) loaded.optimizer = plan.optimizer.build(model);
    if (plan.schedule !== undefined) loaded.schedule = plan.schedule;
    if (plan.training !== undefined) {
      const training = { ...plan.training };
      if (training.optimizer === OPTIMIZER_REF) training.optimizer = loaded.optimizer!.stateDict();
      loaded.training = training as unknown as TrainingState;
    }
    return loaded;
  } catch (error) {
    model.dispose();
    throw error;
  }
}

interface CheckpointPlan {
  config: ModelConfig;
  vocab: Vocab;
  generator: RandomState;
  libraryVersion: string;
  optimizer?: { build(model: LSTMLanguageModel): CheckpointOptimizer };
  schedule?: Schedule;
  training?: Record<string, unknown>;
}

/** Checks every part of a decoded file against the others; builds nothing big. */
function readCheckpoint(metadata: Record<string, string>, tensors: Map<string, SafetensorsTensor>): CheckpointPlan {
  if (metadata.format !== CHECKPOINT_FORMAT) {
    const hint = tensors.has('lstm.weight_ih_l0') ? ' It looks like a PyTorch state dict: read it with importPyTorch.' : '';
    throw new CheckpointFormatError(
      'NOT_A_CHECKPOINT',
      `Not an lstm-lm checkpoint: the metadata entry "format" is ${metadata.format === undefined ? 'missing' : JSON.stringify(metadata.format)}, expected ${JSON.stringify(CHECKPOINT_FORMAT)}.${hint}`,
    );
  }
  const libraryVersion = metadata.library_version ?? 'unknown';
  const versionText = metadata.format_version ?? '';
  if (!/^[1-9][0-9]{0,8}$/.test(versionText)) {
    throw new CheckpointFormatError(
      'METADATA_FIELD',
      `Invalid checkpoint: the metadata entry "format_version" is ${metadata.format_version === undefined ? 'missing' : JSON.stringify(versionText)}, expected a positive integer.`,
    );
  }
  if (Number(versionText) > CHECKPOINT_FORMAT_VERSION) {
    throw new CheckpointFormatError(
      'UNSUPPORTED_VERSION',
      `Unsupported checkpoint: format version ${versionText} (written by lstm-lm ${libraryVersion}); this is lstm-lm ${VERSION}, which reads format version ${CHECKPOINT_FORMAT_VERSION} and older. Upgrade lstm-lm to read it.`,
    );
  }

  const used = new Set<string>();
  const config = readConfig(readJsonField(metadata, 'config', true), tensors);
  const vocab = readVocab(readJsonField(metadata, 'vocab', true), config);
  const generator = readGenerator(readJsonField(metadata, 'generator', true));

  // Parameters: exactly the layout of the config, in the model's dtype, finite.
  const dtype = config.dtype === 'float64' ? 'F64' : 'F32';
  const layout = parameterLayout(config);
  const describe = describeConfig(config);
  for (const spec of layout.specs) {
    const t = need(tensors, spec.name, `a parameter of ${describe}`);
    checkTensor(spec.name, t, dtype, spec.shape, `a parameter of ${describe}`);
    checkFinite(spec.name, t);
    used.add(spec.name);
  }

  const plan: CheckpointPlan = { config, vocab, generator, libraryVersion };
  const optimizer = readJsonField(metadata, 'optimizer', false);
  if (optimizer !== undefined) plan.optimizer = readOptimizer(optimizer, layout.specs, dtype, tensors, used);
  const schedule = readJsonField(metadata, 'schedule', false);
  if (schedule !== undefined) plan.schedule = readSchedule(schedule);
  const training = readJsonField(metadata, 'training', false);
  if (training !== undefined) plan.training = decodeTraining(training, tensors, used, plan.optimizer);

  for (const name of tensors.keys()) {
    if (!used.has(name)) {
      throw new CheckpointFormatError(
        'UNEXPECTED_TENSOR',
        `Invalid checkpoint: tensor ${JSON.stringify(name)} is not part of ${describe}${optimizer === undefined ? ' (and the file saves no optimiser)' : ' or its optimiser'}${training === undefined ? '' : ' or training state'}.`,
        { tensor: name },
      );
    }
  }
  return plan;
}

function describeConfig(c: ModelConfig): string {
  return `vocabSize ${c.vocabSize}, numHiddens ${c.numHiddens}, numLayers ${c.numLayers}` +
    (c.embeddingSize === null ? '' : `, embeddingSize ${c.embeddingSize}`) + `, ${c.dtype}`;
}

function need(tensors: Map<string, SafetensorsTensor>, name: string, role: string): SafetensorsTensor {
  const t = tensors.get(name);
  if (t === undefined) {
    throw new CheckpointFormatError('MISSING_TENSOR', `Invalid checkpoint: tensor ${JSON.stringify(name)} (${role}) is missing.`, { tensor: name });
  }
  return t;
}

const CONFIG_KEYS = ['vocabSize', 'numHiddens', 'numLayers', 'dropout', 'embeddingSize', 'cell', 'init', 'initScale', 'seed', 'dtype'];

function readConfig(value: PlainJson, tensors: Map<string, SafetensorsTensor>): ModelConfig {
  if (!isPlainObject(value)) {
    throw new CheckpointFormatError('CONFIG', `Invalid checkpoint: metadata "config" must be an object (model.config), got ${show(value)}.`);
  }
  for (const key of Object.keys(value)) {
    if (!CONFIG_KEYS.includes(key)) {
      throw new CheckpointFormatError(
        'CONFIG',
        `Invalid checkpoint: metadata "config" has the unknown key ${JSON.stringify(key)} (a newer library's option?); expected ${CONFIG_KEYS.join(', ')}.`,
      );
    }
  }
  const config = refuse('CONFIG', 'metadata "config"', () => resolveConfig(value as never));
  // The layout has 12 tensors per layer: a config that needs more than the file holds is refused
  // before the layout (whose size the config decides) is made.
  const needed = 12 * config.numLayers + 2 + (config.embeddingSize === null ? 0 : 1);
  if (needed > tensors.size) {
    throw new CheckpointFormatError(
      'MISSING_TENSOR',
      `Invalid checkpoint: metadata "config" (numLayers ${config.numLayers}) needs ${needed} parameter tensors, but the file holds ${tensors.size} tensors.`,
    );
  }
  return config;
}

function readVocab(value: PlainJson, config: ModelConfig): Vocab {
  const vocab = refuse('VOCAB', 'metadata "vocab"', () => {
    if (!isPlainObject(value)) throw new TypeError(`Expected an object (vocab.toJSON()), got ${show(value)}.`);
    return Vocab.fromJSON(value as never);
  });
  if (vocab.size !== config.vocabSize) {
    throw new CheckpointFormatError(
      'VOCAB',
      `Invalid checkpoint: metadata "vocab" has ${vocab.size} tokens, but metadata "config" says vocabSize ${config.vocabSize}.`,
    );
  }
  return vocab;
}

function readGenerator(value: PlainJson): RandomState {
  return refuse('GENERATOR', 'metadata "generator"', () => {
    if (!isPlainObject(value)) throw new TypeError(`Expected \`state\` to be { words, spare }, got ${show(value)}.`);
    const rng = new Random(0);
    rng.state = value as never;
    return rng.state;
  });
}

function readOptimizer(
  value: PlainJson, specs: readonly { name: string; shape: readonly number[] }[], dtype: 'F32' | 'F64',
  tensors: Map<string, SafetensorsTensor>, used: Set<string>,
): { build(model: LSTMLanguageModel): CheckpointOptimizer } {
  const fail = (detail: string): never => {
    throw new CheckpointFormatError('OPTIMIZER', `Invalid checkpoint: metadata "optimizer" ${detail}.`);
  };
  if (!isPlainObject(value)) return fail(`must be an object { name, options, step, lr, buffers }, got ${show(value)}`);
  const { name, options, step, lr, buffers } = value;
  for (const key of Object.keys(value)) {
    if (!['name', 'options', 'step', 'lr', 'buffers'].includes(key)) fail(`has the unknown key ${JSON.stringify(key)}`);
  }
  if (typeof name !== 'string' || !Object.prototype.hasOwnProperty.call(OPTIMIZERS, name)) {
    return fail(`names the optimiser ${show(name)}; expected one of ${Object.keys(OPTIMIZERS).join(', ')}`);
  }
  const Class = OPTIMIZERS[name as OptimizerName];
  if (!isPlainObject(options)) return fail(`has options ${show(options)}, expected an object`);
  if (options.lr !== lr) fail(`has options.lr ${show(options.lr)} and lr ${show(lr)}, which must agree`);
  // Constructed over no parameters, the class checks its options and names its buffers; its
  // loadStateDict checks the step and lr. (An lr a schedule took to 0 is valid state, not a valid
  // constructor option: construct with 1, then load the state's lr.)
  const withLr = (): Record<string, PlainJson> => ({ ...options, lr: lr === 0 ? 1 : lr as PlainJson });
  const probe = refuse('OPTIMIZER', `metadata "optimizer" (${name})`, () => new Class([], withLr() as never));
  const names = Object.keys(probe.stateDict().buffers);
  refuse('OPTIMIZER', `metadata "optimizer" (${name})`, () =>
    probe.loadStateDict({ name: name as OptimizerName, step: step as number, lr: lr as number, buffers: Object.fromEntries(names.map((n) => [n, []])) }));
  const listed = Array.isArray(buffers) && buffers.length === names.length && names.every((n) => buffers.includes(n));
  if (!listed) fail(`lists the buffers ${show(buffers)}, but ${name} with these options has [${names.join(', ')}]`);

  const data: Record<string, FloatArray[]> = {};
  for (const b of names) {
    data[b] = specs.map((spec) => {
      const tensorName = `optimizer.${spec.name}.${b}`;
      const role = `${name}'s ${b} of parameter ${spec.name}`;
      const t = need(tensors, tensorName, role);
      checkTensor(tensorName, t, dtype, spec.shape, role);
      checkFinite(tensorName, t);
      used.add(tensorName);
      return t.data as FloatArray;
    });
  }
  return {
    build(model) {
      const optimizer = new Class(model.parameters(), withLr() as never);
      optimizer.loadStateDict({ name: name as OptimizerName, step: step as number, lr: lr as number, buffers: data });
      return optimizer;
    },
  };
}

function readSchedule(value: PlainJson): Schedule {
  return refuse('SCHEDULE', 'metadata "schedule"', () => {
    if (!isPlainObject(value) || !isPlainObject(value.description)) {
      throw new TypeError(`Expected { description, state? } with description an object (schedule.toJSON()), got ${show(value)}.`);
    }
    for (const key of Object.keys(value)) {
      if (key !== 'description' && key !== 'state') throw new TypeError(`Unknown key ${show(key)}; expected description, state.`);
    }
    const schedule = scheduleFromJSON(value.description as never) as Schedule & { loadStateDict?: (s: unknown) => void };
    if (value.state !== undefined) {
      if (typeof schedule.loadStateDict !== 'function') throw new TypeError(`Expected no state for schedule ${show(schedule.name)}, which has none.`);
      schedule.loadStateDict(value.state);
    }
    return schedule;
  });
}

const TRAINING_ARRAYS: Readonly<Partial<Record<SafetensorsTensor['dtype'], true>>> = {
  F32: true, F64: true, I32: true, U32: true, I16: true, U16: true, I8: true, U8: true,
};

/** The training value from its JSON: `$tensor` references replaced by the tensors, `$number`s by numbers. */
function decodeTraining(
  value: PlainJson, tensors: Map<string, SafetensorsTensor>, used: Set<string>, optimizerState: unknown,
): Record<string, unknown> {
  const fail = (path: string, detail: string, tensor?: string): never => {
    throw new CheckpointFormatError('TRAINING', `Invalid checkpoint: metadata "training" at ${path} ${detail}.`, tensor === undefined ? {} : { tensor });
  };
  const walk = (v: PlainJson, path: string): unknown => {
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${path}[${i}]`));
    if (!isPlainObject(v)) return v;
    const keys = Object.keys(v);
    if (keys.some((k) => k.startsWith('$'))) {
      if (keys.length !== 1) fail(path, `mixes a "$" key with others: [${keys.join(', ')}]`);
      const ref = v[keys[0]!];
      if (keys[0] === '$number') {
        const numbers: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity, '-0': -0 };
        if (typeof ref !== 'string' || !Object.prototype.hasOwnProperty.call(numbers, ref)) fail(path, `has $number ${show(ref)}; expected "NaN", "Infinity", "-Infinity" or "-0"`);
        return numbers[ref as string];
      }
      if (keys[0] === '$optimizer') {
        if (ref !== 'state' || path !== 'training.optimizer' || optimizerState === undefined) {
          fail(path, 'refers to the optimiser\'s state, which only training.optimizer may do, in a file that saves an optimiser');
        }
        return OPTIMIZER_REF;
      }
      if (keys[0] !== '$tensor') return fail(path, `has the unknown key ${JSON.stringify(keys[0])}`);
      if (typeof ref !== 'string' || !ref.startsWith('training.')) return fail(path, `refers to ${show(ref)}; expected a tensor name "training.…"`);
      const t = tensors.get(ref);
      if (t === undefined) return fail(path, `refers to the tensor ${JSON.stringify(ref)}, which is missing`, ref);
      if (used.has(ref)) fail(path, `refers to the tensor ${JSON.stringify(ref)} a second time`, ref);
      if (TRAINING_ARRAYS[t.dtype] !== true || t.shape.length !== 1) {
        fail(path, `refers to the tensor ${JSON.stringify(ref)}, which is ${t.dtype} [${t.shape.join(', ')}]; expected a 1-D float or integer array`, ref);
      }
      used.add(ref);
      return t.data;
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = walk(v[k]!, `${path}.${k}`);
    return out;
  };
  if (!isPlainObject(value)) return fail('the top level', `must be an object, got ${show(value)}`);
  return walk(value, 'training') as Record<string, unknown>;
}
