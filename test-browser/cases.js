// The checks the page and the module worker both run, on the built library (`lib` is the
// module object of /dist/index.js). Each returns plain data, so that it crosses postMessage
// and page.evaluate unchanged; run.ts judges it.

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The seed's mission, small: "I love cat" × 1000 lines, word tokens, H = 16, 10 epochs.
 * `settleMs` gives a threaded model's workers time to start before training.
 */
export async function trainILoveCat(lib, { backend, threads = 1, settleMs = 0 }) {
  const { loadCorpus, SeqDataLoader, LSTMLanguageModel, SGD, train, predict } = lib;
  const { corpus, vocab } = loadCorpus(Array(1000).fill('I love cat'), { token: 'word', maxTokens: 10000 });
  const loader = new SeqDataLoader(corpus, { batchSize: 16, numSteps: 10, seed: 0 });
  const model = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: 16, initScale: 0.1, seed: 0, backend, threads });
  if (settleMs > 0) await sleep(settleMs);
  const history = train(model, loader, new SGD(model.parameters(), { lr: 4 }), { epochs: 10 });
  const prediction = predict(model, vocab, ['I', 'love'], 1).join(' ');
  model.dispose();
  return {
    backend: model.backend,
    threads: model.threads,
    losses: history.map((e) => e.loss),
    perplexity: history.at(-1).perplexity,
    prediction,
  };
}

/**
 * Training throughput on the wasm backend at the bench's shape (B = 32, T = 35) on a
 * char-level corpus: `warmup` untimed batches, then `batches` timed ones (zeroGrad →
 * forwardBackward → clipGradNorm → SGD step, the state carried across batches).
 */
export async function throughput(lib, { threads, hidden = 256, batches = 20, warmup = 2, settleMs = 300 }) {
  const { loadCorpus, SeqDataLoader, LSTMLanguageModel, SGD, clipGradNorm } = lib;
  const B = 32, T = 35;
  const line = 'the time traveller for so it will be convenient to speak of him was expounding a recondite matter to us';
  const { corpus, vocab } = loadCorpus(Array(400).fill(line), { token: 'char' });
  const loader = new SeqDataLoader(corpus, { batchSize: B, numSteps: T, seed: 0 });
  if (loader.numBatches < warmup + batches) throw new Error(`throughput: only ${loader.numBatches} batches an epoch`);
  const model = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: hidden, seed: 0, backend: 'wasm', threads });
  await sleep(settleMs);
  const params = model.parameters();
  const sgd = new SGD(params, { lr: 1 });
  const state = model.initState(B);
  const losses = [];
  let done = 0, timedMs = 0;
  for (const { X, Y } of loader) {
    if (done === warmup + batches) break;
    const t0 = performance.now();
    model.zeroGrad();
    losses.push(model.forwardBackward(X, Y, state).loss);
    clipGradNorm(params, 1);
    sgd.step();
    if (++done > warmup) timedMs += performance.now() - t0;
  }
  model.dispose();
  return {
    backend: model.backend,
    threads: model.threads,
    hidden,
    vocabSize: vocab.size,
    batches,
    tokensPerSecond: (B * T * batches) / (timedMs / 1000),
    losses,
  };
}

/**
 * The asynchronous loop on the page's main thread: `fit` with validation every 5 steps, stopped
 * by `AbortSignal.timeout(abortMs)`, while a 10 ms interval counts how often UI timers ran;
 * then a run stopped by `timeLimit`.
 */
export async function fitKeepsTimers(lib, { abortMs = 400 } = {}) {
  const { loadCorpus, splitCorpus, SeqDataLoader, LSTMLanguageModel, Adam, fit } = lib;
  const line = 'the time traveller for so it will be convenient to speak of him was expounding a recondite matter to us ';
  const { corpus, vocab } = loadCorpus([line.repeat(40)], { token: 'char' });
  const { train, validation } = splitCorpus(corpus, { valFraction: 0.2, batchSize: 8, numSteps: 20 });
  const model = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: 64, numLayers: 2, dropout: 0.2, init: 'pytorch', seed: 0 });
  const loader = new SeqDataLoader(train, { batchSize: 8, numSteps: 20, seed: 0 });
  let ticks = 0;
  const timer = setInterval(() => { ticks++; }, 10);
  const losses = [];
  let last = performance.now(), longestStepMs = 0;
  const start = performance.now();
  const result = await fit(model, loader, new Adam(model.parameters(), { lr: 3e-3 }), {
    epochs: 10_000, signal: AbortSignal.timeout(abortMs), validation, evalEvery: 5, clipNorm: 5,
    onStep: ({ loss }) => {
      const t = performance.now();
      longestStepMs = Math.max(longestStepMs, t - last);
      last = t;
      losses.push(loss);
    },
  });
  const elapsedMs = performance.now() - start;
  clearInterval(timer);
  const limited = await fit(model, loader, new Adam(model.parameters(), { lr: 3e-3 }), { timeLimit: 0.2 });
  model.dispose();
  return {
    backend: model.backend,
    stopReason: result.stopReason,
    steps: result.steps,
    evaluations: result.evaluations.length,
    elapsedMs,
    longestStepMs,
    ticks,
    firstLoss: losses[0],
    lastLoss: losses.at(-1),
    limitedStopReason: limited.stopReason,
    limitedMs: limited.elapsedMs,
  };
}

/** The shapes webgpuMatchesWasm runs: d2l's one-layer one-hot model, and a stack with an embedding. */
export const WEBGPU_CASES = {
  '1×32, one-hot (d2l)': { config: { vocabSize: 28, numHiddens: 32, initScale: 0.1 }, B: 4, T: 9 },
  '2×24, embedding 16': { config: { vocabSize: 40, numHiddens: 24, numLayers: 2, embeddingSize: 16, init: 'pytorch' }, B: 3, T: 7 },
};

/**
 * The webgpu backend against wasm on the same weights (`gpuDevice` from requestGpuDevice()):
 * forwardAsync's logits and final state, then two forwardBackwardAsync calls (the second from
 * the state the first left, gradients accumulating after one zeroGrad), then sync(): both
 * losses, the final state, the state's gradient and every parameter's gradient. Returns both
 * sides' arrays (run.ts compares them), the GPU's adapter info and what the synchronous
 * forward() says on webgpu.
 */
export async function webgpuMatchesWasm(lib, { gpuDevice, config, B, T }) {
  const { LSTMLanguageModel } = lib;
  const wasm = new LSTMLanguageModel({ ...config, backend: 'wasm', seed: 1 });
  // Another seed, then wasm's weights copied over: agreement cannot come from equal seeds alone.
  const gpu = new LSTMLanguageModel({ ...config, backend: 'webgpu', gpuDevice, seed: 2 });
  gpu.flatParameters.set(wasm.flatParameters);
  gpu.upload();
  const V = config.vocabSize;
  let s = 12345;
  const id = () => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return (s >>> 8) % V; };
  const batch = () => Array.from({ length: B }, () => Array.from({ length: T }, id));
  const [X1, Y1, X2, Y2] = [batch(), batch(), batch(), batch()];
  const state = (model) => {
    const st = model.initState(B);
    st.h.forEach((_, i) => { st.h[i] = 0.5 * Math.sin(i + 1); st.c[i] = Math.cos(3 * i); });
    return st;
  };
  const plain = (a) => Array.from(a);
  const side = async (model, run) => {
    const f = await run.forward(X1, state(model));
    model.zeroGrad();
    const st = state(model);
    const r1 = await run.forwardBackward(X1, Y1, st);
    const r2 = await run.forwardBackward(X2, Y2, st);
    await model.sync();
    return {
      logits: plain(f.logits), forwardH: plain(f.state.h), forwardC: plain(f.state.c),
      losses: [r1.loss, r2.loss], h: plain(st.h), c: plain(st.c),
      dh0: plain(r2.stateGrad.h), dc0: plain(r2.stateGrad.c),
      grads: Object.fromEntries(model.parameters().map((p) => [p.name, plain(p.grad)])),
    };
  };
  const reference = await side(wasm, {
    forward: (X, st) => wasm.forward(X, st),
    forwardBackward: (X, Y, st) => wasm.forwardBackward(X, Y, st),
  });
  const webgpu = await side(gpu, {
    forward: (X, st) => gpu.forwardAsync(X, st),
    forwardBackward: (X, Y, st) => gpu.forwardBackwardAsync(X, Y, st),
  });
  let synchronous = 'did not throw';
  try { gpu.forward(X1); } catch (error) { synchronous = `${error?.name}: ${error?.message}`; }
  const info = gpuDevice.adapterInfo ?? {};
  const result = {
    backends: [wasm.backend, gpu.backend],
    adapter: { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description },
    synchronous, reference, webgpu,
  };
  wasm.dispose();
  gpu.dispose();
  return result;
}

const TIME_MACHINE = 'the time traveller for so it will be convenient to speak of him was expounding a recondite ' +
  'matter to us his grey eyes shone and twinkled and his usually pale face was flushed and animated ';

/**
 * Training on the GPU against wasm: two models with the same seed (so dropout draws the same
 * masks) and wasm's weights copied onto the GPU take `steps` Adam steps with clipNorm through
 * trainStepAsync on the same batches (a sequential loader), each carrying its own state from
 * step to step. Returns both sides' per-step loss, gradient norm and `stepped`, the carried
 * state after the last step, and, after `await model.sync()`, every parameter and Adam's
 * moments (run.ts compares them).
 */
export async function webgpuTrainsLikeWasm(lib, { gpuDevice, steps = 20 }) {
  const { loadCorpus, SeqDataLoader, LSTMLanguageModel, Adam } = lib;
  const { corpus, vocab } = loadCorpus([TIME_MACHINE.repeat(3)], { token: 'char' });
  const config = { vocabSize: vocab.size, numHiddens: 16, numLayers: 2, embeddingSize: 8, dropout: 0.2, init: 'pytorch', seed: 3 };
  const B = 4, T = 10, clipNorm = 0.4, lr = 1e-2;
  const batches = [];
  const loader = new SeqDataLoader(corpus, { batchSize: B, numSteps: T, seed: 2 });
  while (batches.length < steps) for (const b of loader) if (batches.length < steps) batches.push(b);
  const side = async (backend) => {
    const model = new LSTMLanguageModel({ ...config, backend, gpuDevice: backend === 'webgpu' ? gpuDevice : undefined });
    return { model, adam: new Adam(model.parameters(), { lr }), state: model.initState(B), steps: [] };
  };
  const cpu = await side('wasm'), gpu = await side('webgpu');
  gpu.model.flatParameters.set(cpu.model.flatParameters);
  gpu.model.upload();
  const start = performance.now();
  let gpuMs = 0;
  for (const { X, Y } of batches) {
    const t0 = performance.now();
    const g = await gpu.model.trainStepAsync(X, Y, gpu.state, gpu.adam, { clipNorm });
    gpuMs += performance.now() - t0;
    gpu.steps.push(g);
    cpu.steps.push(await cpu.model.trainStepAsync(X, Y, cpu.state, cpu.adam, { clipNorm }));
  }
  const staleBeforeSync = gpu.model.hostStale;
  await gpu.model.sync();
  const plain = (a) => Array.from(a);
  const report = ({ model, adam, state, steps: s }) => {
    const buffers = adam.stateDict().buffers;
    return {
      backend: model.backend,
      losses: s.map((r) => r.loss), gradNorms: s.map((r) => r.gradNorm), stepped: s.map((r) => r.stepped),
      state: [...plain(state.h), ...plain(state.c)],
      params: Object.fromEntries(model.parameters().map((p) => [p.name, plain(p.data)])),
      expAvg: buffers.expAvg.flatMap(plain), expAvgSq: buffers.expAvgSq.flatMap(plain),
      adamSteps: adam.stepCount,
    };
  };
  const result = { clipNorm, lr, B, T, staleBeforeSync, gpuMs, totalMs: performance.now() - start, reference: report(cpu), webgpu: report(gpu) };
  cpu.model.dispose();
  gpu.model.dispose();
  return result;
}

/**
 * fit() on a webgpu model with validation (a few steps), then greedy generation: the webgpu
 * model's generateStream and Generator.nextAsync against a wasm model given its trained weights
 * (the host copy fit synced), generateStream and generate on wasm. temperature 0 is greedy
 * (src/generate/sample.ts: the argmax, no draw).
 */
export async function webgpuFitsAndGenerates(lib, { gpuDevice, maxSteps = 80 }) {
  const { loadCorpus, splitCorpus, SeqDataLoader, LSTMLanguageModel, Adam, fit, evaluate, generate, generateStream, Generator } = lib;
  const { corpus, vocab } = loadCorpus([TIME_MACHINE.repeat(8)], { token: 'char' });
  const B = 8, T = 12;
  const { train, validation } = splitCorpus(corpus, { valFraction: 0.2, batchSize: B, numSteps: T });
  const config = { vocabSize: vocab.size, numHiddens: 32, init: 'pytorch', seed: 4 };
  const model = new LSTMLanguageModel({ ...config, backend: 'webgpu', gpuDevice });
  const untrained = (await evaluate(model, validation, { batchSize: B, numSteps: T })).loss;
  const losses = [];
  const start = performance.now();
  const result = await fit(model, new SeqDataLoader(train, { batchSize: B, numSteps: T, seed: 1 }), new Adam(model.parameters(), { lr: 2e-2 }), {
    maxSteps, clipNorm: 5, validation, evalEvery: 20,
    onStep: ({ loss }) => { losses.push(loss); },
  });
  const fitMs = performance.now() - start;
  const options = { prompt: 'the time ', maxTokens: 40, temperature: 0 };
  const stream = async (m) => {
    const pieces = [];
    for await (const piece of generateStream(m, vocab, options)) pieces.push(piece);
    return pieces;
  };
  const nextAsync = async (m) => {
    const session = new Generator(m, vocab, { seed: 1 });
    session.feed(options.prompt);
    let text = '';
    for (let i = 0; i < options.maxTokens; i++) text += await session.nextAsync({ temperature: 0 });
    return text;
  };
  const t0 = performance.now();
  const gpuPieces = await stream(model);
  const generateMs = performance.now() - t0;
  const gpuSession = await nextAsync(model);
  const wasm = new LSTMLanguageModel({ ...config, backend: 'wasm', seed: 5 });
  wasm.flatParameters.set(model.flatParameters);
  const out = {
    backend: model.backend, stopReason: result.stopReason, steps: result.steps, hostStale: model.hostStale,
    untrained, evaluations: result.evaluations.map((e) => ({ step: e.step, loss: e.loss })), losses, fitMs,
    prompt: options.prompt, maxTokens: options.maxTokens, generateMs,
    webgpu: { pieces: gpuPieces, session: gpuSession },
    wasm: { pieces: await stream(wasm), session: await nextAsync(wasm), generate: generate(wasm, vocab, options) },
  };
  model.dispose();
  wasm.dispose();
  return out;
}
