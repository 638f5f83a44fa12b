// Training throughput and peak memory, ours against PyTorch in the same run.
//
//   npm run bench                                   # everything: W1, W2 × H 64, 256, 1024 × wasm, wasm-2t (two threads), js
//   npm run bench -- --quick                        # a fast smoke run (few batches, one repeat)
//   npm run bench -- --workload w2 --hidden 256 --backend wasm --repeats 7
//   npm run bench -- --no-pytorch                   # our numbers only
//
// Workloads (the seed's hyperparameters: B = 32, T = 35, SGD lr 1, gradients clipped to norm 1):
//   W1  "I love cat" × 1000 lines, word tokens, maxTokens 10000, sequential batches (2 a epoch)
//   W2  The Time Machine (data/timemachine.txt), d2l's char-level cleanup, whole text
//
// tokens/s = B·T·batches / seconds of the timed steps (zeroGrad → forwardBackward →
// clipGradNorm → sgd.step, the state carried from batch to batch within an epoch and zeroed at
// each epoch's start, as d2l's train_epoch_ch8), after untimed warm-up batches. Every repeat
// is a fresh child process (`--child`, JSON on its last stdout line), so that its peak RSS
// (process.resourceUsage().maxRSS) is that configuration's own. Repeats are interleaved with
// bench/pytorch_reference.py (the seed's code, one OpenBLAS thread) on the same workload, and
// the table shows medians. A soak run at the end checks that memory stays flat.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LSTMLanguageModel, SGD, SeqDataLoader, clipGradNorm, loadCorpus, preprocess } from '../src/index.js';
import { nodeWorkerFactory } from '../node/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..');
const PYTHON = '/usr/bin/python3';
const PYTORCH_SCRIPT = resolve(here, 'pytorch_reference.py');
const B = 32, T = 35;

type Workload = 'w1' | 'w2';
/** A backend, and for wasm optionally its thread count: 'wasm-2t' is wasm on two threads. */
type Backend = 'wasm' | 'wasm-2t' | 'js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    workload: { type: 'string', default: 'w1,w2' },
    hidden: { type: 'string', default: '64,256,1024' },
    backend: { type: 'string', default: 'wasm,wasm-2t,js' },
    repeats: { type: 'string' },
    'no-pytorch': { type: 'boolean', default: false },
    'js-large': { type: 'boolean', default: false }, // also run js at H ≥ 1024 (minutes per batch set)
    'no-soak': { type: 'boolean', default: false },
    data: { type: 'string', default: resolve(repoRoot, 'data/timemachine.txt') },
    // Child mode: one configuration, one repeat, JSON on the last stdout line.
    child: { type: 'boolean', default: false },
    batches: { type: 'string' },
    warmup: { type: 'string' },
    'sample-every': { type: 'string', default: '0' },
  },
});

// ------------------------------------------------------------------ child: one timed run

interface MemorySample {
  batch: number;
  rssMB: number;
  heapUsedMB: number;
  /** Typed-array buffers (Node does not count WebAssembly memories here; RSS sees them). */
  arrayBuffersMB: number;
}

interface ChildResult {
  workload: Workload;
  hidden: number;
  backend: string;
  vocabSize: number;
  corpusTokens: number;
  batches: number;
  warmup: number;
  timedSeconds: number;
  tokensPerSecond: number;
  lastLoss: number;
  /** RSS once the corpus is loaded, before the model exists. */
  baselineRssMB: number;
  peakRssMB: number;
  /** After warm-up, then every `--sample-every` batches, then at the end (each after a full GC). */
  memory: MemorySample[];
}

const MB = 1024 * 1024;

function loadWorkload(workload: Workload, dataPath: string): { corpus: Int32Array; vocabSize: number } {
  if (workload === 'w1') {
    const lines = Array.from({ length: 1000 }, () => 'I love cat');
    const { corpus, vocab } = loadCorpus(lines, { token: 'word', maxTokens: 10000 });
    return { corpus, vocabSize: vocab.size };
  }
  const { corpus, vocab } = loadCorpus(preprocess(readFileSync(dataPath, 'utf8')), { token: 'char' });
  return { corpus, vocabSize: vocab.size };
}

function sampleMemory(batch: number): MemorySample {
  (globalThis as { gc?: () => void }).gc?.(); // the child runs with --expose-gc
  const m = process.memoryUsage();
  return { batch, rssMB: m.rss / MB, heapUsedMB: m.heapUsed / MB, arrayBuffersMB: m.arrayBuffers / MB };
}

function runChild(): ChildResult {
  const workload = args.workload as Workload;
  const hidden = Number(args.hidden);
  const backend = args.backend as Backend;
  const batches = Number(args.batches);
  const warmup = Number(args.warmup);
  const sampleEvery = Number(args['sample-every']);

  const { corpus, vocabSize } = loadWorkload(workload, args.data);
  const baselineRssMB = process.memoryUsage().rss / MB;
  const loader = new SeqDataLoader(corpus, { batchSize: B, numSteps: T, seed: 0 });
  const [kernels, threadsTag] = backend.split('-') as ['wasm' | 'js', string | undefined];
  const threads = threadsTag === undefined ? 1 : Number.parseInt(threadsTag, 10);
  const model = new LSTMLanguageModel({
    vocabSize, numHiddens: hidden, seed: 0, backend: kernels, threads, createWorker: nodeWorkerFactory,
  });
  // Let the workers start (≈ 0.1 s) so the warm-up batches already run threaded.
  if (threads > 1) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
  const params = model.parameters();
  const sgd = new SGD(params, { lr: 1 });
  const state = model.initState(B);

  const memory: MemorySample[] = [];
  let done = 0, timedMs = 0, lastLoss = NaN;
  // Epochs repeat until enough batches are done (W1 has only 2 a epoch).
  while (done < warmup + batches) {
    let epochStart = true;
    for (const { X, Y } of loader) {
      if (done === warmup + batches) break;
      const t0 = performance.now();
      if (epochStart) {
        state.h.fill(0);
        state.c.fill(0);
        epochStart = false;
      }
      model.zeroGrad();
      lastLoss = model.forwardBackward(X, Y, state).loss;
      clipGradNorm(params, 1);
      sgd.step();
      const ms = performance.now() - t0;
      done++;
      if (done > warmup) timedMs += ms;
      if (done === warmup || (sampleEvery > 0 && done > warmup && (done - warmup) % sampleEvery === 0)) {
        memory.push(sampleMemory(done));
      }
    }
  }
  if (memory.at(-1)?.batch !== done) memory.push(sampleMemory(done));

  return {
    workload, hidden, backend: model.threads > 1 ? `${model.backend}-${model.threads}t` : model.backend, vocabSize, corpusTokens: corpus.length, batches, warmup,
    timedSeconds: timedMs / 1000,
    tokensPerSecond: (B * T * batches) / (timedMs / 1000),
    lastLoss,
    baselineRssMB,
    peakRssMB: process.resourceUsage().maxRSS / 1024, // maxRSS is in KiB
    memory,
  };
}

// ------------------------------------------------------------------ parent: plan, spawn, report

interface Plan {
  batches: number;
  warmup: number;
}

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

/**
 * Batches per repeat, scaled by the ≈ 24·H² FLOPs a token costs so that a repeat lasts a few
 * seconds: wasm (≈ 16k tokens/s at H = 256) and PyTorch get 60 batches at H = 256, js
 * (≈ 2k tokens/s) gets 10.
 */
function planFor(hidden: number, kind: Backend | 'pytorch', quick: boolean): Plan {
  const scale = (256 / hidden) ** 2;
  let batches = kind === 'js' ? clamp(Math.round(10 * scale), 2, 40) : clamp(Math.round(60 * scale), 6, 200);
  let warmup = clamp(Math.round(batches / 10), 2, 10);
  if (quick) {
    batches = Math.max(2, Math.round(batches / 10));
    warmup = 1;
  }
  return { batches: Number(args.batches ?? batches), warmup: Number(args.warmup ?? warmup) };
}

/** The last non-empty stdout line of a child, parsed; throws with its stderr when it failed. */
function spawnJSON<R>(command: string, argv: string[], env: NodeJS.ProcessEnv = process.env): R {
  const r = spawnSync(command, argv, { cwd: repoRoot, env, encoding: 'utf8', maxBuffer: 64 * MB });
  const last = r.stdout?.trim().split('\n').at(-1);
  if (r.status !== 0 || last === undefined || last === '') {
    throw new Error(`${command} ${argv.join(' ')} failed (status ${r.status}):\n${r.stderr ?? r.error}`);
  }
  return JSON.parse(last) as R;
}

function runOurs(workload: Workload, hidden: number, backend: Backend, plan: Plan, sampleEvery = 0): ChildResult {
  return spawnJSON<ChildResult>(process.execPath, [
    '--expose-gc', '--import', 'tsx', relative(repoRoot, fileURLToPath(import.meta.url)), '--child',
    '--workload', workload, '--hidden', String(hidden), '--backend', backend,
    '--batches', String(plan.batches), '--warmup', String(plan.warmup),
    '--sample-every', String(sampleEvery), '--data', args.data,
  ]);
}

interface PyTorchResult {
  tokensPerSecond: number;
  peakRssMB: number;
  blas: string;
  torch: string;
  threads: number;
}

function runPyTorch(workload: Workload, hidden: number, plan: Plan): PyTorchResult {
  return spawnJSON<PyTorchResult>(PYTHON, [
    PYTORCH_SCRIPT, '--workload', workload, '--hidden', String(hidden),
    '--batches', String(plan.batches), '--warmup', String(plan.warmup), '--repeats', '1', '--data', args.data,
  ], { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' });
}

/** The commit the numbers belong to, marked when src/ has uncommitted edits (children compile src/ afresh). */
function gitDescribe(): string {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' });
  if (head.status !== 0) return 'unknown (not a git checkout)';
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src'], { cwd: repoRoot, encoding: 'utf8' });
  return `${head.stdout.trim()}${dirty.stdout.trim() === '' ? '' : ' + uncommitted changes in src/'}`;
}

function pytorchAvailable(): boolean {
  if (!existsSync(PYTHON)) return false;
  return spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** One table row: a configuration's repeats. */
interface Row {
  workload: Workload;
  hidden: number;
  backend: string;
  plan: Plan;
  rates: number[];
  peakRssMB: number[];
  /** RSS and heap growth from after warm-up to the end of each repeat. */
  rssGrowthMB: number[];
  heapGrowthMB: number[];
}

function newRow(workload: Workload, hidden: number, backend: string, plan: Plan): Row {
  return { workload, hidden, backend, plan, rates: [], peakRssMB: [], rssGrowthMB: [], heapGrowthMB: [] };
}

function growth(memory: readonly MemorySample[]): { rss: number; heap: number } {
  const first = memory[0]!, last = memory.at(-1)!;
  return { rss: last.rssMB - first.rssMB, heap: last.heapUsedMB - first.heapUsedMB };
}

function list<T extends string>(flag: string, allowed: readonly T[]): T[] {
  const items = flag.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
  for (const item of items) {
    if (!allowed.includes(item as T)) throw new RangeError(`Expected one of ${allowed.join(', ')}, got ${JSON.stringify(item)}.`);
  }
  return items as T[];
}

function main(): void {
  const quick = args.quick;
  const workloads = list<Workload>(args.workload, ['w1', 'w2']);
  const hiddens = args.hidden.split(',').map(Number);
  if (hiddens.some((h) => !Number.isInteger(h) || h < 1)) throw new RangeError(`Expected --hidden to be positive integers, got ${args.hidden}.`);
  const backends = list<Backend>(args.backend, ['wasm', 'wasm-2t', 'js']);
  const repeats = Number(args.repeats ?? (quick ? 1 : 5));
  const command = ['node --import tsx bench/throughput.ts', ...process.argv.slice(2)].join(' ');

  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const machine = `${cpu}, ${os.cpus().length} cores, ${os.totalmem() / 2 ** 30 | 0} GiB, ${os.type()} ${os.release()}, Node ${process.version}`;
  console.log(`machine: ${machine}`);
  console.log(`command: ${command}`);
  console.log(`date:    ${new Date().toISOString()}`);
  console.log(`commit:  ${gitDescribe()}`);

  if (workloads.includes('w2') && !existsSync(args.data)) {
    const bar = '!'.repeat(78);
    console.log(`\n${bar}\n!! W2 SKIPPED: the Time Machine text is missing at ${args.data}\n!! (pass --data PATH)\n${bar}\n`);
    workloads.splice(workloads.indexOf('w2'), 1);
  }

  let withPyTorch = !args['no-pytorch'];
  if (withPyTorch && !pytorchAvailable()) {
    console.log(`\nPyTorch: ${PYTHON} cannot import torch; printing our numbers only.`);
    console.log('(apt-get install -y python3-torch libopenblas0-pthread to compare)\n');
    withPyTorch = false;
  }

  const rows: Row[] = [];
  let pytorchInfo = '';
  for (const workload of workloads) {
    for (const hidden of hiddens) {
      const ours = backends
        .filter((b) => b !== 'js' || hidden < 1024 || args['js-large'])
        .map((b) => newRow(workload, hidden, b, planFor(hidden, b, quick)));
      const rival = withPyTorch ? newRow(workload, hidden, 'pytorch', planFor(hidden, 'pytorch', quick)) : undefined;
      // Interleaved: ours, PyTorch, ours, PyTorch, … so that a noisy neighbour hits both.
      for (let r = 0; r < repeats; r++) {
        for (const row of ours) {
          const res = runOurs(workload, hidden, row.backend as Backend, row.plan);
          if (res.backend !== row.backend) throw new Error(`asked for backend ${row.backend}, the model runs ${res.backend}`);
          const g = growth(res.memory);
          row.rates.push(res.tokensPerSecond);
          row.peakRssMB.push(res.peakRssMB);
          row.rssGrowthMB.push(g.rss);
          row.heapGrowthMB.push(g.heap);
          console.error(
            `${workload} H=${hidden} ${row.backend} ${r + 1}/${repeats}: ${Math.round(res.tokensPerSecond)} tokens/s, ` +
              `peak RSS ${res.peakRssMB.toFixed(0)} MB, last loss ${res.lastLoss.toFixed(3)}`,
          );
        }
        if (rival !== undefined) {
          const res = runPyTorch(workload, hidden, rival.plan);
          rival.rates.push(res.tokensPerSecond);
          rival.peakRssMB.push(res.peakRssMB);
          pytorchInfo = `PyTorch ${res.torch}, ${res.threads} thread, BLAS ${res.blas}`;
          if (res.blas !== 'openblas' && res.blas !== 'mkl') {
            console.log(`!! PyTorch runs on the ${res.blas} BLAS: an unfair (slow) rival; install libopenblas0-pthread.`);
          }
          console.error(`${workload} H=${hidden} pytorch ${r + 1}/${repeats}: ${Math.round(res.tokensPerSecond)} tokens/s`);
        }
      }
      rows.push(...ours);
      if (rival !== undefined) rows.push(rival);
    }
  }

  console.log(`\nTraining throughput, B=${B} T=${T}, median of ${repeats} interleaved repeat(s), each a fresh process.`);
  if (pytorchInfo !== '') console.log(`PyTorch rival: bench/pytorch_reference.py (the seed's code), ${pytorchInfo}.`);
  console.log(table(rows));
  console.log('\nratio = median ours / median PyTorch (same workload, same H). range = min–max over repeats.');
  console.log('RSS Δ / heap Δ = largest growth, over the repeats, from after warm-up to the end of the timed batches.');

  if (!args['no-soak']) soak(workloads.includes('w2') ? 'w2' : 'w1', quick);
}

/** A longer run per backend, sampling memory as it goes: it must stay flat. */
function soak(workload: Workload, quick: boolean): void {
  const runs: { backend: Backend; hidden: number; batches: number }[] = [
    { backend: 'wasm', hidden: 256, batches: quick ? 40 : 400 },
    { backend: 'js', hidden: 64, batches: quick ? 40 : 400 },
  ];
  const every = quick ? 10 : 50;
  console.log(`\nMemory over a long run (${workload}; after warm-up, then every ${every} batches, each after a full GC):`);
  for (const { backend, hidden, batches } of runs) {
    const res = runOurs(workload, hidden, backend, { batches, warmup: 5 }, every);
    const g = growth(res.memory);
    const rss = res.memory.map((m) => m.rssMB.toFixed(1)).join(' ');
    const heap = res.memory.map((m) => m.heapUsedMB.toFixed(2)).join(' ');
    console.log(`  ${backend} H=${hidden}, ${batches} batches (${Math.round(res.tokensPerSecond)} tokens/s):`);
    console.log(`    RSS MB  ${rss}   (growth ${signed(g.rss)} MB)`);
    console.log(`    heap MB ${heap}   (growth ${signed(g.heap)} MB)`);
  }
}

const signed = (x: number, digits = 1): string => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;
const int = (x: number): string => Math.round(x).toLocaleString('en-US');

function table(rows: readonly Row[]): string {
  const pytorchRate = (r: Row): number | undefined => {
    const p = rows.find((q) => q.backend === 'pytorch' && q.workload === r.workload && q.hidden === r.hidden);
    return p === undefined ? undefined : median(p.rates);
  };
  const header = ['workload', 'H', 'backend', 'batches', 'tokens/s', 'range', 'PyTorch tokens/s', 'ratio', 'peak RSS MB', 'RSS Δ MB', 'heap Δ MB'];
  const body = rows.map((r) => {
    const rate = median(r.rates);
    const rival = r.backend === 'pytorch' ? undefined : pytorchRate(r);
    const ours = r.backend !== 'pytorch';
    return [
      r.workload.toUpperCase(), String(r.hidden), r.backend, String(r.plan.batches), int(rate),
      `${int(Math.min(...r.rates))}–${int(Math.max(...r.rates))}`,
      rival === undefined ? '' : int(rival),
      rival === undefined ? '' : `${(rate / rival).toFixed(2)}×`,
      Math.max(...r.peakRssMB).toFixed(0),
      ours ? signed(Math.max(...r.rssGrowthMB)) : '',
      ours ? signed(Math.max(...r.heapGrowthMB), 2) : '',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [line(header), `|${widths.map((w, i) => (i < 3 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...body.map(line)].join('\n');
}

// Dispatch last: every helper above is initialised by now.
if (args.child) {
  console.log(JSON.stringify(runChild()));
} else {
  main();
}
