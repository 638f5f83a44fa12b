// Generation on the webgpu backend (Dawn + SwiftShader) against the js backend with the same
// weights and seeds. The GPU's logits differ from the CPU's by float32 rounding, so for sampled
// text the test proves, step by step, that the difference cannot change a draw: the two
// filtered distributions are compared, and the draw u must lie farther from every boundary of
// the inverse CDF than the distributions' L1 distance (which bounds how far any boundary
// moved). Greedy text must match exactly; the trained model's margins make that meaningful.
import { beforeAll, describe, expect, it } from 'vitest';
import { generate, generateStream, Generator, type GenerationModel, type StepOptions } from '../../src/generate/generate.js';
import { checkSampleOptions, sampleRow, SampleScratch } from '../../src/generate/sample.js';
import { LSTMLanguageModel } from '../../src/lstm/model.js';
import { Adam } from '../../src/optim/adam.js';
import { Vocab } from '../../src/data/vocab.js';
import { Random } from '../../src/tensor/random.js';
import type { FloatArray } from '../../src/tensor/float-array.js';
import { testDevice } from './device.js';

const TEXT = 'the quick brown fox jumps over the lazy dog.\nthe lazy dog sleeps; the fox runs away.\n';
const vocab = new Vocab([...TEXT], { level: 'char' });
const V = vocab.size;
const config = { vocabSize: V, numHiddens: 24, numLayers: 2, init: 'pytorch', seed: 3 } as const;

let js: LSTMLanguageModel;
let gpu: LSTMLanguageModel;
let trainedLoss = NaN;

/** A js model trained on TEXT (Adam, 150 steps of 8 random windows of 20 chars): confident, not one-hot. */
function trainedModel(): LSTMLanguageModel {
  const model = new LSTMLanguageModel({ ...config, backend: 'js' });
  const adam = new Adam(model.parameters(), { lr: 0.02 });
  const ids = vocab.encode([...TEXT.repeat(4)]);
  const rng = new Random(7);
  const B = 8, T = 20;
  for (let step = 0; step < 150; step++) {
    const X: number[][] = [], Y: number[][] = [];
    for (let b = 0; b < B; b++) {
      const at = rng.int(ids.length - T - 1);
      X.push(ids.slice(at, at + T));
      Y.push(ids.slice(at + 1, at + T + 1));
    }
    model.zeroGrad();
    trainedLoss = model.forwardBackward(X, Y).loss;
    adam.step();
  }
  return model;
}

beforeAll(async () => {
  js = trainedModel();
  gpu = new LSTMLanguageModel({ ...config, backend: 'webgpu', gpuDevice: await testDevice() });
  gpu.flatParameters.set(js.flatParameters);
  gpu.upload();
});

async function collect(stream: AsyncIterable<string>): Promise<string> {
  let text = '';
  for await (const piece of stream) text += piece;
  return text;
}

const SETTINGS: readonly (StepOptions & { name: string })[] = [
  { name: 'greedy', temperature: 0 },
  { name: 'temperature 1', temperature: 1 },
  { name: 'temperature 0.7', temperature: 0.7 },
  { name: 'top-k 3', temperature: 0.9, topK: 3 },
  { name: 'top-p 0.8', topP: 0.8 },
  { name: 'top-k 5, top-p 0.9, min-p 0.05', temperature: 1.2, topK: 5, topP: 0.9, minP: 0.05 },
  { name: 'repetition penalty 1.3', temperature: 0.8, repetitionPenalty: 1.3, repetitionWindow: 16 },
];
const PROMPT = 'the ';
const STEPS = 30;

/**
 * Per step: the logits of both models (1e-4 apart at most), the filtered distributions of both
 * (the sampler's own filters), the draw on each, and the proof that rounding could not flip it.
 * Returns the text the js model drew.
 */
async function lockstep(options: StepOptions, seed: number): Promise<{ text: string; maxLogitDiff: number; minSlack: number }> {
  const a = new Generator(js, vocab, { seed }), b = new Generator(gpu, vocab, { seed });
  a.feed(PROMPT);
  b.feed(PROMPT);
  const settings = checkSampleOptions(options);
  const rng = new Random(seed); // the generators' draws, replayed
  let text = '', maxLogitDiff = 0, minSlack = Infinity;
  for (let step = 0; step < STEPS; step++) {
    const la = a.state.logits!, lb = (await b.stateAsync()).logits!;
    for (let i = 0; i < V; i++) maxLogitDiff = Math.max(maxLogitDiff, Math.abs(la[i]! - lb[i]!));
    if (options.repetitionPenalty === undefined) {
      // The filtered distributions and where the draw falls (no penalty: sampleRow sees the logits).
      const u = (() => { const r = new Random(0); r.state = rng.state; return r.uniform(); })();
      const pa = filtered(la, settings, rng.state), pb = filtered(lb, settings, rng.state);
      let l1 = 0;
      for (let i = 0; i < V; i++) l1 += Math.abs(pa[i]! - pb[i]!);
      if (settings.temperature > 0) {
        // Boundaries of the inverse CDF in id order; each moved by at most l1.
        let sum = 0, slack = Infinity;
        for (let i = 0; i < V; i++) {
          if (pa[i] === 0) continue;
          sum += pa[i]!;
          slack = Math.min(slack, Math.abs(u - sum));
        }
        expect(slack, `step ${step}: the draw's distance to a boundary exceeds the distributions' L1 distance`).toBeGreaterThan(l1);
        minSlack = Math.min(minSlack, slack - l1);
        rng.uniform();
      } else {
        const sorted = [...la].sort((x, y) => y - x);
        minSlack = Math.min(minSlack, sorted[0]! - sorted[1]! - 2 * maxLogitDiff); // the argmax cannot change
      }
    }
    const pieceA = a.next(options);
    const pieceB = await b.nextAsync(options);
    expect(pieceB, `step ${step}`).toBe(pieceA);
    text += pieceA;
  }
  return { text, maxLogitDiff, minSlack };
}

/** The normalised distribution sampleRow draws from: its scratch after a draw from a copy of the generator. */
function filtered(logits: FloatArray, settings: ReturnType<typeof checkSampleOptions>, state: Random['state']): Float64Array {
  const scratch = new SampleScratch(V);
  const r = new Random(0);
  r.state = state;
  sampleRow(logits, 0, V, settings, r, scratch);
  let total = 0;
  for (let i = 0; i < V; i++) total += scratch.p[i]!;
  return scratch.p.map((p) => p / total);
}

describe('generation on the webgpu backend against js (same weights, same seeds)', () => {
  it('the js model is trained enough to be confident (loss well below ln V)', () => {
    expect(trainedLoss).toBeLessThan(0.5 * Math.log(V));
  });

  SETTINGS.forEach((options, k) => {
    it(`${options.name}: Generator.nextAsync draws what js draws, every step proven safe from rounding`, async () => {
      for (const seed of [7 * k + 1]) {
        const { text, maxLogitDiff, minSlack } = await lockstep(options, seed);
        expect(maxLogitDiff).toBeLessThan(1e-4);
        if (options.repetitionPenalty === undefined) expect(minSlack).toBeGreaterThan(0);
        // generateStream on the GPU gives the same text, and so does generate() on the CPU.
        const generateOptions = { ...options, prompt: PROMPT, maxTokens: STEPS, seed };
        delete (generateOptions as { name?: string }).name;
        expect(await collect(generateStream(gpu, vocab, generateOptions))).toBe(text);
        expect(generate(js, vocab, generateOptions)).toBe(text);
      }
    });
  });

  it('greedy text of the trained model is the text it learnt, identical on both backends', async () => {
    const options = { prompt: 'the lazy', maxTokens: 40, temperature: 0 };
    const cpu = generate(js, vocab, options);
    expect(await collect(generateStream(gpu, vocab, options))).toBe(cpu);
    expect(TEXT.repeat(3)).toContain('the lazy' + cpu.slice(0, 12));
  });

  it('numSamples 3 with stop strings: the same three texts on both backends', async () => {
    const options = { prompt: 'the', maxTokens: 50, temperature: 0.9, topK: 4, numSamples: 3, stop: ['.'], seed: 5 };
    const expected = generate(js, vocab, options);
    const got: string[] = ['', '', ''];
    for await (const pieces of generateStream(gpu, vocab, options)) pieces.forEach((p, i) => (got[i] += p));
    expect(got).toEqual(expected);
  });

  it('Generator on the GPU: feed is queued and runs in one call; state, set state, reset as on js', async () => {
    const a = new Generator(js, vocab, { seed: 2 }), b = new Generator(gpu, vocab, { seed: 2 });
    a.feed('the qu');
    a.feed('ick');
    b.feed('the qu');
    b.feed('ick'); // nothing run yet: both feeds are queued
    const sa = a.state, sb = await b.stateAsync();
    for (const k of ['h', 'c', 'logits'] as const) {
      const x = sa[k]!, y = sb[k]!;
      for (let i = 0; i < x.length; i++) expect(Math.abs(x[i]! - y[i]!)).toBeLessThan(1e-4);
    }
    const step = { temperature: 0 };
    const first = [a.next(step), a.next(step), a.next(step)].join('');
    expect([await b.nextAsync(step), await b.nextAsync(step), await b.nextAsync(step)].join('')).toBe(first);
    b.state = sb; // back, on the GPU model, to after 'the quick'
    expect([await b.nextAsync(step), await b.nextAsync(step), await b.nextAsync(step)].join('')).toBe(first);
    b.reset();
    await expect(b.nextAsync()).rejects.toThrow(/Nothing to continue/);
  });

  it('a second call while one is in flight throws, and the first still completes', async () => {
    const b = new Generator(gpu, vocab, { seed: 0 });
    b.feed('the');
    const first = b.nextAsync({ temperature: 0 });
    await expect(b.nextAsync()).rejects.toThrow(/busy: await its nextAsync\(\) or stateAsync\(\)/);
    expect(() => b.feed('x')).toThrow(/busy/);
    expect(await first).toBe(' ');
  });

  it('synchronous entry points on a webgpu model throw a TypeError naming the asynchronous twin', () => {
    expect(() => generate(gpu, vocab, { prompt: 'the' })).toThrow(TypeError);
    expect(() => generate(gpu, vocab, { prompt: 'the' })).toThrow(/webgpu backend computes asynchronously\. Use generateStream\(/);
    const b = new Generator(gpu, vocab);
    b.feed('the');
    expect(() => b.next()).toThrow(/session\.next\(\).*Use await session\.nextAsync\(/);
    expect(() => b.state).toThrow(/reading session\.state.*Use await session\.stateAsync\(\)/);
  });

  it('nextAsync and stateAsync work on a CPU model, as next and state', async () => {
    const a = new Generator(js, vocab, { seed: 4 }), c = new Generator(js, vocab, { seed: 4 });
    a.feed('the');
    c.feed('the');
    const text = Array.from({ length: 10 }, () => a.next({ temperature: 0.8 })).join('');
    let async = '';
    for (let i = 0; i < 10; i++) async += await c.nextAsync({ temperature: 0.8 });
    expect(async).toBe(text);
    expect(await c.stateAsync()).toEqual(a.state);
  });

  it('GenerationModel: the model fits it, and so does a plain synchronous object', () => {
    const asType: GenerationModel = gpu;
    const plain: GenerationModel = { vocabSize: V, initState: (B) => js.initState(B), forward: (X, s) => js.forward(X, s) };
    expect(generate(plain, vocab, { prompt: 'the', maxTokens: 5, temperature: 0 })).toBe(generate(js, vocab, { prompt: 'the', maxTokens: 5, temperature: 0 }));
    expect(asType.backend).toBe('webgpu');
    // An asynchronous model without forwardAsync is not a model.
    const broken = { vocabSize: V, backend: 'webgpu', initState: plain.initState, forward: plain.forward } as GenerationModel;
    expect(() => generateStream(broken, vocab, { prompt: 'the' })).toThrow(/Expected `model` to be an LSTMLanguageModel/);
  });
});
