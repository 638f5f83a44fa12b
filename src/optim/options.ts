// Option checks shared by the optimisers and the schedules. Internal: not re-exported.
// Every message names the option and the value, as src/checks.ts does.
import { show } from '../checks.js';

/**
 * Throws unless `options` is a plain object whose every key is in `known` (an unknown key is
 * most often a misspelling: `weight_decay`, `beta1`). `what` names the owner in the message,
 * `like` shows a valid example.
 */
export function checkOptionKeys(what: string, options: unknown, known: readonly string[], like: string): Record<string, unknown> {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`Expected \`options\` to be an object like ${like}, got ${show(options)}.`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(`Unknown option \`${key}\` for ${what} (got ${show((options as Record<string, unknown>)[key])}); the options are ${known.join(', ')}.`);
    }
  }
  return options as Record<string, unknown>;
}

/** A number check's accepted interval: [min, max) or [min, max] and whether min is open. */
interface Interval {
  readonly min: number;
  readonly minOpen?: boolean;
  readonly max?: number;
  readonly maxOpen?: boolean;
  /** How the message describes it, e.g. 'a number in [0, 1)'. */
  readonly describe: string;
}

/**
 * Throws a TypeError (not a number) or RangeError (NaN, infinite or outside the interval)
 * naming `name` and the value; returns the value.
 */
export function checkNumber(name: string, value: unknown, interval: Interval): number {
  const message = `Expected \`${name}\` to be ${interval.describe}, got ${show(value)}.`;
  if (typeof value !== 'number') throw new TypeError(message);
  const { min, minOpen = false, max = Infinity, maxOpen = false } = interval;
  const aboveMin = minOpen ? value > min : value >= min;
  const belowMax = maxOpen ? value < max : value <= max;
  if (!Number.isFinite(value) || !aboveMin || !belowMax) throw new RangeError(message);
  return value;
}

export const POSITIVE: Interval = { min: 0, minOpen: true, describe: 'a positive finite number' };
export const NON_NEGATIVE: Interval = { min: 0, describe: 'a non-negative finite number' };
export const UNIT: Interval = { min: 0, max: 1, maxOpen: true, describe: 'a number in [0, 1)' };
export const OPEN_UNIT: Interval = { min: 0, minOpen: true, max: 1, maxOpen: true, describe: 'a number in (0, 1)' };

/** Throws a TypeError unless `value` is a boolean. */
export function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`Expected \`${name}\` to be a boolean, got ${show(value)}.`);
  return value;
}

/** The value of `options[key]`, or `fallback` when it is absent or undefined. */
export function optionOr<T>(options: Record<string, unknown>, key: string, fallback: T): unknown {
  const value = options[key];
  return value === undefined ? fallback : value;
}

/**
 * The learning rate given to a constructor: a positive finite number (an optimiser built with
 * lr 0 is almost always a mistake). The messages are the seed's.
 */
export function checkInitialLr(lr: unknown): number {
  if (typeof lr !== 'number') throw new TypeError(`Expected \`lr\` to be a positive number, got ${show(lr)}.`);
  return checkNumber('lr', lr, POSITIVE);
}

/**
 * A learning rate assigned later (by a schedule): finite and ≥ 0, since a warm-up may start
 * at 0 and a cosine may end there.
 */
export function checkAssignedLr(lr: unknown): number {
  return checkNumber('lr', lr, NON_NEGATIVE);
}
