// Runs in the page (main thread) against the built library; run.ts reads window.__results.
//
// Worker spy: each Worker the library makes is recorded with its error events and, from the
// first message it is sent, its control block (`controlBuffer`, whose Int32 slot 2 is set
// to 1 once the worker has instantiated the kernels: READY in src/threads/protocol.ts). This
// tells whether the Blob-URL workers really run under COEP, rather than the pool quietly
// doing every part on this thread.
const spawned = [];
const NativeWorker = globalThis.Worker;
globalThis.Worker = class SpyWorker extends NativeWorker {
  constructor(url, options) {
    super(url, options);
    this.record = { scheme: String(url).split(':')[0], type: options?.type ?? 'classic', errors: [], control: null };
    spawned.push(this.record);
    this.addEventListener('error', (e) => this.record.errors.push(`error: ${e.message ?? '(no message)'}`));
    this.addEventListener('messageerror', () => this.record.errors.push('messageerror'));
  }
  postMessage(message, transfer) {
    // The pool sends { module, memory, controlBuffer, commandBuffer, names } (src/threads/pool.ts).
    if (this.record.control === null && message?.controlBuffer instanceof SharedArrayBuffer) {
      this.record.control = new Int32Array(message.controlBuffer, 0, 8);
    }
    super.postMessage(message, transfer);
  }
};
const READY = 2;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A valid WebAssembly module of `bytes` bytes: the header, then one custom section. */
function moduleOfSize(bytes) {
  const leb = (n) => { const out = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b); } while (n); return out; };
  let payload = bytes - 8 - 1 - 2; // header, section id, name length + name 'x'
  let size = leb(payload + 2);
  payload -= size.length;
  size = leb(payload + 2);
  return new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0, ...size, 1, 0x78, ...new Array(payload).fill(0)]);
}

async function attempt(fn) {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error: `${error?.name}: ${error?.message}` };
  }
}

async function main() {
  const lib = await import('/dist/index.js');
  const { LSTMLanguageModel, preloadWasm, wasmSimdSupported } = lib;
  const { trainILoveCat, throughput, fitKeepsTimers, webgpuMatchesWasm, WEBGPU_CASES, webgpuTrainsLikeWasm, webgpuFitsAndGenerates } =
    await import('/test-browser/cases.js');
  const r = {
    userAgent: navigator.userAgent,
    crossOriginIsolated: globalThis.crossOriginIsolated,
    sharedArrayBuffer: typeof SharedArrayBuffer === 'function',
    hardwareConcurrency: navigator.hardwareConcurrency,
    wasmSimd: wasmSimdSupported(),
  };

  // (a) Does this Chrome refuse synchronous compilation of modules over 4 KB on the main
  // thread (older versions do)? A module with one custom section of the given size answers.
  const small = { vocabSize: 28, numHiddens: 8 };
  r.syncCompile = {};
  for (const kb of [1, 8, 64, 1024]) {
    r.syncCompile[`${kb} KB`] = await attempt(() => new WebAssembly.Module(moduleOfSize(kb * 1024)).constructor.name);
  }
  // Chrome versions that refuse it throw a RangeError from `new WebAssembly.Module` over 4 KB:
  // simulate that (before anything has compiled the kernels) to check that 'auto' then falls
  // back to js, and what an explicit 'wasm' says.
  const NativeModule = WebAssembly.Module;
  WebAssembly.Module = function RefusingModule(bytes) {
    if (bytes.byteLength > 4096) {
      throw new RangeError('WebAssembly.Module(): simulated: synchronous compilation of modules over 4 KB is disallowed on the main thread');
    }
    return new NativeModule(bytes);
  };
  r.simulatedRefusal = {
    auto: await attempt(() => new LSTMLanguageModel({ ...small, backend: 'auto' }).backend),
    wasm: await attempt(() => new LSTMLanguageModel({ ...small, backend: 'wasm' }).backend),
  };
  WebAssembly.Module = NativeModule;
  // Backend 'auto' before and after preloadWasm().
  r.autoBeforePreload = await attempt(() => new LSTMLanguageModel({ ...small, backend: 'auto' }).backend);
  r.preload = await attempt(() => preloadWasm());
  r.autoAfterPreload = await attempt(() => new LSTMLanguageModel({ ...small, backend: 'auto' }).backend);

  // (b) the mission on each backend, one thread.
  r.js = await attempt(() => trainILoveCat(lib, { backend: 'js' }));
  r.wasm = await attempt(() => trainILoveCat(lib, { backend: 'wasm' }));

  // (c) two threads: the default worker factory (Blob-URL web workers) on a shared memory.
  const before = spawned.length;
  r.threadedModel = await attempt(async () => {
    const model = new LSTMLanguageModel({ vocabSize: 28, numHiddens: 32, backend: 'wasm', threads: 2 });
    await sleep(300);
    const mine = spawned.slice(before);
    const out = {
      threads: model.threads,
      workers: mine.length,
      schemes: mine.map((w) => w.scheme),
      ready: mine.filter((w) => w.control !== null && Atomics.load(w.control, READY) === 1).length,
      errors: mine.flatMap((w) => w.errors),
    };
    model.dispose();
    return out;
  });
  r.wasmThreads2 = await attempt(() => trainILoveCat(lib, { backend: 'wasm', threads: 2, settleMs: 300 }));
  // Interleaved repeats: this runs on shared machines, where the best of three is steadier.
  r.throughput1 = [];
  r.throughput2 = [];
  for (let i = 0; i < 3; i++) {
    r.throughput1.push(await attempt(() => throughput(lib, { threads: 1 })));
    r.throughput2.push(await attempt(() => throughput(lib, { threads: 2 })));
  }

  // (e) the asynchronous loop keeps the page's timers running, and stops on time.
  r.fit = await attempt(() => fitKeepsTimers(lib));

  // (d) the library inside a dedicated module worker (which itself runs 2 threads there).
  r.moduleWorker = await attempt(() => new Promise((resolve, reject) => {
    const worker = new Worker('/test-browser/worker.js', { type: 'module' });
    const timer = setTimeout(() => reject(new Error('module worker: no answer in 60 s')), 60_000);
    worker.onmessage = (event) => { clearTimeout(timer); worker.terminate(); resolve(event.data); };
    worker.onerror = (event) => { clearTimeout(timer); reject(new Error(`module worker error: ${event.message ?? '(no message)'}`)); };
  }));
  r.allWorkerErrors = spawned.flatMap((w) => w.errors);

  // (g) the webgpu backend (SwiftShader, under run.ts's launch flags) against wasm, same weights.
  // (h) then training: 20 trainStepAsync steps against wasm's; fit() and greedy generation.
  const gpuDevice = await attempt(() => lib.requestGpuDevice());
  const onGpu = (fn) => (gpuDevice.ok ? attempt(() => fn(gpuDevice.value)) : Promise.resolve(gpuDevice));
  r.webgpu = await onGpu(async (device) => {
    const cases = {};
    for (const [name, c] of Object.entries(WEBGPU_CASES)) cases[name] = await attempt(() => webgpuMatchesWasm(lib, { gpuDevice: device, ...c }));
    return cases;
  });
  r.webgpuTraining = await onGpu((device) => webgpuTrainsLikeWasm(lib, { gpuDevice: device }));
  r.webgpuFit = await onGpu((device) => webgpuFitsAndGenerates(lib, { gpuDevice: device }));
  if (gpuDevice.ok) gpuDevice.value.destroy();
  return r;
}

main().then(
  (results) => { window.__results = results; document.getElementById('log').textContent = 'done'; },
  (error) => { window.__results = { fatal: `${error?.name}: ${error?.message}\n${error?.stack}` }; },
).finally(() => { window.__done = true; });
