// The playground's Web Worker: owns the model and trains it with fit() (one minibatch per
// macrotask, so messages from the page are handled between minibatches), evaluates on the
// held-out tail of the text every few seconds, and streams samples to the page a few
// characters at a time — between training steps while it trains, on a timer otherwise.
import {
  Adam, Generator, LSTMLanguageModel, SeqDataLoader, evaluate, fit, loadCheckpoint, loadCorpus, parameterCount,
  resolveThreads, saveCheckpoint, splitCorpus, wasmSimdSupported,
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
//   stepOffset (a loaded checkpoint's step), curves, size }
let run = null;
let controller = null;
let training = false;
let temperature = 0.8;
let sampler = null; // { generator, id, left, step }
let sampleId = 0;
let idleTimer = null;

const post = (message, transfer) => self.postMessage(message, transfer ?? []);
const now = () => performance.now();

function describe(r) {
  const c = r.model.config;
  return {
    layers: c.numLayers, hidden: c.numHiddens, dropout: c.dropout, vocabSize: c.vocabSize,
    parameters: parameterCount(c), backend: r.model.backend, threads: r.model.threads, B: r.B, T: r.T,
    step: r.step, size: r.size,
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

/** When not training: keep the current sample streaming on a timer; stop at its end. */
function idleSampling() {
  clearTimeout(idleTimer);
  if (training || run === null) return;
  const tick = () => {
    if (training || run === null) return;
    sampleSome(3);
    if (sampler !== null) idleTimer = setTimeout(tick, 25);
  };
  idleTimer = setTimeout(tick, 25);
}

async function validate() {
  const { loss } = await evaluate(run.model, run.validation, { batchSize: run.B, numSteps: run.T });
  const step = describe(run).step;
  run.curves.valSteps.push(step);
  run.curves.valLoss.push(loss);
  post({ type: 'eval', step, loss });
}

async function train() {
  if (run === null || training) return;
  training = true;
  clearTimeout(idleTimer);
  controller = new AbortController();
  post({ type: 'status', training: true, model: describe(run) });
  let lastEval = now();
  if (run.curves.valSteps.length === 0) await validate(); // the untrained model: ≈ ln V
  try {
    const result = await fit(run.model, run.loader, run.optimizer, {
      epochs: 1_000_000,
      clipNorm: 5,
      signal: controller.signal,
      ...(run.state === null ? {} : { resumeFrom: run.state }),
      onStep: async (s) => {
        const step = run.stepOffset + s.step;
        run.step = step;
        run.curves.trainSteps.push(step);
        run.curves.trainLoss.push(s.loss);
        post({ type: 'step', step, loss: s.loss, epoch: s.epoch, tokensPerSecond: s.tokensPerSecond });
        sampleSome(6);
        if (now() - lastEval > EVAL_SECONDS * 1000) {
          await validate();
          lastEval = now();
        }
      },
    });
    run.state = result.state;
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

function reset() {
  stop();
  clearTimeout(idleTimer);
  sampler = null;
  run?.model.dispose();
  run = null;
}

function create({ text, size }) {
  reset();
  const s = SIZES[size];
  const { vocab, train: ids, validation } = data(text, undefined, s.B, s.T);
  const model = new LSTMLanguageModel({
    vocabSize: vocab.size, numHiddens: s.numHiddens, numLayers: s.numLayers, dropout: s.dropout, init: 'pytorch',
    seed: 1, threads: 'auto',
  });
  run = {
    model, vocab, optimizer: new Adam(model.parameters(), { lr: 3e-3 }),
    loader: new SeqDataLoader(ids, { batchSize: s.B, numSteps: s.T, seed: 1 }), validation, B: s.B, T: s.T,
    state: null, step: 0, stepOffset: 0, size, curves: { trainSteps: [], trainLoss: [], valSteps: [], valLoss: [] },
  };
  post({ type: 'created', model: describe(run) });
}

function save() {
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

function load({ bytes, text }) {
  reset();
  const loaded = loadCheckpoint(new Uint8Array(bytes), { threads: resolveThreads('auto') });
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
  };
  run.step = run.stepOffset;
  post({ type: 'loaded', model: describe(run), curves: run.curves, vocab: loaded.vocab.idxToToken.length });
  idleSampling();
}

const handlers = {
  create, train, stop, reset: () => { reset(); post({ type: 'reset' }); }, save, load,
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
