// exportPyTorch/importPyTorch exactly (issue 13: Stryker survivors in src/checkpoint/pytorch.ts):
// every argument error and its message, the export's metadata entries, the options handed on to
// the model, the version text's form, a checkpoint passed as an export, and each format error's
// code, full message and tensor. Every file is built inside a test (a file built at the top level
// would turn a mutant that breaks the writer into a failed import, which Stryker reports as a
// survivor: docs/mutation.md).
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointFormatError } from '../../src/checkpoint/errors.js';
import { exportPyTorch, importPyTorch, PYTORCH_FORMAT, PYTORCH_FORMAT_VERSION } from '../../src/checkpoint/pytorch.js';
import { decodeSafetensors, encodeSafetensors, type NamedSafetensorsTensor } from '../../src/checkpoint/safetensors.js';
import { Vocab } from '../../src/data/vocab.js';
import { LSTMLanguageModel, type LSTMLanguageModelOptions } from '../../src/lstm/model.js';
import { VERSION } from '../../src/version.js';
import { nodeWorkerFactory } from '../../node/index.js';

const models: LSTMLanguageModel[] = [];
afterAll(() => { for (const m of models) m.dispose(); });
function make(options: Partial<LSTMLanguageModelOptions> = {}): LSTMLanguageModel {
  const model = new LSTMLanguageModel({ vocabSize: 7, numHiddens: 6, init: 'pytorch', seed: 5, backend: 'js', ...options });
  models.push(model);
  return model;
}

/** The export of `model`, its metadata and tensors edited. */
function edited(model: LSTMLanguageModel, edit: (meta: Record<string, string>, list: NamedSafetensorsTensor[]) => void): Uint8Array {
  const { metadata, tensors } = decodeSafetensors(exportPyTorch(model));
  const meta = { ...metadata };
  const list = [...tensors].map(([name, t]) => ({ name, ...t }) as NamedSafetensorsTensor);
  edit(meta, list);
  return encodeSafetensors(list, meta);
}

function caught(f: () => unknown): CheckpointFormatError {
  try {
    models.push((f() as { model: LSTMLanguageModel }).model);
  } catch (error) {
    expect(error).toBeInstanceOf(CheckpointFormatError);
    return error as CheckpointFormatError;
  }
  throw new Error('expected a CheckpointFormatError');
}

describe('exportPyTorch arguments', () => {
  it('refuses what is not a model, a stale host copy, bad options and a vocabulary of another size', () => {
    const model = make();
    expect(() => exportPyTorch(5 as never)).toThrow(new TypeError('Expected `model` to be an LSTMLanguageModel, got 5.'));
    expect(() => exportPyTorch({ parameters: () => [] } as never)).toThrow(TypeError);
    for (const bad of [null, 5, 'vocab']) {
      expect(() => exportPyTorch(model, bad as never)).toThrow(
        new TypeError(`Expected \`options\` to be an object like { vocab }, got ${bad === 'vocab' ? '"vocab"' : String(bad)}.`),
      );
    }
    expect(() => exportPyTorch(model, { vocb: 1 } as never)).toThrow(new TypeError('Unknown option "vocb"; expected vocab.'));
    expect(() => exportPyTorch(model, { vocab: 'abc' } as never)).toThrow(new TypeError('Expected `vocab` to be a Vocab, got "abc".'));
    expect(() => exportPyTorch(model, { vocab: new Vocab([...'abcde']) })).toThrow(
      new RangeError("Expected `vocab` to have the model's vocabSize 7 tokens, got 6."),
    );
    const stale = make();
    Object.defineProperty(stale, 'hostStale', { get: () => true });
    expect(() => exportPyTorch(stale)).toThrow(new Error(
      "Expected the model's host copy to be current, but its parameters changed on the GPU since the last sync: call await model.sync() before exportPyTorch().",
    ));
  });

  it('writes the format entries; the vocabulary only when given; an omitted vocab is no vocab', () => {
    const model = make();
    const { metadata } = decodeSafetensors(exportPyTorch(model, { vocab: undefined }));
    expect(metadata).toEqual({
      format: 'pt', 'lstm-lm.format': 'pytorch-lstm', 'lstm-lm.format_version': '1', library_version: VERSION, config: JSON.stringify(model.config),
    });
    expect([PYTORCH_FORMAT, PYTORCH_FORMAT_VERSION]).toEqual(['pytorch-lstm', 1]);
    const vocab = new Vocab([...'abcdef']);
    expect(decodeSafetensors(exportPyTorch(model, { vocab })).metadata.vocab).toBe(JSON.stringify(vocab.toJSON()));
  });

  it('the export is a copy: changing the model afterwards does not change the file', () => {
    const model = make({ embeddingSize: 3 });
    const bytes = exportPyTorch(model);
    const before = Buffer.from(bytes).toString('hex');
    for (const p of model.parameters()) p.data.fill(1);
    expect(Buffer.from(bytes).toString('hex')).toBe(before);
  });
});

describe('importPyTorch arguments', () => {
  it('refuses what is not bytes, bad options, an unknown option and a vocab that is not a Vocab', () => {
    const bytes = exportPyTorch(make());
    expect(() => importPyTorch([1, 2] as never)).toThrow(new TypeError('Expected `bytes` to be a Uint8Array, got an array of length 2.'));
    for (const bad of [null, 5]) {
      expect(() => importPyTorch(bytes, bad as never)).toThrow(
        new TypeError(`Expected \`options\` to be an object like { vocab, backend }, got ${String(bad)}.`),
      );
    }
    expect(() => importPyTorch(bytes, { thread: 2 } as never)).toThrow(
      new TypeError('Unknown option "thread"; expected one of vocab, backend, threads, createWorker, gpuDevice.'),
    );
    expect(() => importPyTorch(bytes, { vocab: ['a'] } as never)).toThrow(new TypeError('Expected `vocab` to be a Vocab, got an array of length 1.'));
  });

  it('hands backend, threads and createWorker on to the model; options given as undefined are omitted ones', async () => {
    const source = make({ numLayers: 2 });
    const bytes = exportPyTorch(source);
    const X = [[1, 2, 3], [4, 5, 6]];
    const onWasm = importPyTorch(bytes, { backend: 'wasm' }).model;
    models.push(onWasm);
    expect(onWasm.backend).toBe('wasm');
    const threaded = importPyTorch(bytes, { backend: 'wasm', threads: 2, createWorker: nodeWorkerFactory }).model;
    models.push(threaded);
    expect(threaded.threads).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(Array.from(threaded.forward(X).logits)).toEqual(Array.from(onWasm.forward(X).logits));
    const plain = importPyTorch(bytes, { vocab: undefined, backend: undefined, threads: undefined, createWorker: undefined, gpuDevice: undefined });
    models.push(plain.model);
    expect(plain.model.backend).toBe('wasm'); // 'auto' on a float32 model
    expect(plain.model.threads).toBe(1);
    expect(plain.vocab).toBeUndefined();
  });
});

describe('importPyTorch file errors: code, whole message, tensor', () => {
  it('a version that is not a plain positive integer, or newer; the writer named, or "unknown"', () => {
    const model = make();
    for (const v of ['0', '01', 'x1', '1x', '1.0', '', ' 1', '2', '1000000000']) {
      const e = caught(() => importPyTorch(edited(model, (m) => { m['lstm-lm.format_version'] = v; })));
      expect(e.code).toBe('UNSUPPORTED_VERSION');
      expect(e.message).toBe(
        `Unsupported PyTorch export: "lstm-lm.format_version" is ${JSON.stringify(v)} (written by lstm-lm ${VERSION}); this is lstm-lm ${VERSION}, which reads version 1 and older.`,
      );
    }
    const e = caught(() => importPyTorch(edited(model, (m) => {
      m['lstm-lm.format_version'] = '7';
      delete m.library_version;
    })));
    expect(e.message).toBe(`Unsupported PyTorch export: "lstm-lm.format_version" is "7" (written by lstm-lm unknown); this is lstm-lm ${VERSION}, which reads version 1 and older.`);
    // Version 1, and no version at all (a file written by PyTorch), are read.
    for (const edit of [(m: Record<string, string>) => { m['lstm-lm.format_version'] = '1'; }, (m: Record<string, string>) => { delete m['lstm-lm.format_version']; }]) {
      const { model: back } = importPyTorch(edited(model, edit));
      models.push(back);
      expect(Array.from(back.flatParameters)).toEqual(Array.from(model.flatParameters));
    }
  });

  it('an lstm-lm checkpoint is named as one', () => {
    const e = caught(() => importPyTorch(edited(make(), (m) => { m.format = 'lstm-lm.checkpoint'; })));
    expect([e.code, e.message]).toEqual(['NOT_A_CHECKPOINT', 'Not a PyTorch state dict: this is an lstm-lm checkpoint; read it with loadCheckpoint.']);
  });

  it('a vocab metadata entry that is not an object', () => {
    for (const [text, shown] of [['5', '5'], ['[]', 'an array of length 0'], ['"a"', '"a"']] as const) {
      const e = caught(() => importPyTorch(edited(make(), (m) => { m.vocab = text; })));
      expect([e.code, e.message]).toEqual(['VOCAB', `Invalid checkpoint: metadata "vocab": Expected an object (vocab.toJSON()), got ${shown}.`]);
    }
  });

  const two = () => make({ numLayers: 2, embeddingSize: 3 });
  const named = (list: NamedSafetensorsTensor[], name: string): NamedSafetensorsTensor => list.find((t) => t.name === name)!;
  const describeTwo = 'V 7, H 6, L 2, E 3 (from the shapes of decoder.weight and the lstm tensors)';
  const cases: [string, (meta: Record<string, string>, list: NamedSafetensorsTensor[]) => void, string, string, string | undefined][] = [
    ['decoder.weight in I32', (_, l) => { Object.assign(named(l, 'decoder.weight'), { dtype: 'I32', data: new Int32Array(42) }); },
      'TENSOR_DTYPE', 'Invalid PyTorch export: tensor "decoder.weight" is I32; expected F32 or F64 (convert with .float()).', 'decoder.weight'],
    ['decoder.weight of rank 1', (_, l) => { Object.assign(named(l, 'decoder.weight'), { shape: [42] }); },
      'TENSOR_SHAPE', 'Invalid PyTorch export: tensor "decoder.weight" has shape [42], expected [V, H].', 'decoder.weight'],
    ['no lstm layer', (_, l) => { l.splice(l.findIndex((t) => t.name === 'lstm.weight_ih_l0'), 1); },
      'MISSING_TENSOR', 'Invalid PyTorch export: tensor "lstm.weight_ih_l0" (nn.LSTM\'s first layer) is missing.', 'lstm.weight_ih_l0'],
    ['an embedding of rank 1', (_, l) => { Object.assign(named(l, 'embedding.weight'), { shape: [21] }); },
      'TENSOR_SHAPE', 'Invalid PyTorch export: tensor "embedding.weight" has shape [21], expected [7, E] (V from decoder.weight).', 'embedding.weight'],
    ['an embedding of rank 3 with V rows', (_, l) => { Object.assign(named(l, 'embedding.weight'), { shape: [7, 3, 1] }); },
      'TENSOR_SHAPE', 'Invalid PyTorch export: tensor "embedding.weight" has shape [7, 3, 1], expected [7, E] (V from decoder.weight).', 'embedding.weight'],
    ['no bias_hh', (_, l) => { l.splice(l.findIndex((t) => t.name === 'lstm.bias_hh_l1'), 1); },
      'MISSING_TENSOR', `Invalid PyTorch export: tensor "lstm.bias_hh_l1" (part of ${describeTwo}) is missing.`, 'lstm.bias_hh_l1'],
    ['an extra tensor', (_, l) => { l.push({ name: 'extra', dtype: 'F32', shape: [1], data: new Float32Array(1) }); },
      'UNEXPECTED_TENSOR', `Invalid PyTorch export: tensor "extra" is not part of nn.Embedding → nn.LSTM → nn.Linear with ${describeTwo}.`, 'extra'],
    ['a config that is not an object', (m) => { m.config = '[1]'; },
      'CONFIG', 'Invalid PyTorch export: metadata "config" must be an object, got an array of length 1.', undefined],
    ['an unknown config key', (m) => { m.config = m.config!.replace('{', '{"layers":2,'); },
      'CONFIG', 'Invalid PyTorch export: metadata "config" has the unknown key "layers".', undefined],
    ['a config disagreeing with the shapes', (m) => { m.config = m.config!.replace('"numLayers":2', '"numLayers":3'); },
      'CONFIG', 'Invalid PyTorch export: metadata "config" says numLayers 3, but the tensors say 2.', undefined],
  ];
  it.each(cases)('%s', (_, edit, code, message, tensor) => {
    const e = caught(() => importPyTorch(edited(two(), edit)));
    expect({ code: e.code, message: e.message, tensor: e.tensor }).toEqual({ code, message, tensor });
  });

  it('a one-hot model names its input in the shapes it expects', () => {
    const e = caught(() => importPyTorch(edited(make(), (_, l) => { l.push({ name: 'extra', dtype: 'F32', shape: [1], data: new Float32Array(1) }); })));
    expect(e.message).toBe('Invalid PyTorch export: tensor "extra" is not part of nn.Embedding → nn.LSTM → nn.Linear with V 7, H 6, L 1, one-hot input (from the shapes of decoder.weight and the lstm tensors).');
  });

  it('the config metadata keeps its other keys (dropout, init, seed)', () => {
    const source = make({ numLayers: 2, dropout: 0.25, seed: 17, init: 'd2l', initScale: 0.3 });
    const { model } = importPyTorch(exportPyTorch(source));
    models.push(model);
    expect(model.config).toEqual(source.config);
  });
});
