import { afterAll, describe, expect, it } from 'vitest';
import { generate, generateStream, Generator, type GenerationModel } from '../../src/generate/generate.js';
import { LSTMLanguageModel } from '../../src/lstm/model.js';
import type { LSTMState, Tokens } from '../../src/lstm/inputs.js';
import { Vocab } from '../../src/data/vocab.js';
import { predictText } from '../../src/train/predict.js';
import { wasmSimdSupported } from '../../src/index.js';
import { nodeWorkerFactory } from '../../node/index.js';

/**
 * A model whose next token is a function of its input token: logits +10 at `next(x)`, 0
 * elsewhere (so temperature 0 follows the script, and sampling mostly does). It records
 * every token it is fed, in order, per row, and whether it was in training mode.
 */
class ScriptedModel implements GenerationModel {
  readonly fed: number[][] = [];
  readonly calls: number[][] = []; // [B, T] of each call
  training = true;
  trainingSeen: boolean[] = [];
  constructor(readonly vocabSize: number, readonly next: (x: number) => number) {}

  initState(B: number): LSTMState {
    return { h: new Float32Array(B), c: new Float32Array(B) };
  }

  forward(X: Tokens, state?: LSTMState): { logits: Float32Array; state: LSTMState } {
    const rows = Array.isArray(X)
      ? (X as number[][])
      : Array.from({ length: (X as { batchSize: number }).batchSize }, (_, b) => {
          const m = X as { data: Int32Array; numSteps: number };
          return Array.from(m.data.subarray(b * m.numSteps, (b + 1) * m.numSteps));
        });
    const B = rows.length, T = rows[0]!.length, V = this.vocabSize;
    this.calls.push([B, T]);
    this.trainingSeen.push(this.training);
    rows.forEach((row, b) => (this.fed[b] ??= []).push(...row));
    const logits = new Float32Array(T * B * V);
    for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) logits[(t * B + b) * V + this.next(rows[b]![t]!)] = 10;
    return { logits, state: state ?? this.initState(B) };
  }
}

// Characters: <unk> a b c d e ' ' '\n'; the script spells "abcde abcde …".
const chars = new Vocab([...'abcde \n'], { level: 'char' });
const id = (t: string) => chars.indexOf(t);
const cycle = [...'abcde '].map(id);
const scripted = () => new ScriptedModel(chars.size, (x) => cycle[(cycle.indexOf(x) + 1) % cycle.length] ?? id('a'));
const greedy = { temperature: 0 } as const;

describe('generate on a scripted model', () => {
  it('continues the prompt: one warm-up call over the prompt but its last token, then one call per token', () => {
    const model = scripted();
    expect(generate(model, chars, { prompt: 'abc', maxTokens: 8, ...greedy })).toBe('de abcde');
    expect(model.calls).toEqual([[1, 2], ...Array.from({ length: 8 }, () => [1, 1])]);
    // Every token fed once, in order (ml5 feeds the first twice and drops the last).
    expect(model.fed[0]!.map((i) => chars.idxToToken[i]).join('')).toBe('abcde abcd');
  });

  it('maxTokens 0 calls the model not at all; the default is 100 tokens', () => {
    const model = scripted();
    expect(generate(model, chars, { prompt: 'abc', maxTokens: 0 })).toBe('');
    expect(model.calls).toEqual([]);
    expect(generate(model, chars, { prompt: 'a', ...greedy })).toHaveLength(100);
  });

  it('stops at a stop string, which is left out, also when it spans tokens', () => {
    const model = scripted();
    expect(generate(model, chars, { prompt: 'a', maxTokens: 50, stop: ['e a'], ...greedy })).toBe('bcd');
    expect(generate(model, chars, { prompt: 'a', maxTokens: 50, stop: ['zz', 'd'], ...greedy })).toBe('bc');
    // With several ending the text, the longest is cut; the prompt is not searched.
    expect(generate(model, chars, { prompt: 'a', maxTokens: 50, stop: ['c', 'bc'], ...greedy })).toBe('');
    expect(generate(model, chars, { prompt: 'abcd', maxTokens: 50, stop: ['bcd'], ...greedy })).toBe('e a');
    // A stop string never completed: maxTokens ends it, nothing held back.
    expect(generate(model, chars, { prompt: 'a', maxTokens: 4, stop: ['de!'], ...greedy })).toBe('bcde');
  });

  it('streams one piece per token, holding back what could begin a stop string', async () => {
    const pieces: string[] = [];
    for await (const p of generateStream(scripted(), chars, { prompt: 'a', maxTokens: 12, stop: ['e ab'], ...greedy })) pieces.push(p);
    // "bcd" streams; "e", " ", "a" are held (a prefix of "e ab" each time); "b" completes it.
    expect(pieces).toEqual(['b', 'c', 'd']);
    const more: string[] = [];
    for await (const p of generateStream(scripted(), chars, { prompt: 'a', maxTokens: 9, stop: ['e ax'], ...greedy })) more.push(p);
    // "e a" is held, then "b" shows it is no stop: released with it.
    expect(more).toEqual(['b', 'c', 'd', 'e ab', 'c', 'd']);
    const plain: string[] = [];
    for await (const p of generateStream(scripted(), chars, { prompt: 'a', maxTokens: 5, ...greedy })) plain.push(p);
    expect(plain).toEqual(['b', 'c', 'd', 'e', ' ']);
  });

  it('aborts mid-stream: the iteration throws the reason and the model is called no more', async () => {
    const model = scripted();
    const controller = new AbortController();
    const pieces: string[] = [];
    const consume = async () => {
      for await (const p of generateStream(model, chars, { prompt: 'a', maxTokens: 100, signal: controller.signal, ...greedy })) {
        pieces.push(p);
        if (pieces.length === 3) controller.abort(new Error('enough'));
      }
    };
    await expect(consume()).rejects.toThrow(/^enough$/);
    expect(pieces).toEqual(['b', 'c', 'd']);
    expect(model.calls).toHaveLength(3); // no warm-up (one-token prompt), three steps
    const aborted = AbortSignal.abort(new Error('before'));
    expect(() => generate(model, chars, { prompt: 'a', signal: aborted })).toThrow(/^before$/);
    expect(model.calls).toHaveLength(3);
  });

  it('joins words with a space: each piece is " " + word, so prompt + text reads as text', async () => {
    const words = new Vocab(['the', 'cat', 'sat'], { level: 'word' });
    const model = new ScriptedModel(words.size, (x) => (x % 3) + 1); // the → cat → sat → the
    expect(generate(model, words, { prompt: 'the  cat', maxTokens: 4, ...greedy })).toBe(' sat the cat sat');
    const pieces: string[] = [];
    for await (const p of generateStream(model, words, { prompt: 'the', maxTokens: 2, ...greedy })) pieces.push(p);
    expect(pieces).toEqual([' cat', ' sat']);
    expect(generate(model, words, { prompt: 'the', maxTokens: 9, stop: ['the'], ...greedy })).toBe(' cat sat ');
  });

  it('infers the level: recorded, else char when every token but <unk> is one code point', () => {
    const unrecorded = new Vocab([...'ab👋']);
    const m = new ScriptedModel(unrecorded.size, () => unrecorded.indexOf('👋'));
    expect(generate(m, unrecorded, { prompt: 'ab', maxTokens: 2, ...greedy })).toBe('👋👋');
    const words = new Vocab(['ab', 'c']);
    const w = new ScriptedModel(words.size, () => words.indexOf('ab'));
    expect(generate(w, words, { prompt: 'c', maxTokens: 2, ...greedy })).toBe(' ab ab');
    expect(generate(w, words, { prompt: 'c', maxTokens: 2, level: 'char', ...greedy })).toBe('abab');
  });

  it('maps unknown prompt tokens to <unk>, or throws with unknown: "error"', () => {
    const model = scripted();
    generate(model, chars, { prompt: 'xa', maxTokens: 1 });
    expect(model.fed[0]!.slice(0, 1)).toEqual([chars.unk]);
    expect(() => generate(model, chars, { prompt: 'axb', unknown: 'error' })).toThrow(
      /^Expected `prompt` to hold only tokens of the vocabulary, got "x"\.$/,
    );
  });

  it('runs in evaluation mode: training is off for each call and restored, even on error', () => {
    const model = scripted();
    generate(model, chars, { prompt: 'abc', maxTokens: 3 });
    expect(model.trainingSeen).toEqual([false, false, false, false]);
    expect(model.training).toBe(true);
    const failing = scripted();
    failing.forward = () => {
      throw new Error('boom');
    };
    expect(() => generate(failing, chars, { prompt: 'ab', maxTokens: 3 })).toThrow('boom');
    expect(failing.training).toBe(true);
  });

  it('applies the repetition penalty (CTRL) to the tokens in the window', () => {
    // A model with fixed logits (a, b, c, d from `values`, the rest −5); greedy.
    const fixed = (values: number[]): GenerationModel => ({
      vocabSize: chars.size,
      initState: (B) => ({ h: new Float32Array(B), c: new Float32Array(B) }),
      forward: (X, state) => {
        const B = Array.isArray(X) ? X.length : (X as { batchSize: number }).batchSize;
        const logits = new Float32Array(B * chars.size).fill(-5);
        for (let b = 0; b < B; b++) logits.set(values, b * chars.size + id('a'));
        return { logits, state: state! };
      },
    });
    const positive = fixed([2, 1.5, -1, -1.2]);
    const run = (prompt: string, repetitionPenalty: number, repetitionWindow?: number) =>
      generate(positive, chars, { prompt, maxTokens: 1, repetitionPenalty, repetitionWindow, ...greedy });
    expect(run('e', 1)).toBe('a');
    expect(run('a', 1.2)).toBe('a'); // 2 / 1.2 = 1.67 > 1.5
    expect(run('a', 2)).toBe('b'); // 2 / 2 = 1 < 1.5
    expect(run('ab', 2)).toBe('a'); // 1 > 0.75
    expect(run('abaaaa', 1.5)).toBe('a'); // each token once: 1.33 > 1 (twice would be 0.89)
    expect(run('ae', 2, 1)).toBe('a'); // 'a' is out of a window of 1
    expect(run('ae', 2, 0)).toBe('a'); // window 0: off
    // Negative logits are multiplied: c −1 · 1.5 = −1.5 < d's −1.2.
    const negative = fixed([-9, -9, -1, -1.2]);
    expect(generate(negative, chars, { prompt: 'c', maxTokens: 1, repetitionPenalty: 1.5, ...greedy })).toBe('d');
    // Generated tokens count too: c, then d, then both penalised → c (−1.5 > −1.8).
    expect(generate(negative, chars, { prompt: 'e', maxTokens: 3, repetitionPenalty: 1.5, ...greedy })).toBe('cdc');
  });

  it('rejects bad options, naming the option and the value, before calling the model', () => {
    const model = scripted();
    const bad = (options: object) => () => generate(model, chars, { prompt: 'ab', ...options });
    expect(bad({ temperature: -1 })).toThrow(/^Expected `temperature` to be a finite number ≥ 0, got -1\.$/);
    expect(bad({ topK: 1.5 })).toThrow(/^Expected `topK` to be a non-negative integer, got 1\.5\.$/);
    expect(bad({ topP: 0 })).toThrow(/^Expected `topP` to be a number in \(0, 1\], got 0\.$/);
    expect(bad({ minP: 1 })).toThrow(/^Expected `minP` to be a number in \[0, 1\), got 1\.$/);
    expect(bad({ maxTokens: -1 })).toThrow(/^Expected `maxTokens` to be a non-negative integer, got -1\.$/);
    expect(bad({ maxTokens: Infinity })).toThrow(TypeError);
    expect(bad({ stop: 'e' })).toThrow(/^Expected `stop` to be an array of strings, got "e"\.$/);
    expect(bad({ stop: ['a', 3] })).toThrow(/^Expected `stop\[1\]` to be a string, got 3\.$/);
    expect(bad({ stop: [''] })).toThrow(/^Expected `stop\[0\]` to be a non-empty string, got ""\.$/);
    expect(bad({ repetitionPenalty: 0 })).toThrow(/^Expected `repetitionPenalty` to be a finite number > 0, got 0\.$/);
    expect(bad({ repetitionWindow: -2 })).toThrow(/^Expected `repetitionWindow` to be a non-negative integer, got -2\.$/);
    expect(bad({ seed: 1.5 })).toThrow(/^Expected `seed` to be an integer, got 1\.5\.$/);
    expect(bad({ numSamples: 0 })).toThrow(/^Expected `numSamples` to be a positive integer, got 0\.$/);
    expect(bad({ level: 'line' })).toThrow(/^Expected `level` to be "char" or "word", got "line"\.$/);
    expect(bad({ unknown: 'skip' })).toThrow(/^Expected `unknown` to be "unk" or "error", got "skip"\.$/);
    expect(bad({ signal: {} })).toThrow(/^Expected `signal` to be an AbortSignal, got an object\.$/);
    expect(bad({ prompt: 3 })).toThrow(/^Expected `prompt` to be a string, got 3\.$/);
    expect(bad({ prompt: '' })).toThrow(/^Expected `prompt` to hold at least one char token, got ""\.$/);
    expect(() => generate(model, chars, null as never)).toThrow(/^Expected `options` to be an object, got null\.$/);
    expect(() => generate(model, new Vocab(['a']), { prompt: 'a' })).toThrow(/^Expected `vocab` to have the model's 8 tokens, got 2\.$/);
    expect(() => generateStream(model, chars, { prompt: 'a', topK: -1 })).toThrow(/`topK`/); // at the call, not on iteration
    expect(model.calls).toEqual([]);
  });
});

describe('generate on an LSTM', () => {
  const vocab = new Vocab([...'the quick brown fox jumps over the lazy dog\n'], { level: 'char' });
  const options = (backend: 'js' | 'wasm', threads = 1) =>
    ({ vocabSize: vocab.size, numHiddens: 32, seed: 5, initScale: 0.4, backend, threads, createWorker: nodeWorkerFactory });
  const js = new LSTMLanguageModel(options('js'));
  const sampling = { prompt: 'the quick', maxTokens: 60, temperature: 0.9, topK: 12, topP: 0.95, seed: 7 };
  const simd = wasmSimdSupported();
  const wasm2 = simd ? new LSTMLanguageModel(options('wasm', 2)) : undefined;
  afterAll(() => wasm2?.dispose());

  it('temperature 0 is predict (greedy argmax)', () => {
    const text = generate(js, vocab, { prompt: 'the quick', maxTokens: 40, temperature: 0 });
    expect('the quick' + text).toBe(predictText(js, vocab, 'the quick', 40, 'char'));
  });

  it('the same seed gives the same text; another seed another', () => {
    const text = generate(js, vocab, sampling);
    expect(text.replaceAll('<unk>', '?')).toHaveLength(60); // an untrained model draws <unk> too
    expect(generate(js, vocab, sampling)).toBe(text);
    expect(generate(js, vocab, { ...sampling, seed: 8 })).not.toBe(text);
  });

  it.skipIf(!simd)('the same seed gives the same text on js, wasm, and wasm on 2 threads', () => {
    const text = generate(js, vocab, sampling);
    const wasm = new LSTMLanguageModel(options('wasm'));
    expect(wasm.backend).toBe('wasm');
    expect(generate(wasm, vocab, sampling)).toBe(text);
    expect(wasm2!.threads).toBe(2);
    expect(generate(wasm2!, vocab, sampling)).toBe(text);
    expect(generate(wasm2!, vocab, { ...sampling, numSamples: 3 })).toEqual(generate(js, vocab, { ...sampling, numSamples: 3 }));
  });

  it('numSamples: sample b is the single-sample text of seed + b, from one batched call per step', () => {
    const texts = generate(js, vocab, { ...sampling, numSamples: 5 });
    expect(texts).toHaveLength(5);
    texts.forEach((t, b) => expect(t).toBe(generate(js, vocab, { ...sampling, seed: sampling.seed + b })));
    expect(new Set(texts).size).toBe(5);
    // Each sample stops on its own; the others go on.
    const stopped = generate(js, vocab, { ...sampling, numSamples: 5, stop: ['o'] });
    stopped.forEach((t, b) => expect(t).toBe(generate(js, vocab, { ...sampling, stop: ['o'], seed: sampling.seed + b })));
  });

  it('numSamples in a stream: one array of pieces per step, joining to generate\'s texts', async () => {
    const joined = ['', '', ''];
    for await (const step of generateStream(js, vocab, { ...sampling, numSamples: 3, stop: ['e'] })) {
      expect(step).toHaveLength(3);
      step.forEach((p, b) => (joined[b] += p));
    }
    expect(joined).toEqual(generate(js, vocab, { ...sampling, numSamples: 3, stop: ['e'] }));
  });

  it('Generator: feed then next n times is generate; feeds split anywhere give the same state', () => {
    const session = new Generator(js, vocab, { seed: 7 });
    session.feed('the quick');
    let text = '';
    for (let i = 0; i < 60; i++) text += session.next(sampling);
    expect(text).toBe(generate(js, vocab, sampling));
    const split = new Generator(js, vocab);
    split.feed('the');
    split.feed(' qu');
    split.feed('ick');
    const whole = new Generator(js, vocab);
    whole.feed('the quick');
    expect(split.state).toEqual(whole.state);
  });

  it('Generator: state get/set copies; a saved state continues the same way; reset starts afresh', () => {
    const a = new Generator(js, vocab, { seed: 3 });
    a.feed('the lazy');
    const saved = a.state;
    const draw = (g: Generator) => Array.from({ length: 30 }, () => g.next({ temperature: 0.8 })).join('');
    const first = draw(a);
    expect(a.state.h).not.toEqual(saved.h); // the saved copy did not move
    const b = new Generator(js, vocab, { seed: 3 });
    b.state = saved;
    expect(draw(b)).toBe(first);
    saved.h.fill(9); // b holds its own copy
    a.reset();
    a.feed('the lazy');
    expect(draw(a)).toBe(first);
  });

  it('Generator: every token reaches the model once, in order', () => {
    const model = scripted();
    const session = new Generator(model, chars);
    session.feed('ab');
    session.feed('c');
    const drawn = session.next(greedy) + session.next(greedy);
    void session.state;
    expect(drawn).toBe('de');
    expect(model.fed[0]!.map((i) => chars.idxToToken[i]).join('')).toBe('abcde');
    expect(model.calls).toEqual([[1, 1], [1, 1], [1, 1], [1, 1], [1, 1]]);
  });

  it('works on a deep model (2 layers, dropout): state L·H long, rows independent, training kept on', () => {
    const deep = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: 16, numLayers: 2, dropout: 0.3, seed: 2, initScale: 0.5, backend: 'js' });
    const session = new Generator(deep, vocab, { seed: 7 });
    session.feed('the quick');
    expect(session.state.h).toHaveLength(deep.initState(1).h.length);
    expect(session.state.h).toHaveLength(2 * 16);
    expect('the quick' + generate(deep, vocab, { prompt: 'the quick', maxTokens: 30, temperature: 0 }))
      .toBe(predictText(deep, vocab, 'the quick', 30, 'char'));
    const texts = generate(deep, vocab, { ...sampling, numSamples: 3 });
    texts.forEach((t, b) => expect(t).toBe(generate(deep, vocab, { ...sampling, seed: sampling.seed + b })));
    let text = '';
    for (let i = 0; i < 60; i++) text += session.next(sampling);
    expect(text).toBe(texts[0]);
    expect(deep.training).toBe(true);
  });

  it('Generator: bad input', () => {
    const session = new Generator(js, vocab);
    expect(() => session.next()).toThrow(/^Nothing to continue: feed the generator some text/);
    session.feed('');
    expect(() => session.next()).toThrow(/^Nothing to continue/);
    expect(() => session.feed(3 as never)).toThrow(/^Expected `text` to be a string, got 3\.$/);
    expect(() => new Generator(js, vocab, { unknown: 'error' }).feed('the XYZ')).toThrow(/got "X"/);
    session.feed('the');
    expect(() => session.next({ topP: 2 })).toThrow(/^Expected `topP` to be a number in \(0, 1\], got 2\.$/);
    expect(() => (session.state = { h: new Float32Array(3), c: new Float32Array(32), logits: null })).toThrow(
      /^Expected `state\.h` to be a float array of length 32, got a Float32Array\.$/,
    );
    expect(() => (session.state = { ...session.state, logits: new Float32Array(2) })).toThrow(/`state\.logits`/);
    expect(() => new Generator(js, vocab, { seed: 0.5 })).toThrow(/^Expected `seed` to be an integer, got 0\.5\.$/);
  });
});
