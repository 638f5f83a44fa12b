// Training throughput against the thread count (issue 14), next to PyTorch's nn.LSTM and the
// seed's loop at the same thread counts. A plain ES module on the built library (dist/), so
// that it runs where there is Node and nothing else — the many-core machine of issue 14
// (bench/device.sh packs Node, dist/ and this file for it).
//
//   npm run build && node bench/scaling.mjs
//   node bench/scaling.mjs --hidden 256,1024 --threads 1,2,4,8,16 --repeats 3 --python python3
//
// W2 of bench/throughput.ts: character-level Time Machine, B = 32, T = 35, sequential
// batches, SGD lr 1 with clipping to norm 1. Each (H, threads) run is a fresh model; the
// median of `--repeats` runs, interleaved with PyTorch's at the same thread count. Prints a
// Markdown table and, on its last line, the results as JSON.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LSTMLanguageModel, SeqDataLoader, SGD, clipGradNorm, loadCorpus, preprocess } from '../dist/index.js';
import { nodeWorkerFactory } from '../dist/node.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cores = os.availableParallelism?.() ?? os.cpus().length;
const { values: args } = parseArgs({
  options: {
    hidden: { type: 'string', default: '256,1024' },
    threads: { type: 'string', default: [1, 2, 4, 8, 16].filter((t) => t <= cores).join(',') },
    repeats: { type: 'string', default: '3' },
    data: { type: 'string', default: resolve(root, 'data/timemachine.txt') },
    python: { type: 'string', default: 'python3' },
    'no-pytorch': { type: 'boolean', default: false },
  },
});
const B = 32, T = 35;
const plan = (H) => (H >= 1024 ? { batches: 6, warmup: 2 } : H >= 512 ? { batches: 12, warmup: 3 } : { batches: 40, warmup: 5 });
const { corpus, vocab } = loadCorpus(preprocess(readFileSync(args.data, 'utf8')), { token: 'char' });

/** Tokens/s of our training loop for (H, threads). */
async function ours(H, threads) {
  const { batches, warmup } = plan(H);
  const loader = new SeqDataLoader(corpus, { batchSize: B, numSteps: T, seed: 0 });
  const model = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: H, seed: 0, threads, createWorker: nodeWorkerFactory });
  if (threads > 1) await new Promise((r) => setTimeout(r, 300)); // the workers start
  const params = model.parameters();
  const sgd = new SGD(params, { lr: 1 });
  const state = model.initState(B);
  let done = 0, ms = 0;
  while (done < warmup + batches) {
    for (const { X, Y } of loader) {
      if (done === warmup + batches) break;
      const t0 = performance.now();
      model.zeroGrad();
      model.forwardBackward(X, Y, state);
      clipGradNorm(params, 1);
      sgd.step();
      if (++done > warmup) ms += performance.now() - t0;
    }
  }
  model.dispose();
  return (B * T * batches) / (ms / 1000);
}

/** Tokens/s of bench/pytorch_reference.py (`impl`: nnlstm or scratch) at `threads`. */
function pytorch(H, threads, impl) {
  const { batches, warmup } = plan(H);
  const out = execFileSync(args.python, [
    resolve(root, 'bench/pytorch_reference.py'), '--workload', 'w2', '--impl', impl, '--hidden', String(H),
    '--threads', String(threads), '--batches', String(batches), '--warmup', String(warmup), '--repeats', '1', '--data', args.data,
  ], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) }, stdio: ['ignore', 'pipe', 'ignore'] });
  return JSON.parse(out.trim().split('\n').at(-1)).tokensPerSecond;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const hiddens = args.hidden.split(',').map(Number);
const threadCounts = args.threads.split(',').map(Number);
const repeats = Number(args.repeats);
const results = [];
console.log(`W2, B ${B}, T ${T}; node ${process.version}, ${os.cpus()[0]?.model ?? '?'}, ${cores} cores, median of ${repeats}`);
for (const H of hiddens) {
  for (const threads of threadCounts) {
    const row = { H, threads, ours: [], nnlstm: [], scratch: [] };
    for (let r = 0; r < repeats; r++) {
      row.ours.push(await ours(H, threads));
      if (!args['no-pytorch']) {
        row.nnlstm.push(pytorch(H, threads, 'nnlstm'));
        if (r === 0) row.scratch.push(pytorch(H, threads, 'scratch'));
      }
    }
    const m = { H, threads, ours: median(row.ours), nnlstm: row.nnlstm.length ? median(row.nnlstm) : NaN, scratch: row.scratch[0] ?? NaN };
    results.push(m);
    console.error(`H ${H} threads ${threads}: ours ${m.ours.toFixed(0)}, nn.LSTM ${m.nnlstm.toFixed(0)}, seed's loop ${m.scratch.toFixed(0)} tokens/s`);
  }
}
const f = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–');
const ratio = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '–');
console.log('| H | threads | ours | vs 1 thread | nn.LSTM | ours / nn.LSTM | seed\'s loop (PyTorch) |');
console.log('|---:|---:|---:|---:|---:|---:|---:|');
for (const m of results) {
  const one = results.find((x) => x.H === m.H && x.threads === 1)?.ours ?? NaN;
  console.log(`| ${m.H} | ${m.threads} | ${f(m.ours)} | ${ratio(m.ours / one)} | ${f(m.nnlstm)} | ${ratio(m.ours / m.nnlstm)} | ${f(m.scratch)} |`);
}
console.log(JSON.stringify({ cpu: os.cpus()[0]?.model, cores, node: process.version, results }));
