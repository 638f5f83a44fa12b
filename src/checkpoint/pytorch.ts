// Moving a model to and from PyTorch: a safetensors file whose tensors are the state dict of
//   embedding = nn.Embedding(V, E)            (only with an embedding)
//   lstm      = nn.LSTM(E or V, H, num_layers=L)
//   decoder   = nn.Linear(H, V)
// (tools/pytorch_interop.py has the module). Layouts (docs/pytorch.md):
//   lstm.weight_ih_l{k} [4H, in]  row block j·H…(j+1)·H is torch's gate j of (i, f, g, o), our
//                                 gates (i, f, c, o): row j·H + r, column c = our W_x{g}[c, r]
//   lstm.weight_hh_l{k} [4H, H]   the same from our W_h{g} [H, H]
//   lstm.bias_ih_l{k}   [4H]      our b_{g}; lstm.bias_hh_l{k} [4H] zeros (torch adds the two)
//   decoder.weight      [V, H]    our W_hq [H, V] transposed; decoder.bias [V] our b_q
//   embedding.weight    [V, E]    our W_embed, as it is
// test/golden/make_golden.py maps torch's tensors onto ours the same way (TORCH_BLOCK).
import { show } from '../checks.js';
import { Vocab } from '../data/vocab.js';
import { resolveConfig, type ModelConfig } from '../lstm/config.js';
import { LSTMLanguageModel, type LSTMLanguageModelOptions } from '../lstm/model.js';
import { GATES } from '../lstm/parameters.js';
import type { FloatArray } from '../tensor/float-array.js';
import type { WorkerFactory } from '../threads/pool.js';
import { VERSION } from '../version.js';
import { CheckpointFormatError } from './errors.js';
import { checkTensor, isPlainObject, readJsonField, refuse, shapeText } from './fields.js';
import { checkFinite, decodeSafetensors, encodeSafetensors, type NamedSafetensorsTensor, type SafetensorsTensor } from './safetensors.js';

/** The `lstm-lm.format` metadata entry of an export. */
export const PYTORCH_FORMAT = 'pytorch-lstm';
/** The export format version this library writes, and the newest it reads. */
export const PYTORCH_FORMAT_VERSION = 1;

/** Torch's gate block of each of our gates: torch orders the blocks i, f, g, o; our c is its g. */
export const TORCH_BLOCK: Readonly<Record<(typeof GATES)[number], number>> = { i: 0, f: 1, c: 2, o: 3 };

/** Options of {@link exportPyTorch}. */
export interface ExportPyTorchOptions {
  /** Stored in the metadata (entry `vocab`, `vocab.toJSON()`), so that the file is self-contained. */
  vocab?: Vocab;
}

/** Options of {@link importPyTorch}. */
export interface ImportPyTorchOptions {
  /** The vocabulary, when the file has none (or to replace it); its size must be the file's V. */
  vocab?: Vocab;
  backend?: LSTMLanguageModelOptions['backend'];
  threads?: number;
  createWorker?: WorkerFactory;
  /** As the model's option: a webgpu model gets the imported parameters uploaded to this GPU. */
  gpuDevice?: GPUDevice;
}

/** What {@link importPyTorch} returns. */
export interface ImportedPyTorch {
  model: LSTMLanguageModel;
  /** `options.vocab`, else the file's `vocab` metadata, else undefined. */
  vocab: Vocab | undefined;
}

/**
 * The model as a PyTorch state dict in a safetensors file: `nn.LSTM` (`lstm.weight_ih_l{k}`
 * [4H, in] with torch's gate blocks i, f, g, o, `lstm.weight_hh_l{k}`, `lstm.bias_ih_l{k}`
 * holding our bias and `lstm.bias_hh_l{k}` zeros), `nn.Linear` (`decoder.weight` [V, H],
 * `decoder.bias`) and `nn.Embedding` (`embedding.weight` [V, E]) when the model has one. A
 * one-hot model's `weight_ih_l0` is [4H, V]: feed it one-hot vectors (or use
 * tools/pytorch_interop.py, which does). F32, or F64 for a float64 model. The metadata hold
 * `format: "pt"`, the config and, when given, the vocabulary. See docs/pytorch.md.
 *
 * It reads the parameters on the host: for a webgpu model, `await model.sync()` first (a
 * stale host copy, `model.hostStale`, is refused with an Error saying so).
 *
 * @example
 * writeFileSync('model.safetensors', exportPyTorch(model, { vocab }));
 * await gpuModel.sync(); // webgpu
 * writeFileSync('gpu-model.safetensors', exportPyTorch(gpuModel, { vocab }));
 * // python: python3 tools/pytorch_interop.py run model.safetensors --text "the time"
 */
export function exportPyTorch(model: LSTMLanguageModel, options: ExportPyTorchOptions = {}): Uint8Array {
  if (!(model instanceof LSTMLanguageModel)) {
    throw new TypeError(`Expected \`model\` to be an LSTMLanguageModel, got ${show(model)}.`);
  }
  if (model.hostStale) {
    throw new Error(
      "Expected the model's host copy to be current, but its parameters changed on the GPU since the last sync: " +
        'call await model.sync() before exportPyTorch().',
    );
  }
  if (typeof options !== 'object' || options === null) throw new TypeError(`Expected \`options\` to be an object like { vocab }, got ${show(options)}.`);
  for (const key of Object.keys(options)) if (key !== 'vocab') throw new TypeError(`Unknown option ${show(key)}; expected vocab.`);
  const { vocab } = options;
  if (vocab !== undefined) {
    if (!(vocab instanceof Vocab)) throw new TypeError(`Expected \`vocab\` to be a Vocab, got ${show(vocab)}.`);
    if (vocab.size !== model.vocabSize) {
      throw new RangeError(`Expected \`vocab\` to have the model's vocabSize ${model.vocabSize} tokens, got ${vocab.size}.`);
    }
  }
  const { vocabSize: V, numHiddens: H, numLayers: L, embeddingSize: E } = model.config;
  const f64 = model.dtype === 'float64';
  const make = (n: number): FloatArray => (f64 ? new Float64Array(n) : new Float32Array(n));
  const data = new Map(model.parameters().map((p) => [p.name, p.data]));
  const get = (name: string): FloatArray => data.get(name)!;
  const tensors: NamedSafetensorsTensor[] = [];
  const add = (name: string, shape: number[], values: FloatArray): void => {
    tensors.push((f64 ? { name, dtype: 'F64', shape, data: values } : { name, dtype: 'F32', shape, data: values }) as NamedSafetensorsTensor);
  };
  if (E !== null) add('embedding.weight', [V, E], get('W_embed').slice());
  for (let k = 0; k < L; k++) {
    const prefix = k === 0 ? '' : `layer${k}.`;
    const n = k > 0 ? H : E ?? V;
    const wih = make(4 * H * n), whh = make(4 * H * H), bih = make(4 * H);
    for (const g of GATES) {
      const row0 = TORCH_BLOCK[g] * H;
      transposeInto(wih, row0 * n, get(`${prefix}W_x${g}`), n, H);
      transposeInto(whh, row0 * H, get(`${prefix}W_h${g}`), H, H);
      bih.set(get(`${prefix}b_${g}`), row0);
    }
    add(`lstm.weight_ih_l${k}`, [4 * H, n], wih);
    add(`lstm.weight_hh_l${k}`, [4 * H, H], whh);
    add(`lstm.bias_ih_l${k}`, [4 * H], bih);
    add(`lstm.bias_hh_l${k}`, [4 * H], make(4 * H));
  }
  const dec = make(V * H);
  transposeInto(dec, 0, get('W_hq'), H, V);
  add('decoder.weight', [V, H], dec);
  add('decoder.bias', [V], get('b_q').slice());
  const metadata: Record<string, string> = {
    format: 'pt',
    'lstm-lm.format': PYTORCH_FORMAT,
    'lstm-lm.format_version': String(PYTORCH_FORMAT_VERSION),
    library_version: VERSION,
    config: JSON.stringify(model.config),
  };
  if (vocab !== undefined) metadata.vocab = JSON.stringify(vocab.toJSON());
  return encodeSafetensors(tensors, metadata);
}

/** out[at + c·rows + r] = src[r·cols + c]: writes the transpose of src (rows × cols, row-major). */
function transposeInto(out: FloatArray, at: number, src: FloatArray, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[at + c * rows + r] = src[r * cols + c]!;
}

const IMPORT_KEYS = ['vocab', 'backend', 'threads', 'createWorker', 'gpuDevice'];
const CONFIG_KEYS = ['vocabSize', 'numHiddens', 'numLayers', 'dropout', 'embeddingSize', 'cell', 'init', 'initScale', 'seed', 'dtype'];

/**
 * Reads a PyTorch state dict in a safetensors file (as {@link exportPyTorch} writes it, or
 * tools/pytorch_interop.py from a model trained in PyTorch) into a model: L, H, V and E are
 * inferred from the shapes and checked against one another (and against the `config`
 * metadata when there is one, whose dropout, init and seed are kept); our bias is the sum of
 * `bias_ih` and `bias_hh` (rounded once, to the model's dtype). F32 makes a float32 model, F64
 * a float64 one. Every problem with the file is a `CheckpointFormatError` (missing or extra
 * tensors, shapes that disagree, another dtype, NaN or ±Infinity, a vocabulary of another
 * size …), thrown before the model is built. With `{ backend: 'webgpu', gpuDevice }` the
 * parameters are uploaded to the GPU before it returns.
 *
 * @example
 * const { model, vocab } = importPyTorch(readFileSync('from-torch.safetensors'));
 * model.forward([vocab!.encode(['t', 'h', 'e'])]).logits;
 * const { model: gpuModel } = importPyTorch(bytes, { backend: 'webgpu', gpuDevice: await requestGpuDevice() });
 * (await gpuModel.forwardAsync([vocab!.encode(['t', 'h', 'e'])])).logits;
 */
export function importPyTorch(bytes: Uint8Array, options: ImportPyTorchOptions = {}): ImportedPyTorch {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`Expected \`bytes\` to be a Uint8Array, got ${show(bytes)}.`);
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`Expected \`options\` to be an object like { vocab, backend }, got ${show(options)}.`);
  }
  for (const key of Object.keys(options)) {
    if (!IMPORT_KEYS.includes(key)) throw new TypeError(`Unknown option ${show(key)}; expected one of ${IMPORT_KEYS.join(', ')}.`);
  }
  if (options.vocab !== undefined && !(options.vocab instanceof Vocab)) {
    throw new TypeError(`Expected \`vocab\` to be a Vocab, got ${show(options.vocab)}.`);
  }
  const { metadata, tensors } = decodeSafetensors(bytes);
  const versionText = metadata['lstm-lm.format_version'];
  if (versionText !== undefined && (!/^[1-9][0-9]{0,8}$/.test(versionText) || Number(versionText) > PYTORCH_FORMAT_VERSION)) {
    throw new CheckpointFormatError(
      'UNSUPPORTED_VERSION',
      `Unsupported PyTorch export: "lstm-lm.format_version" is ${JSON.stringify(versionText)} (written by lstm-lm ${metadata.library_version ?? 'unknown'}); this is lstm-lm ${VERSION}, which reads version ${PYTORCH_FORMAT_VERSION} and older.`,
    );
  }
  if (metadata.format === 'lstm-lm.checkpoint') {
    throw new CheckpointFormatError('NOT_A_CHECKPOINT', 'Not a PyTorch state dict: this is an lstm-lm checkpoint; read it with loadCheckpoint.');
  }
  const config = inferConfig(tensors, readJsonField(metadata, 'config', false));

  let vocab = options.vocab;
  if (vocab !== undefined) {
    if (vocab.size !== config.vocabSize) {
      throw new RangeError(`Expected \`vocab\` to have the file's vocabulary size ${config.vocabSize} (decoder.weight's rows), got ${vocab.size}.`);
    }
  } else {
    const json = readJsonField(metadata, 'vocab', false);
    if (json !== undefined) {
      vocab = refuse('VOCAB', 'metadata "vocab"', () => {
        if (!isPlainObject(json)) throw new TypeError(`Expected an object (vocab.toJSON()), got ${show(json)}.`);
        return Vocab.fromJSON(json as never);
      });
      if (vocab.size !== config.vocabSize) {
        throw new CheckpointFormatError(
          'VOCAB',
          `Invalid PyTorch export: metadata "vocab" has ${vocab.size} tokens, but decoder.weight has ${config.vocabSize} rows.`,
        );
      }
    }
  }
  for (const [name, t] of tensors) checkFinite(name, t);

  const modelOptions: LSTMLanguageModelOptions = { ...config };
  for (const key of ['backend', 'threads', 'createWorker', 'gpuDevice'] as const) {
    if (options[key] !== undefined) (modelOptions as unknown as Record<string, unknown>)[key] = options[key];
  }
  const model = new LSTMLanguageModel(modelOptions);
  const { vocabSize: V, numHiddens: H, numLayers: L, embeddingSize: E } = config;
  const params = new Map(model.parameters().map((p) => [p.name, p.data]));
  const get = (name: string): FloatArray => tensors.get(name)!.data as FloatArray;
  if (E !== null) params.get('W_embed')!.set(get('embedding.weight'));
  for (let k = 0; k < L; k++) {
    const prefix = k === 0 ? '' : `layer${k}.`;
    const n = k > 0 ? H : E ?? V;
    const wih = get(`lstm.weight_ih_l${k}`), whh = get(`lstm.weight_hh_l${k}`);
    const bih = get(`lstm.bias_ih_l${k}`), bhh = get(`lstm.bias_hh_l${k}`);
    for (const g of GATES) {
      const row0 = TORCH_BLOCK[g] * H;
      // Our W_x{g} [n, H] is the transpose of torch's rows row0…row0+H (H × n).
      transposeInto(params.get(`${prefix}W_x${g}`)!, 0, wih.subarray(row0 * n, (row0 + H) * n), H, n);
      transposeInto(params.get(`${prefix}W_h${g}`)!, 0, whh.subarray(row0 * H, (row0 + H) * H), H, H);
      const b = params.get(`${prefix}b_${g}`)!;
      for (let r = 0; r < H; r++) b[r] = bih[row0 + r]! + bhh[row0 + r]!;
    }
  }
  transposeInto(params.get('W_hq')!, 0, get('decoder.weight'), V, H);
  params.get('b_q')!.set(get('decoder.bias'));
  model.upload(); // webgpu: the GPU gets the imported parameters (a no-op on other backends)
  return { model, vocab };
}

/** L, H, V, E and the dtype from the tensors' shapes, checked against each other and the metadata's config. */
function inferConfig(tensors: Map<string, SafetensorsTensor>, meta: unknown): ModelConfig {
  const fail = (code: 'MISSING_TENSOR' | 'UNEXPECTED_TENSOR' | 'TENSOR_DTYPE' | 'TENSOR_SHAPE' | 'CONFIG', detail: string, tensor?: string): never => {
    throw new CheckpointFormatError(code, `Invalid PyTorch export: ${detail}.`, tensor === undefined ? {} : { tensor });
  };
  const need = (name: string, why: string): SafetensorsTensor =>
    tensors.get(name) ?? fail('MISSING_TENSOR', `tensor ${JSON.stringify(name)} (${why}) is missing`, name);

  const decoder = need('decoder.weight', 'nn.Linear(H, V)');
  if (decoder.dtype !== 'F32' && decoder.dtype !== 'F64') {
    fail('TENSOR_DTYPE', `tensor "decoder.weight" is ${decoder.dtype}; expected F32 or F64 (convert with .float())`, 'decoder.weight');
  }
  const dtype = decoder.dtype;
  if (decoder.shape.length !== 2) fail('TENSOR_SHAPE', `tensor "decoder.weight" has shape ${shapeText(decoder.shape)}, expected [V, H]`, 'decoder.weight');
  const [V, H] = decoder.shape as [number, number];
  let L = 0;
  while (tensors.has(`lstm.weight_ih_l${L}`)) L++;
  if (L === 0) fail('MISSING_TENSOR', 'tensor "lstm.weight_ih_l0" (nn.LSTM\'s first layer) is missing', 'lstm.weight_ih_l0');
  const embedding = tensors.get('embedding.weight');
  let E: number | null = null;
  if (embedding !== undefined) {
    if (embedding.shape.length !== 2 || embedding.shape[0] !== V) {
      fail('TENSOR_SHAPE', `tensor "embedding.weight" has shape ${shapeText(embedding.shape)}, expected [${V}, E] (V from decoder.weight)`, 'embedding.weight');
    }
    E = embedding.shape[1]!;
  }
  const H4 = 4 * H;
  const expected = new Map<string, readonly number[]>([['decoder.weight', [V, H]], ['decoder.bias', [V]]]);
  if (E !== null) expected.set('embedding.weight', [V, E]);
  for (let k = 0; k < L; k++) {
    expected.set(`lstm.weight_ih_l${k}`, [H4, k > 0 ? H : E ?? V]);
    expected.set(`lstm.weight_hh_l${k}`, [H4, H]);
    expected.set(`lstm.bias_ih_l${k}`, [H4]);
    expected.set(`lstm.bias_hh_l${k}`, [H4]);
  }
  const describe = `V ${V}, H ${H}, L ${L}${E === null ? ', one-hot input' : `, E ${E}`} (from the shapes of decoder.weight and the lstm tensors)`;
  for (const [name, shape] of expected) {
    const t = need(name, `part of ${describe}`);
    checkTensor(name, t, dtype, shape, describe);
  }
  for (const name of tensors.keys()) {
    if (!expected.has(name)) {
      fail('UNEXPECTED_TENSOR', `tensor ${JSON.stringify(name)} is not part of nn.Embedding → nn.LSTM → nn.Linear with ${describe}`, name);
    }
  }

  const options: Record<string, unknown> = {
    vocabSize: V, numHiddens: H, numLayers: L, embeddingSize: E, dtype: dtype === 'F64' ? 'float64' : 'float32',
  };
  if (meta !== undefined) {
    if (!isPlainObject(meta)) return fail('CONFIG', `metadata "config" must be an object, got ${show(meta)}`);
    for (const [key, value] of Object.entries(meta)) {
      if (!CONFIG_KEYS.includes(key)) fail('CONFIG', `metadata "config" has the unknown key ${JSON.stringify(key)}`);
      if (key in options) {
        if (value !== options[key]) fail('CONFIG', `metadata "config" says ${key} ${show(value)}, but the tensors say ${show(options[key])}`);
      } else {
        options[key] = value;
      }
    }
  }
  return refuse('CONFIG', 'the inferred config', () => resolveConfig(options as never));
}
