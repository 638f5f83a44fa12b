// Tests that kill the mutants of src/generate/generate.ts that test/generate/generate.test.ts
// leaves alive (docs/mutation.md): the asynchronous (webgpu) path run on a scripted model
// that answers through forwardAsync, so no GPU is needed; every argument check with its whole
// message; evaluation mode on both paths; the repetition penalty's defaults and rows; the
// stream's held text; and the Generator's state handling. Every fixture that calls
// generate.ts is built inside a test (a mutant that throws must fail a test, not the import).
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_TOKENS, generate, generateStream, Generator, type GenerationModel, type GeneratorState,
} from '../../src/generate/generate.js';
import type { LSTMState, Tokens } from '../../src/lstm/inputs.js';
import { Vocab } from '../../src/data/vocab.js';

/** The rows of a forward call's input, as number arrays. */
function rowsOf(X: Tokens): number[][] {
  if (Array.isArray(X)) return (X as number[][]).map((r) => [...r]);
  const m = X as { data: Int32Array; batchSize: number; numSteps: number };
  return Array.from({ length: m.batchSize }, (_, b) => Array.from(m.data.subarray(b * m.numSteps, (b + 1) * m.numSteps)));
}

/**
 * A model whose next token is a function of its input token (logit +10 at `next(x)`, 0
 * elsewhere): records each call's [B, T], the tokens fed per row, and `training` at each call.
 */
class Scripted implements GenerationModel {
  readonly calls: number[][] = [];
  readonly fed: number[][] = [];
  readonly trainingSeen: unknown[] = [];
  training: unknown = true;
  constructor(readonly vocabSize: number, readonly next: (x: number, b: number) => number) {}

  initState(B: number): LSTMState {
    return { h: new Float32Array(2 * B), c: new Float32Array(2 * B) };
  }

  forward(X: Tokens, state?: LSTMState): { logits: Float32Array; state: LSTMState } {
    const rows = rowsOf(X);
    const B = rows.length, T = rows[0]!.length, V = this.vocabSize;
    this.calls.push([B, T]);
    this.trainingSeen.push(this.training);
    rows.forEach((row, b) => (this.fed[b] ??= []).push(...row));
    const logits = new Float32Array(T * B * V);
    for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) logits[(t * B + b) * V + this.next(rows[b]![t]!, b)] = 10;
    // The state records the last token of row 0, so a test can see which state a step used.
    if (state !== undefined) state.h[0] = rows[0]![T - 1]!;
    return { logits, state: state ?? this.initState(B) };
  }
}

/**
 * The same model on an asynchronous backend: `backend: 'webgpu'`, results through
 * forwardAsync, resolved after a macrotask; `forward` throws (the async path must not call it).
 * Records `training` when each promise resolves (the flag must be restored by then).
 */
class AsyncScripted extends Scripted {
  readonly backend = 'webgpu' as const;
  readonly trainingAtResolve: unknown[] = [];
  syncCalls = 0;

  override forward(): never {
    this.syncCalls++;
    throw new Error('forward called on an asynchronous model');
  }

  forwardAsync(X: Tokens, state?: LSTMState): Promise<{ logits: Float32Array; state: LSTMState }> {
    const result = super.forward(X, state);
    return new Promise((resolve) => setTimeout(() => {
      this.trainingAtResolve.push(this.training);
      resolve(result);
    }, 0));
  }
}

// Characters: <unk> a b c d e ' ' '\n' (ids 0 … 7); the script spells "abcde abcde …".
const chars = new Vocab([...'abcde \n'], { level: 'char' });
const id = (t: string): number => chars.indexOf(t);
const cycle = [...'abcde '].map(id);
const follow = (x: number): number => cycle[(cycle.indexOf(x) + 1) % cycle.length] ?? id('a');
const scripted = (): Scripted => new Scripted(chars.size, follow);
const asyncScripted = (): AsyncScripted => new AsyncScripted(chars.size, follow);
const greedy = { temperature: 0 } as const;
const text = (ids: readonly number[]): string => ids.map((i) => chars.idxToToken[i]).join('');

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** A model with fixed logits per row: `rows[b]` for a … (ids 1 …), −5 elsewhere. */
function fixed(rows: number[][]): GenerationModel {
  return {
    vocabSize: chars.size,
    initState: (B) => ({ h: new Float32Array(B), c: new Float32Array(B) }),
    forward: (X, state) => {
      const B = rowsOf(X).length, T = rowsOf(X)[0]!.length;
      const logits = new Float32Array(T * B * chars.size).fill(-5);
      for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) logits.set(rows[b % rows.length]!, (t * B + b) * chars.size + id('a'));
      return { logits, state: state! };
    },
  };
}

describe('generate: argument checks, whole messages', () => {
  it('refuses what is not a model or a vocabulary', () => {
    const vocabSize = chars.size;
    const fn = Object.assign(() => 0, { vocabSize, forward: () => 0, initState: () => 0 });
    const notModels: [unknown, string][] = [
      [null, 'null'],
      ['model', '"model"'],
      [fn, 'a function'],
      [{ vocabSize, initState: () => 0 }, 'an object'],
      [{ vocabSize, forward: () => 0 }, 'an object'],
      [{ vocabSize, forward: 1, initState: () => 0 }, 'an object'],
      [{ vocabSize, forward: () => 0, initState: 1 }, 'an object'],
      [{ vocabSize, forward: () => 0, initState: () => 0, backend: 'webgpu' }, 'an object'],
      [{ vocabSize, forward: () => 0, initState: () => 0, backend: 'webgpu', forwardAsync: 1 }, 'an object'],
    ];
    for (const [model, shown] of notModels) {
      const message = `Expected \`model\` to be an LSTMLanguageModel, got ${shown}.`;
      expect(() => generate(model as never, chars, { prompt: 'a' })).toThrow(new TypeError(message));
      expect(() => generateStream(model as never, chars, { prompt: 'a' })).toThrow(new TypeError(message));
      expect(() => new Generator(model as never, chars)).toThrow(new TypeError(message));
    }
    const encodeFn = Object.assign(() => 0, { encode: () => [], size: chars.size });
    const notVocabs: [unknown, string][] = [[null, 'null'], ['abc', '"abc"'], [encodeFn, 'a function'], [{ size: chars.size }, 'an object'], [{ encode: 1, size: 8 }, 'an object']];
    for (const [vocab, shown] of notVocabs) {
      expect(() => generate(scripted(), vocab as never, { prompt: 'a' })).toThrow(new TypeError(`Expected \`vocab\` to be a Vocab, got ${shown}.`));
    }
    const small = new Vocab(['a'], { level: 'char' });
    expect(() => generate(scripted(), small, { prompt: 'a' })).toThrow(new RangeError("Expected `vocab` to have the model's 8 tokens, got 2."));
    expect(() => new Generator(scripted(), small)).toThrow(RangeError);
    // A webgpu-like model with forwardAsync is a model.
    expect(() => new Generator(asyncScripted(), chars)).not.toThrow();
  });

  it('refuses options that are not an object', () => {
    for (const [options, shown] of [[null, 'null'], ['a', '"a"'], [3, '3'], [undefined, 'undefined']] as const) {
      expect(() => generate(scripted(), chars, options as never)).toThrow(new TypeError(`Expected \`options\` to be an object, got ${shown}.`));
    }
    expect(() => new Generator(scripted(), chars, null as never)).toThrow(new TypeError('Expected `options` to be an object, got null.'));
    const session = new Generator(scripted(), chars);
    session.feed('ab');
    expect(() => session.next(null as never)).toThrow(new TypeError('Expected `options` to be an object, got null.'));
  });

  it('repetitionPenalty: a TypeError for a non-number, a RangeError for ≤ 0 or non-finite', () => {
    const bad = (repetitionPenalty: unknown) => () => generate(scripted(), chars, { prompt: 'ab', repetitionPenalty } as never);
    expect(bad('2')).toThrow(new TypeError('Expected `repetitionPenalty` to be a finite number > 0, got "2".'));
    expect(bad(true)).toThrow(new TypeError('Expected `repetitionPenalty` to be a finite number > 0, got true.'));
    expect(bad(null)).not.toThrow(); // null is the default, as undefined
    for (const [v, shown] of [[0, '0'], [-1, '-1'], [NaN, 'NaN'], [Infinity, 'Infinity']] as const) {
      expect(bad(v)).toThrow(new RangeError(`Expected \`repetitionPenalty\` to be a finite number > 0, got ${shown}.`));
    }
    expect(bad(1e-9)).not.toThrow();
    expect(() => generate(scripted(), chars, { prompt: 'ab', repetitionWindow: 1.5 })).toThrow(
      new TypeError('Expected `repetitionWindow` to be a non-negative integer, got 1.5.'),
    );
  });

  it('seed, level, unknown, stop, signal, prompt: the option and the value', () => {
    const bad = (options: object) => () => generate(scripted(), chars, { prompt: 'ab', ...options });
    expect(bad({ seed: '1' })).toThrow(new TypeError('Expected `seed` to be an integer, got "1".'));
    expect(bad({ seed: NaN })).toThrow(new TypeError('Expected `seed` to be an integer, got NaN.'));
    expect(bad({ level: null })).toThrow(new RangeError('Expected `level` to be "char" or "word", got null.'));
    expect(bad({ level: 'char' })).not.toThrow();
    expect(bad({ level: 'word' })).not.toThrow();
    expect(bad({ unknown: null })).not.toThrow(); // null is the default, as undefined
    expect(bad({ unknown: 'error' })).not.toThrow();
    expect(bad({ unknown: 1 })).toThrow(new RangeError('Expected `unknown` to be "unk" or "error", got 1.'));
    expect(bad({ stop: ['a', 'b', ''] })).toThrow(new RangeError('Expected `stop[2]` to be a non-empty string, got "".'));
    expect(bad({ signal: null })).toThrow(new TypeError('Expected `signal` to be an AbortSignal, got null.'));
    expect(bad({ signal: 'x' })).toThrow(new TypeError('Expected `signal` to be an AbortSignal, got "x".'));
    expect(bad({ signal: { aborted: 'no' } })).toThrow(new TypeError('Expected `signal` to be an AbortSignal, got an object.'));
    expect(bad({ signal: { aborted: false } })).not.toThrow(); // duck-typed
    expect(bad({ signal: Object.assign(() => 0, { aborted: false }) })).toThrow(new TypeError('Expected `signal` to be an AbortSignal, got a function.'));
    // The seed is checked with the options, before an aborted signal is looked at.
    expect(bad({ seed: 1.5, signal: AbortSignal.abort(new Error('aborted')) })).toThrow(new TypeError('Expected `seed` to be an integer, got 1.5.'));
    expect(bad({ prompt: null })).toThrow(new TypeError('Expected `prompt` to be a string, got null.'));
    expect(bad({ prompt: 'axb', unknown: 'error' })).toThrow(
      new RangeError('Expected `prompt` to hold only tokens of the vocabulary, got "x".'),
    );
    const words = new Vocab(['the', 'cat'], { level: 'word' });
    expect(() => generate(new Scripted(words.size, () => 1), words, { prompt: '   ' })).toThrow(
      new RangeError('Expected `prompt` to hold at least one word token, got "   ".'),
    );
    expect(() => generate(new Scripted(words.size, () => 1), words, { prompt: 'the dog', unknown: 'error' })).toThrow(/got "dog"\.$/);
  });

  it('a synchronous entry on an asynchronous model names its twin', () => {
    const model = asyncScripted();
    expect(() => generate(model, chars, { prompt: 'ab' })).toThrow(new TypeError(
      'Expected a model with a synchronous backend for generate(): the webgpu backend computes asynchronously. ' +
        'Use generateStream(…) (for await … of it), which works on every backend.',
    ));
    const session = new Generator(model, chars);
    session.feed('ab');
    expect(() => session.next()).toThrow(new TypeError(
      'Expected a model with a synchronous backend for session.next(): the webgpu backend computes asynchronously. ' +
        'Use await session.nextAsync(…), which works on every backend.',
    ));
    expect(() => session.state).toThrow(new TypeError(
      'Expected a model with a synchronous backend for reading session.state: the webgpu backend computes asynchronously. ' +
        'Use await session.stateAsync(), which works on every backend.',
    ));
    expect(model.calls).toEqual([]);
    // Options are checked before the backend is.
    expect(() => generate(model, chars, { prompt: 'ab', topK: -1 })).toThrow(/`topK`/);
  });
});

describe('generate: defaults and results', () => {
  it('the defaults: 100 tokens, seed 0, one sample as a string, unknown "unk"', () => {
    expect(DEFAULT_MAX_TOKENS).toBe(100);
    const model = new Scripted(chars.size, () => id('a'));
    expect(generate(model, chars, { prompt: 'a' })).toBe(generate(model, chars, { prompt: 'a', seed: 0, maxTokens: 100 }));
    // Sampling (temperature 1) from a flat-ish row: the seed shows.
    const flat = fixed([[1, 1, 1, 1, 1]]);
    const sampled = generate(flat, chars, { prompt: 'a', maxTokens: 30 });
    expect(sampled).toBe(generate(flat, chars, { prompt: 'a', maxTokens: 30, seed: 0 }));
    expect(sampled).not.toBe(generate(flat, chars, { prompt: 'a', maxTokens: 30, seed: 1 }));
    const unknown = scripted();
    expect(generate(unknown, chars, { prompt: 'xa' })).toHaveLength(100);
    expect(unknown.fed[0]!.slice(0, 2)).toEqual([chars.unk, id('a')]);
  });

  it('numSamples: 1 gives an array of one; B rows per call; sample b draws from seed + b', () => {
    const model = scripted();
    expect(generate(model, chars, { prompt: 'abc', maxTokens: 2, numSamples: 1, ...greedy })).toEqual(['de']);
    expect(model.calls).toEqual([[1, 2], [1, 1], [1, 1]]);
    const many = scripted();
    expect(generate(many, chars, { prompt: 'abc', maxTokens: 2, numSamples: 3, ...greedy })).toEqual(['de', 'de', 'de']);
    // The warm-up feeds every row the prompt but its last token; then each row its own tokens.
    expect(many.calls).toEqual([[3, 2], [3, 1], [3, 1]]);
    expect(many.fed.map(text)).toEqual(['abcd', 'abcd', 'abcd']);
    const flat = fixed([[1, 1, 1, 1, 1]]);
    const texts = generate(flat, chars, { prompt: 'a', maxTokens: 20, numSamples: 3, seed: 5 });
    texts.forEach((t, b) => expect(t).toBe(generate(flat, chars, { prompt: 'a', maxTokens: 20, seed: 5 + b })));
  });

  it('a one-token prompt has no warm-up call', () => {
    const model = scripted();
    generate(model, chars, { prompt: 'c', maxTokens: 2, numSamples: 2, ...greedy });
    expect(model.calls).toEqual([[2, 1], [2, 1]]);
    expect(model.fed.map(text)).toEqual(['cd', 'cd']);
  });

  it('stop strings are copied at the call; maxTokens counts steps exactly', async () => {
    const stop = ['d'];
    const stream = generateStream(scripted(), chars, { prompt: 'a', maxTokens: 10, stop, ...greedy });
    stop.push('b');
    expect(await collect(stream)).toEqual(['b', 'c']);
    for (const n of [1, 2, 3]) expect(generate(scripted(), chars, { prompt: 'a', maxTokens: n, ...greedy })).toBe('bcd'.slice(0, n));
  });

  it('an aborted signal without a reason throws the generation\'s own Error', async () => {
    const signal = { aborted: true } as unknown as AbortSignal;
    expect(() => generate(scripted(), chars, { prompt: 'a', signal })).toThrow(new Error('The generation was aborted.'));
    await expect(collect(generateStream(scripted(), chars, { prompt: 'a', signal }))).rejects.toThrow(/^The generation was aborted\.$/);
    const reason = new RangeError('why');
    const withReason = { aborted: true, reason } as unknown as AbortSignal;
    expect(() => generate(scripted(), chars, { prompt: 'a', signal: withReason })).toThrow(reason);
    // Not aborted: runs to the end.
    expect(generate(scripted(), chars, { prompt: 'a', maxTokens: 2, signal: { aborted: false } as AbortSignal, ...greedy })).toBe('bc');
  });

  it('the stream releases held text when maxTokens ends the run', async () => {
    // "d", then "de" is held as the start of "de!"; the run ends after 4 tokens: released.
    expect(await collect(generateStream(scripted(), chars, { prompt: 'a', maxTokens: 4, stop: ['de!'], ...greedy }))).toEqual(['b', 'c', 'de']);
    expect(await collect(generateStream(scripted(), chars, { prompt: 'a', maxTokens: 4, stop: ['de!'], numSamples: 2, ...greedy }))).toEqual([
      ['b', 'b'], ['c', 'c'], ['', ''], ['de', 'de'],
    ]);
  });

  it('samples stop on their own: done samples draw nothing more and release \'\'', async () => {
    // Row 0 spells from a, row 1 from c (its own script): row 1 hits "e" first.
    const model = new Scripted(chars.size, follow);
    const run = generateStream(model, chars, { prompt: 'a', maxTokens: 6, stop: ['e'], numSamples: 2, ...greedy });
    const steps = await collect(run);
    expect(steps).toEqual([['b', 'b'], ['c', 'c'], ['d', 'd'], ['', '']]);
    expect(generate(scripted(), chars, { prompt: 'a', maxTokens: 6, stop: ['e'], numSamples: 2, ...greedy })).toEqual(['bcd', 'bcd']);
    const split = new Scripted(chars.size, (x, b) => (b === 0 ? follow(x) : id('e')));
    expect(generate(split, chars, { prompt: 'a', maxTokens: 5, stop: ['e'], numSamples: 2, ...greedy })).toEqual(['bcd', '']);
    // Row 1 stopped at the first token: later calls still have two rows, and row 1 keeps its last token.
    expect(split.fed[1]).toEqual([id('a'), id('e'), id('e'), id('e')]);
    expect(split.calls).toHaveLength(4);
  });

  it('in a stream, a sample that stopped releases \'\' while the others go on', async () => {
    const split = new Scripted(chars.size, (x, b) => (b === 0 ? follow(x) : id('e')));
    const steps = await collect(generateStream(split, chars, { prompt: 'a', maxTokens: 5, stop: ['e'], numSamples: 2, ...greedy }));
    expect(steps).toEqual([['b', ''], ['c', ''], ['d', ''], ['', '']]);
  });

  it('no stop strings by default: nothing is held back', async () => {
    const v = new Vocab([...'Sab'], { level: 'char' });
    const model = new Scripted(v.size, () => v.indexOf('S'));
    expect(await collect(generateStream(model, v, { prompt: 'a', maxTokens: 3, ...greedy }))).toEqual(['S', 'S', 'S']);
    expect(await collect(generateStream(model, v, { prompt: 'a', maxTokens: 3, stop: ['Sx'], ...greedy }))).toEqual(['S', 'SS']);
  });

  it('the stream is done after maxTokens steps, on both paths', async () => {
    for (const model of [scripted(), asyncScripted()]) {
      const stream = generateStream(model, chars, { prompt: 'a', maxTokens: 2, ...greedy });
      expect(await stream.next()).toEqual({ done: false, value: 'b' });
      expect(await stream.next()).toEqual({ done: false, value: 'c' });
      expect(await stream.next()).toEqual({ done: true, value: undefined });
      expect(await stream.next()).toEqual({ done: true, value: undefined });
      expect(model.calls).toHaveLength(2);
    }
  });

  it('the longest stop string is cut; a stop string split over held text', () => {
    expect(generate(scripted(), chars, { prompt: 'a', maxTokens: 20, stop: ['d', 'cd', 'bcd'], ...greedy })).toBe('');
    expect(generate(scripted(), chars, { prompt: 'a', maxTokens: 20, stop: ['bcd', 'd'], ...greedy })).toBe('');
    expect(generate(scripted(), chars, { prompt: 'a', maxTokens: 20, stop: ['cd', 'd'], ...greedy })).toBe('b');
  });

  it('the stream holds back the longest start of any stop string, and releases it once shown not to be one', async () => {
    const pieces = await collect(generateStream(scripted(), chars, { prompt: 'e', maxTokens: 9, stop: ['abx', 'bcdz'], ...greedy }));
    // Text " abcde ab": " " released; "a" and "ab" held (abx); at "abc", "bc" may begin bcdz:
    // "a" released; "bcd" held; "e" releases it; " " released; "a", "ab" held; the end flushes.
    expect(pieces).toEqual([' ', 'a', 'bcde', ' ', 'ab']);
    expect(pieces.join('')).toBe(generate(scripted(), chars, { prompt: 'e', maxTokens: 9, stop: ['abx', 'bcdz'], ...greedy }));
  });
});

describe('generate: levels', () => {
  it('infers word when a token is empty, longer than one code point, or two BMP units', () => {
    const infer = (tokens: string[], prompt: string) => {
      const v = new Vocab(tokens);
      return generate(new Scripted(v.size, () => 1), v, { prompt, maxTokens: 2, ...greedy });
    };
    expect(infer(['a', 'b'], 'b')).toBe('aa');
    expect(infer(['a', ''], 'a')).toBe(' a a');
    expect(infer(['a', 'abc'], 'a')).toBe(' a a');
    expect(infer(['a', 'ab'], 'a')).toBe(' a a');
    expect(infer(['a', '\uffffa'], 'a')).toBe(' a a');
    expect(infer(['a', '👋'], 'a')).toBe('aa');
    expect(infer(['a', '\u{10000}'], 'a')).toBe('aa');
  });

  it('a recorded level wins over inference; the option over both', () => {
    const v = new Vocab(['a', 'b'], { level: 'word' });
    const m = new Scripted(v.size, () => 1);
    expect(generate(m, v, { prompt: 'b', maxTokens: 2, ...greedy })).toBe(' a a');
    expect(generate(m, v, { prompt: 'b', maxTokens: 2, level: 'char', ...greedy })).toBe('aa');
    expect(new Generator(m, v).level).toBe('word');
    expect(new Generator(m, v, { level: 'char' }).level).toBe('char');
    expect(new Generator(m, new Vocab(['a', 'b'])).level).toBe('char');
  });
});

describe('generate: evaluation mode', () => {
  it('training: true is off during every call and back on; false and non-booleans are left alone', () => {
    for (const training of [true, false, undefined, 1]) {
      const model = scripted();
      model.training = training;
      generate(model, chars, { prompt: 'ab', maxTokens: 2 });
      expect(model.trainingSeen).toEqual([training === true ? false : training, ...Array(2).fill(training === true ? false : training)]);
      expect(model.training).toBe(training);
    }
    const model = scripted();
    const session = new Generator(model, chars);
    session.feed('abc');
    session.next();
    expect(model.trainingSeen).toEqual([false, false]);
    expect(model.training).toBe(true);
  });

  it('asynchronous: training is false while the call is made and true again before the GPU answers, also on a failed call', async () => {
    const model = asyncScripted();
    await collect(generateStream(model, chars, { prompt: 'abc', maxTokens: 2 }));
    expect(model.trainingSeen).toEqual([false, false, false]);
    expect(model.trainingAtResolve).toEqual([true, true, true]);
    expect(model.training).toBe(true);
    expect(model.syncCalls).toBe(0);
    for (const training of [false, 'yes']) {
      const m = asyncScripted();
      m.training = training;
      await collect(generateStream(m, chars, { prompt: 'ab', maxTokens: 1 }));
      expect(m.trainingSeen).toEqual([training, training]);
      expect(m.training).toBe(training);
    }
    const failing = asyncScripted();
    failing.forwardAsync = () => { throw new Error('boom'); };
    await expect(collect(generateStream(failing, chars, { prompt: 'ab', maxTokens: 1 }))).rejects.toThrow(/^boom$/);
    expect(failing.training).toBe(true);
  });
});

describe('generate: asynchronous models (the webgpu path, scripted)', () => {
  it('generateStream awaits forwardAsync: the same pieces and calls as the synchronous path', async () => {
    for (const options of [
      { prompt: 'abc', maxTokens: 8, ...greedy },
      { prompt: 'a', maxTokens: 12, stop: ['e ab'], ...greedy },
      { prompt: 'abc', maxTokens: 6, numSamples: 2, stop: ['e'], ...greedy },
    ]) {
      const sync = scripted(), gpu = asyncScripted();
      const expected = await collect(generateStream(sync, chars, options));
      expect(await collect(generateStream(gpu, chars, options))).toEqual(expected);
      expect(gpu.calls).toEqual(sync.calls);
      expect(gpu.fed).toEqual(sync.fed);
      expect(gpu.syncCalls).toBe(0);
    }
    const gpu = asyncScripted();
    expect(await collect(generateStream(gpu, chars, { prompt: 'abc', maxTokens: 0 }))).toEqual([]);
    expect(gpu.calls).toEqual([]);
  });

  it('an abort between steps stops the asynchronous loop', async () => {
    const model = asyncScripted();
    const controller = new AbortController();
    const pieces: string[] = [];
    const consume = async () => {
      for await (const p of generateStream(model, chars, { prompt: 'ab', maxTokens: 50, signal: controller.signal, ...greedy })) {
        pieces.push(p);
        if (pieces.length === 2) controller.abort(new Error('enough'));
      }
    };
    await expect(consume()).rejects.toThrow(/^enough$/);
    expect(pieces).toEqual(['c', 'd']);
    expect(model.calls).toEqual([[1, 1], [1, 1], [1, 1]]);
  });

  it('Generator: feed queues, nextAsync runs the queue in one call and draws from its last step', async () => {
    const model = asyncScripted();
    const session = new Generator(model, chars);
    session.feed('ab');
    session.feed('');
    session.feed('c');
    expect(model.calls).toEqual([]);
    expect(await session.nextAsync(greedy)).toBe('d');
    expect(model.calls).toEqual([[1, 3]]);
    expect(await session.nextAsync(greedy)).toBe('e');
    expect(model.calls).toEqual([[1, 3], [1, 1]]);
    expect(text(model.fed[0]!)).toBe('abcd');
    // Two pending tokens (the drawn e, the fed a): one call, the logits of its last step.
    session.feed('a');
    expect(await session.nextAsync(greedy)).toBe('b');
    expect(model.calls).toEqual([[1, 3], [1, 1], [1, 2]]);
    expect(text(model.fed[0]!)).toBe('abcdea');
  });
});

describe('Generator on an asynchronous model', () => {
  const busy = 'The generator is busy: await its nextAsync() or stateAsync() before calling it again.';

  it('is busy while a call is in flight: every other entry throws, and it is free again after', async () => {
    const model = asyncScripted();
    const session = new Generator(model, chars);
    session.feed('ab');
    const first = session.nextAsync(greedy);
    expect(() => session.feed('a')).toThrow(new Error(busy));
    expect(() => { session.state = { h: new Float32Array(2), c: new Float32Array(2), logits: null }; }).toThrow(new Error(busy));
    expect(() => session.reset()).toThrow(new Error(busy));
    await expect(session.nextAsync(greedy)).rejects.toThrow(new Error(busy));
    await expect(session.stateAsync()).rejects.toThrow(new Error(busy));
    expect(await first).toBe('c');
    const state = session.stateAsync();
    await expect(session.nextAsync()).rejects.toThrow(new Error(busy));
    expect((await state).h[0]).toBe(id('c'));
    session.feed('d');
    expect(await session.nextAsync(greedy)).toBe('e');
    expect(model.calls).toEqual([[1, 2], [1, 1], [1, 1]]);
  });

  it('a failed call leaves it free', async () => {
    const model = asyncScripted();
    const session = new Generator(model, chars);
    session.feed('ab');
    const forwardAsync = model.forwardAsync.bind(model);
    model.forwardAsync = () => Promise.reject(new Error('lost'));
    await expect(session.nextAsync()).rejects.toThrow(/^lost$/);
    model.forwardAsync = forwardAsync;
    session.reset();
    session.feed('c');
    expect(await session.nextAsync(greedy)).toBe('d');
  });

  it('stateAsync runs the queue once; a second read calls nothing; its copy has the last step\'s logits', async () => {
    const model = asyncScripted();
    const session = new Generator(model, chars);
    const empty = await session.stateAsync();
    expect(empty).toEqual({ h: new Float32Array(2), c: new Float32Array(2), logits: null });
    expect(model.calls).toEqual([]);
    session.feed('abc');
    const state = await session.stateAsync();
    expect(model.calls).toEqual([[1, 3]]);
    expect(state.h[0]).toBe(id('c'));
    const expected = new Float32Array(chars.size);
    expected[id('d')] = 10;
    expect(state.logits).toEqual(expected);
    expect(await session.stateAsync()).toEqual(state);
    expect(model.calls).toEqual([[1, 3]]);
    state.logits![id('d')] = 0;
    state.logits![id('a')] = 10;
    expect(await session.nextAsync(greedy)).toBe('d');
  });

  it('nextAsync checks its options and needs something to continue', async () => {
    const session = new Generator(asyncScripted(), chars);
    await expect(session.nextAsync()).rejects.toThrow(
      new Error('Nothing to continue: feed the generator some text (or set a state with logits) first.'),
    );
    session.feed('a');
    await expect(session.nextAsync(null as never)).rejects.toThrow(new TypeError('Expected `options` to be an object, got null.'));
    await expect(session.nextAsync({ repetitionPenalty: -1 })).rejects.toThrow(RangeError);
    expect(await session.nextAsync({ ...greedy })).toBe('b');
    expect(await session.nextAsync()).toHaveLength(1); // default options
  });

  it('a state set on it is drawn from without a call; feed after it continues from it', async () => {
    const model = asyncScripted();
    const session = new Generator(model, chars);
    const logits = new Float32Array(chars.size);
    logits[id('e')] = 10;
    session.state = { h: new Float32Array([7, 0]), c: new Float32Array(2), logits };
    expect(await session.nextAsync(greedy)).toBe('e');
    expect(model.calls).toEqual([]);
    expect(await session.nextAsync(greedy)).toBe(' ');
    expect(model.calls).toEqual([[1, 1]]);
  });
});

describe('Generator on a synchronous model', () => {
  it('nextAsync and stateAsync are next and the state getter', async () => {
    const a = new Generator(scripted(), chars), b = new Generator(scripted(), chars);
    a.feed('abc');
    b.feed('abc');
    expect(await a.nextAsync(greedy)).toBe(b.next(greedy));
    expect(await a.stateAsync()).toEqual(b.state);
    await expect(a.nextAsync({ topP: 0 })).rejects.toThrow(/`topP`/);
  });

  it('feed runs all but the last token at once; a single token waits for next()', () => {
    const model = scripted();
    const session = new Generator(model, chars);
    session.feed('a');
    expect(model.calls).toEqual([]);
    session.feed('b');
    expect(model.calls).toEqual([[1, 1]]);
    session.feed('cd');
    expect(model.calls).toEqual([[1, 1], [1, 2]]);
    expect(session.next(greedy)).toBe('e');
    expect(model.calls).toEqual([[1, 1], [1, 2], [1, 1]]);
    expect(text(model.fed[0]!)).toBe('abcd');
  });

  it('feeding no tokens changes nothing: the logits stay', () => {
    const model = scripted();
    const session = new Generator(model, chars);
    session.feed('ab');
    const before = session.state;
    session.feed('');
    expect(session.state).toEqual(before);
    expect(session.next(greedy)).toBe('c');
    expect(model.calls).toEqual([[1, 1], [1, 1]]);
  });

  it('the state getter copies; before anything is fed its logits are null and nothing is called', () => {
    const model = scripted();
    const session = new Generator(model, chars);
    expect(session.state).toEqual({ h: new Float32Array(2), c: new Float32Array(2), logits: null });
    expect(model.calls).toEqual([]);
    session.feed('abc');
    const s = session.state;
    expect(model.calls).toEqual([[1, 2], [1, 1]]);
    s.h.fill(5);
    s.c.fill(5);
    s.logits!.fill(0);
    const again = session.state;
    expect(again.h[0]).toBe(id('c'));
    expect(again.c[0]).toBe(0);
    expect(again.logits![id('d')]).toBe(10);
    expect(model.calls).toHaveLength(2);
    expect(session.next(greedy)).toBe('d');
  });

  it('the state setter: checks with whole messages, copies in, drops what was pending', () => {
    const model = scripted();
    const session = new Generator(model, chars);
    const ok = { h: new Float32Array(2), c: new Float32Array(2), logits: null };
    const set = (value: unknown) => () => { session.state = value as GeneratorState; };
    expect(set(null)).toThrow(new TypeError('Expected `state` to be an object with h, c and logits, got null.'));
    expect(set(3)).toThrow(new TypeError('Expected `state` to be an object with h, c and logits, got 3.'));
    expect(set({ ...ok, h: [0, 0] })).toThrow(new RangeError('Expected `state.h` to be a float array of length 2, got an array of length 2.'));
    expect(set({ ...ok, c: new Float32Array(3) })).toThrow(new RangeError('Expected `state.c` to be a float array of length 2, got a Float32Array.'));
    expect(set({ ...ok, logits: new Float32Array(7) })).toThrow(
      new RangeError('Expected `state.logits` to be null or a float array of length 8, got a Float32Array.'),
    );
    expect(set({ ...ok, logits: Array(8).fill(0) })).toThrow(/^Expected `state\.logits` to be null or a float array of length 8, got an array of length 8\.$/);
    // No logits (undefined): a state to feed from, nothing to draw from.
    session.feed('ab');
    session.state = { h: new Float32Array([1, 2]), c: new Float32Array([3, 4]) } as GeneratorState;
    expect(() => session.next()).toThrow(/^Nothing to continue/);
    expect(session.state).toEqual({ h: new Float32Array([1, 2]), c: new Float32Array([3, 4]), logits: null });
    expect(model.calls).toEqual([[1, 1]]); // "b", pending when the state was set, never ran
    // Logits are copied in.
    const logits = new Float32Array(chars.size);
    logits[id('c')] = 10;
    session.state = { h: new Float32Array(2), c: new Float32Array(2), logits };
    logits[id('c')] = 0;
    logits[id('a')] = 20;
    expect(session.next(greedy)).toBe('c');
    expect(model.calls).toEqual([[1, 1]]);
  });

  it('a saved state with a token pending: restoring it forgets the pending token', () => {
    const model = scripted();
    const session = new Generator(model, chars);
    session.feed('abc');
    const saved = session.state;
    expect(session.next(greedy)).toBe('d'); // d pending
    session.state = saved;
    expect(session.next(greedy)).toBe('d');
    expect(text(model.fed[0]!)).toBe('abc');
    expect(session.next(greedy)).toBe('e');
    expect(text(model.fed[0]!)).toBe('abcd');
  });

  it('reset: zero state, nothing pending, no logits, no history, the generator re-seeded', () => {
    const model = scripted();
    const session = new Generator(model, chars, { seed: 4 });
    session.feed('abc');
    session.next(greedy);
    session.reset();
    expect(() => session.next()).toThrow(/^Nothing to continue/);
    expect(session.state).toEqual({ h: new Float32Array(2), c: new Float32Array(2), logits: null });
    const calls = model.calls.length;
    session.feed('a');
    expect(session.next(greedy)).toBe('b');
    expect(model.calls.length).toBe(calls + 1);
    expect(text(model.fed[0]!.slice(-1))).toBe('a');
    // The history: a penalty after reset sees only what came after it.
    const fixedModel = fixed([[2, 1.5, -1, -1.2]]);
    const p = new Generator(fixedModel, chars);
    p.feed('a');
    expect(p.next({ ...greedy, repetitionPenalty: 2 })).toBe('b');
    p.reset();
    p.feed('e');
    expect(p.next({ ...greedy, repetitionPenalty: 2 })).toBe('a');
    // The draws: the same after reset.
    const flat = fixed([[1, 1, 1, 1, 1]]);
    const g = new Generator(flat, chars, { seed: 9 });
    const draw = () => { g.feed('a'); return Array.from({ length: 20 }, () => g.next()).join(''); };
    const first = draw();
    g.reset();
    expect(draw()).toBe(first);
  });

  it('seed defaults to 0; next() defaults to temperature 1; words come with a space', () => {
    const flat = fixed([[1, 1, 1, 1, 1]]);
    const draws = (g: Generator) => { g.feed('a'); return Array.from({ length: 20 }, () => g.next()).join(''); };
    const zero = draws(new Generator(flat, chars));
    expect(zero).toBe(draws(new Generator(flat, chars, { seed: 0 })));
    expect(zero).not.toBe(draws(new Generator(flat, chars, { seed: 1 })));
    expect(zero).toBe(generate(flat, chars, { prompt: 'a', maxTokens: 20 }));
    const words = new Vocab(['the', 'cat'], { level: 'word' });
    const w = new Generator(new Scripted(words.size, () => words.indexOf('cat')), words);
    w.feed('the');
    expect(w.next(greedy)).toBe(' cat');
  });

  it('Generator options: seed and unknown checked with whole messages', () => {
    expect(() => new Generator(scripted(), chars, { seed: '1' as never })).toThrow(new TypeError('Expected `seed` to be an integer, got "1".'));
    expect(() => new Generator(scripted(), chars, { unknown: 'drop' as never })).toThrow(
      new RangeError('Expected `unknown` to be "unk" or "error", got "drop".'),
    );
    expect(() => new Generator(scripted(), chars, { level: 'line' as never })).toThrow(/`level`/);
    const session = new Generator(scripted(), chars, { unknown: 'error' });
    expect(() => session.feed('ax')).toThrow(new RangeError('Expected `text` to hold only tokens of the vocabulary, got "x".'));
    expect(() => session.feed(null as never)).toThrow(new TypeError('Expected `text` to be a string, got null.'));
  });
});

describe('repetition penalty', () => {
  const values = [2, 1.5, -1, -1.2];

  it('the default window is 64 tokens, prompt included', () => {
    const model = fixed([values]);
    const run = (prompt: string, repetitionWindow?: number) =>
      generate(model, chars, { prompt, maxTokens: 1, repetitionPenalty: 2, repetitionWindow, ...greedy });
    expect(run('a' + 'e'.repeat(63))).toBe('b');
    expect(run('a' + 'e'.repeat(64))).toBe('a');
    expect(run('a' + 'e'.repeat(64), 65)).toBe('b');
    expect(run('a' + 'e'.repeat(3), 4)).toBe('b');
    expect(run('a' + 'e'.repeat(3), 3)).toBe('a');
  });

  it('each row is penalised by its own history and reads its own logits', () => {
    const model = fixed([values, [1.5, 2, -1, -1.2]]);
    expect(generate(model, chars, { prompt: 'e', maxTokens: 2, numSamples: 2, repetitionPenalty: 2, ...greedy })).toEqual(['ab', 'ba']);
    expect(generate(model, chars, { prompt: 'e', maxTokens: 3, numSamples: 2, repetitionPenalty: 1.5, ...greedy })).toEqual(['aba', 'bab']);
  });

  it('a penalty of 1, or a window of 0, changes nothing; the Generator uses its history', () => {
    const model = fixed([values]);
    for (const options of [{ repetitionPenalty: 1 }, { repetitionPenalty: 3, repetitionWindow: 0 }]) {
      expect(generate(model, chars, { prompt: 'a', maxTokens: 3, ...options, ...greedy })).toBe('aaa');
    }
    const session = new Generator(model, chars);
    session.feed('a');
    expect(session.next({ repetitionPenalty: 2, ...greedy })).toBe('b');
    expect(session.next({ repetitionPenalty: 2, ...greedy })).toBe('a'); // a: 1, b: 0.75
    expect(session.next({ repetitionPenalty: 2, repetitionWindow: 1, ...greedy })).toBe('b'); // the window holds a only: 1 < 1.5
  });
});
