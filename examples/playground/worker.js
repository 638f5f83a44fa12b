// The playground's Web Worker: owns the model and trains it with fit() (one minibatch per
// macrotask, so messages from the page are handled between minibatches), evaluates on the
// held-out tail of the text every few seconds, and streams samples to the page a few
// characters at a time — between training steps while it trains, on a timer otherwise.
//
// Two backends: the CPU (WebAssembly SIMD, threads when cross-origin isolated) and, where
// navigator.gpu gives an adapter, WebGPU. A webgpu model computes asynchronously: fit() queues
// each step on the GPU, samples come from Generator.nextAsync (one call in flight at a time),
// and its host copy of the weights is brought back with `await model.sync()` before saving.
import {
  Adam, Generator, LSTMLanguageModel, SeqDataLoader, evaluate, fit, loadCheckpoint, loadCorpus, parameterCount,
  requestGpuDevice, resolveThreads, saveCheckpoint, splitCorpus, wasmSimdSupported,
} from '../../dist/index.js';

const SIZES = {
  tiny: { numLayers: 1, numHiddens: 64, dropout: 0, B: 32, T: 64 },
  small: { numLayers: 1, numHiddens: 128, dropout: 0, B: 32, T: 64 },
  medium: { numLayers: 2, numHiddens: 256, dropout: 0.2, B: 32, T: 64 },
  large: { numLayers: 2, numHiddens: 384, dropout: 0.3, B: 64, T: 100 },
};
const EVAL_SECONDS = 2.5;
const SAMPLE_TOKENS = 280;
const MAX_VALIDATION = 30_000;

// { model, vocab, optimizer, loader, validation, B, T, state (fit's, to continue after a pause), step (shown),
//   stepOffset (a loaded checkpoint's step), curves, size, gpu (a webgpu model), pendingSave (webgpu: at the next step) }
let run = null;
let controller = null;
let training = false;
let temperature = 0.8;
let sampler = null; // { generator, id, left, step }
let sampleId = 0;
let idleTimer = null;
let gpu = null; // { device, adapter: a description of the GPU } once requestGpuDevice() resolved
let training_ = null; // the promise of the running train() (a webgpu model is disposed only after it)
let sampling = null; // the promise of the webgpu sample in flight (Generator.nextAsync calls must not overlap)

const post = (message, transfer) => self.postMessage(message, transfer ?? []);
const now = () => performance.now();

function describe(r) {
  const c = r.model.config;
  return {
    layers: c.numLayers, hidden: c.numHiddens, dropout: c.dropout, vocabSize: c.vocabSize,
    parameters: parameterCount(c), backend: r.model.backend, threads: r.model.threads, B: r.B, T: r.T,
    step: r.step, size: r.size, adapter: r.gpu ? gpu?.adapter ?? null : null,
  };
}

/** The corpus of `text` under `vocab` (made from the text when not given), split 90/10 (validation at most 30k). */
function data(text, vocab, B, T) {
  let corpus;
  if (vocab === undefined) ({ corpus, vocab } = loadCorpus([text], { token: 'char' }));
  else corpus = Int32Array.from(vocab.encode(Array.from(text)));
  const valFraction = Math.min(0.1, MAX_VALIDATION / corpus.length);
  const { train, validation } = splitCorpus(corpus, { valFraction, batchSize: B, numSteps: T });
  return { vocab, corpus, train, validation };
}

function newSample() {
  const { model, vocab } = run;
  const generator = new Generator(model, vocab, { seed: sampleId + 1 });
  generator.feed(vocab.has('\n') ? '\n' : vocab.idxToToken[1]);
  sampler = { generator, id: ++sampleId, left: SAMPLE_TOKENS, step: describe(run).step };
  post({ type: 'sample-start', id: sampler.id, step: sampler.step });
}

/** Draws up to `n` tokens of the current sample (starting one when none is going). */
function sampleSome(n) {
  if (run === null) return;
  if (sampler === null) newSample();
  let text = '';
  for (let i = 0; i < n && sampler.left > 0; i++, sampler.left--) text += sampler.generator.next({ temperature });
  if (text !== '') post({ type: 'sample-piece', id: sampler.id, text });
  if (sampler.left === 0) {
    post({ type: 'sample-end', id: sampler.id });
    sampler = null;
  }
}

/**
 * {@link sampleSome} for a webgpu model: each token awaits Generator.nextAsync (the GPU's logits
 * come back, the draw is made here). Resolves false, doing nothing, while another is in flight.
 */
async function sampleSomeAsync(n) {
  if (run === null || sampling !== null) return false;
  sampling = (async () => {
    if (sampler === null) newSample();
    const s = sampler;
    let text = '';
    for (let i = 0; i < n && s.left > 0 && sampler === s; i++, s.left--) text += await s.generator.nextAsync({ temperature });
    if (text !== '') post({ type: 'sample-piece', id: s.id, text });
    if (s.left === 0 && sampler === s) {
      post({ type: 'sample-end', id: s.id });
      sampler = null;
    }
  })();
  try {
    await sampling;
  } finally {
    sampling = null;
  }
  return true;
}

/** When not training: keep the current sample streaming on a timer; stop at its end. */
function idleSampling() {
  clearTimeout(idleTimer);
  if (training || run === null) return;
  if (run.gpu) {
    const tick = async () => {
      if (training || run === null) return;
      try {
        const ran = await sampleSomeAsync(3);
        if (!training && run !== null && (sampler !== null || !ran)) idleTimer = setTimeout(tick, 25);
      } catch (error) {
        post({ type: 'error', message: `${error.name}: ${error.message}` });
      }
    };
    idleTimer = setTimeout(tick, 25);
    return;
  }
  const tick = () => {
    if (training || run === null) return;
    sampleSome(3);
    if (sampler !== null) idleTimer = setTimeout(tick, 25);
  };
  idleTimer = setTimeout(tick, 25);
}

async function validate(r = run) {
  const { loss } = await evaluate(r.model, r.validation, { batchSize: r.B, numSteps: r.T });
  const step = describe(r).step;
  r.curves.valSteps.push(step);
  r.curves.valLoss.push(loss);
  post({ type: 'eval', step, loss });
}

/** Trains until stopped; a second call while it runs gets the same promise (reset awaits it for a webgpu model). */
function train() {
  training_ ??= trainLoop().finally(() => { training_ = null; });
  return training_;
}

async function trainLoop() {
  if (run === null || training) return;
  const r = run; // reset() may clear `run` while a webgpu step is in flight: this run finishes its step
  training = true;
  clearTimeout(idleTimer);
  controller = new AbortController();
  if (r.gpu) await sampling?.catch(() => {}); // an idle sample's forwardAsync finishes before the first step is queued
  post({ type: 'status', training: true, model: describe(r) });
  let lastEval = now();
  if (r.curves.valSteps.length === 0) await validate(r); // the untrained model: ≈ ln V
  try {
    const result = await fit(r.model, r.loader, r.optimizer, {
      epochs: 1_000_000,
      clipNorm: 5,
      signal: controller.signal,
      ...(r.state === null ? {} : { resumeFrom: r.state }),
      onStep: async (s) => {
        const step = r.stepOffset + s.step;
        r.step = step;
        r.curves.trainSteps.push(step);
        r.curves.trainLoss.push(s.loss);
        post({ type: 'step', step, loss: s.loss, epoch: s.epoch, tokensPerSecond: s.tokensPerSecond });
        if (r.gpu) {
          if (run !== r) return; // reset: fit stops before its next step
          await sampleSomeAsync(6);
          if (r.pendingSave) await save(null, true);
        } else {
          sampleSome(6);
        }
        if (now() - lastEval > EVAL_SECONDS * 1000) {
          await validate(r);
          lastEval = now();
        }
      },
    });
    r.state = result.state;
    if (r.gpu && r.pendingSave && run === r) await save(null, true); // paused before the step it waited for (fit synced)
  } catch (error) {
    post({ type: 'error', message: `${error.name}: ${error.message}` });
  } finally {
    training = false;
    controller = null;
  }
  if (run !== null) {
    post({ type: 'status', training: false, model: describe(run) });
    idleSampling();
  }
}

function stop() {
  controller?.abort();
}

/** Stops and frees the model; a webgpu model only once its queued work is done (the step and sample in flight). */
async function reset() {
  stop();
  clearTimeout(idleTimer);
  sampler = null;
  const old = run;
  run = null;
  if (old?.gpu) {
    await training_;
    await sampling?.catch(() => {});
  }
  old?.model.dispose();
}

/** The GPU for a 'webgpu' request, or a clear error when this page has none. */
function gpuFor(backend) {
  if (backend !== 'webgpu') return null;
  if (gpu === null) throw new Error('WebGPU is not available here: choose the CPU');
  return gpu;
}

async function create({ text, size, backend }) {
  await reset();
  const g = gpuFor(backend);
  const s = SIZES[size];
  const { vocab, train: ids, validation } = data(text, undefined, s.B, s.T);
  const model = new LSTMLanguageModel({
    vocabSize: vocab.size, numHiddens: s.numHiddens, numLayers: s.numLayers, dropout: s.dropout, init: 'pytorch',
    seed: 1, ...(g === null ? { threads: 'auto' } : { backend: 'webgpu', gpuDevice: g.device }),
  });
  run = {
    model, vocab, optimizer: new Adam(model.parameters(), { lr: 3e-3 }),
    loader: new SeqDataLoader(ids, { batchSize: s.B, numSteps: s.T, seed: 1 }), validation, B: s.B, T: s.T,
    state: null, step: 0, stepOffset: 0, size, curves: { trainSteps: [], trainLoss: [], valSteps: [], valLoss: [] },
    gpu: g !== null, pendingSave: false,
  };
  post({ type: 'created', model: describe(run) });
}

/** Posts a checkpoint. A webgpu model's host copy is current only after `await model.sync()`: while it trains, that waits for the next step (`atStep`). */
async function save(_message, atStep = false) {
  if (run.gpu) {
    if (training && !atStep) {
      run.pendingSave = true;
      return;
    }
    run.pendingSave = false;
    await run.model.sync();
  }
  const { model, vocab, optimizer, curves } = run;
  const info = describe(run);
  const bytes = saveCheckpoint(model, {
    vocab, optimizer,
    training: {
      format: 'lstm-lm/playground', version: 1, step: info.step, size: run.size, B: run.B, T: run.T,
      curves: {
        trainSteps: Int32Array.from(curves.trainSteps), trainLoss: Float32Array.from(curves.trainLoss),
        valSteps: Int32Array.from(curves.valSteps), valLoss: Float32Array.from(curves.valLoss),
      },
    },
  });
  post({ type: 'saved', bytes, step: info.step }, [bytes.buffer]);
}

async function load({ bytes, text, backend }) {
  await reset();
  const g = gpuFor(backend);
  const loaded = loadCheckpoint(new Uint8Array(bytes), g === null ? { threads: resolveThreads('auto') } : { backend: 'webgpu', gpuDevice: g.device });
  const t = loaded.training;
  const fromPlayground = t?.format === 'lstm-lm/playground';
  const B = fromPlayground ? t.B : 32, T = fromPlayground ? t.T : 64;
  const { train: ids, validation } = data(text, loaded.vocab, B, T);
  const c = t?.curves;
  run = {
    model: loaded.model, vocab: loaded.vocab, optimizer: loaded.optimizer ?? new Adam(loaded.model.parameters(), { lr: 3e-3 }),
    loader: new SeqDataLoader(ids, { batchSize: B, numSteps: T, seed: 1 }), validation, B, T, state: null,
    stepOffset: typeof t?.step === 'number' ? t.step : 0,
    size: fromPlayground ? t.size : null,
    curves: c === undefined
      ? { trainSteps: [], trainLoss: [], valSteps: [], valLoss: [] }
      : { trainSteps: Array.from(c.trainSteps), trainLoss: Array.from(c.trainLoss), valSteps: Array.from(c.valSteps), valLoss: Array.from(c.valLoss) },
    gpu: g !== null, pendingSave: false,
  };
  run.step = run.stepOffset;
  post({ type: 'loaded', model: describe(run), curves: run.curves, vocab: loaded.vocab.idxToToken.length });
  idleSampling();
}

const handlers = {
  create, train, stop, reset: async () => { await reset(); post({ type: 'reset' }); }, save, load,
  temperature: ({ value }) => { temperature = value; },
  sample: () => { if (run !== null) { sampler = null; if (!training) idleSampling(); } },
};

self.onmessage = async ({ data: message }) => {
  try {
    await handlers[message.type](message);
  } catch (error) {
    post({ type: 'error', message: `${error.name}: ${error.message}` });
  }
};
post({ type: 'ready', crossOriginIsolated: globalThis.crossOriginIsolated === true, cores: navigator.hardwareConcurrency ?? 1, simd: wasmSimdSupported() });

/** What the page shows of the GPU: the adapter's description, or what it has (vendor, architecture, device). */
function describeAdapter(info) {
  if (info === undefined || info === null) return 'a GPU';
  const text = info.description || [info.vendor, info.architecture, info.device].filter((x) => x).join(' ');
  return text || 'a GPU';
}

// WebGPU: offered only where navigator.gpu gives an adapter and a device. A rejection (no
// navigator.gpu, no adapter, no device) leaves the CPU, and the page says why.
requestGpuDevice().then(
  (device) => {
    gpu = { device, adapter: describeAdapter(device.adapterInfo) };
    post({ type: 'gpu', available: true, adapter: gpu.adapter });
    device.lost.then((info) => {
      gpu = null;
      post({ type: 'gpu', available: false, reason: `the GPU was lost (${info.message || info.reason})` });
      if (run?.gpu) post({ type: 'error', message: 'the GPU was lost: reset, and train on the CPU' });
    });
  },
  (error) => post({ type: 'gpu', available: false, reason: error instanceof TypeError ? 'this browser has no navigator.gpu' : error.message }),
);
