// fit()'s argument checking and resolution exactly (issue 13: src/train/fit-options.ts), on
// stand-in objects (checkArguments reads only `forwardBackward`, the loader's iterator and
// `random`, the optimiser's `step` and `lr`): every option accepted alone and resolved, each
// refusal with its whole message and error class, the defaults, generatorOf and isResumable.
import { describe, expect, it } from 'vitest';
import { checkArguments, generatorOf, isResumable, type FitOptions } from '../../src/train/fit-options.js';

const model = { forwardBackward() {} } as never;
const loaderOf = (extra: object = {}) => ({ *[Symbol.iterator]() {}, ...extra }) as never;
const optimizer = { step() {}, lr: 0.5 } as never;
const check = (options: unknown, loader = loaderOf()) => checkArguments(model, loader, optimizer, options as FitOptions);

const KEYS = [
  'epochs', 'maxSteps', 'timeLimit', 'signal', 'clipNorm', 'clipValue', 'statePolicy', 'schedule', 'validation',
  'evalEvery', 'patience', 'keepBest', 'restoreBest', 'onStep', 'onEval', 'onEpoch', 'checkpointEvery',
  'onCheckpoint', 'resumeFrom',
];

describe('checkArguments: resolution', () => {
  it('the fewest options: everything else undefined or its default', () => {
    expect(check({ epochs: 2 })).toEqual({
      epochs: 2, maxSteps: undefined, timeLimitMs: undefined, signal: undefined, clipNorm: undefined, clipValue: undefined,
      carry: true, schedule: undefined, validation: undefined, evalEvery: undefined, patience: undefined, keepBest: false,
      restoreBest: false, onStep: undefined, onEval: undefined, onEpoch: undefined, checkpointEvery: undefined,
      onCheckpoint: undefined, resumeFrom: undefined,
    });
    expect(check({ maxSteps: 3 })).toMatchObject({ epochs: undefined, maxSteps: 3, timeLimitMs: undefined });
    expect(check({ timeLimit: 1.5 })).toMatchObject({ epochs: undefined, maxSteps: undefined, timeLimitMs: 1500 });
  });

  it('every option at once, each handed on (seconds → ms)', () => {
    const signal = new AbortController().signal;
    const schedule = { name: 's', lrAt: () => 1 };
    const validation = [1, 2, 3];
    const onStep = () => {}, onEval = () => {}, onEpoch = () => {}, onCheckpoint = () => {};
    const resumeFrom = { format: 'lstm-lm/training-state' };
    const options = {
      epochs: 4, maxSteps: 7, timeLimit: 0.25, signal, clipNorm: 2, clipValue: 0.5, statePolicy: 'reset', schedule, validation,
      evalEvery: 3, patience: 5, keepBest: true, restoreBest: true, onStep, onEval, onEpoch, checkpointEvery: 6, onCheckpoint, resumeFrom,
    };
    expect(Object.keys(options)).toEqual(KEYS);
    const c = check(options);
    expect(c).toEqual({
      epochs: 4, maxSteps: 7, timeLimitMs: 250, signal, clipNorm: 2, clipValue: 0.5, carry: false, schedule, validation,
      evalEvery: 3, patience: 5, keepBest: true, restoreBest: true, onStep, onEval, onEpoch, checkpointEvery: 6, onCheckpoint, resumeFrom,
    });
    expect(c.onStep).toBe(onStep);
    expect(c.onEval).toBe(onEval);
    expect(c.onEpoch).toBe(onEpoch);
    expect(c.onCheckpoint).toBe(onCheckpoint);
  });

  it('each known key alone is accepted (with epochs)', () => {
    const values: Record<string, unknown> = {
      maxSteps: 1, timeLimit: 1, signal: { aborted: false }, clipNorm: 1, clipValue: 1, statePolicy: 'auto',
      schedule: { lrAt: () => 1 }, validation: [1, 2], keepBest: false, onStep: () => {}, onEval: () => {}, onEpoch: () => {},
      onCheckpoint: () => {}, resumeFrom: undefined,
    };
    for (const [key, value] of Object.entries(values)) expect(() => check({ epochs: 1, [key]: value }), key).not.toThrow();
    for (const key of ['evalEvery', 'patience', 'restoreBest']) {
      expect(() => check({ epochs: 1, validation: [1, 2], [key]: key === 'restoreBest' ? true : 2 }), key).not.toThrow();
    }
    expect(() => check({ epochs: 1, checkpointEvery: 2, onCheckpoint: () => {} })).not.toThrow();
  });

  it('statePolicy: auto carries unless the loader is random; carry and reset as said', () => {
    expect(check({ epochs: 1 }, loaderOf({ random: false })).carry).toBe(true);
    expect(check({ epochs: 1 }, loaderOf({ random: true })).carry).toBe(false);
    expect(check({ epochs: 1, statePolicy: 'auto' }, loaderOf({ random: true })).carry).toBe(false);
    expect(check({ epochs: 1, statePolicy: 'carry' }, loaderOf({ random: true })).carry).toBe(true);
    expect(check({ epochs: 1, statePolicy: 'reset' }, loaderOf({ random: false })).carry).toBe(false);
  });

  it('keepBest defaults to true with validation, false without; restoreBest to false', () => {
    expect(check({ epochs: 1, validation: [1, 2] })).toMatchObject({ keepBest: true, restoreBest: false });
    expect(check({ epochs: 1 })).toMatchObject({ keepBest: false, restoreBest: false });
    expect(check({ epochs: 1, validation: [1, 2], keepBest: false })).toMatchObject({ keepBest: false, restoreBest: false });
    expect(check({ epochs: 1, keepBest: true })).toMatchObject({ keepBest: true });
    expect(check({ epochs: 1, validation: [1, 2], restoreBest: false })).toMatchObject({ keepBest: true, restoreBest: false });
    expect(check({ epochs: 1, validation: [1, 2], restoreBest: true })).toMatchObject({ keepBest: true, restoreBest: true });
    expect(check({ epochs: 1, validation: [1, 2], keepBest: true, restoreBest: true })).toMatchObject({ keepBest: true, restoreBest: true });
  });

  it('an array of options has no keys: it sets no stopping rule', () => {
    expect(() => check([])).toThrow(/^Expected `options` to set at least one of `epochs`, `maxSteps` and `timeLimit` \(seconds\), got none\.$/);
  });
});

describe('checkArguments: refusals, whole messages', () => {
  const refuse = (options: unknown, type: ErrorConstructor, message: string, loader?: never) => {
    let error: unknown;
    try {
      check(options, loader);
    } catch (e) {
      error = e;
    }
    expect(error, message).toBeInstanceOf(type);
    expect((error as Error).message).toBe(message);
  };

  it('the loop arguments come first', () => {
    expect(() => checkArguments({} as never, loaderOf(), optimizer, { epochs: 1 })).toThrow(/^Expected `model` to be an LSTMLanguageModel, got an object\.$/);
  });

  it('options that are not an object', () => {
    for (const [bad, shown] of [[null, 'null'], [undefined, 'undefined'], ['x', '"x"'], [3, '3']] as const) {
      refuse(bad, TypeError, `Expected \`options\` to be an object like { epochs: 10 }, got ${shown}.`);
    }
  });

  it('an unknown key lists every known one', () => {
    refuse({ epochs: 1, lr: 1 }, TypeError, `Unknown option "lr" of fit; expected one of ${KEYS.join(', ')}.`);
    refuse({ lr: 1 }, TypeError, `Unknown option "lr" of fit; expected one of ${KEYS.join(', ')}.`); // before the stopping rule
  });

  it('no stopping rule', () => {
    refuse({}, TypeError, 'Expected `options` to set at least one of `epochs`, `maxSteps` and `timeLimit` (seconds), got none.');
    refuse({ clipNorm: 1 }, TypeError, 'Expected `options` to set at least one of `epochs`, `maxSteps` and `timeLimit` (seconds), got none.');
  });

  it('epochs, maxSteps and the other integers', () => {
    refuse({ epochs: 0 }, RangeError, 'Expected `epochs` to be a positive integer, got 0.');
    refuse({ maxSteps: 1.5 }, TypeError, 'Expected `maxSteps` to be a positive integer, got 1.5.');
    refuse({ epochs: 1, validation: [1], evalEvery: '2' }, TypeError, 'Expected `evalEvery` to be a positive integer, got "2".');
    refuse({ epochs: 1, validation: [1], patience: -1 }, RangeError, 'Expected `patience` to be a positive integer, got -1.');
    refuse({ epochs: 1, checkpointEvery: 0, onCheckpoint: () => {} }, RangeError, 'Expected `checkpointEvery` to be a positive integer, got 0.');
  });

  it('timeLimit, clipNorm, clipValue: positive and finite; a non-number is a TypeError', () => {
    for (const [name, base] of [['timeLimit', {}], ['clipNorm', { epochs: 1 }], ['clipValue', { epochs: 1 }]] as const) {
      for (const bad of [0, -1, NaN, Infinity, -Infinity]) {
        refuse({ ...base, [name]: bad }, RangeError, `Expected \`${name}\` to be a positive finite number, got ${bad}.`);
      }
      refuse({ ...base, [name]: '1' }, TypeError, `Expected \`${name}\` to be a positive finite number, got "1".`);
      refuse({ ...base, [name]: null }, TypeError, `Expected \`${name}\` to be a positive finite number, got null.`);
      expect(check({ ...base, [name]: 1e-300 })).toBeDefined();
    }
  });

  it('signal: an object with `aborted`', () => {
    for (const [bad, shown] of [[null, 'null'], [{}, 'an object'], ['aborted', '"aborted"'], [1, '1']] as const) {
      refuse({ epochs: 1, signal: bad }, TypeError, `Expected \`signal\` to be an AbortSignal, got ${shown}.`);
    }
    expect(check({ epochs: 1, signal: { aborted: true } }).signal).toEqual({ aborted: true });
  });

  it('schedule', () => {
    refuse({ epochs: 1, schedule: { name: 'x' } }, TypeError, 'Expected `schedule` to be a schedule (an object with lrAt({ step, epoch })), got an object.');
  });

  it('evalEvery, patience, restoreBest need validation', () => {
    refuse({ epochs: 1, evalEvery: 4 }, TypeError, 'Expected `validation` with `evalEvery` (4), got none.');
    refuse({ epochs: 1, patience: 2 }, TypeError, 'Expected `validation` with `patience` (2), got none.');
    refuse({ epochs: 1, restoreBest: false }, TypeError, 'Expected `validation` with `restoreBest` (false), got none.');
    refuse({ epochs: 1, restoreBest: true }, TypeError, 'Expected `validation` with `restoreBest` (true), got none.');
  });

  it('keepBest and restoreBest: booleans; restoreBest needs keepBest', () => {
    refuse({ epochs: 1, keepBest: 1 }, TypeError, 'Expected `keepBest` to be a boolean, got 1.');
    refuse({ epochs: 1, validation: [1], restoreBest: 'yes' }, TypeError, 'Expected `restoreBest` to be a boolean, got "yes".');
    refuse({ epochs: 1, validation: [1], keepBest: false, restoreBest: true }, TypeError, 'Expected `keepBest` to be true with `restoreBest`, got false.');
  });

  it('callbacks: functions', () => {
    for (const name of ['onStep', 'onEval', 'onEpoch', 'onCheckpoint']) {
      refuse({ epochs: 1, [name]: 'f' }, TypeError, `Expected \`${name}\` to be a function, got "f".`);
      refuse({ epochs: 1, [name]: null }, TypeError, `Expected \`${name}\` to be a function, got null.`);
    }
    refuse({ epochs: 1, checkpointEvery: 5 }, TypeError, 'Expected `onCheckpoint` with `checkpointEvery` (5), got none.');
  });
});

describe('generatorOf and isResumable', () => {
  const words = { words: [1, 2, 3, 4], spare: null };
  it('generatorOf: an object generatorState, else null', () => {
    expect(generatorOf({ generatorState: words })).toBe(words);
    for (const source of [null, undefined, 3, [1, 2], {}, { generatorState: null }, { generatorState: 5 }, { generatorState: 'x' }]) {
      expect(generatorOf(source)).toBeNull();
    }
  });
  it('isResumable: a generator and an epoch method, both', () => {
    expect(isResumable({ generatorState: words, epoch() {} } as never)).toBe(true);
    expect(isResumable({ generatorState: words, epoch: 1 } as never)).toBe(false);
    expect(isResumable({ generatorState: words } as never)).toBe(false);
    expect(isResumable({ generatorState: null, epoch() {} } as never)).toBe(false);
  });
});
