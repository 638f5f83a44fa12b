// The playground page: the text, the model size and the buttons; the worker (worker.js) does
// all the computing, and this draws what it reports: the loss curves (SVG) and the samples.
const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });

// What the page knows, also read by the browser test (test-browser/run.ts).
const state = {
  ready: false, model: null, training: false, curves: { trainSteps: [], trainLoss: [], valSteps: [], valLoss: [] },
  vocabSize: 0, samples: 0, sampleText: '', longestSample: '', saved: null, loaded: 0, errors: [], speed: 0,
  gpu: null, // { available, adapter } or { available: false, reason } once the worker has asked for a GPU
};
globalThis.__playground = state;

// ------------------------------------------------------------------ text

const textArea = $('text');
function textStats() {
  const chars = Array.from(textArea.value);
  state.vocabSize = new Set(chars).size + 1; // + <unk>
  $('text-stats').textContent = chars.length === 0 ? '' : `· ${chars.length.toLocaleString('en-US')} characters, ${state.vocabSize - 1} distinct`;
  drawChart();
}
textArea.addEventListener('input', textStats);
for (const target of [textArea, document.body]) {
  target.addEventListener('dragover', (e) => { e.preventDefault(); textArea.classList.add('drop'); });
  target.addEventListener('dragleave', () => textArea.classList.remove('drop'));
  target.addEventListener('drop', async (e) => {
    e.preventDefault();
    e.stopPropagation();
    textArea.classList.remove('drop');
    const file = e.dataTransfer?.files?.[0];
    if (file === undefined || textArea.readOnly) return;
    if (file.name.endsWith('.safetensors')) return loadFile(file);
    textArea.value = await file.text();
    textStats();
    status(`${file.name} loaded`);
  });
}
fetch('../../data/timemachine.txt').then((r) => (r.ok ? r.text() : Promise.reject(new Error(`HTTP ${r.status}`)))).then((text) => {
  if (textArea.value === '') textArea.value = text;
  textStats();
}).catch((error) => status(`could not preload The Time Machine (${error.message}): paste a text`));

// ------------------------------------------------------------------ controls

const size = () => document.querySelector('input[name=size]:checked').value;
const backend = () => document.querySelector('input[name=backend]:checked').value;
function status(text, error = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', error);
}
function controls() {
  const has = state.model !== null;
  $('train').textContent = state.training ? '❚❚ Pause' : has ? '▶ Continue' : '▶ Train';
  $('train').disabled = !state.ready;
  $('reset').disabled = !has;
  $('save').disabled = !has;
  $('resample').disabled = !has;
  textArea.readOnly = has;
  for (const input of document.querySelectorAll('input[name=size], input[name=backend]')) input.disabled = has;
  $('dot').classList.toggle('on', state.training);
}

$('train').addEventListener('click', () => {
  if (state.training) {
    worker.postMessage({ type: 'stop' });
    return;
  }
  if (state.model === null) {
    const text = textArea.value;
    if (Array.from(text).length < 5000) return status('the text is too short: paste at least a few thousand characters', true);
    worker.postMessage({ type: 'create', text, size: size(), backend: backend() });
  }
  worker.postMessage({ type: 'train' });
});
$('reset').addEventListener('click', () => worker.postMessage({ type: 'reset' }));
$('save').addEventListener('click', () => worker.postMessage({ type: 'save' }));
$('load').addEventListener('change', () => {
  const file = $('load').files?.[0];
  if (file !== undefined) loadFile(file);
  $('load').value = '';
});
async function loadFile(file) {
  status(`loading ${file.name}…`);
  const bytes = await file.arrayBuffer();
  worker.postMessage({ type: 'load', bytes, text: textArea.value, backend: backend() }, [bytes]);
}
const temperature = $('temperature');
temperature.addEventListener('input', () => {
  $('temperature-value').textContent = Number(temperature.value).toFixed(2);
  worker.postMessage({ type: 'temperature', value: Number(temperature.value) });
});
$('resample').addEventListener('click', () => worker.postMessage({ type: 'sample' }));

// ------------------------------------------------------------------ the worker's reports

/** The engine line in the footer: the CPU's, then the GPU's once the worker has asked for one. */
function engine() {
  const cpu = `${state.engine.simd ? 'WebAssembly SIMD' : 'no SIMD: plain JavaScript'} · ${state.engine.crossOriginIsolated ? `threads: up to ${state.engine.cores}` : 'not cross-origin isolated: one thread'}`;
  const gpu = state.gpu === null ? '' : state.gpu.available ? ` · WebGPU: ${state.gpu.adapter}` : ` · no WebGPU: ${state.gpu.reason.replace(/\.$/, '')}`;
  $('engine').textContent = `· ${cpu}${gpu}`;
}

function describeModel(m) {
  const threads = m.backend === 'webgpu' ? `WebGPU on ${m.adapter}` : `${m.backend}${m.threads > 1 ? ` × ${m.threads} threads` : ''}`;
  return `${m.layers}×${m.hidden}${m.dropout > 0 ? `, dropout ${m.dropout}` : ''} · ${m.parameters.toLocaleString('en-US')} parameters · ` +
    `${m.vocabSize} tokens · B ${m.B} × T ${m.T} · ${threads}`;
}

worker.onmessage = ({ data: m }) => {
  switch (m.type) {
    case 'ready':
      state.ready = true;
      state.engine = { simd: m.simd, crossOriginIsolated: m.crossOriginIsolated, cores: m.cores };
      engine();
      status('ready: press Train');
      break;
    case 'gpu':
      // WebGPU is offered only where the browser gave an adapter and a device.
      state.gpu = m.available ? { available: true, adapter: m.adapter } : { available: false, reason: m.reason };
      $('webgpu-choice').hidden = !m.available;
      $('gpu-info').textContent = m.available ? m.adapter : '';
      $('webgpu-choice').title = m.available ? `WebGPU on ${m.adapter}` : '';
      if (!m.available && backend() === 'webgpu') document.querySelector('input[name=backend][value=cpu]').checked = true;
      if (state.engine !== undefined) engine();
      break;
    case 'created':
      state.model = m.model;
      state.curves = { trainSteps: [], trainLoss: [], valSteps: [], valLoss: [] };
      $('samples').replaceChildren();
      $('model-info').textContent = describeModel(m.model);
      break;
    case 'status':
      state.training = m.training;
      state.model = m.model;
      status(m.training ? 'training…' : `paused at step ${m.model.step.toLocaleString('en-US')}`);
      break;
    case 'step':
      state.curves.trainSteps.push(m.step);
      state.curves.trainLoss.push(m.loss);
      state.speed = m.tokensPerSecond;
      $('s-step').textContent = m.step.toLocaleString('en-US');
      $('s-speed').textContent = Math.round(m.tokensPerSecond).toLocaleString('en-US');
      scheduleChart();
      break;
    case 'eval':
      state.curves.valSteps.push(m.step);
      state.curves.valLoss.push(m.loss);
      $('s-loss').textContent = m.loss.toFixed(3);
      $('s-bits').textContent = (m.loss / Math.LN2).toFixed(2);
      scheduleChart();
      break;
    case 'sample-start': {
      for (const old of document.querySelectorAll('.sample')) old.classList.add('old');
      const card = document.createElement('div');
      card.className = 'sample live';
      card.dataset.id = m.id;
      card.innerHTML = `<span class="meta">step ${m.step.toLocaleString('en-US')} · temperature ${Number(temperature.value).toFixed(2)}</span><span class="text"></span>`;
      $('samples').querySelector('p')?.remove();
      $('samples').prepend(card);
      for (const extra of [...document.querySelectorAll('.sample')].slice(4)) extra.remove();
      state.samples++;
      state.sampleText = '';
      break;
    }
    case 'sample-piece': {
      const text = document.querySelector(`.sample[data-id="${m.id}"] .text`);
      if (text !== null) text.textContent += m.text;
      state.sampleText += m.text;
      if (state.sampleText.length > state.longestSample.length) state.longestSample = state.sampleText;
      break;
    }
    case 'sample-end':
      document.querySelector(`.sample[data-id="${m.id}"]`)?.classList.remove('live');
      break;
    case 'saved': {
      const blob = new Blob([m.bytes], { type: 'application/octet-stream' });
      const a = Object.assign(document.createElement('a'), { href: URL.createObjectURL(blob), download: `lstm-lm-playground-step${m.step}.safetensors` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
      state.saved = m.bytes.byteLength;
      status(`saved a checkpoint at step ${m.step.toLocaleString('en-US')} (${(m.bytes.byteLength / 1e6).toFixed(2)} MB)`);
      break;
    }
    case 'loaded':
      state.model = m.model;
      state.curves = m.curves;
      state.loaded++;
      state.training = false;
      $('samples').replaceChildren();
      $('model-info').textContent = describeModel(m.model);
      $('s-step').textContent = m.model.step.toLocaleString('en-US');
      if (m.curves.valLoss.length > 0) {
        const loss = m.curves.valLoss[m.curves.valLoss.length - 1];
        $('s-loss').textContent = loss.toFixed(3);
        $('s-bits').textContent = (loss / Math.LN2).toFixed(2);
      }
      status(`loaded a ${m.model.layers}×${m.model.hidden} model at step ${m.model.step.toLocaleString('en-US')}: Continue to train it on this text`);
      scheduleChart();
      break;
    case 'reset':
      state.model = null;
      state.training = false;
      state.curves = { trainSteps: [], trainLoss: [], valSteps: [], valLoss: [] };
      for (const id of ['s-loss', 's-bits', 's-speed']) $(id).textContent = '–';
      $('s-step').textContent = '0';
      $('model-info').textContent = 'Adam 3e-3, gradients clipped at 5, 10% of the text held out for validation.';
      status('ready: press Train');
      scheduleChart();
      break;
    case 'error':
      state.errors.push(m.message);
      status(m.message, true);
      break;
  }
  controls();
};
worker.onerror = (e) => {
  state.errors.push(e.message);
  status(`worker: ${e.message}`, true);
};

// ------------------------------------------------------------------ the chart

let chartPending = false;
function scheduleChart() {
  if (chartPending) return;
  chartPending = true;
  requestAnimationFrame(() => {
    chartPending = false;
    drawChart();
  });
}

function el(name, attributes, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, String(v));
  parent?.append(node);
  return node;
}

/** Round tick steps: 1, 2 or 5 times a power of ten, about `count` of them over `span`. */
function tickStep(span, count) {
  const raw = span / count, power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
}

/** The training losses smoothed (exponential moving average) and thinned to at most `n` points. */
function smoothed(steps, losses, n) {
  const out = [];
  let ema = null;
  const every = Math.max(1, Math.ceil(steps.length / n));
  for (let i = 0; i < steps.length; i++) {
    ema = ema === null ? losses[i] : 0.9 * ema + 0.1 * losses[i];
    if (i % every === 0 || i === steps.length - 1) out.push([steps[i], ema]);
  }
  return out;
}

function drawChart() {
  const svg = $('chart');
  svg.replaceChildren();
  const W = 720, H = 280, L = 44, R = 14, T = 12, B = 26;
  const { trainSteps, trainLoss, valSteps, valLoss } = state.curves;
  const uniform = Math.log(Math.max(2, state.model?.vocabSize ?? state.vocabSize ?? 2));
  const train = smoothed(trainSteps, trainLoss, 600);
  const maxStep = Math.max(50, trainSteps[trainSteps.length - 1] ?? 0, valSteps[valSteps.length - 1] ?? 0);
  const all = [...train.map((p) => p[1]), ...valLoss, uniform];
  const yMax = Math.ceil(Math.max(...all) * 2 + 0.2) / 2;
  const yMin = Math.max(0, Math.floor((Math.min(...all) - 0.25) * 2) / 2);
  const x = (s) => L + ((W - L - R) * s) / maxStep;
  const y = (v) => T + ((H - T - B) * (yMax - v)) / (yMax - yMin);

  const defs = el('defs', {}, svg);
  const gradient = el('linearGradient', { id: 'fill', x1: 0, y1: 0, x2: 0, y2: 1 }, defs);
  el('stop', { offset: '0%', 'stop-color': '#5ab0ff', 'stop-opacity': 0.35 }, gradient);
  el('stop', { offset: '100%', 'stop-color': '#5ab0ff', 'stop-opacity': 0 }, gradient);

  const dy = tickStep(yMax - yMin, 5);
  for (let v = Math.ceil(yMin / dy) * dy; v <= yMax + 1e-9; v += dy) {
    el('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: '#2a2f40' }, svg);
    el('text', { x: L - 8, y: y(v) + 4, 'text-anchor': 'end' }, svg).textContent = v.toFixed(dy < 1 ? 1 : 0);
  }
  const dx = tickStep(maxStep, 6);
  for (let s = 0; s <= maxStep; s += dx) {
    el('text', { x: x(s), y: H - 8, 'text-anchor': 'middle' }, svg).textContent = s >= 1000 ? `${s / 1000}k` : String(s);
  }
  el('text', { x: W - R, y: H - 8 - 12, 'text-anchor': 'end' }, svg).textContent = 'steps';
  el('text', { x: L + 4, y: T + 10 }, svg).textContent = 'nats / char';

  el('line', { x1: L, x2: W - R, y1: y(uniform), y2: y(uniform), stroke: '#8b91a7', 'stroke-dasharray': '4 4', 'stroke-opacity': 0.7 }, svg);
  el('text', { x: W - R - 4, y: y(uniform) - 5, 'text-anchor': 'end' }, svg).textContent = `uniform guess ${uniform.toFixed(2)}`;

  if (train.length > 1) {
    const line = train.map(([s, v], i) => `${i === 0 ? 'M' : 'L'}${x(s).toFixed(1)},${y(v).toFixed(1)}`).join('');
    el('path', { d: `${line}L${x(train[train.length - 1][0]).toFixed(1)},${y(yMin)}L${x(train[0][0]).toFixed(1)},${y(yMin)}Z`, fill: 'url(#fill)' }, svg);
    el('path', { d: line, fill: 'none', stroke: '#5ab0ff', 'stroke-width': 2, 'stroke-linejoin': 'round' }, svg);
  }
  if (valLoss.length > 0) {
    const line = valSteps.map((s, i) => `${i === 0 ? 'M' : 'L'}${x(s).toFixed(1)},${y(valLoss[i]).toFixed(1)}`).join('');
    el('path', { d: line, fill: 'none', stroke: '#ff9f43', 'stroke-width': 2.5, 'stroke-linejoin': 'round' }, svg);
    const every = Math.max(1, Math.ceil(valLoss.length / 60));
    valSteps.forEach((s, i) => {
      if (i % every === 0 || i === valLoss.length - 1) el('circle', { cx: x(s), cy: y(valLoss[i]), r: i === valLoss.length - 1 ? 4.5 : 2.5, fill: '#ff9f43' }, svg);
    });
    const last = valLoss.length - 1;
    const label = el('text', { x: Math.min(x(valSteps[last]) + 8, W - R - 40), y: y(valLoss[last]) - 8 }, svg);
    label.textContent = valLoss[last].toFixed(3);
    label.style.fill = '#ff9f43';
  }
}

textStats();
controls();
