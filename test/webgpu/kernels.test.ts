// Every WGSL kernel of the table against its TypeScript twin (src/tensor/), on Dawn +
// SwiftShader: the same arguments on a copy of the same memory, float32 tolerances.
import { beforeAll, describe, expect, it } from 'vitest';
import { jsKernels, KERNEL_NAMES } from '../../src/backend/table.js';
import { GpuEngine } from '../../src/webgpu/gpu.js';
import { Random } from '../../src/tensor/random.js';
import { testDevice } from './device.js';

let engine: GpuEngine;
let memory: WebAssembly.Memory;
const ELEMENTS = 1 << 20; // 4 MiB of mirror

beforeAll(async () => {
  memory = new WebAssembly.Memory({ initial: (4 * ELEMENTS) / 65536 });
  engine = new GpuEngine(await testDevice(), memory);
});

/** Random floats everywhere, ids (< 50) from `idsAt`; returns the GPU's view and a host copy. */
function setUp(seed: number, idsAt = -1, ids = 0): { gpu: Float32Array; host: Float32Array; hostIds: Int32Array; gpuIds: Int32Array } {
  const gpu = new Float32Array(memory.buffer, 0, ELEMENTS);
  const rng = new Random(seed);
  for (let i = 0; i < ELEMENTS; i++) gpu[i] = 2 * rng.uniform() - 1;
  const gpuIds = new Int32Array(memory.buffer, 0, ELEMENTS);
  if (idsAt >= 0) for (let i = 0; i < ids; i++) gpuIds[idsAt + i] = Math.floor(rng.uniform() * 50);
  engine.upload(gpu);
  const host = gpu.slice();
  return { gpu, host, hostIds: new Int32Array(host.buffer), gpuIds };
}

async function expectClose(gpu: Float32Array, host: Float32Array, at: number, n: number, tol: number): Promise<void> {
  const back = new Float32Array(n);
  await engine.read([{ at, length: n, into: back }]);
  let worst = 0;
  for (let k = 0; k < n; k++) {
    const d = Math.abs(back[k]! - host[at + k]!) / (1 + Math.abs(host[at + k]!));
    if (!(d <= worst)) worst = d;
  }
  expect(worst).toBeLessThan(tol);
  void gpu;
}

describe('WGSL kernels against the TypeScript kernels', () => {
  it('the table has a WGSL twin for every kernel', () => {
    expect(KERNEL_NAMES.length).toBe(14);
  });

  const shapes = [[1, 1, 1], [3, 5, 7], [67, 33, 70], [64, 256, 64], [130, 17, 200]] as const;
  for (const [M, K, N] of shapes) {
    it(`matmul, matmulTN, matmulNT (M ${M}, K ${K}, N ${N}), writing and accumulating`, async () => {
      for (const acc of [false, true]) {
        const A = 1000, B = 200_000, O = 400_000;
        const { gpu, host } = setUp(M * 7 + K + N + (acc ? 1 : 0));
        jsKernels.matmul(host, O, host, A, host, B, M, K, N, acc);
        engine.kernels.matmul(gpu, O, gpu, A, gpu, B, M, K, N, acc);
        await expectClose(gpu, host, O, M * N, 1e-5);
        jsKernels.matmulTN(host, O, host, A, host, B, M, K, N, acc);
        engine.kernels.matmulTN(gpu, O, gpu, A, gpu, B, M, K, N, acc);
        await expectClose(gpu, host, O, M * N, 1e-5);
        jsKernels.matmulNT(host, O, host, A, host, B, M, K, N, acc);
        engine.kernels.matmulNT(gpu, O, gpu, A, gpu, B, M, K, N, acc);
        await expectClose(gpu, host, O, M * N, 1e-5);
      }
    });
  }

  it('matmulStrided and matmulNTStrided write a block of columns and nothing else', async () => {
    const M = 5, K = 40, N = 24, ld = 72, j0 = 16;
    const { gpu, host } = setUp(9);
    jsKernels.matmulStrided(host, 500_000 + j0, host, 0, host, 100_000 + j0, M, K, N, ld, true);
    engine.kernels.matmulStrided(gpu, 500_000 + j0, gpu, 0, gpu, 100_000 + j0, M, K, N, ld, true);
    await expectClose(gpu, host, 500_000, M * ld, 1e-5);
    jsKernels.matmulNTStrided(host, 500_000 + j0, host, 0, host, 100_000 + j0 * K, M, K, N, ld, false);
    engine.kernels.matmulNTStrided(gpu, 500_000 + j0, gpu, 0, gpu, 100_000 + j0 * K, M, K, N, ld, false);
    await expectClose(gpu, host, 500_000, M * ld, 1e-5);
  });

  it('matmulTNStrided writes a block of rows of a weight gradient and nothing else, skinny and tiled', async () => {
    // Rows i0… of out[ld×ld] (+)= aᵀ·b, aᵀ at its column i0: 5 rows (skinny), then 512 × 520
    // (8 × 9 = 72 blocks of 64×64: tiled).
    for (const [M, K, N, ld, i0, acc] of [[5, 40, 24, 72, 16, true], [512, 3, 520, 560, 8, false]] as const) {
      const { gpu, host } = setUp(M + K);
      jsKernels.matmulTNStrided(host, 500_000 + i0 * ld, host, i0, host, 100_000, M, K, N, ld, acc);
      engine.kernels.matmulTNStrided(gpu, 500_000 + i0 * ld, gpu, i0, gpu, 100_000, M, K, N, ld, acc);
      await expectClose(gpu, host, 500_000, (i0 + M + 1) * ld, 1e-5);
    }
  });

  it('addBias, addBiasBackward, mul', async () => {
    const { gpu, host } = setUp(3);
    const M = 300, N = 77;
    jsKernels.addBias(host, 10_000, host, 50, M, N);
    engine.kernels.addBias(gpu, 10_000, gpu, 50, M, N);
    await expectClose(gpu, host, 10_000, M * N, 1e-6);
    jsKernels.addBiasBackward(host, 50, host, 10_000, M, N);
    engine.kernels.addBiasBackward(gpu, 50, gpu, 10_000, M, N);
    await expectClose(gpu, host, 50, N, 1e-5);
    jsKernels.mul(host, 90_000, host, 10_000, host, 40_000, 1001);
    engine.kernels.mul(gpu, 90_000, gpu, 10_000, gpu, 40_000, 1001);
    await expectClose(gpu, host, 90_000, 1001, 1e-7);
  });

  it('gatherRows and scatterAddRows (colliding ids), with a stride', async () => {
    const M = 120, N = 37, IDS = 900_000;
    const { gpu, host, hostIds, gpuIds } = setUp(4, IDS, 2 * M);
    jsKernels.gatherRows(host, 300_000, host, 0, hostIds, IDS, 2, M, N, false);
    engine.kernels.gatherRows(gpu, 300_000, gpu, 0, gpuIds, IDS, 2, M, N, false);
    await expectClose(gpu, host, 300_000, M * N, 1e-7);
    jsKernels.gatherRows(host, 300_000, host, 0, hostIds, IDS, 1, M, N, true);
    engine.kernels.gatherRows(gpu, 300_000, gpu, 0, gpuIds, IDS, 1, M, N, true);
    await expectClose(gpu, host, 300_000, M * N, 1e-6);
    jsKernels.scatterAddRows(host, 0, host, 300_000, hostIds, IDS, 1, M, N);
    engine.kernels.scatterAddRows(gpu, 0, gpu, 300_000, gpuIds, IDS, 1, M, N);
    await expectClose(gpu, host, 0, 50 * N, 1e-5);
  });

  it('softmaxCrossEntropy: dY in place of the logits, and the rows’ losses summed', async () => {
    const M = 70, V = 150, IDS = 900_000, L = 100_000;
    const { gpu, host, hostIds, gpuIds } = setUp(5, IDS, M);
    for (let k = 0; k < M * V; k++) { host[L + k] = 8 * host[L + k]!; gpu[L + k] = host[L + k]!; }
    engine.upload(gpu, L, M * V);
    const loss = jsKernels.softmaxCrossEntropy(host, L, host, L, hostIds, IDS, 1, M, V, 1 / M);
    expect(engine.kernels.softmaxCrossEntropy(gpu, L, gpu, L, gpuIds, IDS, 1, M, V, 1 / M)).toBe(0);
    const slot = engine.sumLoss();
    await expectClose(gpu, host, L, M * V, 1e-6);
    const got = new Float32Array(1);
    await engine.read([{ at: slot, length: 1, into: got, aux: true }]);
    expect(Math.abs(got[0]! - loss) / loss).toBeLessThan(1e-5);
  });

  it('lstmCellForward and lstmCellBackward, with a gate stride, saturated inputs included', async () => {
    const n = 333, gs = 1000, G = 10_000, CP = 20_000, C = 30_000, TC = 40_000, H = 50_000, DG = 60_000, DH = 70_000, DC = 80_000;
    const { gpu, host } = setUp(6);
    for (let k = 0; k < n; k += 10) { host[G + k] = 60; host[G + 3 * gs + k] = -90; gpu[G + k] = 60; gpu[G + 3 * gs + k] = -90; }
    engine.upload(gpu, G, 4 * gs);
    jsKernels.lstmCellForward(host, G, host, CP, host, C, host, TC, host, H, gs, n);
    engine.kernels.lstmCellForward(gpu, G, gpu, CP, gpu, C, gpu, TC, gpu, H, gs, n);
    for (const at of [G, G + gs, G + 2 * gs, G + 3 * gs, C, TC, H]) await expectClose(gpu, host, at, n, 1e-6);
    jsKernels.lstmCellBackward(host, DG, host, G, host, CP, host, TC, host, DH, host, DC, gs, n);
    engine.kernels.lstmCellBackward(gpu, DG, gpu, G, gpu, CP, gpu, TC, gpu, DH, gpu, DC, gs, n);
    for (const at of [DG, DG + gs, DG + 2 * gs, DG + 3 * gs, DC]) await expectClose(gpu, host, at, n, 1e-6);
  });
});
