// char-rnn's Shakespeare, with the asynchronous loop: raw tinyshakespeare (case and
// punctuation kept), the last 10% held out for validation (as char-rnn and nanoGPT), a stacked
// LSTM with dropout, Adam (or RMSprop) with a schedule, gradients clipped to norm 5, two
// threads, and a time limit. It prints a progress line every `--log-every` steps and, at each
// evaluation, the validation loss and a 300-character sample; it keeps the best weights, and
// at the end writes the learning curves as an SVG and a JSON log.
//
//   node --import tsx examples/shakespeare.ts [path] [--minutes 60] [--hidden 384] [--layers 2]
//        [--dropout 0.3] [--optimizer adam|rmsprop] [--lr 2e-3] [--schedule plateau|cosine|constant]
//        [--batch 64] [--steps 100] [--threads 2] [--eval-every 200] [--out out/shakespeare]
//
// Ctrl-C stops it between minibatches, like the time limit: the curves are still written.
// The default model, 2×384 with dropout 0.3, is the one that sees the most tokens in an hour
// here for its quality (measured on the shared 2-core machine, 2 threads, B 64, T 100, under
// load: 2×256 ≈ 6,100 tokens/s, 2×384 ≈ 4,000, 2×512 ≈ 2,700).
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import {
  Adam, LSTMLanguageModel, RMSprop, SeqDataLoader, constantLr, cosineWithWarmup, fit, generate, loadCorpus,
  reduceOnPlateau, saveCheckpoint, splitCorpus, type Schedule,
} from '../src/index.js';
import { nodeWorkerFactory, writeCheckpoint } from '../node/index.js';
import { dataFile, fail, integer, parseCommandLine, positiveInteger, readText } from './lib/cli.js';
import { lineChart } from './lib/svg-plot.js';

const { values, positionals } = parseCommandLine({
  allowPositionals: true,
  options: {
    minutes: { type: 'string', default: '60' },
    hidden: { type: 'string', default: '384' },
    layers: { type: 'string', default: '2' },
    dropout: { type: 'string', default: '0.3' },
    optimizer: { type: 'string', default: 'adam' },
    lr: { type: 'string', default: '2e-3' },
    schedule: { type: 'string', default: 'plateau' },
    'total-steps': { type: 'string' },
    batch: { type: 'string', default: '64' },
    steps: { type: 'string', default: '100' },
    threads: { type: 'string', default: '2' },
    'eval-every': { type: 'string', default: '200' },
    'log-every': { type: 'string', default: '10' },
    seed: { type: 'string', default: '0' },
    out: { type: 'string', default: 'out/shakespeare' },
  },
});

function positiveNumber(name: string, value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || !(n > 0) || !Number.isFinite(n)) fail(`--${name} must be a positive number, got ${JSON.stringify(value)}`);
  return n;
}

const path = positionals[0] ?? dataFile('tinyshakespeare.txt');
const minutes = positiveNumber('minutes', values.minutes);
const hidden = positiveInteger('hidden', values.hidden);
const layers = positiveInteger('layers', values.layers);
const dropout = Number(values.dropout);
if (!(dropout >= 0 && dropout < 1)) fail(`--dropout must be in [0, 1), got ${JSON.stringify(values.dropout)}`);
const lr = positiveNumber('lr', values.lr);
const B = positiveInteger('batch', values.batch);
const T = positiveInteger('steps', values.steps);
const threads = positiveInteger('threads', values.threads);
const evalEvery = positiveInteger('eval-every', values['eval-every']);
const logEvery = positiveInteger('log-every', values['log-every']);
const seed = integer('seed', values.seed);
if (values.optimizer !== 'adam' && values.optimizer !== 'rmsprop') fail(`--optimizer must be adam or rmsprop, got ${JSON.stringify(values.optimizer)}`);

// The raw text as one line: newlines, case and punctuation are characters like any other.
const { corpus, vocab } = loadCorpus([readText(path)], { token: 'char' });
const { train, validation } = splitCorpus(corpus, { valFraction: 0.1, batchSize: B, numSteps: T });
const loader = new SeqDataLoader(train, { batchSize: B, numSteps: T, seed });
const model = new LSTMLanguageModel({
  vocabSize: vocab.size, numHiddens: hidden, numLayers: layers, dropout, init: 'pytorch', seed, threads,
  createWorker: nodeWorkerFactory,
});
const params = model.parameters();
const optimizer = values.optimizer === 'adam' ? new Adam(params, { lr }) : new RMSprop(params, { lr, alpha: 0.95 });
let schedule: Schedule;
if (values.schedule === 'plateau') schedule = reduceOnPlateau({ lr, factor: 0.5, patience: 2 });
else if (values.schedule === 'constant') schedule = constantLr({ lr });
else if (values.schedule === 'cosine') {
  const totalSteps = positiveInteger('total-steps', values['total-steps']);
  schedule = cosineWithWarmup({ lr, warmupSteps: Math.min(100, totalSteps - 1), totalSteps, minLr: lr / 10 });
} else fail(`--schedule must be plateau, cosine or constant, got ${JSON.stringify(values.schedule)}`);

console.log(
  `${path}: ${corpus.length.toLocaleString('en-US')} characters, vocabulary of ${vocab.size}; ` +
    `train ${train.length.toLocaleString('en-US')}, validation ${validation.length.toLocaleString('en-US')}`,
);
console.log(
  `model ${layers}×${hidden}, dropout ${dropout}, ${model.backend} backend, ${model.threads} thread(s); ` +
    `${values.optimizer} lr ${lr}, schedule ${values.schedule}, B ${B}, T ${T}, clip 5; ${minutes} min; ` +
    `${loader.numBatches} steps an epoch`,
);

/** One evaluation; `load` is the machine's 1-minute load average then (the machine may be shared). */
interface LogEntry { minutes: number; step: number; tokens: number; trainLoss: number; valLoss: number; lr: number; load: number }
const log: LogEntry[] = [];
const out = resolve(values.out);
mkdirSync(dirname(out), { recursive: true });
const config = { path, hidden, layers, dropout, optimizer: values.optimizer, lr, schedule: values.schedule, B, T, threads, seed, vocabSize: vocab.size };

/** Writes the JSON log and the SVG of the curves (the result too, once there is one). */
function writeLog(result: { stopReason: string; steps: number; tokens: number; bestLoss: number | null } | null): void {
  writeFileSync(`${out}.json`, JSON.stringify({ config, result, log }, null, 1));
  if (log.length === 0) return;
  writeFileSync(`${out}.svg`, lineChart(
    [
      { label: 'train (mean since the last evaluation)', xs: log.map((e) => e.minutes), ys: log.map((e) => e.trainLoss) },
      { label: 'validation', xs: log.map((e) => e.minutes), ys: log.map((e) => e.valLoss) },
    ],
    { title: `tinyshakespeare, LSTM ${layers}×${hidden}, dropout ${dropout}`, xLabel: 'minutes', yLabel: 'loss (nats/char)' },
  ));
}

let trainSum = 0, trainCount = 0, tokensNow = 0;
const controller = new AbortController();
process.once('SIGINT', () => {
  console.log('\ninterrupted: stopping after this minibatch');
  controller.abort();
});
const fmt = (ms: number): string => `${(ms / 60_000).toFixed(1)} min`;

const result = await fit(model, loader, optimizer, {
  timeLimit: minutes * 60,
  signal: controller.signal,
  clipNorm: 5,
  schedule,
  validation,
  evalEvery,
  onStep: (s) => {
    trainSum += s.loss;
    trainCount++;
    tokensNow = s.tokens;
    if (s.step % logEvery === 0) {
      console.log(
        `step ${s.step} (epoch ${s.epoch}, ${s.batch}/${loader.numBatches}) loss ${s.loss.toFixed(3)} lr ${s.lr.toExponential(2)} ` +
          `|g| ${s.gradNorm.toFixed(2)}  ${Math.round(s.tokensPerSecond).toLocaleString('en-US')} tokens/s  ` +
          `${fmt(s.elapsedMs)}${s.etaMs === null ? '' : `, ${fmt(s.etaMs)} left`}`,
      );
    }
  },
  onEval: (e) => {
    const trainLoss = trainCount > 0 ? trainSum / trainCount : NaN;
    trainSum = 0;
    trainCount = 0;
    log.push({ minutes: e.elapsedMs / 60_000, step: e.step, tokens: tokensNow, trainLoss, valLoss: e.loss, lr: e.lr, load: loadavg()[0]! });
    writeLog(null); // after every evaluation, so that an interrupted run still leaves its curves
    if (e.improved) writeFileSync(`${out}.safetensors`, saveCheckpoint(model, { vocab })); // and its best model
    const sample = generate(model, vocab, { prompt: '\n', maxTokens: 300, temperature: 0.8, seed: e.step });
    console.log(
      `\n== step ${e.step}, ${fmt(e.elapsedMs)}: validation loss ${e.loss.toFixed(4)} nats/char (perplexity ${e.perplexity.toFixed(2)})` +
        `${e.improved ? ', best so far' : `, best ${e.bestLoss.toFixed(4)}`}; train loss ${trainLoss.toFixed(4)}; lr ${e.lr.toExponential(2)}\n` +
        `${sample}\n==\n`,
    );
  },
  restoreBest: true,
});
console.log(
  `stopped (${result.stopReason}) after ${result.steps} steps, ${result.tokens.toLocaleString('en-US')} tokens, ${fmt(result.elapsedMs)}; ` +
    `best validation loss ${result.best?.loss.toFixed(4) ?? '—'} nats/char at step ${result.best?.step ?? '—'}`,
);

await writeCheckpoint(`${out}.safetensors`, model, { vocab });
writeLog({ stopReason: result.stopReason, steps: result.steps, tokens: result.tokens, bestLoss: result.best?.loss ?? null });
console.log(`log written to ${out}.json, curves to ${out}.svg, the (best) model to ${out}.safetensors`);
model.dispose();
