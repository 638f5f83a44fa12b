// Training throughput of the webgpu backend against wasm on this machine, in one run.
//
// On a real GPU (Linux, Windows or macOS; Node ≥ 20):
//
//   npm i webgpu                           # Dawn for Node (already a dev dependency here)
//   unset VK_ICD_FILENAMES                 # let Vulkan find the GPU's own driver, not SwiftShader
//   node --import tsx bench/webgpu.ts      # the three shapes, 20 timed steps each
//   node --import tsx bench/webgpu.ts --sizes seed --steps 50 --wasm-threads 2
//
// Without a GPU (correctness and plumbing only, never a speed claim), on SwiftShader, the
// software Vulkan that Debian's chromium package ships beside its binary:
//
//   node --import tsx bench/webgpu.ts --swiftshader --steps 2 --warmup 1 --seq 10
//
// Shapes (--sizes, comma-separated):
//   seed      1×256, V 28, B 32, T 35   (the seed's model; SGD lr 1)
//   1x256     1×256, V 28, B 64, T 100  (SGD lr 1)
//   2x512     2×512, V 65, B 64, T 100  (char-rnn's Shakespeare model without dropout; Adam lr 2e-3)
// --seq T and --batch B override every shape's T and B (say so when quoting the figures).
//
// One training step, on both backends, as fit() runs it: model.trainStepAsync (zeroGrad →
// forward and backward → the gradient's norm (no clipping threshold) → optimizer.step(), with the
// divergence checks); on webgpu all of it is queued on the GPU, and the loop keeps one step
// queued ahead of the one it reads back, as fit does. Inputs are random token ids (a fixed
// generator; speed does not depend on the text), the state carried from step to step.
// tokens/s = B·T·steps / seconds of the timed steps after untimed warm-up steps; the webgpu
// timing ends with `await model.sync()`, so that every queued dispatch has finished. Both models
// start from the same weights, and the first losses are compared (float32: ≈ 1e-6 apart).
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Adam, LSTMLanguageModel, SGD, requestGpuDevice } from '../src/index.js';
import { nodeWorkerFactory } from '../node/index.js';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: 'seed,1x256,2x512' },
    steps: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    seq: { type: 'string' },
    batch: { type: 'string' },
    'wasm-threads': { type: 'string', default: '1' },
    'no-wasm': { type: 'boolean', default: false },
    swiftshader: { type: 'boolean', default: false },
    dawn: { type: 'string' }, // Dawn toggles for create([...]), comma-separated; default: none ('backend=vulkan' with --swiftshader)
  },
});

interface Shape { name: string; L: number; H: number; V: number; B: number; T: number; optimizer: 'sgd' | 'adam' }
const SHAPES: Record<string, Shape> = {
  seed: { name: 'seed 1×256', L: 1, H: 256, V: 28, B: 32, T: 35, optimizer: 'sgd' },
  '1x256': { name: '1×256', L: 1, H: 256, V: 28, B: 64, T: 100, optimizer: 'sgd' },
  '2x512': { name: '2×512', L: 2, H: 512, V: 65, B: 64, T: 100, optimizer: 'adam' },
};

const steps = Number(args.steps), warmup = Number(args.warmup), wasmThreads = Number(args['wasm-threads']);
const shapes = args.sizes.split(',').map((s) => {
  const shape = SHAPES[s.trim()];
  if (shape === undefined) throw new RangeError(`--sizes: unknown shape '${s}' (know ${Object.keys(SHAPES).join(', ')})`);
  return { ...shape, T: args.seq === undefined ? shape.T : Number(args.seq), B: args.batch === undefined ? shape.B : Number(args.batch) };
});

// ------------------------------------------------------------------ the GPU

if (args.swiftshader) process.env.VK_ICD_FILENAMES ??= SWIFTSHADER_ICD;
const began = performance.now();
const { create } = await import('webgpu');
const toggles = args.dawn?.split(',').filter((t) => t !== '') ?? (args.swiftshader ? ['backend=vulkan'] : []);
const gpuDevice = await requestGpuDevice(create(toggles)).catch((error: Error) => {
  console.error(`${error.message}\nNo GPU adapter: on a machine without a GPU, run with --swiftshader (needs Debian's chromium and libvulkan1).`);
  process.exit(1);
});
const info = gpuDevice.adapterInfo;
const software = info.architecture === 'swiftshader' || /swiftshader|llvmpipe|lavapipe/i.test(`${info.device} ${info.description}`);

console.log(`command: node --import tsx bench/webgpu.ts ${process.argv.slice(2).join(' ')}`);
console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, Node ${process.version}`);
console.log(`GPU adapter: vendor '${info.vendor}', architecture '${info.architecture}', device '${info.device}', description '${info.description}'` +
  ` (Dawn toggles: ${toggles.length === 0 ? 'none' : toggles.join(' ')}; VK_ICD_FILENAMES ${process.env.VK_ICD_FILENAMES ?? 'unset'})`);
if (software) console.log('*** SwiftShader (software): correctness only, not a speed claim ***');
console.log(`${warmup} warm-up + ${steps} timed steps per backend; wasm on ${wasmThreads} thread(s)\n`);

// ------------------------------------------------------------------ one shape

interface Run { tokensPerSecond: number; losses: number[] }

/** Token ids from a fixed generator: `count` batches of B rows × T, as (X, Y) pairs. */
function batches(V: number, B: number, T: number, count: number): { X: Int32Array[]; Y: Int32Array[] } {
  let s = 0x9e3779b9;
  const id = (): number => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return (s >>> 8) % V; };
  const make = (): Int32Array => Int32Array.from({ length: B * T }, id);
  return { X: Array.from({ length: count }, make), Y: Array.from({ length: count }, make) };
}

function makeOptimizer(model: LSTMLanguageModel, kind: Shape['optimizer']): SGD | Adam {
  return kind === 'sgd' ? new SGD(model.parameters(), { lr: 1 }) : new Adam(model.parameters(), { lr: 2e-3 });
}

async function measure(model: LSTMLanguageModel, shape: Shape): Promise<Run> {
  const { B, T } = shape;
  const data = batches(shape.V, B, T, 4);
  const optimizer = makeOptimizer(model, shape.optimizer);
  const state = model.initState(B);
  const gpu = model.backend === 'webgpu';
  const losses: number[] = [];
  let start = 0;
  let ahead: Promise<{ loss: number }> | undefined; // webgpu: the step queued ahead of the one read
  for (let i = 0; i < warmup + steps; i++) {
    if (i === warmup) {
      if (ahead !== undefined) losses.push((await ahead).loss);
      ahead = undefined;
      if (gpu) await model.sync(); // the warm-up's work done before the clock starts
      start = performance.now();
    }
    const X = { data: data.X[i % 4]!, batchSize: B, numSteps: T };
    const Y = { data: data.Y[i % 4]!, batchSize: B, numSteps: T };
    const queued = model.trainStepAsync(X, Y, state, optimizer);
    if (!gpu) {
      losses.push((await queued).loss);
      continue;
    }
    if (ahead !== undefined) losses.push((await ahead).loss);
    ahead = queued;
  }
  if (ahead !== undefined) losses.push((await ahead).loss);
  if (gpu) await model.sync();
  const seconds = (performance.now() - start) / 1000;
  return { tokensPerSecond: (B * T * steps) / seconds, losses };
}

/** A ratio with two significant digits (SwiftShader's are far below 0.01). */
function ratioText(r: number): string {
  return r >= 10 ? r.toFixed(1) : r.toPrecision(2);
}

const rows: string[] = [];
for (const shape of shapes) {
  const { L, H, V, B, T } = shape;
  const options = { vocabSize: V, numHiddens: H, numLayers: L, init: 'pytorch' as const, seed: 0 };
  const gpuModel = new LSTMLanguageModel({ ...options, backend: 'webgpu', gpuDevice });
  const wasmModel = args['no-wasm'] ? undefined
    : new LSTMLanguageModel({ ...options, backend: 'wasm', threads: wasmThreads, createWorker: nodeWorkerFactory });
  if (wasmModel !== undefined) {
    gpuModel.flatParameters.set(wasmModel.flatParameters); // the same weights (the seeds agree too)
    gpuModel.upload();
  }
  console.log(`${shape.name}, V ${V}, B ${B}, T ${T}: trainStepAsync with ${shape.optimizer === 'sgd' ? 'SGD' : 'Adam'}`);
  const g = await measure(gpuModel, shape);
  gpuModel.dispose();
  console.log(`  webgpu ${g.tokensPerSecond.toFixed(0).padStart(9)} tokens/s   losses ${g.losses.map((l) => l.toFixed(4)).join(' ')}`);
  let ratio = '';
  if (wasmModel !== undefined) {
    const w = await measure(wasmModel, shape);
    wasmModel.dispose();
    // The first loss is the same weights on both; later ones follow each backend's own updates,
    // so float32 rounding may drift a little further apart over many steps.
    const diffs = g.losses.map((l, i) => Math.abs(l - w.losses[i]!) / w.losses[i]!);
    const later = Math.max(0, ...diffs.slice(1));
    console.log(`  wasm   ${w.tokensPerSecond.toFixed(0).padStart(9)} tokens/s   losses ${w.losses.map((l) => l.toFixed(4)).join(' ')}`);
    console.log(`  webgpu / wasm ×${ratioText(g.tokensPerSecond / w.tokensPerSecond)}; loss relative difference: first ${diffs[0]!.toExponential(1)}` +
      (diffs.length > 1 ? `, after the steps ≤ ${later.toExponential(1)}` : '') +
      (diffs[0]! > 1e-5 || later > 1e-3 ? '  *** the backends disagree ***' : ''));
    ratio = ` | ${w.tokensPerSecond.toFixed(0)} | ×${ratioText(g.tokensPerSecond / w.tokensPerSecond)}`;
  }
  rows.push(`| ${shape.name} | ${V} | ${B} | ${T} | trainStepAsync | ${g.tokensPerSecond.toFixed(0)}${ratio} |`);
}

console.log(`\n| shape | V | B | T | step | webgpu tokens/s${args['no-wasm'] ? '' : ` | wasm (${wasmThreads} thread${wasmThreads === 1 ? '' : 's'}) tokens/s | ratio`} |`);
console.log(`|---|---|---|---|---|---${args['no-wasm'] ? '' : '|---|---'}|`);
for (const r of rows) console.log(r);
console.log(`\n${((performance.now() - began) / 1000).toFixed(0)} s in all.`);
if (software) console.log('SwiftShader (software): correctness only, not a speed claim.');
gpuDevice.destroy();
