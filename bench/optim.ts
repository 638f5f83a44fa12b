// How long one optimiser step takes over a 2-layer, 512-unit character model's parameters
// (V = 65, one-hot input: 3,316,289 float32 values), as plain JS loops. A training step of
// that model at B = 64, T = 100 takes 1–3 s on the 2-core machine, so a step here below ~5%
// of that (50 ms) does not call for a WebAssembly kernel.
//
//   node --import tsx bench/optim.ts
import { Adam } from '../src/optim/adam.js';
import { AdamW } from '../src/optim/adamw.js';
import { clipGradNorm, clipGradValue } from '../src/optim/clip.js';
import type { Trainable } from '../src/optim/params.js';
import { RMSprop } from '../src/optim/rmsprop.js';
import { SGD } from '../src/optim/sgd.js';
import { Random } from '../src/tensor/random.js';
import { time } from './lib/timing.js';

const V = 65, H = 512;
// Per layer and gate: W_x (in × H), W_h (H × H), b (H); then the output layer W_hq (H × V), b_q (V).
const shapes: number[] = [];
for (const input of [V, H]) for (let g = 0; g < 4; g++) shapes.push(input * H, H * H, H);
shapes.push(H * V, V);
const rng = new Random(7);
const params: Trainable[] = shapes.map((n) => {
  const data = new Float32Array(n), grad = new Float32Array(n);
  for (let i = 0; i < n; i++) { data[i] = rng.normal() * 0.05; grad[i] = rng.normal() * 1e-3; }
  return { data, grad };
});
const total = shapes.reduce((a, n) => a + n, 0);
console.log(`${shapes.length} parameters, ${total.toLocaleString('en')} float32 values`);

const cases: [string, () => void][] = [
  ['SGD', ((o) => () => o.step())(new SGD(params, { lr: 1e-9 }))],
  ['SGD momentum 0.9, nesterov', ((o) => () => o.step())(new SGD(params, { lr: 1e-9, momentum: 0.9, nesterov: true }))],
  ['Adam', ((o) => () => o.step())(new Adam(params, { lr: 1e-9 }))],
  ['AdamW', ((o) => () => o.step())(new AdamW(params, { lr: 1e-9 }))],
  ['RMSprop', ((o) => () => o.step())(new RMSprop(params, { lr: 1e-9, alpha: 0.95 }))],
  ['RMSprop centered, momentum', ((o) => () => o.step())(new RMSprop(params, { lr: 1e-9, centered: true, momentum: 0.9 }))],
  ['clipGradNorm', () => clipGradNorm(params, 1e9)],
  ['clipGradValue', () => clipGradValue(params, 1e9)],
];
console.log('what                          ms/step   ns/value   % of a 1 s training step');
for (const [name, fn] of cases) {
  const s = time(fn, 5, 0.2);
  console.log(`${name.padEnd(28)} ${(s * 1e3).toFixed(2).padStart(8)} ${(s * 1e9 / total).toFixed(2).padStart(10)} ${(s * 100).toFixed(2).padStart(10)}%`);
}
