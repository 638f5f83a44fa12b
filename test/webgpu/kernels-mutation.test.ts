// Every WGSL kernel on tiny shapes, and the engine that records and submits them
// (src/webgpu/gpu.ts), on Dawn + SwiftShader with one engine for the file (issue 13: mutation
// testing; compiling the table's pipelines takes seconds, so the file makes one). Values are
// small integers where a kernel only adds and multiplies, so the GPU's results are exact and
// compared with `toEqual`; blocks have sentinels around them. kernels.test.ts checks the same
// kernels on larger random shapes against their TypeScript twins.
import { beforeEach, describe, expect, it } from 'vitest';
import { jsKernels } from '../../src/backend/table.js';
import { GpuEngine, RESULTS } from '../../src/webgpu/gpu.js';
import {
  clearSlotWgsl, flagNonFiniteWgsl, haltAfterWgsl, haltBeforeWgsl, nonFiniteWgsl, restoreBufferIfWgsl, restoreIfWgsl,
} from '../../src/webgpu/kernels/guard.js';
import { adamWgsl, clearSkipWgsl, rmspropWgsl, sgdWgsl, SKIP_SLOT } from '../../src/webgpu/kernels/optim.js';
import { u32s, wgslKernel, type WgslKernel } from '../../src/webgpu/wgsl.js';
import { freshDevice, testDevice } from './device.js';

const PAGES = 16; // 1 MiB of mirror: 262,144 elements
const SENTINEL = -7.25;
let engine: GpuEngine;
let made = false;
let memory: WebAssembly.Memory;
let f: Float32Array;
let ids: Int32Array;

// Made in the first test that runs (not in beforeAll), so that Stryker counts what building it
// covers against that test and runs one test for such a mutant, not the whole file.
beforeEach(async () => {
  if (made) return;
  made = true;
  memory = new WebAssembly.Memory({ initial: PAGES, maximum: PAGES + 2 });
  engine = new GpuEngine(await testDevice(), memory);
});

/** The mirror as it is now (views are made again: the memory may have grown). */
function views(): void {
  f = new Float32Array(memory.buffer);
  ids = new Int32Array(memory.buffer);
}

/** Sentinels everywhere, `blocks` of small integers (−3 … 3, from a fixed sequence), all uploaded. */
function setUp(blocks: [at: number, n: number][]): void {
  views();
  f.fill(SENTINEL);
  let s = 7;
  for (const [at, n] of blocks) for (let k = 0; k < n; k++) { s = (s * 1103 + 17) % 9973; f[at + k] = (s % 7) - 3; }
  engine.upload(f);
}

async function back(at: number, n: number, aux = false): Promise<number[]> {
  const out = new Float32Array(n);
  await engine.read([{ at, length: n, into: out, aux }]);
  return Array.from(out);
}

/** Sets aux[slot] = x on the GPU (a test kernel: aux[slot] = mem[src]). */
let setAuxKernel: WgslKernel | undefined; // made in a test: a broken wgslKernel fails a test, not the file
const SET_AUX = (): WgslKernel => (setAuxKernel ??= wgslKernel(u32s('slot', 'src'), `
@compute @workgroup_size(1)
fn main() { aux[a.slot] = ld(a.src); }`, () => [1, 1, 1]));
const SCRATCH = 250_000;
function setAux(slot: number, x: number): void {
  views();
  f[SCRATCH] = x;
  engine.upload(f, SCRATCH, 1);
  engine.dispatch(SET_AUX(), [slot, SCRATCH]);
}

describe('the products, skinny and tiled, every variant', () => {
  // Tiled: ⌈4100/64⌉ = 65 blocks of 64×64 (N ≤ 64): at least MIN_TILES.
  for (const [M, K, N] of [[3, 5, 4], [4100, 3, 2]] as const) {
    it(`M ${M}, K ${K}, N ${N}: writing and accumulating, out and nothing around it`, async () => {
      expect(engine.hostStale).toBe(false); // nothing has changed the parameters yet
      const A = 100, B = 20_000, O = 40_000, ld = N + 3;
      for (const acc of [false, true]) {
        for (const name of ['matmul', 'matmulTN', 'matmulNT', 'matmulStrided', 'matmulNTStrided'] as const) {
          const strided = name === 'matmulStrided' || name === 'matmulNTStrided';
          setUp([[A, M * K], [B, K * (strided ? ld : N)], [O, M * (strided ? ld : N)]]);
          const host = f.slice();
          if (name === 'matmulStrided' || name === 'matmulNTStrided') {
            jsKernels[name](host, O + 1, host, A, host, B + 1, M, K, N, ld, acc);
            engine.kernels[name](f, O + 1, f, A, f, B + 1, M, K, N, ld, acc);
          } else {
            jsKernels[name](host, O, host, A, host, B, M, K, N, acc);
            engine.kernels[name](f, O, f, A, f, B, M, K, N, acc);
          }
          const size = M * (strided ? ld : N);
          expect(await back(O - 2, size + 4), `${name} acc ${acc}`).toEqual(Array.from(host.subarray(O - 2, O + size + 2)));
        }
      }
    });
  }
});

describe('elementwise and reduction kernels of the table', () => {
  it('mul, addBias, addBiasBackward (rows past 256), exactly', async () => {
    setUp([[10, 300], [400, 300], [1000, 3]]);
    const host = f.slice();
    jsKernels.mul(host, 800, host, 10, host, 400, 299);
    engine.kernels.mul(f, 800, f, 10, f, 400, 299);
    expect(await back(798, 303)).toEqual(Array.from(host.subarray(798, 1101)));
    jsKernels.addBias(host, 10, host, 1000, 100, 3);
    engine.kernels.addBias(f, 10, f, 1000, 100, 3);
    expect(await back(8, 304)).toEqual(Array.from(host.subarray(8, 312)));
    jsKernels.addBiasBackward(host, 1000, host, 10, 300, 1);
    jsKernels.addBiasBackward(host, 1000, host, 10, 100, 3);
    engine.kernels.addBiasBackward(f, 1000, f, 10, 300, 1);
    engine.kernels.addBiasBackward(f, 1000, f, 10, 100, 3);
    expect(await back(998, 7)).toEqual(Array.from(host.subarray(998, 1005)));
  });

  it('gatherRows (writing, accumulating, a stride) and scatterAddRows (colliding ids)', async () => {
    const W = 100, IDS = 5000, O = 6000;
    setUp([[W, 5 * 4], [O, 6 * 4]]);
    [4, 0, 1, 9, 1, 9, 0, 9, 3, 9, 1, 9].forEach((id, k) => { ids[IDS + k] = id; });
    engine.upload(ids, IDS, 12);
    const host = f.slice(), hostIds = new Int32Array(host.buffer);
    jsKernels.gatherRows(host, O, host, W, hostIds, IDS, 2, 6, 4, false);
    engine.kernels.gatherRows(f, O, f, W, ids, IDS, 2, 6, 4, false);
    expect(await back(O - 1, 26)).toEqual(Array.from(host.subarray(O - 1, O + 25)));
    jsKernels.gatherRows(host, O, host, W, hostIds, IDS, 2, 6, 4, true);
    engine.kernels.gatherRows(f, O, f, W, ids, IDS, 2, 6, 4, true);
    expect(await back(O - 1, 26)).toEqual(Array.from(host.subarray(O - 1, O + 25)));
    jsKernels.scatterAddRows(host, W, host, O, hostIds, IDS, 2, 6, 4);
    engine.kernels.scatterAddRows(f, W, f, O, ids, IDS, 2, 6, 4);
    expect(await back(W - 1, 22)).toEqual(Array.from(host.subarray(W - 1, W + 21)));
  });

  it('softmaxCrossEntropy in place, with a stride; the rows’ losses summed by sumLoss', async () => {
    const L = 1000, IDS = 3000, M = 3, V = 70;
    setUp([[L, M * V]]);
    [0, 9, 69, 9, 35].forEach((y, k) => { ids[IDS + k] = y; });
    engine.upload(ids, IDS, 5);
    const host = f.slice(), hostIds = new Int32Array(host.buffer);
    const loss = jsKernels.softmaxCrossEntropy(host, L, host, L, hostIds, IDS, 2, M, V, 0.5);
    expect(engine.kernels.softmaxCrossEntropy(f, L, f, L, ids, IDS, 2, M, V, 0.5)).toBe(0);
    const slot = engine.sumLoss();
    const got = await back(L - 1, M * V + 2);
    expect(got[0]).toBe(SENTINEL);
    expect(got[M * V + 1]).toBe(SENTINEL);
    got.slice(1, -1).forEach((x, k) => expect(Math.abs(x - host[L + k]!)).toBeLessThan(1e-7));
    const [sum] = await back(slot, 1, true);
    expect(Math.abs(sum! - loss) / loss).toBeLessThan(1e-6);
  });

  it('lstmCellForward and lstmCellBackward on a block with a gate stride', async () => {
    const n = 5, gs = 8, G = 100, CP = 200, C = 300, TC = 400, H = 500, DG = 600, DH = 700, DC = 800;
    setUp([[G, 4 * gs], [CP, n], [DH, n], [DC, n]]);
    const host = f.slice();
    jsKernels.lstmCellForward(host, G, host, CP, host, C, host, TC, host, H, gs, n);
    engine.kernels.lstmCellForward(f, G, f, CP, f, C, f, TC, f, H, gs, n);
    jsKernels.lstmCellBackward(host, DG, host, G, host, CP, host, TC, host, DH, host, DC, gs, n);
    engine.kernels.lstmCellBackward(f, DG, f, G, f, CP, f, TC, f, DH, f, DC, gs, n);
    const got = await back(0, 1000);
    got.forEach((x, k) => expect(Math.abs(x - host[k]!), `element ${k}`).toBeLessThan(2e-6));
  });
});

describe('guard kernels', () => {
  it('nonFinite over mem, flagNonFinite of an aux slot, clearSlot', async () => {
    setUp([[100, 600]]);
    const nf = nonFiniteWgsl(), flag = flagNonFiniteWgsl(), clear = clearSlotWgsl();
    engine.dispatch(nf, [35, 100, 600]);
    expect(await back(35, 1, true)).toEqual([0]);
    for (const bad of [Infinity, -Infinity, NaN]) {
      f[100 + 599] = bad;
      engine.upload(f, 699, 1);
      engine.dispatch(nf, [35, 100, 600]);
      engine.dispatch(nf, [36, 100, 599]); // the bad one just past the range
      expect(await back(35, 2, true)).toEqual([1, 0]);
    }
    setAux(37, 0);
    setAux(38, 5);
    engine.dispatch(flag, [37, 38]);
    expect(await back(37, 1, true)).toEqual([0]);
    setAux(38, -Infinity);
    engine.dispatch(flag, [37, 38]);
    expect(await back(37, 1, true)).toEqual([1]);
    setAux(38, 1);
    engine.dispatch(flag, [37, 38]); // unchanged when finite
    engine.dispatch(clear, [36]);
    expect(await back(36, 2, true)).toEqual([0, 1]);
  });

  it('restoreIf and restoreBufferIf only when the flag is set; haltBefore and haltAfter', async () => {
    setUp([[100, 300]]);
    const snap = engine.createBuffer(300), state = engine.createBuffer(300), copy = engine.createBuffer(300);
    engine.copy(snap, 0, 100, 300, true);
    engine.write(state, 0, Float32Array.from({ length: 300 }, (_, k) => k));
    engine.write(copy, 0, Float32Array.from({ length: 300 }, (_, k) => -k));
    engine.clear(100, 300);
    engine.dispatch(clearSlotWgsl(), [50], state); // state bound with the dummy: a bind group of its own
    const original = Array.from(f.subarray(100, 400));
    setAux(35, 0);
    engine.dispatch(restoreIfWgsl(), [35, 100, 300], snap);
    engine.dispatch(restoreBufferIfWgsl(), [35, 300], state, copy);
    expect(await back(100, 300)).toEqual(new Array(300).fill(0));
    const s = new Float32Array(300);
    await engine.read([{ buffer: state, at: 0, length: 300, into: s }]);
    expect(Array.from(s)).toEqual(Array.from({ length: 300 }, (_, k) => k));
    setAux(35, 1);
    engine.dispatch(restoreIfWgsl(), [35, 100, 300], snap);
    engine.dispatch(restoreBufferIfWgsl(), [35, 300], state, copy);
    expect(await back(100, 300)).toEqual(original);
    await engine.read([{ buffer: state, at: 0, length: 300, into: s }]);
    expect(Array.from(s)).toEqual(Array.from({ length: 300 }, (_, k) => -k));
    // haltBefore(skip, halt, prior), haltAfter(halt, weights)
    for (const [skip, halt, want] of [[0, 0, [0, 0, 0]], [1, 0, [1, 1, 0]], [0, 1, [1, 1, 1]]] as const) {
      setAux(40, skip); setAux(41, halt); setAux(42, 7);
      engine.dispatch(haltBeforeWgsl(), [40, 41, 42]);
      expect(await back(40, 3, true), `skip ${skip} halt ${halt}`).toEqual(want);
    }
    for (const [halt, weights, want] of [[0, 0, 0], [0, 1, 1], [1, 0, 1]] as const) {
      setAux(41, halt); setAux(43, weights);
      engine.dispatch(haltAfterWgsl(), [41, 43]);
      expect(await back(41, 1, true)).toEqual([want]);
    }
  });
});

describe('optimiser kernels', () => {
  const n = 300, DATA = 1000, GRAD = 2000;
  const p0 = (k: number) => (k % 5) - 2, g0 = (k: number) => ((k * 3) % 7) - 3;
  /** Parameters and gradients set, the state buffer `opt` (3n floats) from `init`. */
  function prepare(init: (k: number) => number): GPUBuffer {
    views();
    for (let k = 0; k < n; k++) { f[DATA + k] = p0(k); f[GRAD + k] = g0(k); }
    engine.upload(f);
    const opt = engine.createBuffer(3 * n);
    engine.write(opt, 0, Float32Array.from({ length: 3 * n }, (_, k) => init(k)));
    return opt;
  }
  async function expectNear(got: ArrayLike<number>, want: (k: number) => number, what: string): Promise<void> {
    for (let k = 0; k < n; k++) expect(Math.abs(got[k]! - want(k)), `${what} ${k}`).toBeLessThan(1e-5 * (1 + Math.abs(want(k))));
  }
  async function state(opt: GPUBuffer, at: number): Promise<Float32Array> {
    const s = new Float32Array(n);
    await engine.read([{ buffer: opt, at, length: n, into: s }]);
    return s;
  }

  it('sgd: no buffer; momentum first and later; Nesterov with weight decay', async () => {
    setAux(SKIP_SLOT, 0);
    let opt = prepare(() => 0.5);
    engine.dispatch(sgdWgsl(), [DATA, GRAD, 0, n, 0, 0, 0, 0.1, 0, 0], opt);
    await expectNear(await back(DATA, n), (k) => p0(k) - 0.1 * g0(k), 'plain');
    opt = prepare(() => 0.5);
    engine.dispatch(sgdWgsl(), [DATA, GRAD, n, n, 1, 0, 1, 0.1, 0.9, 0], opt);
    await expectNear(await back(DATA, n), (k) => p0(k) - 0.1 * g0(k), 'first');
    await expectNear(await state(opt, n), g0, 'first buffer');
    opt = prepare(() => 0.5);
    engine.dispatch(sgdWgsl(), [DATA, GRAD, n, n, 1, 1, 0, 0.1, 0.9, 0.01], opt);
    const d = (k: number) => g0(k) + 0.01 * p0(k), b = (k: number) => 0.9 * 0.5 + d(k);
    await expectNear(await state(opt, n), b, 'buffer');
    await expectNear(await back(DATA, n), (k) => p0(k) - 0.1 * (d(k) + 0.9 * b(k)), 'nesterov');
  });

  it('adam (with L2 and decoupled decay) and rmsprop (centered, momentum); the skip flag; clearSkip', async () => {
    setAux(SKIP_SLOT, 0);
    let opt = prepare((k) => (k < n ? 0.1 : 0.2));
    engine.dispatch(adamWgsl(), [DATA, GRAD, 0, n, n, 0.9, 0.1, 0.99, 0.01, 1e-3, 0.05, 0.98, 0.02, 0.5], opt);
    const p = (k: number) => p0(k) * 0.98, g = (k: number) => g0(k) + 0.05 * p(k);
    const m = (k: number) => 0.9 * 0.1 + 0.1 * g(k), v = (k: number) => 0.99 * 0.2 + 0.01 * g(k) ** 2;
    await expectNear(await state(opt, 0), m, 'm');
    await expectNear(await state(opt, n), v, 'v');
    await expectNear(await back(DATA, n), (k) => p(k) - 0.02 * (m(k) / (Math.sqrt(v(k)) / 0.5 + 1e-3)), 'adam');
    opt = prepare((k) => (k < n ? 0.3 : k < 2 * n ? 0.1 : 0.2));
    engine.dispatch(rmspropWgsl(), [DATA, GRAD, 0, n, 2 * n, n, 1, 1, 0.01, 0.9, 0.1, 1e-3, 0.5, 0.02], opt);
    const gr = (k: number) => g0(k) + 0.02 * p0(k);
    const vr = (k: number) => 0.9 * 0.3 + 0.1 * gr(k) ** 2, ga = (k: number) => 0.9 * 0.1 + 0.1 * gr(k);
    const br = (k: number) => 0.5 * 0.2 + gr(k) / (Math.sqrt(vr(k) - ga(k) ** 2) + 1e-3);
    await expectNear(await state(opt, 0), vr, 'v');
    await expectNear(await state(opt, n), ga, 'gAvg');
    await expectNear(await state(opt, 2 * n), br, 'buf');
    await expectNear(await back(DATA, n), (k) => p0(k) - 0.01 * br(k), 'rmsprop');
    opt = prepare(() => 0.3);
    engine.dispatch(rmspropWgsl(), [DATA, GRAD, 0, n, 2 * n, n, 0, 0, 0.01, 0.9, 0.1, 1e-3, 0, 0], opt);
    await expectNear(await back(DATA, n), (k) => p0(k) - 0.01 * g0(k) / (Math.sqrt(0.27 + 0.1 * g0(k) ** 2) + 1e-3), 'plain rmsprop');
    // Skip set: nothing moves; clearSkip clears it.
    opt = prepare(() => 0.3);
    setAux(SKIP_SLOT, 1);
    engine.dispatch(sgdWgsl(), [DATA, GRAD, 0, n, 0, 0, 0, 0.1, 0, 0], opt);
    engine.dispatch(adamWgsl(), [DATA, GRAD, 0, n, n, 0.9, 0.1, 0.99, 0.01, 1e-3, 0, 1, 0.02, 0.5], opt);
    engine.dispatch(rmspropWgsl(), [DATA, GRAD, 0, n, 2 * n, n, 0, 0, 0.01, 0.9, 0.1, 1e-3, 0, 0], opt);
    expect(await back(DATA, n)).toEqual(Array.from({ length: n }, (_, k) => p0(k)));
    expect(Array.from(await state(opt, 0))).toEqual(new Array(n).fill(Math.fround(0.3)));
    engine.dispatch(clearSkipWgsl(), [0]);
    expect(await back(SKIP_SLOT, 1, true)).toEqual([0]);
  });
});

describe('the engine', () => {
  it('records past 256 argument slots and 1024 commands (the buffers grow), every call in order', async () => {
    setUp([[100, 1200], [2000, 1200]]);
    const host = f.slice();
    for (let k = 0; k < 1100; k++) {
      jsKernels.mul(host, 5000 + k, host, 100 + k, host, 2000 + k, 1);
      engine.kernels.mul(f, 5000 + k, f, 100 + k, f, 2000 + k, 1);
    }
    expect(await back(4999, 1102)).toEqual(Array.from(host.subarray(4999, 6101)));
  });

  it('clears and copies between dispatches run in the order recorded', async () => {
    setUp([[100, 10]]);
    const buffer = engine.createBuffer(4), other = engine.createBuffer(4);
    const x = Array.from(f.subarray(100, 110));
    engine.kernels.mul(f, 200, f, 100, f, 101, 3); // 200..202 = x0·x1, x1·x2, x2·x3
    engine.clear(201, 1);
    engine.copy(buffer, 1, 200, 3, true); // buffer[1..4) = 200..202
    engine.kernels.mul(f, 200, f, 105, f, 105, 1); // 200 = x5²
    engine.copy(buffer, 2, 300, 2, false); // 300, 301 = buffer[2], buffer[3]
    engine.copyBuffer(buffer, other, 3);
    engine.kernels.mul(f, 210, f, 300, f, 301, 1);
    expect(await back(199, 4)).toEqual([SENTINEL, x[5]! * x[5]!, 0, x[2]! * x[3]!]);
    expect(await back(299, 4)).toEqual([SENTINEL, 0, x[2]! * x[3]!, SENTINEL]);
    expect(await back(210, 1)).toEqual([0 * x[2]! * x[3]!]); // (±0 as the product gives it)
    const o = new Float32Array(4);
    await engine.read([{ buffer: other, at: 0, length: 4, into: o }]);
    expect(Array.from(o)).toEqual([0, x[0]! * x[1]!, 0, 0]);
    engine.write(other, 0, Float32Array.of(4, 3, 2, 1));
    engine.copyBuffer(other, buffer, 2); // (each of them first in the engine's list, when a test runs alone)
    await engine.read([{ buffer, at: 0, length: 4, into: o }]);
    expect(Array.from(o)).toEqual([4, 3, 0, x[2]! * x[3]!]);
    const foreign = engine.device.createBuffer({ size: 16, usage: 0x80 | 0x4 | 0x8 });
    expect(() => engine.copy(foreign, 0, 0, 1, true)).toThrow(/^Expected a buffer made by this engine's createBuffer\.$/);
    expect(() => engine.copyBuffer(foreign, buffer, 1)).toThrow(/^Expected buffers made by this engine's createBuffer\.$/);
    expect(() => engine.copyBuffer(buffer, foreign, 1)).toThrow(/^Expected buffers made by this engine's createBuffer\.$/);
    foreign.destroy();
  });

  it('reads: several requests at offsets, empty ones, aux and other buffers; staging buffers of every size', async () => {
    setUp([[0, 3000]]);
    const a = new Float32Array(10).fill(-1), b = new Float32Array(2000);
    await engine.read([
      { at: 5, length: 3, into: a, offset: 2 }, { at: 0, length: 0, into: a }, { at: 100, length: 2, into: a, offset: 6 },
    ]);
    expect(Array.from(a)).toEqual([-1, -1, f[5], f[6], f[7], -1, f[100], f[101], -1, -1]);
    await engine.read([{ at: 1000, length: 2000, into: b }]);
    expect(Array.from(b)).toEqual(Array.from(f.subarray(1000, 3000)));
    const c = new Float32Array(3);
    await engine.read([{ at: 1, length: 3, into: c }]); // a small read after a large one
    expect(Array.from(c)).toEqual(Array.from(f.subarray(1, 4)));
    await engine.read([{ at: 7, length: 70, into: b }]);
    expect(Array.from(b.subarray(0, 70))).toEqual(Array.from(f.subarray(7, 77)));
    await engine.read([{ at: 2, length: 1000, into: b }]);
    expect(Array.from(b.subarray(0, 1000))).toEqual(Array.from(f.subarray(2, 1002)));
    await engine.read([]); // nothing to copy: waits for the work, and resolves
    expect(GpuEngine.at(f.subarray(12))).toBe(12);
  });

  it('upload: a part of a view, nothing for length 0', async () => {
    setUp([[0, 40]]);
    const view = f.subarray(10, 20);
    const before = Array.from(f.subarray(10, 20));
    view.fill(9);
    engine.upload(view, 3, 2);
    engine.upload(view, 5, 0);
    expect(await back(10, 10)).toEqual([...before.slice(0, 3), 9, 9, ...before.slice(5)]);
    const after = Array.from(f.subarray(20, 22)); // on the GPU too
    f.fill(4, 10, 40); // the view and what follows it, on the host
    engine.upload(view, 8); // the rest of the view, and nothing after it
    expect(await back(10, 12)).toEqual([...before.slice(0, 3), 9, 9, ...before.slice(5, 8), 4, 4, ...after]);
  });

  it('a failed command rejects the next read, once, with the GPU’s error', async () => {
    const buffer = engine.createBuffer(4);
    engine.copy(buffer, 0, 0, 1000, true); // past the buffer's end: a validation error
    await expect(engine.read([])).rejects.toThrow(/^WebGPU error in the webgpu backend: /);
    await engine.read([]);
    engine.copy(buffer, 0, 0, 1000, true);
    await expect(engine.read([{ at: 0, length: 1, into: new Float32Array(1) }])).rejects.toThrow(/^WebGPU error in the webgpu backend: /);
    await engine.read([{ at: 0, length: 1, into: new Float32Array(1) }]);
  });

  it('sumLoss: 32 loss slots in turn; the per-row losses of calls recorded before it, rows past the aux buffer included', async () => {
    const L = 1000, IDS = 60_000, V = 2, M = 700;
    const prepare = (): void => {
      setUp([[L, M * V]]);
      for (let k = 0; k < M; k++) ids[IDS + k] = k % V;
      engine.upload(ids, IDS, M);
    };
    prepare();
    const host = f.slice(), hostIds = new Int32Array(host.buffer);
    const first = engine.sumLoss();
    const slots = Array.from({ length: 33 }, () => engine.sumLoss());
    expect(slots).toEqual(Array.from({ length: 33 }, (_, k) => (first + 1 + k) % 32));
    const loss = 2 * jsKernels.softmaxCrossEntropy(host, L, host, L, hostIds, IDS, 1, M, V, 1);
    engine.kernels.softmaxCrossEntropy(f, L, f, L, ids, IDS, 1, M, V, 1);
    prepare(); // the logits again (the first call overwrote them with dY)
    engine.kernels.softmaxCrossEntropy(f, L, f, L, ids, IDS, 1, M, V, 1); // 1400 rows: aux grows
    const [sum] = await back(engine.sumLoss(), 1, true);
    expect(Math.abs(sum! - loss) / loss).toBeLessThan(1e-6);
  });

  it('opt2 bound without opt; one bind group per pair of buffers, made once and kept', async () => {
    await engine.read([]); // nothing recorded before the count starts
    const a = engine.createBuffer(4), b = engine.createBuffer(4);
    const add = wgslKernel(u32s('i'), '@compute @workgroup_size(1)\nfn main() { opt[a.i] = opt[a.i] + 1.0; opt2[a.i] = opt2[a.i] + 10.0; }', () => [1, 1, 1]);
    engine.dispatch(add, [3], a, b); // compiled here; bind groups are made when submitted
    const device = engine.device;
    const make = device.createBindGroup.bind(device);
    let groups = 0;
    device.createBindGroup = (descriptor: GPUBindGroupDescriptor) => { groups++; return make(descriptor); };
    try {
      engine.dispatch(add, [1], a); // (a, dummy)
      engine.dispatch(add, [2], undefined, b); // (dummy, b)
      engine.dispatch(add, [1], a);
      engine.dispatch(add, [0], a, b);
      const ga = new Float32Array(4), gb = new Float32Array(4);
      await engine.read([{ buffer: a, at: 0, length: 4, into: ga }, { buffer: b, at: 0, length: 4, into: gb }]);
      expect(Array.from(ga)).toEqual([1, 2, 0, 1]);
      expect(Array.from(gb)).toEqual([10, 0, 10, 10]);
      expect(groups).toBe(3); // (a, b) and (a, dummy), (dummy, b): each once
      engine.dispatch(add, [0], a, b);
      engine.dispatch(add, [1], a);
      await engine.read([{ buffer: a, at: 0, length: 4, into: ga }]);
      expect(Array.from(ga)).toEqual([2, 3, 0, 1]);
      expect(groups).toBe(3); // kept across submits
    } finally {
      device.createBindGroup = make;
    }
  });

  it('upload and write land after the commands recorded before them', async () => {
    setUp([[100, 4]]);
    const x = Array.from(f.subarray(100, 104));
    engine.kernels.mul(f, 200, f, 100, f, 100, 4); // recorded with the old values
    f.fill(5, 100, 104);
    engine.upload(f, 100, 4);
    const buffer = engine.createBuffer(4);
    engine.write(buffer, 0, Float32Array.of(1, 2, 3, 4));
    engine.copy(buffer, 0, 300, 4, false); // mem[300…] = 1, 2, 3, 4
    engine.write(buffer, 0, Float32Array.of(9, 9, 9, 9)); // after the copy
    expect(await back(200, 4)).toEqual(x.map((v) => v * v));
    expect(await back(300, 4)).toEqual([1, 2, 3, 4]);
  });

  it('staging buffers are reused when one fits; an empty request is skipped wherever it points', async () => {
    setUp([[0, 100]]);
    const device = engine.device;
    const create = device.createBuffer.bind(device);
    let made = 0;
    const out = new Float32Array(64);
    await engine.read([{ at: 0, length: 64, into: out }]);
    device.createBuffer = (descriptor: GPUBufferDescriptor) => { made++; return create(descriptor); };
    try {
      for (let k = 0; k < 3; k++) await engine.read([{ at: 0, length: 64, into: out }, { at: 1 << 30, length: 0, into: out }]);
      expect(made).toBe(0); // 256 bytes: the staging buffer of the first read fits
      expect(Array.from(out)).toEqual(Array.from(f.subarray(0, 64)));
    } finally {
      device.createBuffer = create;
    }
    // A kernel is compiled on its first dispatch only.
    const compile = device.createComputePipeline.bind(device);
    let compiled = 0;
    device.createComputePipeline = (descriptor: GPUComputePipelineDescriptor) => { compiled++; return compile(descriptor); };
    try {
      const kernel = wgslKernel(u32s('slot'), '@compute @workgroup_size(1)\nfn main() { aux[a.slot] = 2.0; }', () => [1, 1, 1]);
      engine.dispatch(kernel, [50]);
      engine.dispatch(kernel, [51]);
      expect(compiled).toBe(1);
      expect(await back(50, 2, true)).toEqual([2, 2]);
    } finally {
      device.createComputePipeline = compile;
    }
  });

  it('a kernel that does not compile: the next read rejects with the WGSL error', async () => {
    engine.dispatch(wgslKernel(u32s('x'), 'this is not WGSL', () => [1, 1, 1]), [0]);
    await expect(engine.read([])).rejects.toThrow(/^WebGPU error in the webgpu backend: .*WGSL/s);
    await engine.read([]);
  });

  it('the GPU buffer follows a grown memory: commands recorded before run on the old one, its contents carried over', async () => {
    setUp([[100, 20]]);
    const host = f.slice(0, 200);
    const snap = engine.createBuffer(2);
    setAux(35, 0);
    engine.dispatch(restoreIfWgsl(), [35, 0, 2], snap); // its bind group made on the old buffer
    engine.kernels.mul(f, 150, f, 100, f, 101, 5); // recorded, not submitted
    memory.grow(1);
    views();
    const end = f.length - 3; // past the old buffer's end
    f[end] = 6;
    f[end + 1] = 7;
    engine.upload(f, end, 2);
    engine.kernels.mul(f, end + 2, f, end, f, end + 1, 1);
    engine.kernels.mul(f, 160, f, 150, f, 100, 5);
    for (let k = 0; k < 5; k++) host[150 + k] = host[100 + k]! * host[101 + k]!;
    for (let k = 0; k < 5; k++) host[160 + k] = host[150 + k]! * host[100 + k]!;
    expect(await back(100, 70)).toEqual(Array.from(host.subarray(100, 170)));
    expect(await back(end, 3)).toEqual([6, 7, 42]);
    // Kernels binding a buffer of their own are bound to the new one too.
    engine.write(snap, 0, Float32Array.of(8, 9));
    setAux(35, 1);
    engine.dispatch(restoreIfWgsl(), [35, end, 2], snap);
    expect(await back(end, 3)).toEqual([8, 9, 42]);
  });

  it('after destroy every call throws, reads reject; destroy twice is fine', async () => {
    views();
    engine.destroy();
    engine.destroy();
    const disposed = /^This webgpu model was disposed: its GPU buffers are freed\.$/;
    expect(() => engine.flush()).toThrow(disposed);
    expect(() => engine.kernels.mul(f, 0, f, 0, f, 0, 1)).toThrow(disposed);
    expect(() => engine.clear(0, 1)).toThrow(disposed);
    await expect(engine.read([])).rejects.toThrow(disposed);
  });

  it('a lost device: the next read or submit says so', async () => {
    const device = await freshDevice();
    const other = new GpuEngine(device, new WebAssembly.Memory({ initial: 1 }));
    await other.read([]);
    device.destroy();
    await device.lost;
    const lost = /^The GPU device of this webgpu model was lost; make a new model \(or load a checkpoint\) on a new device\.$/;
    await expect(other.read([])).rejects.toThrow(lost);
    other.clear(0, 1);
    expect(() => other.flush()).toThrow(lost);
  });
});
