// How far more threads could take a training step, profiled on one thread: the step's phases
// are split as planSplit would split them for N threads, every part is run here one after the
// other and timed on its own, and the step at N threads is predicted as
//
//   serial work (between phases, on the model's thread: zeroGrad, clip, the optimiser, the
//   loss's reduction …) + Σ over phase calls of its slowest part
//
// — the critical path, with perfect hand-offs and each core as fast as this one. What it
// leaves out is what only a many-core machine shows: hand-off and barrier latency (printed
// per phase call, measured here with two threads when there are two cores), memory
// bandwidth shared by the cores, and the caches (here the parts share one core's L2; there
// each part has its own). So it is an upper bound on the speed-up, and a profile of where the
// time goes: which phases split evenly, which leave a part long, and how much stays serial.
//
//   node --import tsx bench/critical-path.ts                          # W2, H 256 and 1024, N = 2…16
//   node --import tsx bench/critical-path.ts --hidden 1024 --threads 16 --optimizer adam
//
// W2: The Time Machine (data/timemachine.txt), char tokens, B = 32, T = 35, one layer,
// gradients clipped to norm 1 — the workload of issue 14's table. Median of --repeats steps.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import {
  Adam, LSTMLanguageModel, SGD, SeqDataLoader, clipGradNorm, loadCorpus, preprocess, type Optimizer,
} from '../src/index.js';
import { Runner, SPLIT_RULE, planSplit, type Phase } from '../src/lstm/runner.js';
import { allFinite } from '../src/tensor/float-array.js';
import type { Pass } from '../src/lstm/pass.js';
import { nodeWorkerFactory } from '../node/index.js';
import { median } from './lib/timing.js';

const { values: args } = parseArgs({
  options: {
    hidden: { type: 'string', default: '256,1024' },
    threads: { type: 'string', default: '2,4,8,16' },
    optimizer: { type: 'string', default: 'sgd' },
    repeats: { type: 'string', default: '5' },
    data: { type: 'string', default: 'data/timemachine.txt' },
  },
});
const B = 32, T = 35;
const repeats = Number(args.repeats);

// ------------------------------------------------------------- the profiling runner

/** Per phase (by function name): calls, the parts' total time and the sum of each call's slowest part (ms). */
type Tally = Map<string, { calls: number; parts: number; sum: number; max: number }>;
let tally: Tally | undefined;
const original = Runner.prototype.run;
// On one thread the parts run here anyway; this times each one. (Patched on the prototype:
// the model's runner is private, and the library has no hook for this — nor should it.)
Runner.prototype.run = function profiled<C>(this: Runner<unknown>, phase: Phase<C>, ctx: C, parts = this.threads): number {
  if (tally === undefined || this.threads !== 1) return original.call(this, phase as Phase<unknown>, ctx, parts);
  let total = 0, sum = 0, max = 0;
  for (let part = 0; part < parts; part++) {
    const t0 = performance.now();
    total += phase(this.storage.kernels, ctx, part, parts);
    const ms = performance.now() - t0;
    sum += ms;
    if (ms > max) max = ms;
  }
  const entry = tally.get(phase.name) ?? { calls: 0, parts: 0, sum: 0, max: 0 };
  entry.calls++;
  entry.parts = Math.max(entry.parts, parts);
  entry.sum += sum;
  entry.max += max;
  tally.set(phase.name, entry);
  return total;
};

// ------------------------------------------------------------- the workload

const { corpus, vocab } = loadCorpus(preprocess(readFileSync(args.data, 'utf8')), { token: 'char' });
const batches = [...new SeqDataLoader(corpus, { batchSize: B, numSteps: T, seed: 0 })].slice(0, 4);

interface StepTimes { total: number; zeroGrad: number; forwardBackward: number; clip: number; step: number }

/** One training step as bench/throughput.ts times it, each piece timed (ms). */
function timedStep(model: LSTMLanguageModel, optimizer: Optimizer, i: number, state: ReturnType<LSTMLanguageModel['initState']>): StepTimes {
  const { X, Y } = batches[i % batches.length]!;
  const t0 = performance.now();
  model.zeroGrad();
  const t1 = performance.now();
  model.forwardBackward(X, Y, state);
  const t2 = performance.now();
  clipGradNorm(model.parameters(), 1);
  const t3 = performance.now();
  optimizer.step();
  const t4 = performance.now();
  return { total: t4 - t0, zeroGrad: t1 - t0, forwardBackward: t2 - t1, clip: t3 - t2, step: t4 - t3 };
}

function makeModel(H: number, threads: number): { model: LSTMLanguageModel; optimizer: Optimizer } {
  const model = new LSTMLanguageModel({
    vocabSize: vocab.size, numHiddens: H, seed: 0, backend: 'wasm', threads, createWorker: nodeWorkerFactory,
  });
  const optimizer = args.optimizer === 'adam'
    ? new Adam(model.parameters(), { lr: 1e-3 })
    : new SGD(model.parameters(), { lr: 1 });
  return { model, optimizer };
}

/** The split planSplit chooses for `threads` threads at this shape. */
function ruleAt(H: number, threads: number): { parts: number; byUnits: boolean; recurrenceParts: number } {
  const pass = { ws: { B, T }, config: { numHiddens: H, numLayers: 1 }, parts: 1, byUnits: false, recurrenceParts: 1 };
  planSplit(pass as unknown as Pass, threads);
  return pass;
}

const fmt = (ms: number): string => ms.toFixed(ms < 10 ? 2 : 1);

async function main(): Promise<void> {
  const cpu = os.cpus();
  console.log(`node ${process.version}, ${cpu.length} CPUs (${cpu[0]?.model}), load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`W2 char (V = ${vocab.size}), B = ${B}, T = ${T}, one layer, ${args.optimizer}, clipGradNorm 1; median of ${repeats} steps\n`);
  const counts = args.threads.split(',').map(Number);
  for (const H of args.hidden.split(',').map(Number)) {
    const { model, optimizer } = makeModel(H, 1);
    const state = model.initState(B);
    const measure = (): StepTimes => {
      const runs: StepTimes[] = [];
      for (let r = 0; r < repeats; r++) runs.push(timedStep(model, optimizer, r, state));
      const pick = (k: keyof StepTimes): number => median(runs.map((s) => s[k]));
      return { total: pick('total'), zeroGrad: pick('zeroGrad'), forwardBackward: pick('forwardBackward'), clip: pick('clip'), step: pick('step') };
    };
    timedStep(model, optimizer, 0, state); // warm-up
    const one = measure();
    // fit's divergence guard, not in this step: a copy of the weights before the step, a scan after.
    const before = model.flatParameters.slice();
    const guard = median(Array.from({ length: repeats }, () => {
      const t0 = performance.now();
      before.set(model.flatParameters);
      if (!allFinite(model.flatParameters)) throw new Error('non-finite weights');
      return performance.now() - t0;
    }));
    console.log(`H = ${H}: one thread ${fmt(one.total)} ms a step (${Math.round((B * T) / (one.total / 1000))} tokens/s): ` +
      `zeroGrad ${fmt(one.zeroGrad)}, forwardBackward ${fmt(one.forwardBackward)}, clip ${fmt(one.clip)}, ${args.optimizer}.step ${fmt(one.step)}; ` +
      `fit's divergence guard (not in the step) ${fmt(guard)} more`);
    const rows: string[][] = [];
    let detail = '';
    for (const n of counts) {
      const rule = ruleAt(H, n);
      SPLIT_RULE.force = rule.byUnits ? 'columns' : 'rows';
      SPLIT_RULE.forceParts = n; // every phase in n parts (the rule's own counts for n threads are ≤ n)
      const perStep: Tally[] = [];
      const totals: number[] = [];
      for (let r = 0; r < repeats; r++) {
        tally = new Map();
        totals.push(timedStep(model, optimizer, r, state).total);
        perStep.push(tally);
      }
      tally = undefined;
      SPLIT_RULE.force = 'auto';
      SPLIT_RULE.forceParts = 0;
      // The median step by total, and its phases.
      const order = totals.map((t, i) => [t, i] as const).sort((a, b) => a[0] - b[0]);
      const [total, at] = order[order.length >> 1]!;
      const phases = perStep[at]!;
      let inPhases = 0, critical = 0, calls = 0;
      for (const e of phases.values()) { inPhases += e.sum; critical += e.max; calls += e.calls; }
      const serial = total - inPhases;
      const predicted = serial + critical;
      rows.push([
        String(n), rule.byUnits ? 'units' : 'rows', fmt(total), fmt(serial), fmt(critical), String(calls),
        fmt(predicted), `${(one.total / predicted).toFixed(2)}×`, `${(100 * serial / predicted).toFixed(0)} %`,
      ]);
      if (n === counts.at(-1)) {
        detail = [...phases].sort((a, b) => b[1].sum - a[1].sum).map(([name, e]) =>
          `  ${name.padEnd(26)} ${String(e.calls).padStart(4)} calls × ${String(e.parts).padStart(2)} parts: ` +
          `all parts ${fmt(e.sum).padStart(7)} ms, slowest parts ${fmt(e.max).padStart(7)} ms ` +
          `(${(e.sum / e.max).toFixed(1)}× of ${e.parts} ideal)`).join('\n');
      }
    }
    console.log('| N | recurrence by | step in N parts, 1 thread (ms) | serial (ms) | Σ slowest parts (ms) | phase calls | predicted at N (ms) | speed-up bound | serial share |');
    console.log('|---:|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of rows) console.log(`| ${r.join(' | ')} |`);
    console.log(`\nThe phases at N = ${counts.at(-1)}:\n${detail}`);
    model.dispose();

    // With two cores, the same step on two real threads against the prediction for 2: the
    // difference is what the prediction leaves out (hand-offs, the cores' shared memory
    // bandwidth; each part's own L2, which favours the real threads) and the machine's noise.
    if (counts.includes(2) && cpu.length >= 2) {
      const two = makeModel(H, 2);
      await new Promise((resolve) => setTimeout(resolve, 300)); // workers up
      const st2 = two.model.initState(B);
      timedStep(two.model, two.optimizer, 0, st2);
      const measured = median(Array.from({ length: repeats }, (_, r) => timedStep(two.model, two.optimizer, r, st2).total));
      const predicted2 = Number(rows[counts.indexOf(2)]![6]);
      console.log(`\nTwo real threads: ${fmt(measured)} ms a step (${(one.total / measured).toFixed(2)}× one), predicted ${fmt(predicted2)} ` +
        `(${(100 * (measured / predicted2 - 1)).toFixed(0)} % off).`);
      two.model.dispose();
    }
    console.log('');
  }
}

/**
 * The cost of a hand-off: a forward of a tiny model (B = 2, T = 1, H = 8: three phases of
 * next to no work) on two threads, each phase in two parts, against one thread (µs a phase).
 */
async function handOff(): Promise<void> {
  const make = (threads: number): LSTMLanguageModel => new LSTMLanguageModel({
    vocabSize: 4, numHiddens: 8, seed: 0, backend: 'wasm', threads, createWorker: nodeWorkerFactory,
  });
  const one = make(1), two = make(2);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const X = [[1], [2]], calls = 20_000;
  const perForward = (model: LSTMLanguageModel): number => {
    const state = model.initState(2);
    for (let i = 0; i < 1000; i++) model.forward(X, state);
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) model.forward(X, state);
    return ((performance.now() - t0) * 1000) / calls;
  };
  SPLIT_RULE.forceParts = 2;
  const samples = Array.from({ length: repeats }, () => perForward(two) - perForward(one));
  SPLIT_RULE.forceParts = 0;
  console.log(`A hand-off to a worker and back (two threads, three phases a forward of next to no work): ≈ ${(median(samples) / 3).toFixed(1)} µs a phase call.`);
  one.dispose();
  two.dispose();
}

await main();
if (os.cpus().length >= 2) await handOff();
