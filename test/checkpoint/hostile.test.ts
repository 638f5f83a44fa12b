// Model-level hostile files: each is rejected with a CheckpointFormatError whose code and
// message say what and where, before a model is built. (The container's own checks — truncated
// files, bad headers, overlapping ranges — are in safetensors.test.ts.)
import { afterAll, describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { CheckpointFormatError, type CheckpointFormatErrorCode } from '../../src/checkpoint/errors.js';
import { exportPyTorch } from '../../src/checkpoint/pytorch.js';
import { decodeSafetensors, encodeSafetensors, type NamedSafetensorsTensor } from '../../src/checkpoint/safetensors.js';
import { Vocab } from '../../src/data/vocab.js';
import { LSTMLanguageModel } from '../../src/lstm/model.js';
import { Adam } from '../../src/optim/adam.js';
import { reduceOnPlateau } from '../../src/optim/schedules.js';
import { Random } from '../../src/tensor/random.js';

const vocab = new Vocab([...'abcde'], { level: 'char' });
const model = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: 4, numLayers: 2, embeddingSize: 3, dropout: 0.2, seed: 3, backend: 'js' });
const adam = new Adam(model.parameters(), { lr: 1e-2 });
model.zeroGrad();
model.forwardBackward([[1, 2, 3]], [[2, 3, 4]]);
adam.step();
const plateau = reduceOnPlateau({ lr: 1e-2 });
const training = { step: 1, best: Infinity, recurrent: { h: new Float32Array(8).fill(0.5), c: new Float32Array(8) } };
const GOOD = saveCheckpoint(model, { vocab, optimizer: adam, schedule: plateau, training });
const loadedModels: LSTMLanguageModel[] = [];
afterAll(() => { for (const m of loadedModels) m.dispose(); });

type Edit = (metadata: Record<string, string>, tensors: NamedSafetensorsTensor[]) => void;

/** GOOD with its metadata and tensors edited, re-encoded as a valid container. */
function edited(edit: Edit): Uint8Array {
  const { metadata, tensors } = decodeSafetensors(GOOD);
  const meta = { ...metadata };
  const list = [...tensors].map(([name, t]) => ({ name, ...t }) as NamedSafetensorsTensor);
  edit(meta, list);
  return encodeSafetensors(list, meta);
}

/** Edits one metadata entry's JSON. */
const json = (key: string, change: (value: Record<string, unknown>) => void): Edit => (meta) => {
  const value = JSON.parse(meta[key]!) as Record<string, unknown>;
  change(value);
  meta[key] = JSON.stringify(value);
};
const tensorNamed = (list: NamedSafetensorsTensor[], name: string): NamedSafetensorsTensor => list.find((t) => t.name === name)!;

function expectRejected(bytes: Uint8Array, code: CheckpointFormatErrorCode, message: RegExp): CheckpointFormatError {
  let caught: unknown;
  try {
    loadedModels.push(loadCheckpoint(bytes).model);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(CheckpointFormatError);
  const error = caught as CheckpointFormatError;
  expect({ code: error.code, message: error.message }).toMatchObject({ code, message: expect.stringMatching(message) });
  return error;
}

describe('loadCheckpoint: hostile files', () => {
  it('the good file loads', () => {
    const loaded = loadCheckpoint(GOOD);
    loadedModels.push(loaded.model);
    expect(loaded.optimizer?.stepCount).toBe(1);
  });

  const cases: [string, Edit, CheckpointFormatErrorCode, RegExp][] = [
    // Format and version.
    ['no format entry', (m) => { delete m.format; }, 'NOT_A_CHECKPOINT', /"format" is missing, expected "lstm-lm.checkpoint"/],
    ['another format', (m) => { m.format = 'pt'; }, 'NOT_A_CHECKPOINT', /"format" is "pt"/],
    ['a newer format version', (m) => { m.format_version = '2'; m.library_version = '9.0.0'; }, 'UNSUPPORTED_VERSION', /format version 2 \(written by lstm-lm 9\.0\.0\).*reads format version 1 and older\. Upgrade/],
    ['a version that is not a number', (m) => { m.format_version = '1.0'; }, 'METADATA_FIELD', /"format_version" is "1.0", expected a positive integer/],
    // Metadata JSON.
    ['config missing', (m) => { delete m.config; }, 'METADATA_FIELD', /metadata entry "config" is missing/],
    ['config not JSON', (m) => { m.config = '{"vocabSize":6,'; }, 'METADATA_FIELD', /metadata entry "config" is not valid JSON/],
    ['config with a duplicate key', (m) => { m.config = m.config!.replace('{', '{"numHiddens":4,'); }, 'METADATA_FIELD', /"config" is not valid JSON \(.*duplicate key "numHiddens"/],
    ['__proto__ in config', (m) => { m.config = m.config!.replace('{', '{"__proto__":{"numLayers":1},'); }, 'METADATA_FIELD', /metadata "config" has the key "__proto__", which is not allowed/],
    ['constructor deep in training', json('training', (v) => { v.recurrent = { ...(v.recurrent as object), nested: { constructor: 1 } }; }), 'METADATA_FIELD', /metadata "training" has the key "constructor" in recurrent.nested/],
    ['prototype in vocab', (m) => { m.vocab = m.vocab!.replace('{', '{"prototype":[],'); }, 'METADATA_FIELD', /"vocab" has the key "prototype"/],
    // Config: the model's own validation.
    ['numHiddens 0', json('config', (c) => { c.numHiddens = 0; }), 'CONFIG', /metadata "config": Expected `numHiddens` to be a positive integer, got 0/],
    ['dropout 1', json('config', (c) => { c.dropout = 1; }), 'CONFIG', /Expected `dropout` to be a number in \[0, 1\), got 1/],
    ['cell gru', json('config', (c) => { c.cell = 'gru'; }), 'CONFIG', /Expected `cell` to be 'lstm', got "gru"/],
    ['dtype float16', json('config', (c) => { c.dtype = 'float16'; }), 'CONFIG', /`dtype`/],
    ['seed 2^32', json('config', (c) => { c.seed = 2 ** 32; }), 'CONFIG', /`seed`/],
    ['an unknown config key', json('config', (c) => { c.attention = true; }), 'CONFIG', /unknown key "attention"/],
    ['config an array', (m) => { m.config = '[]'; }, 'CONFIG', /must be an object/],
    ['a billion layers', json('config', (c) => { c.numLayers = 1e9; }), 'MISSING_TENSOR', /numLayers 1000000000\) needs 12000000003 parameter tensors, but the file holds \d+/],
    // Config against tensors.
    ['numHiddens 5 (shapes disagree)', json('config', (c) => { c.numHiddens = 5; }), 'TENSOR_SHAPE', /tensor "W_xi" has shape \[3, 4\], expected \[3, 5\] \(a parameter of vocabSize 6, numHiddens 5/],
    ['a huge numHiddens is refused by shape, before anything is allocated', json('config', (c) => { c.numHiddens = 1e8; }), 'TENSOR_SHAPE', /expected \[3, 100000000\]/],
    ['no embedding (shapes disagree)', json('config', (c) => { c.embeddingSize = null; }), 'TENSOR_SHAPE', /tensor "W_xi" has shape \[3, 4\], expected \[6, 4\]/],
    ['float64 config, F32 tensors', json('config', (c) => { c.dtype = 'float64'; }), 'TENSOR_DTYPE', /tensor "W_embed" is F32, expected F64/],
    // Vocabulary.
    ['a vocabulary of another size', json('vocab', (v) => { v.idxToToken = [...(v.idxToToken as string[]), 'z']; }), 'VOCAB', /"vocab" has 7 tokens, but metadata "config" says vocabSize 6/],
    ['a vocabulary without <unk> first', json('vocab', (v) => { (v.idxToToken as string[])[0] = 'q'; }), 'VOCAB', /metadata "vocab": Expected `json.idxToToken` to hold distinct tokens starting with "<unk>"/],
    ['a vocabulary level "byte"', json('vocab', (v) => { v.level = 'byte'; }), 'VOCAB', /`json.level`/],
    // Tensors.
    ['a tensor of another dtype', (_, t) => { const w = tensorNamed(t, 'W_xi'); Object.assign(w, { dtype: 'F64', data: Float64Array.from(w.data as Float32Array) }); }, 'TENSOR_DTYPE', /tensor "W_xi" is F64, expected F32/],
    ['a tensor of another shape', (_, t) => { Object.assign(tensorNamed(t, 'W_hi'), { shape: [16] }); }, 'TENSOR_SHAPE', /tensor "W_hi" has shape \[16\], expected \[4, 4\]/],
    ['a transposed tensor', (_, t) => { Object.assign(tensorNamed(t, 'W_embed'), { shape: [3, 6] }); }, 'TENSOR_SHAPE', /tensor "W_embed" has shape \[3, 6\], expected \[6, 3\]/],
    ['a missing parameter', (_, t) => { t.splice(t.findIndex((x) => x.name === 'layer1.b_c'), 1); }, 'MISSING_TENSOR', /tensor "layer1.b_c" \(a parameter of vocabSize 6, numHiddens 4, numLayers 2, embeddingSize 3, float32\) is missing/],
    ['an extra tensor', (_, t) => { t.push({ name: 'layer2.W_xi', dtype: 'F32', shape: [1], data: new Float32Array(1) }); }, 'UNEXPECTED_TENSOR', /tensor "layer2.W_xi" is not part of vocabSize 6/],
    ['NaN in a weight', (_, t) => { (tensorNamed(t, 'W_hq').data as Float32Array)[5] = NaN; }, 'NON_FINITE', /Tensor "W_hq" has NaN at index 5 \(position \[0, 5\] of shape \[4, 6\]\)/],
    ['Infinity in a bias', (_, t) => { (tensorNamed(t, 'layer1.b_f').data as Float32Array)[2] = -Infinity; }, 'NON_FINITE', /Tensor "layer1.b_f" has -Infinity at index 2/],
    // Generator.
    ['generator words out of range', json('generator', (g) => { (g.words as number[])[0] = 2 ** 32; }), 'GENERATOR', /metadata "generator": Expected `state.words` to be four unsigned 32-bit integers/],
    ['generator missing', (m) => { delete m.generator; }, 'METADATA_FIELD', /"generator" is missing/],
    // Optimiser.
    ['an unknown optimiser', json('optimizer', (o) => { o.name = 'lion'; }), 'OPTIMIZER', /names the optimiser "lion"; expected one of sgd, adam, adamw, rmsprop/],
    ['bad optimiser options', json('optimizer', (o) => { (o.options as { betas: number[] }).betas = [0.9, 1.5]; }), 'OPTIMIZER', /metadata "optimizer" \(adam\): Expected `betas\[1\]` to be a number in \[0, 1\), got 1.5/],
    ['an unknown optimiser option', json('optimizer', (o) => { (o.options as Record<string, unknown>).amsgrad = true; }), 'OPTIMIZER', /Unknown option `amsgrad` for Adam/],
    ['a negative step', json('optimizer', (o) => { o.step = -1; }), 'OPTIMIZER', /Expected `state.step` to be a non-negative integer, got -1/],
    ['lr and options.lr disagree', json('optimizer', (o) => { o.lr = 0.5; }), 'OPTIMIZER', /options.lr 0.01 and lr 0.5, which must agree/],
    ['a negative lr', json('optimizer', (o) => { o.lr = -1; (o.options as { lr: number }).lr = -1; }), 'OPTIMIZER', /`lr`/],
    ['buffers listed wrongly', json('optimizer', (o) => { o.buffers = ['expAvg']; }), 'OPTIMIZER', /lists the buffers an array of length 1, but adam with these options has \[expAvg, expAvgSq\]/],
    ['a missing buffer', (_, t) => { t.splice(t.findIndex((x) => x.name === 'optimizer.W_hq.expAvgSq'), 1); }, 'MISSING_TENSOR', /tensor "optimizer.W_hq.expAvgSq" \(adam's expAvgSq of parameter W_hq\) is missing/],
    ['a buffer of another shape', (_, t) => { Object.assign(tensorNamed(t, 'optimizer.b_q.expAvg'), { shape: [2, 3] }); }, 'TENSOR_SHAPE', /tensor "optimizer.b_q.expAvg" has shape \[2, 3\], expected \[6\]/],
    ['NaN in a buffer', (_, t) => { (tensorNamed(t, 'optimizer.W_embed.expAvgSq').data as Float32Array)[0] = NaN; }, 'NON_FINITE', /Tensor "optimizer.W_embed.expAvgSq" has NaN at index 0/],
    ['buffers without optimiser metadata', (m) => { delete m.optimizer; }, 'UNEXPECTED_TENSOR', /tensor "optimizer.W_embed.expAvg" is not part of .* \(and the file saves no optimiser\)/],
    // Schedule.
    ['an unknown schedule', json('schedule', (s) => { (s.description as { name: string }).name = 'warmRestarts'; }), 'SCHEDULE', /metadata "schedule": Expected `json.name` to be one of constant/],
    ['a bad plateau state', json('schedule', (s) => { (s.state as { badEvaluations: number }).badEvaluations = 1.5; }), 'SCHEDULE', /state.badEvaluations/],
    // Training.
    ['a reference to a missing tensor', json('training', (v) => { (v.recurrent as Record<string, unknown>).h = { $tensor: 'training.nope' }; }), 'TRAINING', /at training.recurrent.h refers to the tensor "training.nope", which is missing/],
    ['a tensor referenced twice', json('training', (v) => { (v.recurrent as Record<string, unknown>).c = { $tensor: 'training.recurrent.h' }; }), 'TRAINING', /a second time/],
    ['a reference to a parameter', json('training', (v) => { v.w = { $tensor: 'W_xi' }; }), 'TRAINING', /refers to "W_xi"; expected a tensor name "training/],
    ['a bad $number', json('training', (v) => { v.best = { $number: '1e999' }; }), 'TRAINING', /has \$number "1e999"/],
    ['an unknown $ key', json('training', (v) => { v.best = { $date: 'now' }; }), 'TRAINING', /unknown key "\$date"/],
    ['a $ key beside others', json('training', (v) => { v.best = { $number: 'NaN', x: 1 }; }), 'TRAINING', /mixes a "\$" key with others/],
    ['a training tensor nobody refers to', json('training', (v) => { delete v.recurrent; }), 'UNEXPECTED_TENSOR', /tensor "training.recurrent.h" is not part of/],
    ['training not an object', (m) => { m.training = '[1]'; }, 'TRAINING', /must be an object/],
  ];
  it.each(cases)('%s', (_, edit, code, message) => {
    expectRejected(edited(edit), code, message);
  });

  it('names the tensor in `error.tensor`', () => {
    const error = expectRejected(edited((_, t) => { Object.assign(tensorNamed(t, 'W_hi'), { shape: [16] }); }), 'TENSOR_SHAPE', /W_hi/);
    expect(error.tensor).toBe('W_hi');
  });

  it('a PyTorch export is refused with a hint to importPyTorch', () => {
    expectRejected(exportPyTorch(model), 'NOT_A_CHECKPOINT', /looks like a PyTorch state dict: read it with importPyTorch/);
  });

  it('container problems are the container\'s CheckpointFormatError', () => {
    expectRejected(GOOD.subarray(0, 100), 'TRUNCATED', /Truncated safetensors file/);
    const text = '{"__metadata__":{"constructor":"x"}}';
    const file = new Uint8Array(8 + text.length);
    new DataView(file.buffer).setBigUint64(0, BigInt(text.length), true);
    file.set(new TextEncoder().encode(text), 8);
    expectRejected(file, 'FORBIDDEN_KEY', /metadata key "constructor"/);
  });

  it('argument errors are TypeErrors', () => {
    expect(() => loadCheckpoint([1, 2] as never)).toThrow(/Expected `bytes` to be a Uint8Array, got an array of length 2/);
    expect(() => loadCheckpoint(GOOD, { thread: 2 } as never)).toThrow(/Unknown option "thread"/);
  });
});

describe('loadCheckpoint: fuzz', () => {
  // Truncations, byte flips (anywhere, and in the header, where they matter most), digit
  // changes in the header (which keep it valid JSON and reach the model-level checks), and
  // non-finite values in the data. Each
  // case loads or throws a CheckpointFormatError; nothing else, and none takes long.
  it('thousands of seeded corruptions of a real training checkpoint: only CheckpointFormatError, bounded time', () => {
    const rng = new Random(20240610);
    const headerEnd = 8 + Number(new DataView(GOOD.buffer, GOOD.byteOffset).getBigUint64(0, true));
    const digits: number[] = [];
    for (let i = 8; i < headerEnd; i++) if (GOOD[i]! >= 0x30 && GOOD[i]! <= 0x39) digits.push(i);
    const codes = new Map<string, number>();
    let loaded = 0, slowest = 0;
    const N = 5000;
    for (let k = 0; k < N; k++) {
      const file = GOOD.slice();
      const kind = k % 5;
      let bytes: Uint8Array = file;
      if (kind === 0) bytes = file.subarray(0, rng.int(file.length));
      else if (kind === 1) for (let f = 1 + rng.int(4); f > 0; f--) file[rng.int(file.length)]! ^= 1 << rng.int(8);
      else if (kind === 2) for (let f = 1 + rng.int(3); f > 0; f--) file[8 + rng.int(headerEnd - 8)] = rng.int(256);
      else if (kind === 3) for (let f = 1 + rng.int(2); f > 0; f--) file[digits[rng.int(digits.length)]!] = 0x30 + rng.int(10);
      else file.set([0x80, 0x7f], headerEnd + 4 * rng.int((file.length - headerEnd) / 4) + 2); // an Infinity or NaN in the data
      const start = performance.now();
      try {
        const result = loadCheckpoint(bytes, { backend: 'js' });
        result.model.dispose();
        loaded++;
      } catch (error) {
        if (!(error instanceof CheckpointFormatError)) {
          throw new Error(`case ${k} (kind ${kind}) threw ${String(error)}`);
        }
        codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
      }
      slowest = Math.max(slowest, performance.now() - start);
    }
    // Many different checks were reached, at both levels.
    for (const code of ['TRUNCATED', 'HEADER_JSON', 'MISSING_TENSOR', 'METADATA_FIELD', 'CONFIG', 'OPTIMIZER', 'NON_FINITE']) expect(codes.get(code) ?? 0).toBeGreaterThan(0);
    expect(codes.size).toBeGreaterThanOrEqual(15);
    expect(loaded).toBeGreaterThan(0); // flips in the weights' low bits, the seed's digits …
    expect(slowest).toBeLessThan(250); // generous for a shared machine; typical cases take well under 1 ms
  });
});
