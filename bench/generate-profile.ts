// Where the time of one generation step goes: `model.forward([[id]], state)` at batch 1
// against the same kernel calls made directly on raw exports (no model), kernel by kernel.
//
//   node --import tsx bench/generate-profile.ts [--configs 2x512,1x256] [--vocab 65]
//
// Per config (L layers × H hidden, V = 65): µs per call of
//   forward        the model's forward([[id]], state) (wasm backend), state carried
//   kernels        the kernel calls one forward makes (gather, bias, 4L + 4(L−1) products
//                  1×H×H, L cells, the output product 1×H×V and its bias), raw exports on
//                  weights laid out as the model's (each weight read once per step, as there)
//   products       only the 1×H×H products; cell; output
// and the JS overhead per call = forward − kernels. Medians of 7 timed runs (bench/lib/timing).
import os from 'node:os';
import { parseArgs } from 'node:util';
import { LSTMLanguageModel } from '../src/index.js';
import { createWasmKernels, wasmSimdSupported } from '../src/backend/wasm.js';
import { Random } from '../src/tensor/random.js';
import { time } from './lib/timing.js';

if (!wasmSimdSupported()) throw new Error('WebAssembly SIMD is not supported by this engine.');
const { values: args } = parseArgs({
  options: { configs: { type: 'string', default: '2x512,1x256' }, vocab: { type: 'string', default: '65' } },
});
const V = Number(args.vocab);

console.log(`Batch-1 forward profile, µs per token, V = ${V}, node ${process.version}, ` +
  `${os.cpus()[0]?.model ?? '?'}, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log('| L×H | forward | kernels | 1×H×H products | cells | output | gather+bias | JS overhead |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');

for (const config of args.configs.split(',')) {
  const [L, H] = config.split('x').map(Number) as [number, number];
  const model = new LSTMLanguageModel({ vocabSize: V, numHiddens: H, numLayers: L, seed: 1, backend: 'wasm', init: 'pytorch' });
  const state = model.initState(1);
  const X = [[3]];
  const fwd = time(() => { model.forward(X, state); });
  model.dispose();

  const memory = new WebAssembly.Memory({ initial: 1 + Math.ceil((4 * (8 * L * H * H + 2 * H * V + 64 * H + 4096)) / 65536) });
  const k = createWasmKernels(memory).exports;
  const heap = new Float32Array(memory.buffer);
  const rng = new Random(2);
  let top = 0;
  const alloc = (n: number, scale = 0.05): number => {
    const o = top;
    top += (n + 15) & ~15;
    for (let i = 0; i < n; i++) heap[o + i] = rng.normal() * scale;
    return 4 * o;
  };
  const ids = top; top += 16; // one id, 0
  const Wx0 = alloc(4 * V * H);
  const Wx = Array.from({ length: L - 1 }, () => [0, 1, 2, 3].map(() => alloc(H * H)));
  const Wh = Array.from({ length: L }, () => [0, 1, 2, 3].map(() => alloc(H * H)));
  const bias = alloc(4 * H);
  const Whq = alloc(H * V), bq = alloc(V);
  const gates = Array.from({ length: L }, () => alloc(4 * H));
  const hs = Array.from({ length: L }, () => alloc(2 * H, 0.5));
  const cs = Array.from({ length: L }, () => alloc(2 * H, 0.5));
  const tanhC = alloc(H), logits = alloc(V);
  const idsPtr = 4 * ids;

  const products = (): void => {
    for (let l = 0; l < L; l++) {
      if (l > 0) for (let g = 0; g < 4; g++) k.matmul(gates[l]! + 4 * g * H, hs[l - 1]! + 4 * H, Wx[l - 1]![g]!, 1, H, H, 0);
      for (let g = 0; g < 4; g++) k.matmul(gates[l]! + 4 * g * H, hs[l]!, Wh[l]![g]!, 1, H, H, 1);
    }
  };
  const cells = (): void => {
    for (let l = 0; l < L; l++) k.lstmCellForward(gates[l]!, cs[l]!, cs[l]! + 4 * H, tanhC, hs[l]! + 4 * H, H, H);
  };
  const output = (): void => {
    k.matmul(logits, hs[L - 1]! + 4 * H, Whq, 1, H, V, 0);
    k.addBias(logits, bq, 1, V);
  };
  const gatherBias = (): void => {
    for (let l = 0; l < L; l++) {
      for (let g = 0; g < 4; g++) {
        if (l === 0) k.gatherRows(gates[0]! + 4 * g * H, Wx0 + 4 * g * V * H, idsPtr, 1, 1, H, 0);
        k.addBias(gates[l]! + 4 * g * H, bias + 4 * g * H, 1, H);
      }
    }
  };
  const all = (): void => { gatherBias(); products(); cells(); output(); };
  const [tAll, tProd, tCell, tOut, tGb] = [all, products, cells, output, gatherBias].map((fn) => time(fn));
  const us = (s: number): string => (s * 1e6).toFixed(1);
  console.log(`| ${L}×${H} | ${us(fwd)} | ${us(tAll!)} | ${us(tProd!)} | ${us(tCell!)} | ${us(tOut!)} | ${us(tGb!)} | ${us(fwd - tAll!)} |`);
}
