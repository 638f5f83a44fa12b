// Storage (src/backend/storage.ts) on its own, with a workspace factory that records the blocks
// it is handed: the layout of the parameters, gradients and workspace region, the size limits
// (exact boundaries, on a pretend GPU whose largest buffer is small), the workspace cache, and
// what a memory growth re-creates. The webgpu branch runs on a pretend GpuSide: its kernels are
// jsKernels, only its limit matters here.
import { describe, expect, it } from 'vitest';
import { alignedLength, resolveBackend, Storage, type GpuSide, type WorkspaceFactory } from '../../src/backend/storage.js';
import { jsKernels } from '../../src/backend/table.js';
import { WASM_SCRATCH_BYTES, type WasmKernels } from '../../src/backend/wasm.js';
import type { FloatArray } from '../../src/tensor/float-array.js';

const PAGE = 65536;

interface Blocks {
  B: number;
  T: number;
  floats: FloatArray[];
  ids: Int32Array[];
}

/**
 * A factory whose workspace of (B, T) asks for `shape(B, T)` floats and ids, carved as the
 * blocks listed in `floatBlocks` and `idBlocks` (their sums, each rounded up, are the sizes).
 */
function factory(floatBlocks: (B: number, T: number) => number[], idBlocks: (B: number, T: number) => number[]): WorkspaceFactory<Blocks> {
  const sum = (ns: number[]) => ns.reduce((s, n) => s + alignedLength(n), 0);
  return {
    size: (B, T) => ({ floats: sum(floatBlocks(B, T)), ids: sum(idBlocks(B, T)) }),
    create: (B, T, floats, ids) => ({ B, T, floats: floatBlocks(B, T).map(floats), ids: idBlocks(B, T).map(ids) }),
  };
}

/** Blocks of B·T and 3 floats, and B and 5 ids. */
const simple = factory((B, T) => [B * T, 3], (B) => [B, 5]);

const fakeGpu = (maxBytes: number): GpuSide & { memories: WebAssembly.Memory[] } => {
  const memories: WebAssembly.Memory[] = [];
  return { maxBytes, memories, kernels: (memory) => (memories.push(memory), jsKernels) };
};

/** The blocks are as long as asked, aligned, in order without overlap, and past the gradients. */
function expectCarved(ws: Blocks, floatLengths: number[], idLengths: number[], after = 0): void {
  expect(ws.floats.map((b) => b.length)).toEqual(floatLengths);
  expect(ws.ids.map((b) => b.length)).toEqual(idLengths);
  for (const list of [ws.floats, ws.ids] as const) {
    let end = -1;
    for (const b of list) {
      expect(b.byteOffset % 16).toBe(0);
      expect(b.byteOffset).toBeGreaterThanOrEqual(Math.max(end, after));
      end = b.byteOffset + 4 * alignedLength(b.length);
    }
  }
}

describe('Storage: js', () => {
  it('holds parameters and gradients in separate arrays of the dtype; allocOutside is zeroed and of the dtype', () => {
    const s32 = new Storage(10, 'float32', 'js', 1, simple, 'm');
    expect(s32.kernels).toBe(jsKernels);
    expect(s32.memory).toBeUndefined();
    expect(s32.params).toBeInstanceOf(Float32Array);
    expect(s32.params.length).toBe(10);
    expect(s32.grads.length).toBe(10);
    expect(s32.params.buffer).not.toBe(s32.grads.buffer);
    expect(s32.allocOutside(7)).toEqual(new Float32Array(7));
    const s64 = new Storage(6, 'float64', 'js', 1, simple, 'm');
    expect(s64.params).toBeInstanceOf(Float64Array);
    expect(s64.grads).toBeInstanceOf(Float64Array);
    expect(s64.allocOutside(3)).toEqual(new Float64Array(3));
    expect(s64.generation).toBe(0);
  });

  it('carves every block at its length; caches a workspace per shape; a bigger region drops the old workspaces', () => {
    const s = new Storage(5, 'float32', 'js', 1, simple, 'm');
    const a = s.workspace(2, 3);
    expectCarved(a, [6, 3], [2, 5]);
    expect(a.floats[0]!.buffer).toBe(a.floats[1]!.buffer);
    expect(s.workspace(2, 3)).toBe(a);
    const b = s.workspace(3, 2); // the same sizes: no new region, the first one stays cached
    expect(b).not.toBe(a);
    expectCarved(b, [6, 3], [3, 5]);
    expect(b.floats[0]!.buffer).toBe(a.floats[0]!.buffer);
    expect(s.workspace(2, 3)).toBe(a);
    const c = s.workspace(4, 4); // more floats and ids: a new region, every workspace made again
    expectCarved(c, [16, 3], [4, 5]);
    expect(c.floats[0]!.buffer).not.toBe(a.floats[0]!.buffer);
    const a2 = s.workspace(2, 3);
    expect(a2).not.toBe(a);
    expect(a2.floats[0]!.buffer).toBe(c.floats[0]!.buffer);
    expect(a2.ids[0]!.buffer).toBe(c.ids[0]!.buffer);
    expect(s.generation).toBe(0); // js views never move
  });

  it('keeps the region as big as the biggest shape: more ids and fewer floats keep the floats', () => {
    const f = factory((B) => [B === 1 ? 100 : 8], (B) => [B === 1 ? 4 : 40]);
    const s = new Storage(5, 'float32', 'js', 1, f, 'm');
    s.workspace(1, 1);
    const small = s.workspace(2, 1); // needs more ids: a new region, with the 100 floats kept
    expectCarved(small, [8], [40]);
    const big = s.workspace(1, 1);
    expectCarved(big, [100], [4]);
    expect(big.floats[0]!.buffer).toBe(small.floats[0]!.buffer); // no third region
    expect(s.workspace(2, 1)).toBe(small);
  });

  it('keeps at most 4 workspaces: a fifth shape drops the oldest', () => {
    const s = new Storage(5, 'float32', 'js', 1, simple, 'm');
    s.workspace(9, 9); // the biggest first: no region change after it
    const shapes = [[1, 1], [1, 2], [1, 3], [1, 4]] as const;
    const made = shapes.map(([B, T]) => s.workspace(B, T));
    shapes.forEach(([B, T], i) => expect(s.workspace(B, T)).toBe(made[i]));
    const fifth = s.workspace(1, 5);
    expect(s.workspace(1, 5)).toBe(fifth);
    for (let i = 1; i < 4; i++) expect(s.workspace(shapes[i]![0], shapes[i]![1])).toBe(made[i]);
    expect(s.workspace(1, 1)).not.toBe(made[0]);
  });

  it('refuses a workspace past 4 GiB, before allocating, naming shape, model, bytes and limit', () => {
    const huge = factory((B) => [B], () => [0]);
    const s32 = new Storage(5, 'float32', 'js', 1, huge, 'vocabSize 5, numHiddens 1');
    expect(() => s32.workspace(2 ** 31, 1)).toThrow(new RangeError(
      'Expected a batch shape whose workspace fits the js backend, got batchSize 2147483648 × numSteps 1 for vocabSize 5, numHiddens 1: ' +
        'it needs 8.00 GiB, the limit is 4.00 GiB. Use fewer rows or steps per call.',
    ));
    const s64 = new Storage(5, 'float64', 'js', 1, huge, 'm');
    expect(() => s64.workspace(2 ** 29 + 4, 1)).toThrow(/got batchSize 536870916 × numSteps 1 for m: it needs 4\.00 GiB, the limit is 4\.00 GiB/);
    const ids = factory(() => [0], (B) => [B]);
    expect(() => new Storage(5, 'float64', 'js', 1, ids, 'm').workspace(2 ** 31, 1)).toThrow(/it needs 8\.00 GiB/);
  });

  it('refuses parameters past one 4 GiB typed array, naming the model and the bytes (8 per float64)', () => {
    expect(() => new Storage(2 ** 29 + 1, 'float64', 'js', 1, simple, 'vocabSize 7, numHiddens 8')).toThrow(new RangeError(
      'Expected a model whose parameters fit one typed array (4 GiB), got vocabSize 7, numHiddens 8: ' +
        '536870913 parameters need 4.00 GiB (and as much again for the gradients).',
    ));
    expect(() => new Storage(2 ** 31, 'float32', 'js', 1, simple, 'm')).toThrow(/2147483648 parameters need 8\.00 GiB/);
  });

  it('takes parameters and a workspace of exactly 4 GiB (untouched pages cost nothing)', () => {
    const s = new Storage(2 ** 30, 'float32', 'js', 1, factory((B) => [B], () => [0]), 'm');
    expect(s.params.length).toBe(2 ** 30);
    expect(s.grads.length).toBe(2 ** 30);
    const s64 = new Storage(2 ** 29, 'float64', 'js', 1, factory((B) => [B], () => [0]), 'm');
    expect(s64.params.length).toBe(2 ** 29);
    expect(s64.workspace(2 ** 29, 1).floats[0]!.length).toBe(2 ** 29);
    expect(s.workspace(2 ** 30, 1).floats[0]!.length).toBe(2 ** 30);
  });
});

describe('Storage: one WebAssembly memory (wasm, webgpu)', () => {
  it('wasm: [parameters | gradients | scratch per thread | ids | floats] in one memory with the 64 MiB reserve; shared when asked', () => {
    const S = WASM_SCRATCH_BYTES;
    const s = new Storage(10, 'float32', 'wasm', 1, simple, 'm');
    const memory = s.memory!;
    expect(memory.buffer).toBeInstanceOf(ArrayBuffer);
    expect(memory.buffer.byteLength).toBe(Math.ceil((2 * 4 * 12 + S + (64 << 20)) / PAGE) * PAGE);
    expect(s.scratch(0)).toBe(4 * 24);
    expect((s.kernels as unknown as WasmKernels).scratch).toBe(4 * 24);
    expect(s.params.buffer).toBe(memory.buffer);
    expect(s.params.byteOffset).toBe(0);
    expect(s.params.length).toBe(10);
    expect(s.grads.byteOffset).toBe(4 * 12);
    expect(s.grads.length).toBe(10);
    expect((s.kernels as unknown as { memory: WebAssembly.Memory }).memory).toBe(memory);
    const ws = s.workspace(2, 3);
    expectCarved(ws, [6, 3], [2, 5], 4 * 24 + S);
    expect(ws.ids[0]!.byteOffset).toBe(4 * 24 + S);
    expect(ws.floats[0]!.byteOffset).toBe(4 * (24 + 12) + S); // after the ids: 2 → 4, 5 → 8
    expect(ws.floats[0]!.buffer).toBe(memory.buffer);
    const shared = new Storage(10, 'float32', 'wasm', 3, simple, 'm');
    expect(shared.memory!.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(shared.memory!.buffer.byteLength).toBe(Math.ceil((2 * 4 * 12 + 3 * S + (64 << 20)) / PAGE) * PAGE);
    expect([0, 1, 2].map((lane) => shared.scratch(lane))).toEqual([96, 96 + S, 96 + 2 * S]);
    expect(shared.workspace(2, 3).ids[0]!.byteOffset).toBe(4 * 24 + 3 * S);
  });

  it('wasm: refuses a model past the 4 GiB memory with its reserve, and takes one that fills it exactly', () => {
    const exact = (2 ** 32 - (64 << 20) - WASM_SCRATCH_BYTES) / 8; // 2·4·count + scratch + 64 MiB = 4 GiB
    expect(() => new Storage(exact + 1, 'float32', 'wasm', 1, simple, 'vocabSize 9, numHiddens 9')).toThrow(new RangeError(
      "Expected a model whose parameters and gradients fit the wasm backend's 4 GiB memory, got vocabSize 9, numHiddens 9: " +
        `${exact + 1} parameters need 4.00 GiB with the workspace reserve.`,
    ));
    expect(() => new Storage(NaN, 'float32', 'wasm', 1, simple, 'm')).toThrow(RangeError);
    const full = new Storage(exact, 'float32', 'wasm', 1, simple, 'm');
    expect(full.memory!.buffer.byteLength).toBe(2 ** 32);
    expect(full.grads.byteOffset).toBe(4 * exact);
  });

  it('webgpu: parameters and gradients plus one page, no reserve; the GpuSide makes the kernels on that memory', () => {
    const gpu = fakeGpu(1 << 20);
    const s = new Storage(40000, 'float32', 'webgpu', 1, simple, 'm', gpu);
    expect(gpu.memories).toEqual([s.memory]);
    expect(s.kernels).toBe(jsKernels);
    expect(s.memory!.buffer).toBeInstanceOf(ArrayBuffer);
    expect(s.memory!.buffer.byteLength).toBe((Math.ceil((2 * 4 * 40000) / PAGE) + 1) * PAGE);
  });

  it('webgpu: takes a model whose memory fills the largest buffer exactly, refuses one page more', () => {
    // 2·4·count = 2 pages: 3 pages with the extra one.
    const count = PAGE / 4;
    expect(new Storage(count, 'float32', 'webgpu', 1, simple, 'm', fakeGpu(3 * PAGE)).memory!.buffer.byteLength).toBe(3 * PAGE);
    expect(() => new Storage(count, 'float32', 'webgpu', 1, simple, 'vocabSize 3, numHiddens 2', fakeGpu(3 * PAGE - 1))).toThrow(new RangeError(
      'Expected a model whose parameters and gradients fit one buffer of this GPU (0.00 GiB), got vocabSize 3, numHiddens 2: ' +
        '16384 parameters need 0.00 GiB.',
    ));
    expect(() => new Storage(2 ** 28, 'float32', 'webgpu', 1, simple, 'm', fakeGpu(2 ** 31))).toThrow(/GPU \(2\.00 GiB\), got m: 268435456 parameters need 2\.00 GiB/);
  });

  it('a workspace exactly at the limit (largest buffer less parameters and gradients) is taken, 4 floats more refused', () => {
    const count = 1000; // 8·1000 bytes of parameters and gradients
    const limit = 4 * PAGE - 8 * count;
    const f = factory((B) => [B], () => [4]);
    const floats = limit / 4 - 4; // and 4 ids
    const s = new Storage(count, 'float32', 'webgpu', 1, f, 'm', fakeGpu(4 * PAGE));
    expect(() => s.workspace(floats + 4, 1)).toThrow(`got batchSize ${floats + 4} × numSteps 1 for m: it needs 0.00 GiB, the limit is 0.00 GiB`);
    const ws = s.workspace(floats, 1);
    expectCarved(ws, [floats], [4], 8 * count);
    expect(s.memory!.buffer.byteLength).toBe(4 * PAGE);
  });

  it('the limit on a 4 GiB memory is 4 GiB less the parameters and gradients', () => {
    const count = 2 ** 26; // 512 MiB of parameters and gradients
    const s = new Storage(count, 'float32', 'wasm', 1, factory((B) => [B], () => [0]), 'm');
    expect(() => s.workspace(2 ** 30, 1)).toThrow(/it needs 4\.00 GiB, the limit is 3\.50 GiB/);
    expect(() => s.workspace(2 ** 30, 1)).toThrow(/Expected a batch shape whose workspace fits the wasm backend/);
  });

  it('wasm: the limit also leaves out the scratch (one float past it is refused before any growth)', () => {
    const count = 2 ** 26;
    const s = new Storage(count, 'float32', 'wasm', 1, factory((B) => [B], () => [0]), 'm');
    const limit = 2 ** 32 - 8 * count - WASM_SCRATCH_BYTES;
    const pages = s.memory!.buffer.byteLength;
    expect(() => s.workspace(limit / 4 + 1, 1)).toThrow(/^Expected a batch shape whose workspace fits the wasm backend/);
    expect(s.memory!.buffer.byteLength).toBe(pages);
  });

  it('wasm: the refusal of a model counts the scratch in the bytes it needs', () => {
    // 8·count + scratch + 64 MiB is just above 4.005 GiB: "4.01" (without the scratch, or less it, "4.00").
    const count = 529148788;
    expect(() => new Storage(count, 'float32', 'wasm', 1, simple, 'm')).toThrow(
      `got m: ${count} parameters need 4.01 GiB with the workspace reserve.`,
    );
  });

  it('grows the memory by whole pages, only when the region needs more; a region that only moves re-creates the views', () => {
    const count = 4; // parameters and gradients: 8 floats
    const s = new Storage(count, 'float32', 'webgpu', 1, factory((B) => [B], (_B, T) => [T]), 'm', fakeGpu(2 ** 30));
    const memory = s.memory!;
    expect(memory.buffer.byteLength).toBe(2 * PAGE);
    const p0 = s.params;
    expect(s.generation).toBe(0);
    // 12 ids at the region's start: the views move, the memory does not grow.
    const a = s.workspace(4000, 12);
    expect(memory.buffer.byteLength).toBe(2 * PAGE);
    expect(s.generation).toBe(1);
    expect(p0.length).toBe(count); // not detached
    expect(s.params).not.toBe(p0);
    expect(s.params.length).toBe(count);
    expectCarved(a, [4000], [12], 4 * 8);
    expect(a.ids[0]!.byteOffset).toBe(4 * 8);
    expect(a.floats[0]!.byteOffset).toBe(4 * (8 + 12));
    // 16 ids and every float the two pages hold: the region moves again, with no growth (not even grow(0), which detaches).
    const p1 = s.params;
    const b = s.workspace(2 * PAGE / 4 - 8 - 16, 16);
    expect(memory.buffer.byteLength).toBe(2 * PAGE);
    expect(p1.length).toBe(count);
    expect(s.generation).toBe(2);
    expectCarved(b, [2 * PAGE / 4 - 24], [16], 4 * 8);
    expect(b.floats[0]!.byteOffset).toBe(4 * 24);
    // More floats than that: it grows to exactly the pages needed, detaching the old views.
    const c = s.workspace(PAGE, 16);
    expect(memory.buffer.byteLength).toBe(Math.ceil((4 * (8 + 16 + PAGE)) / PAGE) * PAGE);
    expect(p1.length).toBe(0);
    expect(s.generation).toBe(3);
    expectCarved(c, [PAGE], [16], 4 * 8);
    expect(s.workspace(PAGE, 16) === c).toBe(true);
    // A growth from outside: the next access re-creates the views and drops the workspaces.
    memory.grow(1);
    expect(s.generation).toBe(4);
    expect(s.grads.byteOffset).toBe(16);
    expect(s.grads.buffer).toBe(memory.buffer);
    const c2 = s.workspace(PAGE, 16);
    expect(c2 === c).toBe(false);
    expect(c2.floats[0]!.buffer).toBe(memory.buffer);
  });

  it('a first workspace without ids that fits the memory changes no view', () => {
    const s = new Storage(4, 'float32', 'wasm', 1, factory((B) => [B], () => []), 'm');
    const params = s.params;
    const ws = s.workspace(100, 1);
    expect(s.generation).toBe(0);
    expect(s.params).toBe(params);
    expect(ws.floats[0]!.byteOffset).toBe(4 * 8 + WASM_SCRATCH_BYTES);
    expect(ws.floats[0]!.length).toBe(100);
  });

  it('a memory that cannot grow: a RangeError naming the backend, the bytes and the model, the engine error as its cause', () => {
    const s = new Storage(4, 'float32', 'webgpu', 1, factory((B) => [B], () => [4]), 'vocabSize 2, numHiddens 1', fakeGpu(2 ** 32));
    const refusal = new RangeError('no');
    s.memory!.grow = () => { throw refusal; };
    const error = (() => { try { s.workspace(2 ** 28, 1); } catch (e) { return e as RangeError; } })();
    expect(error).toBeInstanceOf(RangeError);
    expect(error!.message).toBe('Could not grow the webgpu memory to 1.00 GiB for a workspace of vocabSize 2, numHiddens 1.');
    expect(error!.cause).toBe(refusal);
  });
});

describe('resolveBackend (on an engine with SIMD)', () => {
  it('js stays js; float64 is js, and wasm with float64 a RangeError; auto and wasm are wasm', () => {
    expect(resolveBackend('js', 'float32')).toBe('js');
    expect(resolveBackend('js', 'float64')).toBe('js');
    expect(resolveBackend('auto', 'float64')).toBe('js');
    expect(() => resolveBackend('wasm', 'float64')).toThrow(new RangeError(
      "Expected `backend` 'wasm' with `dtype` 'float32' (the wasm kernels are float32), got dtype 'float64'.",
    ));
    expect(resolveBackend('wasm', 'float32')).toBe('wasm');
    expect(resolveBackend('auto', 'float32')).toBe('wasm');
  });
});
