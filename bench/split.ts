// The recurrence's split, measured: batch-1 generation steps (forward, B = 1, T = 1, the state
// carried) in tokens/s on the wasm backend, one thread against two with each split: 'old'
// (batch rows, every phase in two parts: the code before the split by units), 'rows' and
// 'columns' (forced, with the call's parts from the rule), and 'auto' (planSplit's choice).
//
//   node --import tsx bench/split.ts                          # 2x512 and 1x1024, V = 65
//   node --import tsx bench/split.ts --configs 1x256 --seconds 1 --repeats 3
//
// Settings run interleaved, repeat by repeat, so that the machine's load affects all alike;
// the median of the repeats is printed, with the load average.
import os from 'node:os';
import { parseArgs } from 'node:util';
import { LSTMLanguageModel } from '../src/index.js';
import { SPLIT_RULE } from '../src/lstm/runner.js';
import { nodeWorkerFactory } from '../node/index.js';
import { median } from './lib/timing.js';

const { values: args } = parseArgs({
  options: {
    configs: { type: 'string', default: '2x512,1x1024' },
    vocab: { type: 'string', default: '65' },
    seconds: { type: 'string', default: '1.5' },
    repeats: { type: 'string', default: '5' },
    batch: { type: 'string', default: '1' },
  },
});
const V = Number(args.vocab), seconds = Number(args.seconds), repeats = Number(args.repeats), B = Number(args.batch);

type Setting = { name: string; threads: number; force: 'auto' | 'rows' | 'columns'; parts: number };
const SETTINGS: Setting[] = [
  { name: '1 thread', threads: 1, force: 'auto', parts: 0 },
  { name: '2 threads, old (rows, 2 parts)', threads: 2, force: 'rows', parts: 2 },
  { name: '2 threads, rows (rule parts)', threads: 2, force: 'rows', parts: 0 },
  { name: '2 threads, columns', threads: 2, force: 'columns', parts: 0 },
  { name: '2 threads, columns, 2 parts', threads: 2, force: 'columns', parts: 2 },
  { name: '2 threads, auto', threads: 2, force: 'auto', parts: 0 },
];

async function main(): Promise<void> {
  console.log(`node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model}), load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (const config of args.configs.split(',')) {
    const [L, H] = config.split('x').map(Number) as [number, number];
    const models = SETTINGS.map((s) => new LSTMLanguageModel({
      vocabSize: V, numHiddens: H, numLayers: L, seed: 1, backend: 'wasm', threads: s.threads, createWorker: nodeWorkerFactory,
    }));
    await new Promise((resolve) => setTimeout(resolve, 500)); // workers up
    const rates: number[][] = SETTINGS.map(() => []);
    const step = (i: number): number => {
      const s = SETTINGS[i]!;
      SPLIT_RULE.force = s.force;
      SPLIT_RULE.forceParts = s.parts;
      const model = models[i]!, state = model.initState(B);
      const X = Array.from({ length: B }, () => [1]);
      let n = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < seconds * 1000) {
        for (let k = 0; k < 10; k++) { X[0]![0] = (n + k) % V; model.forward(X, state); }
        n += 10;
      }
      return (n * B) / ((performance.now() - t0) / 1000);
    };
    for (let i = 0; i < SETTINGS.length; i++) step(i); // warm-up
    for (let r = 0; r < repeats; r++) for (let i = 0; i < SETTINGS.length; i++) rates[i]!.push(step(i));
    console.log(`\n${L}×${H}, V ${V}, B ${B}: tokens/s (median of ${repeats} × ${seconds} s), load ${os.loadavg()[0]!.toFixed(2)}`);
    for (let i = 0; i < SETTINGS.length; i++) console.log(`  ${SETTINGS[i]!.name.padEnd(34)} ${median(rates[i]!).toFixed(0).padStart(8)}`);
    for (const m of models) m.dispose();
  }
  SPLIT_RULE.force = 'auto';
  SPLIT_RULE.forceParts = 0;
}
await main();
