import { show } from '../checks.js';

/**
 * A seeded pseudo-random generator: every random function in the library takes one, so the
 * same seed gives bit-identical results on every platform; nothing unseeded anywhere.
 *
 * The core is sfc32 (Chris Doty-Humphrey's Small Fast Counter, 128-bit state, period ≥ 2^32),
 * seeded through splitmix32 so that nearby seeds give unrelated streams. Normal deviates use
 * the Box–Muller transform, caching the second deviate of each pair.
 *
 * @example
 * const rng = new Random(42);
 * rng.uniform();    // a number in [0, 1)
 * rng.int(10);      // an integer in [0, 10)
 * rng.normal();     // a standard normal deviate
 */
/** A {@link Random}'s whole state: JSON-serialisable. */
export interface RandomState {
  readonly words: readonly number[];
  readonly spare: number | null;
}

export class Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  #spare = NaN;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) {
      throw new TypeError(`Expected \`seed\` to be an integer, got ${show(seed)}.`);
    }
    // splitmix32 expands the seed (any integer; reduced to 32 bits) into the 128-bit state.
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = next();
    this.#b = next();
    this.#c = next();
    this.#d = next();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /**
   * The generator's whole state, to save and restore (checkpoints, exact resume): the four
   * sfc32 words and the cached second normal deviate (`null` when there is none). Setting it
   * validates everything first; a generator given another's state continues its stream.
   *
   * @example
   * const saved = rng.state;
   * const x = rng.uniform();
   * rng.state = saved;
   * rng.uniform() === x; // true
   */
  get state(): RandomState {
    return { words: [this.#a >>> 0, this.#b >>> 0, this.#c >>> 0, this.#d >>> 0], spare: Number.isNaN(this.#spare) ? null : this.#spare };
  }

  set state(value: RandomState) {
    const words: unknown = (value as Partial<RandomState> | null)?.words;
    if (!Array.isArray(words) || words.length !== 4 || !words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff)) {
      throw new TypeError(`Expected \`state.words\` to be four unsigned 32-bit integers, got ${show(words)}.`);
    }
    const spare: unknown = value.spare;
    if (spare !== null && (typeof spare !== 'number' || !Number.isFinite(spare))) {
      throw new TypeError(`Expected \`state.spare\` to be null or a finite number, got ${show(spare)}.`);
    }
    const w = words as number[];
    this.#a = w[0]!;
    this.#b = w[1]!;
    this.#c = w[2]!;
    this.#d = w[3]!;
    this.#spare = spare ?? NaN;
  }

  /** The next 32 random bits, as an unsigned integer in [0, 2^32). */
  nextUint32(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0;
    this.#c = (this.#c + t) >>> 0;
    return t;
  }

  /** A uniform number in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A uniform integer in [0, n), without modulo bias. `n` must be a positive integer ≤ 2^32. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 4294967296) {
      throw new RangeError(`Expected \`n\` to be a positive integer ≤ 2^32, got ${show(n)}.`);
    }
    // Rejection sampling: draw from the largest multiple of n below 2^32.
    const limit = 4294967296 - (4294967296 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }

  /** A normal deviate with the given mean and standard deviation (Box–Muller). */
  normal(mean = 0, std = 1): number {
    if (!Number.isNaN(this.#spare)) {
      const z = this.#spare;
      this.#spare = NaN;
      return mean + std * z;
    }
    let u = 0;
    while (u === 0) u = this.uniform(); // log(0) is -Infinity
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }

  /** Shuffles `array` in place (Fisher–Yates) and returns it. */
  shuffle<A extends { length: number; [i: number]: E }, E>(array: A): A {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = array[i] as E;
      array[i] = array[j] as E;
      array[j] = tmp;
    }
    return array;
  }
}
