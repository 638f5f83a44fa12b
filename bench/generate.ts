// Generation speed, tokens/s at batch 1, ours (js, wasm, and wasm on two threads) against PyTorch's
// nn.LSTM stepped one token at a time (bench/pytorch_generate.py, one thread), in one run.
//
//   node --import tsx bench/generate.ts                       # 1×256 and 2×512, V = 65
//   node --import tsx bench/generate.ts --configs 1x256,1x512 --tokens 500 --repeats 3
//   node --import tsx bench/generate.ts --backends wasm,wasm-2t,wasm-4t     # wasm-Nt: N threads
//
// Ours: generate(model, vocab, { prompt: 'ROMEO:', maxTokens, temperature: 0.8, seed }) on an
// untrained model (speed does not depend on the weights): one warm-up forward call over the
// prompt, then one forward call and one draw per token. tokens/s = maxTokens / seconds of the
// call, median of the repeats after one untimed warm-up call. PyTorch does the same loop
// (one-hot input, softmax at 0.8, torch.multinomial, no_grad). Configs run in order, each with
// our backends then PyTorch, so a noisy machine affects neighbours alike.
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LSTMLanguageModel, Vocab, generate } from '../src/index.js';
import { nodeWorkerFactory } from '../node/index.js';
import { median } from './lib/timing.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    configs: { type: 'string', default: '1x256,2x512' },
    vocab: { type: 'string', default: '65' },
    tokens: { type: 'string', default: '1000' },
    repeats: { type: 'string', default: '5' },
    backends: { type: 'string', default: 'js,wasm,wasm-2t' },
    'no-pytorch': { type: 'boolean', default: false },
  },
});

const V = Number(args.vocab), tokens = Number(args.tokens), repeats = Number(args.repeats);

// A V-token character vocabulary (tinyshakespeare has 65 characters; '<unk>' is one of V here).
const chars = [...'\n !$&\',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'].slice(0, V - 1);
const vocab = new Vocab(chars, { level: 'char' });
if (vocab.size !== V) throw new Error(`the vocabulary has ${vocab.size} tokens, not ${V}`);

/** `backend`: js, wasm, or wasm-Nt (N threads). */
function ours(backend: string, L: number, H: number): { rate: number; note: string } {
  const [kernels, tag] = backend.split('-') as ['js' | 'wasm', string | undefined];
  const threads = tag === undefined ? 1 : Number.parseInt(tag, 10);
  const options = { vocabSize: V, numHiddens: H, numLayers: L, seed: 1, backend: kernels, threads, createWorker: nodeWorkerFactory };
  const model = new LSTMLanguageModel(options);
  const layers = (model as { numLayers?: number }).numLayers ?? 1;
  const run = (n: number) => generate(model, vocab, { prompt: 'ROMEO:', maxTokens: n, temperature: 0.8, seed: 3 });
  run(Math.min(200, tokens)); // warm-up: JIT, workspace shapes
  const rates: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    run(tokens);
    rates.push(tokens / ((performance.now() - t0) / 1000));
  }
  model.dispose();
  return { rate: median(rates), note: layers === L ? '' : ` (numLayers unavailable: ran ${layers} layer)` };
}

function pytorch(L: number, H: number): number | undefined {
  const out = spawnSync('/usr/bin/python3', [resolve(here, 'pytorch_generate.py'), '--hidden', String(H), '--layers', String(L),
    '--vocab', String(V), '--tokens', String(tokens), '--repeats', String(repeats)], {
    encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
  });
  if (out.status !== 0) {
    console.error(`PyTorch failed: ${out.stderr.trim().split('\n').at(-1)}`);
    return undefined;
  }
  return median(JSON.parse(out.stdout.trim().split('\n').at(-1)!).tokensPerSecond as number[]);
}

console.log(`Generation at batch 1, tokens/s (median of ${repeats} × ${tokens} tokens), V = ${V}, ` +
  `node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores`);
console.log('| layers × H | backend | ours tokens/s | PyTorch tokens/s | ours / PyTorch |');
console.log('|---|---|---:|---:|---:|');
for (const config of args.configs.split(',')) {
  const [L, H] = config.split('x').map(Number) as [number, number];
  const results = args.backends.split(',').map((b) => [b, ours(b, L, H)] as const);
  const torch = args['no-pytorch'] ? undefined : pytorch(L, H);
  for (const [backend, { rate, note }] of results) {
    const ratio = torch === undefined ? '–' : `${(rate / torch).toFixed(2)}×`;
    console.log(`| ${L}×${H}${note} | ${backend} | ${rate.toFixed(0)} | ${torch?.toFixed(0) ?? '–'} | ${ratio} |`);
  }
}
