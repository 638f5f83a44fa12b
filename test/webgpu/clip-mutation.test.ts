// recordClip (src/webgpu/clip.ts) on an engine of its own (issue 13: mutation testing): the
// argument checks, adjacent ranges merged into one dispatch, the partial sums' scratch buffer
// growing past 256 workgroups (and made again only then), the norm slots in turn, the skip
// flag from the first measure only, and which kernels each option records. Norms against a
// float64 sum.
import { beforeEach, describe, expect, it } from 'vitest';
import { clipNormWgsl, NORM_SLOTS_START, recordClip, scaleGradWgsl, sumSquaresWgsl, SCALE_SLOT } from '../../src/webgpu/clip.js';
import { GpuEngine } from '../../src/webgpu/gpu.js';
import { SKIP_SLOT } from '../../src/webgpu/kernels/optim.js';
import type { WgslKernel } from '../../src/webgpu/wgsl.js';
import { testDevice } from './device.js';

const ELEMENTS = 1 << 20;
let engine: GpuEngine;
let made = false;
let f: Float32Array;
/** Every dispatch recorded, by kernel code (the kernels are made once per module). */
let log: { code: string; args: number[] }[] = [];

// Made in the first test that runs (see kernels-mutation.test.ts).
beforeEach(async () => {
  if (made) return;
  made = true;
  const memory = new WebAssembly.Memory({ initial: (4 * ELEMENTS) / 65536 });
  engine = new GpuEngine(await testDevice(), memory);
  f = new Float32Array(memory.buffer);
  const dispatch = engine.dispatch.bind(engine);
  engine.dispatch = (kernel: WgslKernel, args: ArrayLike<number>, opt?: GPUBuffer, opt2?: GPUBuffer) => {
    log.push({ code: kernel.code, args: Array.from(args) });
    dispatch(kernel, args, opt, opt2);
  };
});

/** The kernels' code, made in a test (a broken generator then fails that test, not this file's import). */
let codes: { sum: string; norm: string; scale: string } | undefined;
const kinds = (): string[] => {
  codes ??= { sum: sumSquaresWgsl().code, norm: clipNormWgsl().code, scale: scaleGradWgsl().code };
  const { sum, norm, scale } = codes;
  return log.map(({ code }) => (code === sum ? 'sum' : code === norm ? 'norm' : code === scale ? 'scale' : '?'));
};

function fill(places: readonly { grad: number; length: number }[], g: (k: number) => number): void {
  let k = 0;
  for (const { grad, length } of places) for (let i = 0; i < length; i++) f[grad + i] = g(k++);
  engine.upload(f);
}
const norm = (xs: number[]): number => Math.sqrt(xs.reduce((s, x) => s + x * x, 0));
async function aux(at: number): Promise<number> {
  const out = new Float32Array(1);
  await engine.read([{ at, length: 1, into: out, aux: true }]);
  return out[0]!;
}
async function grads(at: number, n: number): Promise<number[]> {
  const out = new Float32Array(n);
  await engine.read([{ at, length: n, into: out }]);
  return Array.from(out);
}

describe('recordClip', () => {
  it('refuses bad options, naming them, before recording anything', () => {
    const places = [{ grad: 0, length: 4 }];
    log = [];
    for (const [o, message] of [
      [{ clipNorm: 0 }, 'Expected `clipNorm` to be a positive number, got 0.'],
      [{ clipNorm: -1 }, 'Expected `clipNorm` to be a positive number, got -1.'],
      [{ clipNorm: NaN }, 'Expected `clipNorm` to be a positive number, got NaN.'],
      [{ clipNorm: '1' }, 'Expected `clipNorm` to be a positive number, got "1".'],
      [{ clipValue: 0 }, 'Expected `clipValue` to be a positive finite number, got 0.'],
      [{ clipValue: Infinity }, 'Expected `clipValue` to be a positive finite number, got Infinity.'],
      [{ clipValue: '1' }, 'Expected `clipValue` to be a positive finite number, got "1".'],
      [{ lossSlot: 64 }, 'Expected `lossSlot` to be an aux result slot (an integer in [0, 64)), got 64.'],
      [{ lossSlot: -1 }, 'Expected `lossSlot` to be an aux result slot (an integer in [0, 64)), got -1.'],
      [{ lossSlot: 1.5 }, 'Expected `lossSlot` to be an aux result slot (an integer in [0, 64)), got 1.5.'],
    ] as const) {
      expect(() => recordClip(engine, places, o as never)).toThrow(new RangeError(message));
    }
    expect(log).toEqual([]);
    recordClip(engine, places, { lossSlot: 0, clipNorm: Infinity });
    recordClip(engine, places, { lossSlot: 63, clipValue: 1e30 });
    expect(kinds()).toEqual(['sum', 'norm', 'scale', 'sum', 'norm']);
  });

  it('merges adjacent ranges (one partial sum each), skips empty ones; the norm, the scale, the slots in turn', async () => {
    const places = [{ grad: 100, length: 3 }, { grad: 103, length: 4 }, { grad: 200, length: 0 }, { grad: 300, length: 2500 }];
    const values = (k: number): number => ((k * 7) % 11) / 10 - 0.5;
    fill(places, values);
    const all = Array.from({ length: 2507 }, (_, k) => values(k));
    log = [];
    const first = recordClip(engine, places, { clipNorm: 1 });
    expect(kinds()).toEqual(['sum', 'sum', 'norm', 'scale', 'scale']);
    expect(log[0]!.args).toEqual([100, 7, 0, 0]);
    expect(log[1]!.args).toEqual([300, 2500, 1, 0]);
    expect(log[2]!.args).toEqual([0, 3, first, 1, 0xffffffff, 1]);
    expect(log[3]!.args).toEqual([100, 7]);
    expect(log[4]!.args).toEqual([300, 2500]);
    const n = norm(all);
    expect(n).toBeGreaterThan(1);
    expect(Math.abs((await aux(first)) - n) / n).toBeLessThan(1e-6);
    expect(await aux(SCALE_SLOT)).toBeCloseTo(1 / n, 7);
    const scaled = await grads(300, 2500);
    scaled.forEach((x, k) => expect(Math.abs(x - all[7 + k]! / n)).toBeLessThan(1e-7));
    expect(await aux(SKIP_SLOT)).toBe(0);
    // The slots rotate through [40, 64).
    const slots = Array.from({ length: 25 }, () => recordClip(engine, places));
    const start = first - NORM_SLOTS_START;
    expect(slots).toEqual(Array.from({ length: 25 }, (_, k) => NORM_SLOTS_START + ((start + 1 + k) % 24)));
    expect(await aux(slots[24]!)).toBeCloseTo(1, 6); // measured only: the gradients were scaled to norm 1
  });

  it('more than 256 partial sums: the scratch buffer grows, the slots go on in turn', async () => {
    const places = [{ grad: 0, length: 600_000 }];
    const values = (k: number): number => ((k % 13) - 6) / 100;
    fill(places, values);
    const expected = norm(Array.from({ length: 600_000 }, (_, k) => values(k)));
    const before = recordClip(engine, [{ grad: 0, length: 10 }]);
    const slot = recordClip(engine, places);
    expect(slot).toBe(before + 1 === 64 ? NORM_SLOTS_START : before + 1);
    expect(Math.abs((await aux(slot)) - expected) / expected).toBeLessThan(1e-5);
    const small = recordClip(engine, [{ grad: 0, length: 10 }]);
    expect(Math.abs((await aux(small)) - norm(Array.from({ length: 10 }, (_, k) => values(k))))).toBeLessThan(1e-7);
  });

  it('the scratch buffer is made again only when the partial sums outgrow it', async () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const own = new GpuEngine(await testDevice(), memory); // a state of its own: a scratch buffer of 256
    const g = new Float32Array(memory.buffer);
    for (let k = 0; k < 600; k++) g[k] = k % 2 === 0 ? ((k / 2) % 5) - 2 : 100;
    own.upload(g);
    const create = own.createBuffer.bind(own);
    let made = 0;
    own.createBuffer = (floats: number) => { made++; return create(floats); };
    /** n ranges of one element, none adjacent (the odd elements left out): n partial sums. */
    const ranges = (n: number) => Array.from({ length: n }, (_, k) => ({ grad: 2 * k, length: 1 }));
    const expected = (n: number) => norm(Array.from({ length: n }, (_, k) => (k % 5) - 2));
    const slots = [1, 256, 257].map((n) => {
      const slot = recordClip(own, ranges(n));
      return { n, slot, made };
    });
    expect(slots.map(({ made }) => made)).toEqual([1, 1, 2]);
    for (const { n, slot } of slots) {
      const out = new Float32Array(1);
      await own.read([{ at: slot, length: 1, into: out, aux: true }]);
      expect(Math.abs(out[0]! - expected(n)), `${n} ranges`).toBeLessThan(1e-5);
    }
    own.destroy();
  });

  it('clipValue: the norm before the clamp; with clipNorm, the clamped norm and the scale; an infinite gradient skips the step', async () => {
    const places = [{ grad: 1000, length: 6 }];
    const g = [3, -4, 0.25, -0.25, 2, 0];
    fill(places, (k) => g[k]!);
    log = [];
    const slot = recordClip(engine, places, { clipValue: 1 });
    expect(kinds()).toEqual(['sum', 'norm']);
    expect(log[0]!.args).toEqual([1000, 6, 0, 1]);
    expect(log[1]!.args).toEqual([0, 1, slot, 1, 0xffffffff, 0]);
    expect(await aux(slot)).toBeCloseTo(norm(g), 5);
    expect(await grads(1000, 6)).toEqual([1, -1, 0.25, -0.25, 1, 0]);
    fill(places, (k) => g[k]!);
    log = [];
    const s2 = recordClip(engine, places, { clipValue: 1, clipNorm: 1, lossSlot: 5 });
    expect(kinds()).toEqual(['sum', 'norm', 'sum', 'norm', 'scale']);
    expect(log[1]!.args).toEqual([0, 1, s2, 1, 5, 0]);
    expect(log[2]!.args).toEqual([1000, 6, 0, 0]);
    expect(log[3]!.args).toEqual([0, 1, 34, 0, 5, 1]);
    const clamped = norm([1, -1, 0.25, -0.25, 1, 0]);
    expect(await aux(s2)).toBeCloseTo(norm(g), 5);
    expect(await aux(34)).toBeCloseTo(clamped, 6);
    const back = await grads(1000, 6);
    back.forEach((x, k) => expect(x).toBeCloseTo([1, -1, 0.25, -0.25, 1, 0][k]! / clamped, 6));
    // +∞ is clamped to a number by then: the flag comes from the first measure.
    fill(places, (k) => (k === 2 ? Infinity : g[k]!));
    const s3 = recordClip(engine, places, { clipValue: 1, clipNorm: 1 });
    expect(await aux(s3)).toBe(Infinity);
    expect(await aux(SKIP_SLOT)).toBe(1);
    fill(places, (k) => g[k]!);
    recordClip(engine, places, {});
    expect(await aux(SKIP_SLOT)).toBe(0);
  });
});
