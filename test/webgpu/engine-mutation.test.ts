// What a GpuEngine sets up when it is made (src/webgpu/gpu.ts's constructor: the table's
// pipelines, the loss sum's, each kernel's raw function with softmaxCrossEntropy's loss slot
// and row count, the element pointer of a view), checked by the test that makes the engine
// (issue 13: mutation testing). Stryker's per-test coverage credits what the constructor runs
// to the test that runs it, and kernels-mutation.test.ts makes its engine in a test that
// checks only the products' skinny variants (compiled on first use, not at construction): so
// this file's first test makes its own engine and checks there what that engine was built
// with. The second makes another (fast: Dawn has the pipelines cached) and counts what reaches
// the device: submits, writes, buffers made — only when needed. Small integers and exact values
// where the kernels allow.
import { expect, it } from 'vitest';
import { jsKernels } from '../../src/backend/table.js';
import { GpuEngine, RESULTS } from '../../src/webgpu/gpu.js';
import { testDevice } from './device.js';

it('a new engine: a table kernel, softmaxCrossEntropy’s per-row losses and their count, views at an offset, destroy', async () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const engine = new GpuEngine(await testDevice(), memory);
  const f = new Float32Array(memory.buffer), ids = new Int32Array(memory.buffer);
  const back = async (at: number, n: number, aux = false): Promise<number[]> => {
    const out = new Float32Array(n);
    await engine.read([{ at, length: n, into: out, aux }]);
    return Array.from(out);
  };

  // mul, a kernel of the table with no alternative (its pipeline made by the constructor), on
  // views that start past the mirror's first element: a view's offset counts from the view.
  for (let k = 0; k < 40; k++) f[100 + k] = (k % 7) - 3;
  f.fill(-7.25, 150, 160);
  engine.upload(f);
  const view = f.subarray(100), other = f.subarray(110);
  engine.kernels.mul(view, 51, view, 0, other, 1, 4); // mem[151 + k] = f[100 + k] · f[111 + k]
  expect(await back(150, 6)).toEqual([-7.25, ...[0, 1, 2, 3].map((k) => f[100 + k]! * f[111 + k]!), -7.25]);

  // softmaxCrossEntropy: each call's rows' losses go to aux from RESULTS on, after the rows of
  // the calls before it since the last sumLoss; sumLoss sums exactly those rows.
  const V = 3, L = 1000, D = 2000, IDS = 3000;
  const logits = (rows: number, salt: number): void => {
    for (let k = 0; k < rows * V; k++) f[L + k] = ((k * 5 + salt) % 7) - 3;
    engine.upload(f, L, rows * V);
  };
  [2, 0, 1, 1, 2, 0, 0, 2].forEach((y, k) => { ids[IDS + k] = y; });
  engine.upload(ids, IDS, 8);
  /** Each row's loss, from the TypeScript kernel (targets with a stride). */
  const rowLosses = (rows: number, ti: number, stride: number): number[] => Array.from({ length: rows }, (_, r) =>
    jsKernels.softmaxCrossEntropy(new Float32Array(V), 0, f, L + r * V, ids, ti + r * stride, stride, 1, V, 1));
  const near = (got: number[], want: number[]): void => {
    expect(got.length).toBe(want.length);
    got.forEach((x, k) => expect(Math.abs(x - want[k]!), `row ${k}: ${x} vs ${want[k]}`).toBeLessThan(1e-5));
  };
  const sum = (xs: number[]): number => xs.reduce((s, x) => s + x, 0);

  logits(4, 1);
  const first = rowLosses(4, IDS, 2);
  engine.kernels.softmaxCrossEntropy(f, D, f, L, ids, IDS, 2, 4, V, 1);
  const slot1 = engine.sumLoss();
  near(await back(RESULTS, 5, true), [...first, 0]);
  near(await back(slot1, 1, true), [sum(first)]);

  // Two calls (2 rows, then 1) before the next sum: rows 0–1 and 2; row 3 keeps the last sum's.
  logits(2, 4);
  const second = rowLosses(2, IDS, 1);
  engine.kernels.softmaxCrossEntropy(f, D, f, L, ids, IDS, 1, 2, V, 1);
  logits(1, 2);
  const third = rowLosses(1, IDS + 5, 1);
  engine.kernels.softmaxCrossEntropy(f, L, f, L, ids, IDS + 5, 1, 1, V, 0.5);
  const slot2 = engine.sumLoss();
  expect(slot2).toBe((slot1 + 1) % 32);
  near(await back(RESULTS, 5, true), [...second, ...third, first[3]!, 0]);
  near(await back(slot2, 1, true), [sum(second) + sum(third)]);
  near(await back(slot1, 1, true), [sum(first)]); // the earlier slot untouched

  // A buffer of its own and a read (a staging buffer kept for reuse): destroy frees them all.
  const buffer = engine.createBuffer(4);
  engine.write(buffer, 0, Float32Array.of(1, 2, 3, 4));
  const got = new Float32Array(4);
  await engine.read([{ buffer, at: 0, length: 4, into: got }]);
  expect(Array.from(got)).toEqual([1, 2, 3, 4]);
  expect(() => engine.destroy()).not.toThrow();
  expect(() => engine.flush()).toThrow(/^This webgpu model was disposed/);
});

it('an engine submits, and makes GPU buffers, only when it must', async () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const engine = new GpuEngine(await testDevice(), memory);
  const f = new Float32Array(memory.buffer), ids = new Int32Array(memory.buffer);
  for (let k = 0; k < 600; k++) f[k] = (k % 9) - 4;
  engine.upload(f);
  const device = engine.device, queue = device.queue;
  const createBuffer = device.createBuffer.bind(device), submit = queue.submit.bind(queue), writeBuffer = queue.writeBuffer.bind(queue);
  let buffers = 0, submits = 0, writes = 0;
  device.createBuffer = (descriptor: GPUBufferDescriptor) => { buffers++; return createBuffer(descriptor); };
  queue.submit = (commands: Iterable<GPUCommandBuffer>) => { submits++; submit(commands); };
  queue.writeBuffer = ((...args: Parameters<GPUQueue['writeBuffer']>) => { writes++; writeBuffer(...args); }) as GPUQueue['writeBuffer'];
  const counts = (): number[] => { const c = [buffers, submits, writes]; buffers = submits = writes = 0; return c; };
  try {
    engine.flush(); // nothing recorded: nothing submitted
    expect(counts()).toEqual([0, 0, 0]);

    // 256 calls fill the argument buffer exactly: the same buffer takes them.
    for (let k = 0; k < 256; k++) engine.kernels.mul(f, 1000 + k, f, k, f, k, 1);
    engine.upload(f, 5, 0); // nothing to upload: no write, and nothing submitted
    expect(counts()).toEqual([0, 0, 0]);
    engine.flush();
    expect(counts()).toEqual([0, 1, 1]); // the commands, after their arguments
    // 257: a bigger one.
    for (let k = 0; k < 257; k++) engine.kernels.mul(f, 2000 + k, f, k, f, 1 + k, 1);
    engine.flush();
    expect(counts()).toEqual([1, 1, 1]);

    // Reads: a staging buffer of 256 bytes, made by the first read and taken again by the next.
    const out = new Float32Array(257);
    await engine.read([{ at: 1000, length: 64, into: out }]);
    expect(counts()).toEqual([1, 1, 0]);
    await engine.read([{ at: 1064, length: 64, into: out, offset: 64 }]);
    expect(counts()).toEqual([0, 1, 0]);
    await engine.read([{ at: 1128, length: 128, into: out, offset: 128 }]);
    expect(Array.from(out.subarray(0, 256))).toEqual(Array.from({ length: 256 }, (_, k) => f[k]! * f[k]!));
    await engine.read([{ at: 2000, length: 257, into: out }]);
    expect(Array.from(out)).toEqual(Array.from({ length: 257 }, (_, k) => f[k]! * f[1 + k]!));

    // softmaxCrossEntropy's rows: 1024 fit the aux buffer as made; one more row grows it.
    const L = 4000, IDS = 7000, M = 1024;
    for (let r = 0; r < M; r++) { f[L + 2 * r] = r % 3; f[L + 2 * r + 1] = 1; ids[IDS + r] = r % 2; }
    engine.upload(f, L, 2 * M);
    engine.upload(ids, IDS, M);
    counts(); // (reset)
    engine.kernels.softmaxCrossEntropy(f, 10_000, f, L, ids, IDS, 1, M, 2, 1);
    expect(counts()).toEqual([0, 0, 0]);
    engine.kernels.softmaxCrossEntropy(f, 13_000, f, L, ids, IDS, 1, 1, 2, 1);
    expect(counts()[0]).toBe(1);
    const loss = new Float32Array(1);
    await engine.read([{ at: engine.sumLoss(), length: 1, into: loss, aux: true }]);
    const want = Array.from({ length: M + 1 }, (_, r) => {
      const row = r % M, y = row % 2, a = row % 3; // logits (a, 1), target y
      return Math.log(Math.exp(a) + Math.exp(1)) - (y === 0 ? a : 1);
    }).reduce((s, x) => s + x, 0);
    expect(Math.abs(loss[0]! - want) / want).toBeLessThan(1e-5);
  } finally {
    device.createBuffer = createBuffer;
    queue.submit = submit;
    queue.writeBuffer = writeBuffer;
    engine.destroy();
  }
});
