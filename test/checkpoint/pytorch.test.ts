import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointFormatError, type CheckpointFormatErrorCode } from '../../src/checkpoint/errors.js';
import { exportPyTorch, importPyTorch, TORCH_BLOCK } from '../../src/checkpoint/pytorch.js';
import { decodeSafetensors, encodeSafetensors, type NamedSafetensorsTensor } from '../../src/checkpoint/safetensors.js';
import { Vocab } from '../../src/data/vocab.js';
import { LSTMLanguageModel, type LSTMLanguageModelOptions } from '../../src/lstm/model.js';

const PYTHON = '/usr/bin/python3';
const TOOL = new URL('../../tools/pytorch_interop.py', import.meta.url).pathname;
const GOLDEN_SCRIPT = new URL('../golden/make_golden.py', import.meta.url).pathname;
const env = { ...process.env, OPENBLAS_NUM_THREADS: '1' };
const bits = (a: ArrayBufferView): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');

const models: LSTMLanguageModel[] = [];
afterAll(() => { for (const m of models) m.dispose(); });
function make(options: Partial<LSTMLanguageModelOptions>): LSTMLanguageModel {
  const model = new LSTMLanguageModel({ vocabSize: 7, numHiddens: 6, init: 'pytorch', seed: 5, backend: 'js', ...options });
  models.push(model);
  return model;
}

describe('exportPyTorch / importPyTorch', () => {
  it('has the same gate mapping as test/golden/make_golden.py', () => {
    const line = readFileSync(GOLDEN_SCRIPT, 'utf8').match(/^TORCH_BLOCK = (\{.*\})$/m)![1]!;
    expect(JSON.parse(line)).toEqual(TORCH_BLOCK);
  });

  it('names and shapes are nn.Embedding → nn.LSTM → nn.Linear\'s state dict; blocks i, f, g, o; bias in bias_ih', () => {
    const model = make({ numLayers: 2, embeddingSize: 3 });
    const { metadata, tensors } = decodeSafetensors(exportPyTorch(model, { vocab: new Vocab([...'abcdef']) }));
    expect([...tensors].map(([n, t]) => [n, t.dtype, t.shape])).toEqual([
      ['embedding.weight', 'F32', [7, 3]],
      ['lstm.weight_ih_l0', 'F32', [24, 3]], ['lstm.weight_hh_l0', 'F32', [24, 6]], ['lstm.bias_ih_l0', 'F32', [24]], ['lstm.bias_hh_l0', 'F32', [24]],
      ['lstm.weight_ih_l1', 'F32', [24, 6]], ['lstm.weight_hh_l1', 'F32', [24, 6]], ['lstm.bias_ih_l1', 'F32', [24]], ['lstm.bias_hh_l1', 'F32', [24]],
      ['decoder.weight', 'F32', [7, 6]], ['decoder.bias', 'F32', [7]],
    ]);
    expect(metadata.format).toBe('pt');
    expect(JSON.parse(metadata.config!)).toEqual(model.config);
    expect(JSON.parse(metadata.vocab!).idxToToken).toHaveLength(7);
    const p = Object.fromEntries(model.parameters().map((x) => [x.name, x.data]));
    const H = 6, E = 3;
    const wih = tensors.get('lstm.weight_ih_l0')!.data as Float32Array;
    // torch's block 2 (g) is our c; row 2H + r, column c = W_xc[c, r]
    expect(wih[(2 * H + 4) * E + 1]).toBe(p.W_xc![1 * H + 4]);
    expect(wih[(3 * H + 0) * E + 2]).toBe(p.W_xo![2 * H + 0]);
    const whh1 = tensors.get('lstm.weight_hh_l1')!.data as Float32Array;
    expect(whh1[(1 * H + 5) * H + 3]).toBe(p['layer1.W_hf']![3 * H + 5]);
    expect([...(tensors.get('lstm.bias_ih_l1')!.data as Float32Array).subarray(3 * H, 4 * H)]).toEqual([...p['layer1.b_o']!]);
    expect([...(tensors.get('lstm.bias_hh_l0')!.data as Float32Array)]).toEqual(new Array(24).fill(0));
    expect((tensors.get('decoder.weight')!.data as Float32Array)[4 * H + 2]).toBe(p.W_hq![2 * 7 + 4]);
    expect(bits(tensors.get('embedding.weight')!.data)).toBe(bits(p.W_embed!));
  });

  it('a one-hot model exports weight_ih_l0 [4H, V]', () => {
    const { tensors } = decodeSafetensors(exportPyTorch(make({})));
    expect(tensors.get('lstm.weight_ih_l0')!.shape).toEqual([24, 7]);
    expect(tensors.has('embedding.weight')).toBe(false);
  });

  it.each([{}, { numLayers: 3, dropout: 0.25 }, { embeddingSize: 4, numLayers: 2, dtype: 'float64' as const }, { init: 'd2l' as const, seed: 9 }])(
    'export then import is bit-exact, config (dropout, init, seed) kept: %o',
    (options) => {
      const model = make(options);
      const vocab = new Vocab([...'abcdef'], { level: 'char' });
      const back = importPyTorch(exportPyTorch(model, { vocab }), { backend: 'js' });
      models.push(back.model);
      expect(back.model.config).toEqual(model.config);
      expect(bits(back.model.flatParameters)).toBe(bits(model.flatParameters));
      expect(back.vocab?.toJSON()).toEqual(vocab.toJSON());
    },
  );

  it('sums bias_ih and bias_hh; infers L, H, V, E from shapes; no config needed', () => {
    const model = make({ numLayers: 2, embeddingSize: 3 });
    const { tensors } = decodeSafetensors(exportPyTorch(model));
    const list = [...tensors].map(([name, t]) => ({ name, ...t }) as NamedSafetensorsTensor);
    const bhh = list.find((t) => t.name === 'lstm.bias_hh_l1')!.data as Float32Array;
    bhh.fill(0.25);
    const vocab = new Vocab([...'abcdef']);
    const back = importPyTorch(encodeSafetensors(list, { format: 'pt' }), { vocab });
    models.push(back.model);
    expect(back.vocab).toBe(vocab);
    expect(back.model.config).toMatchObject({ vocabSize: 7, numHiddens: 6, numLayers: 2, embeddingSize: 3, dropout: 0, dtype: 'float32' });
    const p = Object.fromEntries(model.parameters().map((x) => [x.name, x.data]));
    const q = Object.fromEntries(back.model.parameters().map((x) => [x.name, x.data]));
    expect([...q['layer1.b_i']!]).toEqual([...p['layer1.b_i']!].map((b) => Math.fround(b + 0.25)));
    expect(bits(q.b_i!)).toBe(bits(p.b_i!));
    expect(importPyTorch(encodeSafetensors(list)).vocab).toBeUndefined();
  });

  describe('hostile files', () => {
    const base = make({ numLayers: 2, embeddingSize: 3 });
    const edited = (edit: (meta: Record<string, string>, list: NamedSafetensorsTensor[]) => void): Uint8Array => {
      const { metadata, tensors } = decodeSafetensors(exportPyTorch(base));
      const meta = { ...metadata };
      const list = [...tensors].map(([name, t]) => ({ name, ...t }) as NamedSafetensorsTensor);
      edit(meta, list);
      return encodeSafetensors(list, meta);
    };
    const named = (list: NamedSafetensorsTensor[], name: string): NamedSafetensorsTensor => list.find((t) => t.name === name)!;
    const cases: [string, Parameters<typeof edited>[0], CheckpointFormatErrorCode, RegExp][] = [
      ['no decoder', (_, l) => { l.splice(l.findIndex((t) => t.name === 'decoder.weight'), 1); }, 'MISSING_TENSOR', /tensor "decoder.weight" \(nn.Linear\(H, V\)\) is missing/],
      ['no bias_hh', (_, l) => { l.splice(l.findIndex((t) => t.name === 'lstm.bias_hh_l1'), 1); }, 'MISSING_TENSOR', /tensor "lstm.bias_hh_l1" \(part of V 7, H 6, L 2, E 3/],
      ['an extra tensor', (_, l) => { l.push({ name: 'lstm.weight_ih_l0_reverse', dtype: 'F32', shape: [1], data: new Float32Array(1) }); }, 'UNEXPECTED_TENSOR', /"lstm.weight_ih_l0_reverse" is not part of nn.Embedding → nn.LSTM → nn.Linear/],
      ['a layer gap', (_, l) => { l.splice(l.findIndex((t) => t.name === 'lstm.weight_ih_l1'), 1); }, 'UNEXPECTED_TENSOR', /"lstm.weight_hh_l1" is not part of .* L 1/],
      ['disagreeing H', (_, l) => { Object.assign(named(l, 'lstm.weight_hh_l0'), { shape: [12, 12] }); }, 'TENSOR_SHAPE', /"lstm.weight_hh_l0" has shape \[12, 12\], expected \[24, 6\]/],
      ['embedding of another V', (_, l) => { Object.assign(named(l, 'embedding.weight'), { shape: [3, 7] }); }, 'TENSOR_SHAPE', /"embedding.weight" has shape \[3, 7\], expected \[7, E\]/],
      ['half precision', (_, l) => { const d = named(l, 'decoder.weight'); Object.assign(d, { dtype: 'F16', data: new Uint16Array(d.data.length) }); }, 'TENSOR_DTYPE', /"decoder.weight" is F16; expected F32 or F64 \(convert with \.float\(\)\)/],
      ['mixed dtypes', (_, l) => { const d = named(l, 'decoder.bias'); Object.assign(d, { dtype: 'F64', data: Float64Array.from(d.data as Float32Array) }); }, 'TENSOR_DTYPE', /"decoder.bias" is F64, expected F32/],
      ['NaN', (_, l) => { (named(l, 'lstm.weight_hh_l1').data as Float32Array)[7] = NaN; }, 'NON_FINITE', /Tensor "lstm.weight_hh_l1" has NaN at index 7/],
      ['config disagreeing with shapes', (m) => { m.config = m.config!.replace('"numHiddens":6', '"numHiddens":5'); }, 'CONFIG', /config" says numHiddens 5, but the tensors say 6/],
      ['a bad dropout in config', (m) => { m.config = m.config!.replace('"dropout":0', '"dropout":2'); }, 'CONFIG', /the inferred config: Expected `dropout` to be a number in \[0, 1\), got 2/],
      ['__proto__ in config', (m) => { m.config = m.config!.replace('{', '{"__proto__":{},'); }, 'METADATA_FIELD', /"__proto__"/],
      ['vocabulary of another size', (m) => { m.vocab = JSON.stringify(new Vocab([...'ab']).toJSON()); }, 'VOCAB', /"vocab" has 3 tokens, but decoder.weight has 7 rows/],
      ['a newer version', (m) => { m['lstm-lm.format_version'] = '2'; }, 'UNSUPPORTED_VERSION', /"lstm-lm.format_version" is "2"/],
    ];
    it.each(cases)('%s', (_, edit, code, message) => {
      let caught: unknown;
      try {
        models.push(importPyTorch(edited(edit)).model);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(CheckpointFormatError);
      expect({ code: (caught as CheckpointFormatError).code, message: (caught as Error).message }).toMatchObject({ code, message: expect.stringMatching(message) });
    });
    it('a vocab option of another size is a RangeError', () => {
      expect(() => importPyTorch(exportPyTorch(base), { vocab: new Vocab(['a']) })).toThrow(/Expected `vocab` to have the file's vocabulary size 7 \(decoder.weight's rows\), got 2/);
    });
  });
});

// PyTorch itself: tools/pytorch_interop.py runs our exports and writes models for us to import.
const torchCheck = spawnSync(PYTHON, ['-c', 'import torch'], { timeout: 60_000, env });
const haveTorch = torchCheck.status === 0;
if (!haveTorch) {
  console.warn(`\n*** SKIPPING the PyTorch interop tests: \`${PYTHON} -c 'import torch'\` failed (${String(torchCheck.stderr ?? torchCheck.error).trim().split('\n').pop()}). ***\n`);
}

describe.skipIf(!haveTorch)('tools/pytorch_interop.py (PyTorch installed)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lstm-lm-torch-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const X = [[1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1], [0, 3, 6, 2, 5, 1]];
  writeFileSync(join(dir, 'ids.json'), JSON.stringify(X));
  const tool = (...args: string[]): void => {
    const r = spawnSync(PYTHON, [TOOL, ...args], { env, encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`pytorch_interop.py ${args[0]} failed: ${r.stderr}`);
  };
  const readLogits = (path: string): { shape: number[]; logits: number[] } => JSON.parse(readFileSync(path, 'utf8'));
  /** Agreement to float32 rounding: within 8 float32 ulps of max(1, |value|). */
  const expectClose = (ours: ArrayLike<number>, theirs: number[]): void => {
    expect(ours.length).toBe(theirs.length);
    let worst = 0;
    for (let i = 0; i < theirs.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - theirs[i]!) / Math.max(1, Math.abs(theirs[i]!)));
    expect(worst).toBeLessThanOrEqual(8 * 2 ** -23);
  };
  const configs: [string, Partial<LSTMLanguageModelOptions>, string[]][] = [
    ['1 layer, one-hot', {}, []],
    ['2 layers, embedding 5', { numLayers: 2, embeddingSize: 5, dropout: 0.3 }, ['--layers', '2', '--embedding', '5', '--dropout', '0.3']],
  ];
  it.each(configs)('ours → PyTorch: %s gives the same logits', (_, options) => {
    const model = make({ ...options, numHiddens: 8, seed: 11 });
    // A few training steps first, so that no weight is at its initial value.
    for (let s = 0; s < 3; s++) {
      model.zeroGrad();
      model.forwardBackward(X, X.map((row) => row.map((t) => (t + 1) % 7)));
      for (const p of model.parameters()) for (let i = 0; i < p.data.length; i++) p.data[i]! -= 0.5 * p.grad[i]!;
    }
    const file = join(dir, 'ours.safetensors');
    writeFileSync(file, exportPyTorch(model));
    tool('run', file, '--ids', join(dir, 'ids.json'), '--out', join(dir, 'torch-logits.json'));
    const torch = readLogits(join(dir, 'torch-logits.json'));
    expect(torch.shape).toEqual([X.length * X[0]!.length, 7]);
    expectClose(model.forward(X).logits, torch.logits);
  });
  it.each(configs)('PyTorch → ours: %s, trained in PyTorch, gives the same logits', (_, options, args) => {
    const file = join(dir, 'torch.safetensors');
    tool('make', file, '--vocab-size', '7', '--hidden', '8', ...args, '--seed', '3', '--train-steps', '10',
      '--ids', join(dir, 'ids.json'), '--logits-out', join(dir, 'torch-logits.json'));
    const { model } = importPyTorch(readFileSync(file), { backend: 'js' });
    models.push(model);
    expect(model.config).toMatchObject({ vocabSize: 7, numHiddens: 8, numLayers: options.numLayers ?? 1, embeddingSize: options.embeddingSize ?? null, dropout: options.dropout ?? 0 });
    expectClose(model.forward(X).logits, readLogits(join(dir, 'torch-logits.json')).logits);
    // And on the wasm backend.
    const { model: wasm } = importPyTorch(readFileSync(file), { backend: 'wasm' });
    models.push(wasm);
    expectClose(wasm.forward(X).logits, readLogits(join(dir, 'torch-logits.json')).logits);
  });
});
