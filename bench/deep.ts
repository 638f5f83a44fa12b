// Training throughput of stacked models, ours against PyTorch's nn.LSTM(num_layers) in one run.
//
//   node --import tsx bench/deep.ts                       # 2×256 and 2×512, B 64, T 100, tinyshakespeare
//   node --import tsx bench/deep.ts --sizes 2x512 --batches 6 --repeats 3
//
// Both sides: char level (V = 65), sequential batches with the state carried, one-hot input,
// dropout 0.2 on every layer's output, Adam lr 2e-3, gradients clipped to global norm 5;
// tokens/s = B·T·batches / seconds of the timed steps (zeroGrad → forwardBackward → clip →
// step) after untimed warm-up batches. PyTorch (bench/pytorch_deep.py, one OpenBLAS thread
// per torch thread) runs with 1 and 2 threads; the ratio is against its faster setting.
// Configurations are interleaved, each repeat a fresh process; medians are reported.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Adam, LSTMLanguageModel, clipGradNorm } from '../src/index.js';
import { nodeWorkerFactory } from '../node/index.js';
import { median } from './lib/timing.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '2x256,2x512' },
    data: { type: 'string', default: resolve(here, '../data/tinyshakespeare.txt') },
    batches: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    repeats: { type: 'string', default: '3' },
    batch: { type: 'string', default: '64' },
    seq: { type: 'string', default: '100' },
    dropout: { type: 'string', default: '0.2' },
    'no-pytorch': { type: 'boolean', default: false },
    child: { type: 'string' }, // "L,H,threads": one timed run, JSON on the last line
  },
});
const B = Number(args.batch), T = Number(args.seq), batches = Number(args.batches), warmup = Number(args.warmup);
const dropout = Number(args.dropout);

function child(spec: string): void {
  const [L, H, threads] = spec.split(',').map(Number) as [number, number, number];
  const text = readFileSync(args.data, 'utf8');
  const chars = [...new Set(text)].sort();
  const index = new Map(chars.map((c, i) => [c, i]));
  const ids = Int32Array.from(text, (c) => index.get(c)!);
  const V = chars.length, rows = Math.floor((ids.length - 1) / B);
  const model = new LSTMLanguageModel({
    vocabSize: V, numHiddens: H, numLayers: L, dropout, init: 'pytorch', threads, createWorker: nodeWorkerFactory,
  });
  const optimizer = new Adam(model.parameters(), { lr: 2e-3 });
  const X = { data: new Int32Array(B * T), batchSize: B, numSteps: T };
  const Y = { data: new Int32Array(B * T), batchSize: B, numSteps: T };
  const state = model.initState(B);
  let pos = 0, timed = 0, loss = 0;
  const start = performance.now();
  while (performance.now() - start < 2000 && threads > 1) { /* let the workers start (busy: no event loop needed) */ }
  for (let done = 0; done < warmup + batches; done++) {
    if (pos + T > rows) (pos = 0), state.h.fill(0), state.c.fill(0);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        X.data[b * T + t] = ids[b * rows + pos + t]!;
        Y.data[b * T + t] = ids[b * rows + pos + t + 1]!;
      }
    }
    pos += T;
    const t0 = performance.now();
    model.zeroGrad();
    loss = model.forwardBackward(X, Y, state).loss;
    clipGradNorm(model.parameters(), 5);
    optimizer.step();
    const dt = (performance.now() - t0) / 1000;
    if (done >= warmup) timed += dt;
  }
  model.dispose();
  console.log(JSON.stringify({ tokensPerSecond: (B * T * batches) / timed, backend: model.backend, threads: model.threads, loss }));
}

function run(command: string, argv: string[], env: NodeJS.ProcessEnv = process.env): number {
  const r = spawnSync(command, argv, { encoding: 'utf8', env, maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${command} ${argv.join(' ')} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!).tokensPerSecond as number;
}


function main(): void {
  const sizes = args.sizes.split(',').map((s) => s.split('x').map(Number) as [number, number]);
  console.log(`# ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, Node ${process.version}`);
  console.log(`# B ${B}, T ${T}, dropout ${dropout}, Adam, clip 5, ${batches} timed batches after ${warmup}, median of ${args.repeats}`);
  console.log('| model | ours, 1 thread | ours, 2 threads | PyTorch nn.LSTM, 1 thread | 2 threads | ours (2 threads) / PyTorch best |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [L, H] of sizes) {
    const r: Record<string, number[]> = { o1: [], o2: [], p1: [], p2: [] };
    for (let rep = 0; rep < Number(args.repeats); rep++) {
      const me = [process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), '--data', args.data, '--batches', args.batches,
        '--warmup', args.warmup, '--batch', args.batch, '--seq', args.seq, '--dropout', args.dropout, '--child'];
      r.o1!.push(run(me[0]!, [...me.slice(1), `${L},${H},1`]));
      r.o2!.push(run(me[0]!, [...me.slice(1), `${L},${H},2`]));
      if (!args['no-pytorch']) {
        for (const th of [1, 2]) {
          r[`p${th}`]!.push(run('/usr/bin/python3', [resolve(here, 'pytorch_deep.py'), '--data', args.data, '--layers', String(L),
            '--hidden', String(H), '--dropout', args.dropout, '--batch-size', args.batch, '--num-steps', args.seq,
            '--batches', args.batches, '--warmup', args.warmup, '--threads', String(th)], { ...process.env, OPENBLAS_NUM_THREADS: String(th) }));
        }
      }
    }
    const m = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.length ? median(v) : NaN]));
    const best = Math.max(m.p1!, m.p2!);
    const f = (x: number): string => (Number.isNaN(x) ? '–' : Math.round(x).toLocaleString('en-US'));
    console.log(`| ${L}×${H} | ${f(m.o1!)} | ${f(m.o2!)} | ${f(m.p1!)} | ${f(m.p2!)} | ${Number.isNaN(best) ? '–' : (m.o2! / best).toFixed(2) + '×'} |`);
  }
}

if (args.child !== undefined) child(args.child);
else main();
