// The built library in a real browser: Debian's Chromium, headless, driven by playwright-core.
//
//   npm run test:browser          # builds dist/, then runs this
//   node --import tsx test-browser/run.ts
//
// Serves dist/ and test-browser/ from a local server with COOP/COEP headers (so the page is
// cross-origin isolated and has SharedArrayBuffer), opens page.html, and checks what page.js
// reports: backend 'auto' before and after preloadWasm(), the "I love cat" mission on js and
// wasm, two threads (Blob-URL workers) against one, throughput at H = 256, and the library in
// a dedicated module worker; then the playground page (examples/playground/): ~10 s of
// training, the loss falls, a sample streams, a checkpoint saved, reset and loaded back, and a
// screenshot in out/browser/playground.png; then its WebGPU choice: a Tiny model trains a few
// steps on SwiftShader, samples, saves (out/browser/playground-webgpu.png) (`--library-only`
// skips the playground, `--playground-only` runs only it). Exits 1 on any failed
// check, page error or console error.
//
// WebGPU: Chromium is launched with WebGPU on SwiftShader, its software Vulkan (the flags in
// WEBGPU_FLAGS; they leave the other checks as they were), and the page and the module worker
// check the webgpu backend against wasm on the same weights: forwardAsync's logits, two
// forwardBackwardAsync calls' losses, final state, state gradient and, after sync(), every
// parameter's gradient. Then training on the GPU (h): 20 Adam steps with clipNorm and a carried
// state through trainStepAsync against the same steps on wasm (losses and gradient norms per
// step, and after sync() the weights, Adam's moments and the state); fit() with validation on
// a webgpu model; greedy generateStream and Generator.nextAsync on it against wasm with its weights.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const TIMEOUT_MS = 180_000;

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

// ------------------------------------------------------------------ server

async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const headers = {
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
    'Cache-Control': 'no-store',
  };
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const relative = path === '/' ? 'test-browser/page.html' : decodeURIComponent(path.slice(1));
  const file = resolve(root, relative);
  const allowed = [resolve(root, 'dist'), resolve(root, 'test-browser'), resolve(root, 'examples', 'playground')]
    .some((d) => file.startsWith(d + sep)) || file === resolve(root, 'data', 'timemachine.txt');
  const type = CONTENT_TYPES[extname(file)];
  if (!allowed || type === undefined) {
    res.writeHead(404, headers).end();
    return;
  }
  try {
    const body = await readFile(file);
    res.writeHead(200, { ...headers, 'Content-Type': type }).end(body);
  } catch {
    res.writeHead(404, headers).end();
  }
}

// ------------------------------------------------------------------ checks

interface Attempt<T> { ok: boolean; value?: T; error?: string }
interface Mission { backend: string; threads: number; losses: number[]; perplexity: number; prediction: string }
interface Throughput { backend: string; threads: number; hidden: number; tokensPerSecond: number; losses: number[] }
interface Results {
  fatal?: string;
  userAgent: string;
  crossOriginIsolated: boolean;
  sharedArrayBuffer: boolean;
  hardwareConcurrency: number;
  wasmSimd: boolean;
  syncCompile: Record<string, Attempt<string>>;
  simulatedRefusal: { auto: Attempt<string>; wasm: Attempt<string> };
  autoBeforePreload: Attempt<string>;
  preload: Attempt<boolean>;
  autoAfterPreload: Attempt<string>;
  js: Attempt<Mission>;
  wasm: Attempt<Mission>;
  threadedModel: Attempt<{ threads: number; workers: number; schemes: string[]; ready: number; errors: string[] }>;
  wasmThreads2: Attempt<Mission>;
  throughput1: Attempt<Throughput>[];
  throughput2: Attempt<Throughput>[];
  moduleWorker: Attempt<{ crossOriginIsolated: boolean; auto: Attempt<Mission>; wasmThreads2: Attempt<Mission>; webgpu: Attempt<WebGpuCase> }>;
  allWorkerErrors: string[];
  fit: Attempt<FitCase>;
  webgpu: Attempt<Record<string, Attempt<WebGpuCase>>>;
  webgpuTraining: Attempt<WebGpuTraining>;
  webgpuFit: Attempt<WebGpuFit>;
}
interface TrainingSide {
  backend: string; losses: number[]; gradNorms: number[]; stepped: boolean[]; state: number[];
  params: Record<string, number[]>; expAvg: number[]; expAvgSq: number[]; adamSteps: number;
}
interface WebGpuTraining {
  clipNorm: number; lr: number; B: number; T: number; staleBeforeSync: boolean; gpuMs: number; totalMs: number;
  reference: TrainingSide; webgpu: TrainingSide;
}
interface WebGpuFit {
  backend: string; stopReason: string; steps: number; hostStale: boolean; untrained: number;
  evaluations: { step: number; loss: number }[]; losses: number[]; fitMs: number; prompt: string; maxTokens: number; generateMs: number;
  webgpu: { pieces: string[]; session: string };
  wasm: { pieces: string[]; session: string; generate: string };
}
interface WebGpuSide {
  logits: number[]; forwardH: number[]; forwardC: number[]; losses: number[]; h: number[]; c: number[];
  dh0: number[]; dc0: number[]; grads: Record<string, number[]>;
}
interface WebGpuCase {
  backends: string[];
  adapter: { vendor?: string; architecture?: string; device?: string; description?: string };
  synchronous: string;
  reference: WebGpuSide;
  webgpu: WebGpuSide;
}
interface FitCase {
  backend: string; stopReason: string; steps: number; evaluations: number; elapsedMs: number; longestStepMs: number;
  ticks: number; firstLoss: number; lastLoss: number; limitedStopReason: string; limitedMs: number;
}

const failures: string[] = [];
function check(ok: boolean, what: string): void {
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
}

/** The value of a successful attempt; a failed one is a failure, reported with its error. */
function got<T>(name: string, a: Attempt<T> | undefined): T | undefined {
  if (a?.ok) return a.value;
  check(false, `${name} threw: ${a?.error ?? 'no result'}`);
  return undefined;
}

function maxRelativeDiff(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) return Infinity;
  return Math.max(0, ...a.map((x, i) => Math.abs(x - b[i]!) / Math.max(Math.abs(x), 1e-30)));
}

/** max |actual − expected| / max |expected|: the float32 tolerance of the golden tests is relative to each array's scale. */
function scaledDiff(actual: readonly number[], expected: readonly number[]): number {
  if (actual.length !== expected.length) return Infinity;
  const scale = Math.max(1e-30, ...expected.map(Math.abs));
  return Math.max(0, ...actual.map((x, i) => Math.abs(x - expected[i]!) / scale));
}

const WEBGPU_REL = 2e-5;

/** A webgpu case: every array of the webgpu side within WEBGPU_REL of wasm's, scaled by wasm's largest value. */
function checkWebGpu(name: string, w: WebGpuCase | undefined): void {
  if (w === undefined) return;
  const { reference: ref, webgpu: gpu } = w;
  check(w.backends[0] === 'wasm' && w.backends[1] === 'webgpu', `${name}: backends ${w.backends.join(' vs ')}`);
  const arrays: [string, number[], number[]][] = [
    ['forwardAsync logits', gpu.logits, ref.logits],
    ['forwardAsync final h, c', [...gpu.forwardH, ...gpu.forwardC], [...ref.forwardH, ...ref.forwardC]],
    ['forwardBackwardAsync final h, c', [...gpu.h, ...gpu.c], [...ref.h, ...ref.c]],
    ['state gradient dh0, dc0', [...gpu.dh0, ...gpu.dc0], [...ref.dh0, ...ref.dc0]],
  ];
  const names = Object.keys(ref.grads);
  check(names.length > 0 && names.join() === Object.keys(gpu.grads).join(), `${name}: the same ${names.length} parameters`);
  let worstName = '', worst = 0, zero = 0;
  for (const p of names) {
    const d = scaledDiff(gpu.grads[p] ?? [], ref.grads[p]!);
    if (!(d <= worst)) { worst = d; worstName = p; }
    if (ref.grads[p]!.every((x) => x === 0)) zero++;
  }
  const lossDiff = scaledDiff(gpu.losses, ref.losses);
  check(lossDiff <= WEBGPU_REL, `${name}: losses ${gpu.losses.map((l) => l.toFixed(6)).join(', ')} vs wasm ${ref.losses.map((l) => l.toFixed(6)).join(', ')} (${lossDiff.toExponential(2)})`);
  for (const [what, a, e] of arrays) {
    const d = scaledDiff(a, e);
    check(d <= WEBGPU_REL, `${name}: ${what}, ${e.length} values: ${d.toExponential(2)} ≤ ${WEBGPU_REL}`);
  }
  check(zero === 0, `${name}: no parameter's wasm gradient is all zeros (${zero})`);
  check(worst <= WEBGPU_REL, `${name}: gradients after sync() (accumulated over two calls), ${names.length} parameters: worst ${worst.toExponential(2)} (${worstName}) ≤ ${WEBGPU_REL}`);
  check(/^TypeError: .*forwardAsync/.test(w.synchronous), `${name}: synchronous forward() on webgpu: ${w.synchronous}`);
}

// Training on the GPU against wasm, float32. One step's loss and gradient norm are sums of
// the same products in another order (the GPU's tiled fma sums, its two-pass norm): they agree
// to a few float32 ulps (the forward/backward cases above: ≤ 7e-7 of each array's scale), and
// 20 steps compound that, through the weights, to ~1e-6: 1e-5 allowed. The weights and Adam's
// moments after sync() get 1e-4 of each array's scale, as the Node test (test/webgpu/train.test.ts):
// Adam divides m by √v + ε, so where a gradient is near zero a float32 difference in it
// becomes a difference of up to lr in that weight's update; the carried state follows the
// weights, and gets the same 1e-4.
const TRAIN_STEP_REL = 1e-5;
const TRAIN_WEIGHTS_REL = 1e-4;

function checkWebGpuTraining(t: WebGpuTraining): void {
  const { reference: ref, webgpu: gpu } = t;
  const n = ref.losses.length;
  console.log(`  2×16, embedding 8, dropout 0.2, B ${t.B} × T ${t.T}, Adam lr ${t.lr}, clipNorm ${t.clipNorm}, a carried state: ` +
    `${n} GPU steps in ${t.gpuMs.toFixed(0)} ms (${(t.gpuMs / n).toFixed(0)} ms a step; both sides ${t.totalMs.toFixed(0)} ms)`);
  check(ref.backend === 'wasm' && gpu.backend === 'webgpu', `backends ${ref.backend} vs ${gpu.backend}`);
  check(n === 20 && gpu.losses.length === n, `${gpu.losses.length} webgpu steps, ${n} wasm steps`);
  check([...ref.stepped, ...gpu.stepped].every((x) => x), 'every step taken on both (stepped: true)');
  const clipped = ref.gradNorms.filter((g) => g > t.clipNorm).length;
  check(clipped > 0 && clipped < n, `clipping bit on ${clipped} of ${n} steps (wasm gradient norms ${Math.min(...ref.gradNorms).toFixed(3)}…${Math.max(...ref.gradNorms).toFixed(3)})`);
  const perStep = (a: number[], e: number[]): number => Math.max(0, ...a.map((x, i) => Math.abs(x - e[i]!) / Math.abs(e[i]!)));
  const dl = perStep(gpu.losses, ref.losses), dg = perStep(gpu.gradNorms, ref.gradNorms);
  console.log(`  losses  webgpu ${gpu.losses.map((l) => l.toFixed(4)).join(' ')}`);
  console.log(`          wasm   ${ref.losses.map((l) => l.toFixed(4)).join(' ')}`);
  check(dl <= TRAIN_STEP_REL, `losses per step: worst relative difference ${dl.toExponential(2)} ≤ ${TRAIN_STEP_REL}`);
  check(dg <= TRAIN_STEP_REL, `gradient norms per step: worst relative difference ${dg.toExponential(2)} ≤ ${TRAIN_STEP_REL}`);
  check(ref.losses.slice(-5).reduce((a, b) => a + b) < ref.losses.slice(0, 5).reduce((a, b) => a + b), 'the loss fell over the 20 steps (mean of the last 5 < first 5)');
  check(t.staleBeforeSync, 'hostStale after GPU steps, before sync()');
  const names = Object.keys(ref.params);
  check(names.length > 0 && names.join() === Object.keys(gpu.params).join(), `the same ${names.length} parameters`);
  let worst = 0, worstName = '';
  for (const p of names) {
    const d = scaledDiff(gpu.params[p] ?? [], ref.params[p]!);
    if (!(d <= worst)) { worst = d; worstName = p; }
  }
  check(worst <= TRAIN_WEIGHTS_REL, `weights after sync(), ${names.length} parameters: worst ${worst.toExponential(2)} (${worstName}) ≤ ${TRAIN_WEIGHTS_REL} of the parameter's largest |value|`);
  const dm = scaledDiff(gpu.expAvg, ref.expAvg), dv = scaledDiff(gpu.expAvgSq, ref.expAvgSq), ds = scaledDiff(gpu.state, ref.state);
  check(gpu.adamSteps === n && ref.adamSteps === n, `Adam step counts ${gpu.adamSteps} and ${ref.adamSteps}`);
  check(dm <= TRAIN_WEIGHTS_REL && dv <= TRAIN_WEIGHTS_REL, `Adam's moments after sync(), ${ref.expAvg.length} values each: m ${dm.toExponential(2)}, v ${dv.toExponential(2)} ≤ ${TRAIN_WEIGHTS_REL}`);
  check(ds <= TRAIN_WEIGHTS_REL, `carried state after ${n} steps, ${ref.state.length} values: ${ds.toExponential(2)} ≤ ${TRAIN_WEIGHTS_REL}`);
}

function checkWebGpuFit(f: WebGpuFit): void {
  const evals = f.evaluations.map((e) => `${e.step}: ${e.loss.toFixed(3)}`).join(', ');
  console.log(`  fit on webgpu, 1×32, maxSteps ${f.steps}: ${f.fitMs.toFixed(0)} ms; validation untrained ${f.untrained.toFixed(3)}, then ${evals}`);
  check(f.backend === 'webgpu' && f.stopReason === 'maxSteps' && f.steps === f.losses.length && f.steps >= 20, `fit(): '${f.stopReason}' after ${f.steps} steps on ${f.backend}`);
  check(f.evaluations.length >= 3, `${f.evaluations.length} validation runs`);
  const last = f.evaluations.at(-1)?.loss ?? Infinity;
  check(last < f.untrained - 0.3, `validation loss fell: ${f.untrained.toFixed(3)} (untrained) → ${last.toFixed(3)}`);
  check(!f.hostStale, 'fit() left the host copy synced (hostStale false)');
  const text = f.webgpu.pieces.join('');
  console.log(`  greedy (temperature 0) ${JSON.stringify(f.prompt)} + ${JSON.stringify(text)}  (webgpu generateStream, ${f.generateMs.toFixed(0)} ms)`);
  check(f.webgpu.pieces.length === f.maxTokens, `generateStream on webgpu streamed ${f.webgpu.pieces.length} pieces (one a token)`);
  check(new Set(text).size >= 4, `the greedy text is not one repeated character (${new Set(text).size} distinct)`);
  check(text === f.wasm.pieces.join(''), 'webgpu generateStream = wasm generateStream (the same weights, greedy)');
  check(text === f.wasm.generate, 'webgpu generateStream = wasm generate()');
  check(f.webgpu.session === text && f.wasm.session === text, 'Generator.nextAsync (greedy), webgpu and wasm, gives the same text');
}

function checkMission(name: string, m: Mission | undefined, backend: string): void {
  if (m === undefined) return;
  check(m.backend === backend, `${name}: backend ${m.backend} (want ${backend}), threads ${m.threads}`);
  check(m.perplexity < 1.1, `${name}: final perplexity ${m.perplexity.toFixed(4)} < 1.1`);
  check(m.prediction === 'I love cat', `${name}: predict(['I','love'], 1) → '${m.prediction}'`);
}

function report(r: Results): void {
  console.log(`\n${r.userAgent}`);
  console.log(`hardwareConcurrency ${r.hardwareConcurrency}, wasm SIMD ${r.wasmSimd}\n`);
  check(r.crossOriginIsolated === true, `page crossOriginIsolated = ${r.crossOriginIsolated}`);
  check(r.sharedArrayBuffer, `SharedArrayBuffer available = ${r.sharedArrayBuffer}`);

  console.log('\n(a) backend selection on the main thread');
  const sync = Object.entries(r.syncCompile).map(([size, a]) => `${size} ${a.ok ? 'allowed' : `refused (${a.error})`}`);
  console.log(`  synchronous new WebAssembly.Module() on the main thread: ${sync.join(', ')}`);
  const refused = got('auto under a simulated refusal', r.simulatedRefusal.auto);
  check(refused === 'js', `auto when synchronous compilation is refused (simulated): model.backend = '${refused}'`);
  const explicit = r.simulatedRefusal.wasm;
  console.log(`  explicit 'wasm' when refused (simulated): ${explicit.ok ? `model.backend = '${explicit.value}'` : `throws ${explicit.error}`}`);
  const before = got('auto before preloadWasm()', r.autoBeforePreload);
  if (before !== undefined) {
    check(before === 'js' || before === 'wasm', `auto before preloadWasm(): model.backend = '${before}' (did not throw)`);
  }
  const preloaded = got('preloadWasm()', r.preload);
  check(preloaded === true, `preloadWasm() resolved ${preloaded}`);
  const after = got('auto after preloadWasm()', r.autoAfterPreload);
  check(after === 'wasm', `auto after preloadWasm(): model.backend = '${after}'`);

  console.log('\n(b) "I love cat", H = 16, 10 epochs');
  checkMission('js', got('js mission', r.js), 'js');
  const wasm = got('wasm mission', r.wasm);
  checkMission('wasm', wasm, 'wasm');

  console.log('\n(c) threads: 2 (default factory: Blob-URL web workers)');
  const tm = got('threaded model', r.threadedModel);
  if (tm !== undefined) {
    check(tm.threads === 2, `model.threads = ${tm.threads}`);
    check(tm.workers === 1 && tm.schemes.every((s) => s === 'blob'), `workers made: ${tm.workers} (${tm.schemes.join(', ')} URL)`);
    check(tm.ready === tm.workers, `workers ready after 300 ms: ${tm.ready}/${tm.workers}`);
    check(tm.errors.length === 0, `worker error events: ${tm.errors.length === 0 ? 'none' : tm.errors.join('; ')}`);
  }
  const threaded = got('wasm mission, 2 threads', r.wasmThreads2);
  checkMission('wasm, 2 threads', threaded, 'wasm');
  if (threaded !== undefined && wasm !== undefined) {
    check(threaded.threads === 2, `mission model.threads = ${threaded.threads}`);
    const d = maxRelativeDiff(wasm.losses, threaded.losses);
    check(d <= 1e-5, `epoch losses, 2 threads vs 1: max relative difference ${d.toExponential(2)} (≤ 1e-5)`);
  }
  const t1 = r.throughput1.map((a, i) => got(`throughput, 1 thread, run ${i + 1}`, a));
  const t2 = r.throughput2.map((a, i) => got(`throughput, 2 threads, run ${i + 1}`, a));
  if (t1.every((t) => t !== undefined) && t2.every((t) => t !== undefined)) {
    check(t2.every((t) => t.threads === 2), `throughput model.threads = ${t2.map((t) => t.threads).join(', ')}`);
    const d = Math.max(...[...t1, ...t2].map((t) => maxRelativeDiff(t1[0]!.losses, t.losses)));
    check(d <= 1e-5, `H = 256 batch losses, 2 threads vs 1: max relative difference ${d.toExponential(2)} (≤ 1e-5)`);
    const tps = (ts: Throughput[]): string => ts.map((t) => Math.round(t.tokensPerSecond)).join(' / ');
    const best = (ts: Throughput[]): number => Math.max(...ts.map((t) => t.tokensPerSecond));
    console.log(`  tokens/s at H = 256, B = 32, T = 35, 20 timed batches (wasm), 3 interleaved runs:`);
    console.log(`    1 thread  ${tps(t1)}`);
    console.log(`    2 threads ${tps(t2)}   best-of-3 ratio ×${(best(t2) / best(t1)).toFixed(2)}`);
  }

  console.log('\n(d) inside a dedicated module worker');
  const w = got('module worker', r.moduleWorker);
  if (w !== undefined) {
    check(w.crossOriginIsolated === true, `worker crossOriginIsolated = ${w.crossOriginIsolated}`);
    checkMission('worker, auto', got('worker, auto', w.auto), 'wasm');
    const wt = got('worker, wasm, 2 threads', w.wasmThreads2);
    checkMission('worker, wasm, 2 threads', wt, 'wasm');
    if (wt !== undefined) check(wt.threads === 2, `worker mission model.threads = ${wt.threads}`);
  }
  if (w !== undefined) checkWebGpu('worker, webgpu', got('worker, webgpu', w.webgpu));
  check(r.allWorkerErrors.length === 0, `worker error events overall: ${r.allWorkerErrors.length}`);

  console.log('\n(e) fit(): asynchronous training on the main thread, AbortSignal.timeout(400), a 10 ms interval');
  const f = got('fit', r.fit);
  if (f !== undefined) {
    console.log(`  ${f.backend}: ${f.steps} steps, ${f.evaluations} evaluations in ${f.elapsedMs.toFixed(0)} ms; longest step ${f.longestStepMs.toFixed(1)} ms; ${f.ticks} ticks; loss ${f.firstLoss.toFixed(3)} → ${f.lastLoss.toFixed(3)}`);
    check(f.stopReason === 'aborted', `stopReason '${f.stopReason}' (want 'aborted')`);
    check(f.steps > 2 && f.evaluations >= 1, `trained ${f.steps} steps with ${f.evaluations} evaluations`);
    check(f.elapsedMs < 400 + 2 * f.longestStepMs + 200, `stopped ${f.elapsedMs.toFixed(0)} ms after start (timeout 400 ms, within two steps + 200 ms)`);
    check(f.ticks >= f.elapsedMs / 10 / 4, `interval ran ${f.ticks} times in ${f.elapsedMs.toFixed(0)} ms (≥ a quarter of the 10 ms ticks)`);
    check(f.limitedStopReason === 'timeLimit' && f.limitedMs < 200 + 2 * f.longestStepMs + 200, `timeLimit 0.2 s: '${f.limitedStopReason}' after ${f.limitedMs.toFixed(0)} ms`);
  }

  console.log('\n(g) webgpu (SwiftShader) against wasm on the same weights, float32: each array within 2e-5 of wasm\'s largest |value|');
  const gpuCases = got('webgpu', r.webgpu);
  if (gpuCases !== undefined) {
    const adapters = new Set(Object.values(gpuCases).filter((a) => a.ok).map((a) => JSON.stringify(a.value!.adapter)));
    console.log(`  adapter: ${[...adapters].join('; ')}`);
    check(Object.keys(gpuCases).length > 0, `${Object.keys(gpuCases).length} webgpu cases ran`);
    for (const [name, a] of Object.entries(gpuCases)) checkWebGpu(name, got(`webgpu ${name}`, a));
  }

  console.log('\n(h) webgpu training (SwiftShader): 20 trainStepAsync steps against wasm; fit(); greedy generateStream');
  const tr = got('webgpu trainStepAsync ×20', r.webgpuTraining);
  if (tr !== undefined) checkWebGpuTraining(tr);
  const gf = got('webgpu fit + generateStream', r.webgpuFit);
  if (gf !== undefined) checkWebGpuFit(gf);

  console.log('\nper-epoch perplexities');
  for (const [name, a] of [['js', r.js], ['wasm', r.wasm], ['wasm ×2', r.wasmThreads2]] as const) {
    if (a.ok) console.log(`  ${name.padEnd(8)} ${a.value!.losses.map((l) => Math.exp(l).toFixed(3)).join(' ')}`);
  }
}

// ------------------------------------------------------------------ the playground

interface PlaygroundState {
  ready: boolean; training: boolean; loaded: number; samples: number; sampleText: string; longestSample: string; saved: number | null; errors: string[];
  speed: number; vocabSize: number; gpu: { available: boolean; adapter?: string; reason?: string } | null;
  model: { step: number; layers: number; hidden: number; backend: string; threads: number; vocabSize: number; adapter: string | null } | null;
  curves: { trainSteps: number[]; trainLoss: number[]; valSteps: number[]; valLoss: number[] };
}
const SCREENSHOT = resolve(root, 'out', 'browser', 'playground.png');
const SCREENSHOT_WEBGPU = resolve(root, 'out', 'browser', 'playground-webgpu.png');

/** examples/playground/: train ~10 s, the loss falls, a sample streams, save, reset, load the file back. */
async function playground(browser: Browser, origin: string, problems: string[]): Promise<void> {
  console.log('\n(f) the playground page (examples/playground/)');
  const page = await browser.newPage({ acceptDownloads: true, viewport: { width: 1280, height: 960 } });
  watch(page, problems, 'playground');
  const read = (): Promise<PlaygroundState> => page.evaluate(() => (globalThis as unknown as { __playground: PlaygroundState }).__playground);
  const waitFor = (test: string, timeout = 60_000): Promise<unknown> =>
    page.waitForFunction(`(() => { const s = globalThis.__playground; return ${test}; })()`, undefined, { timeout });
  await page.goto(`${origin}/examples/playground/index.html`);
  await waitFor('s?.ready && s.vocabSize > 50');
  check(true, `page ready, The Time Machine preloaded (${(await read()).vocabSize} tokens with <unk>)`);
  await page.click('#train');
  await waitFor('s.training && s.curves.trainLoss.length > 0');
  await page.waitForTimeout(10_000);
  await waitFor('s.samples > 0 && s.sampleText.length >= 20 && s.curves.valLoss.length >= 3', 30_000);
  await page.click('#train'); // pause
  await waitFor('!s.training');
  const trained = await read();
  const { trainLoss, valLoss } = trained.curves;
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = mean(trainLoss.slice(0, 5)), last = mean(trainLoss.slice(-10));
  const m = trained.model!;
  console.log(`  ${m.layers}×${m.hidden} on ${m.backend} × ${m.threads}: ${m.step} steps in ~10 s, ${Math.round(trained.speed)} chars/s`);
  check(last < first - 0.5, `training loss fell: ${first.toFixed(3)} → ${last.toFixed(3)}`);
  check(valLoss.length >= 3 && valLoss[valLoss.length - 1]! < valLoss[0]! - 0.3,
    `validation loss fell: ${valLoss[0]!.toFixed(3)} → ${valLoss[valLoss.length - 1]!.toFixed(3)} (${valLoss.length} evaluations)`);
  check(trained.longestSample.length >= 20, `a sample streamed: ${JSON.stringify(trained.longestSample.slice(-60))}`);
  const drawn = await page.evaluate(() => document.querySelectorAll('#chart path').length);
  check(drawn >= 3, `loss chart drawn (${drawn} SVG paths)`);
  await mkdir(dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  console.log(`  screenshot: ${SCREENSHOT}`);

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
  const file = await download.path();
  const bytes = await readFile(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as { __metadata__?: { format?: string } };
  check(header.__metadata__?.format === 'lstm-lm.checkpoint', `saved ${download.suggestedFilename()}: ${(bytes.length / 1e6).toFixed(2)} MB, a lstm-lm checkpoint`);
  await page.click('#reset');
  await waitFor('s.model === null');
  await page.setInputFiles('#load', file);
  await waitFor('s.loaded === 1');
  const loaded = await read();
  check(loaded.model?.step === m.step && loaded.curves.valLoss.length === valLoss.length,
    `loaded it back: step ${loaded.model?.step}, ${loaded.curves.valLoss.length} validation points restored`);
  await waitFor('s.samples > 0 && s.sampleText.length >= 20');
  check(true, 'the loaded model samples');
  await page.click('#train');
  await waitFor(`s.curves.trainLoss.length > ${trainLoss.length + 5}`);
  await page.click('#train');
  await waitFor('!s.training');
  const resumed = (await read()).curves.trainLoss.slice(trainLoss.length);
  check(mean(resumed) < first - 0.5, `training continues from the loaded weights: loss ${mean(resumed).toFixed(3)} (untrained ${first.toFixed(3)})`);
  await playgroundWebGpu(page, read, waitFor);
  const errors = (await read()).errors;
  check(errors.length === 0, `playground errors: ${errors.length === 0 ? 'none' : errors.join('; ')}`);
  await page.close();
}

/**
 * The playground's WebGPU choice (SwiftShader here): offered with the adapter's description,
 * a Tiny model trains a few steps through fit() on the GPU (on the first 24k characters, so
 * that validation is one batch: SwiftShader takes ~3 s a step at B 32 × T 64), samples stream
 * (Generator.nextAsync), the loss falls; a checkpoint saved while it trains (synced at the next
 * step) loads back onto the GPU and samples.
 */
async function playgroundWebGpu(
  page: Page, read: () => Promise<PlaygroundState>, waitFor: (test: string, timeout?: number) => Promise<unknown>,
): Promise<void> {
  await page.click('#reset');
  await waitFor('s.model === null');
  await waitFor('s.gpu !== null', 30_000);
  const { gpu } = await read();
  check(gpu?.available === true, `WebGPU offered: ${gpu?.available ? `adapter '${gpu.adapter}'` : `no (${gpu?.reason})`}`);
  if (gpu?.available !== true) return;
  const shown = await page.evaluate(() => ({
    hidden: document.getElementById('webgpu-choice')!.hidden, info: document.getElementById('gpu-info')!.textContent,
  }));
  check(!shown.hidden && shown.info === gpu.adapter, `the WebGPU (GPU) choice is shown with '${shown.info}'`);
  await page.evaluate(() => {
    const text = document.getElementById('text') as HTMLTextAreaElement;
    text.value = text.value.slice(0, 24_000);
    text.dispatchEvent(new Event('input'));
  });
  await page.click('label:has(input[name=size][value=tiny])');
  await page.click('#webgpu-choice');
  const samplesBefore = (await read()).samples;
  const started = Date.now();
  await page.click('#train');
  await waitFor('s.training && s.model?.backend === "webgpu"', 30_000);
  await waitFor(`s.curves.trainLoss.length >= 3 && s.samples > ${samplesBefore} && s.sampleText.length >= 12 && s.curves.valLoss.length >= 2`, 120_000);
  // Save while it trains: the worker syncs the host copy at the next step, then saves.
  const stepAtSave = (await read()).model!.step;
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), page.click('#save')]);
  await page.click('#train'); // pause
  await waitFor('!s.training', 60_000);
  const seconds = (Date.now() - started) / 1000;
  const s = await read();
  const m = s.model!;
  const { trainLoss, valLoss } = s.curves;
  console.log(`  WebGPU: ${m.layers}×${m.hidden} on ${m.backend} (${m.adapter}): ${m.step} steps in ${seconds.toFixed(1)} s with evaluations and samples, ${Math.round(s.speed)} chars/s`);
  check(m.backend === 'webgpu' && m.adapter === gpu.adapter && m.layers === 1 && m.hidden === 64, `a Tiny model on webgpu (${m.layers}×${m.hidden}, ${m.backend}, '${m.adapter}')`);
  const info = await page.evaluate(() => document.getElementById('model-info')!.textContent ?? '');
  check(info.includes(`WebGPU on ${gpu.adapter}`), `the model line names the GPU: '${info}'`);
  check(trainLoss.length >= 4 && trainLoss.at(-1)! < trainLoss[0]!, `training loss fell on the GPU: ${trainLoss.map((l) => l.toFixed(3)).join(' → ')}`);
  check(valLoss.at(-1)! < valLoss[0]!, `validation loss fell: ${valLoss[0]!.toFixed(3)} → ${valLoss.at(-1)!.toFixed(3)} (${valLoss.length} evaluations)`);
  check(s.samples > samplesBefore && s.sampleText.length >= 12, `a sample streamed from the GPU: ${JSON.stringify(s.sampleText.slice(-60))}`);
  await page.screenshot({ path: SCREENSHOT_WEBGPU, fullPage: true });
  console.log(`  screenshot: ${SCREENSHOT_WEBGPU}`);
  const file = await download.path();
  const bytes = await readFile(file);
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8')) as { __metadata__?: { format?: string } };
  const savedStep = Number(/step(\d+)/.exec(download.suggestedFilename())?.[1]);
  check(header.__metadata__?.format === 'lstm-lm.checkpoint' && savedStep >= Math.max(1, stepAtSave) && savedStep <= m.step,
    `saved while training on the GPU (clicked at step ${stepAtSave}, synced at step ${savedStep}): ${download.suggestedFilename()}, ${(bytes.length / 1e6).toFixed(2)} MB`);
  await page.click('#reset');
  await waitFor('s.model === null');
  const loadedBefore = (await read()).loaded, samplesLoaded = (await read()).samples;
  await page.setInputFiles('#load', file); // WebGPU still chosen: onto the GPU
  await waitFor(`s.loaded === ${loadedBefore + 1}`, 30_000);
  await waitFor(`s.samples > ${samplesLoaded} && s.sampleText.length >= 12`, 60_000);
  const loaded = await read();
  check(loaded.model?.backend === 'webgpu' && loaded.model.step === savedStep,
    `loaded it back onto the GPU: ${loaded.model?.backend}, step ${loaded.model?.step}; it samples (idle, nextAsync): ${JSON.stringify(loaded.sampleText.slice(0, 30))}`);
  await page.click('#reset');
  await waitFor('s.model === null');
}

/** The playground in a Chromium without WebGPU's flags (no adapter): the choice stays hidden, the CPU chosen, the footer says why. */
async function playgroundWithoutGpu(origin: string, problems: string[]): Promise<void> {
  const plain = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
  try {
    const page = await plain.newPage();
    watch(page, problems, 'playground without WebGPU');
    await page.goto(`${origin}/examples/playground/index.html`);
    await page.waitForFunction(() => (globalThis as unknown as { __playground?: PlaygroundState }).__playground?.gpu != null, undefined, { timeout: 30_000 });
    const seen = await page.evaluate(() => ({
      gpu: (globalThis as unknown as { __playground: PlaygroundState }).__playground.gpu,
      hidden: document.getElementById('webgpu-choice')!.hidden,
      chosen: (document.querySelector('input[name=backend]:checked') as HTMLInputElement).value,
      engine: document.getElementById('engine')!.textContent ?? '',
      errors: (globalThis as unknown as { __playground: PlaygroundState }).__playground.errors,
    }));
    check(seen.gpu?.available === false && seen.hidden && seen.chosen === 'cpu' && seen.errors.length === 0,
      `without WebGPU (no flags): the choice hidden, CPU chosen, no error; footer '${seen.engine}'`);
  } finally {
    await plain.close();
  }
}

function watch(page: Page, problems: string[], where: string): void {
  page.on('pageerror', (error) => problems.push(`${where}: page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`${where}: console error: ${message.text()}`);
  });
  page.on('requestfailed', (request) => {
    if (!request.url().startsWith('blob:')) problems.push(`${where}: request failed: ${request.url()} ${request.failure()?.errorText}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`${where}: HTTP ${response.status()}: ${response.url()}`);
  });
}

// ------------------------------------------------------------------ main

const server = createServer((req, res) => void serve(req, res));
await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
const address = server.address();
if (address === null || typeof address === 'string') throw new Error('server: no port');
const origin = `http://127.0.0.1:${address.port}`;

// WebGPU on SwiftShader (the software Vulkan that Debian's chromium ships beside its binary);
// navigator.gpu needs a secure context, which http://127.0.0.1 is. --disable-gpu still leaves
// WebGPU's SwiftShader adapter (Chromium 150), and keeps compositing off the GPU as before.
const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan,WebGPU', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader'];
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', ...WEBGPU_FLAGS,
  ],
});
const problems: string[] = [];
try {
  if (!process.argv.includes('--playground-only')) {
    const page = await browser.newPage();
    watch(page, problems, 'library page');
    console.log(`serving ${origin}/ (dist/ and test-browser/, COOP same-origin, COEP require-corp)`);
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => (window as { __done?: boolean }).__done === true, undefined, { timeout: TIMEOUT_MS });
    const results = await page.evaluate(() => (window as { __results?: unknown }).__results) as Results;
    if (results.fatal !== undefined) failures.push(`page: ${results.fatal}`);
    else report(results);
    await page.close();
  }
  if (!process.argv.includes('--library-only')) {
    await playground(browser, origin, problems);
    await playgroundWithoutGpu(origin, problems);
  }
} catch (error) {
  failures.push(`runner: ${(error as Error).message}`);
} finally {
  await browser.close();
  server.close();
}

for (const p of problems) failures.push(p);
if (failures.length > 0) {
  console.log(`\n${failures.length} failure(s):`);
  for (const f of failures) console.log(`  - ${f}`);
  process.exitCode = 1;
} else {
  console.log('\nall browser checks passed');
}
