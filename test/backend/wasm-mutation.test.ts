// The wasm backend's module handling (src/backend/wasm.ts): the SIMD and relaxed-SIMD probes
// (also with WebAssembly missing or refusing), the options, the module cache per memory kind,
// and what createWasmKernels returns. Engine-dependent answers are compared with the engine's
// own answer to an independently built module, so that the file holds on Node 20 and 22.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { KERNEL_GLOBALS, kernelFunctions } from '../../src/backend/table.js';
import {
  createWasmKernels, createWasmKernelsAsync, kernelModule, kernelModuleBytes, WASM_SCRATCH_BYTES, wasmRelaxedSimdSupported,
  wasmSimdSupported,
} from '../../src/backend/wasm.js';
import { encodeModule } from '../../src/wasm/encoder.js';

afterEach(() => {
  vi.unstubAllGlobals();
});

/** Whether this engine validates the relaxed variant of the kernel module. */
const relaxedHere = () => WebAssembly.validate(encodeModule(kernelFunctions({ relaxed: true }), { shared: false }, KERNEL_GLOBALS));

describe('wasmSimdSupported', () => {
  it('is true here, and false (without throwing) where WebAssembly or its validate is missing or says no', () => {
    expect(wasmSimdSupported()).toBe(true);
    const real = WebAssembly;
    vi.stubGlobal('WebAssembly', undefined);
    expect(wasmSimdSupported()).toBe(false);
    vi.stubGlobal('WebAssembly', 'wasm');
    expect(wasmSimdSupported()).toBe(false);
    vi.stubGlobal('WebAssembly', { validate: undefined });
    expect(wasmSimdSupported()).toBe(false);
    const seen: Uint8Array<ArrayBuffer>[] = [];
    vi.stubGlobal('WebAssembly', { validate: (bytes: Uint8Array<ArrayBuffer>) => (seen.push(bytes), false) });
    expect(wasmSimdSupported()).toBe(false);
    vi.unstubAllGlobals();
    // The probe is one function returning a v128 constant: valid exactly where SIMD is.
    expect(seen).toHaveLength(1);
    expect(seen[0]!.length).toBe(43);
    expect(real.validate(seen[0]!)).toBe(true);
    expect(new real.Instance(new real.Module(seen[0]!)).exports).toEqual({});
  });
});

describe('wasmRelaxedSimdSupported', () => {
  it('is a boolean: whether the engine validates relaxed SIMD, the same on every call', () => {
    expect(wasmRelaxedSimdSupported()).toBe(relaxedHere());
    expect(wasmRelaxedSimdSupported()).toBe(relaxedHere());
  });
});

describe('options', () => {
  it('relaxed must be a boolean: a TypeError showing the value', () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    expect(() => createWasmKernels(memory, { relaxed: 'yes' as never })).toThrow(new TypeError('Expected `relaxed` to be a boolean, got "yes".'));
    expect(() => kernelModuleBytes(false, { relaxed: 1 as never })).toThrow(/^Expected `relaxed` to be a boolean, got 1\.$/);
    expect(() => kernelModule(false, { relaxed: 0 as never })).toThrow(TypeError);
  });

  it('scratch: an integer (TypeError otherwise), a positive multiple of 16 with WASM_SCRATCH_BYTES of the memory after it (RangeError); set on the instance', async () => {
    const memory = new WebAssembly.Memory({ initial: 1 }); // 65536 bytes
    expect(WASM_SCRATCH_BYTES).toBe(36864);
    const last = 65536 - WASM_SCRATCH_BYTES;
    for (const bad of ['16', 16.5, NaN, null]) {
      expect(() => createWasmKernels(memory, { scratch: bad as never })).toThrow(TypeError);
    }
    expect(() => createWasmKernels(memory, { scratch: '16' as never })).toThrow(new TypeError('Expected `scratch` to be an integer byte address, got "16".'));
    await expect(createWasmKernelsAsync(memory, { scratch: 1.5 })).rejects.toThrow(/^Expected `scratch` to be an integer byte address, got 1\.5\.$/);
    const range = (scratch: number) =>
      `Expected \`scratch\` to be a positive multiple of 16 with 36864 bytes of the memory after it (its 65536 bytes), got ${scratch}.`;
    for (const bad of [0, -16, 8, 24, last + 16, 2 ** 40]) {
      expect(() => createWasmKernels(memory, { scratch: bad })).toThrow(new RangeError(range(bad)));
    }
    await expect(createWasmKernelsAsync(memory, { scratch: 0 })).rejects.toThrow(new RangeError(range(0)));
    const read = (k: { exports: unknown }) => ((k.exports as Record<string, WebAssembly.Global>).scratch!).value as number;
    for (const scratch of [16, last]) {
      const k = createWasmKernels(memory, { scratch });
      expect(k.scratch).toBe(scratch);
      expect(read(k)).toBe(scratch);
    }
    const none = createWasmKernels(memory);
    expect(none.scratch).toBeUndefined();
    expect(read(none)).toBe(0);
    const async = await createWasmKernelsAsync(memory, { scratch: 32 });
    expect([async.scratch, read(async)]).toEqual([32, 32]);
  });

  it('relaxed: true is refused where the engine lacks it, else gives the relaxed module; relaxed: false the plain one', () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    if (relaxedHere()) {
      expect(createWasmKernels(memory, { relaxed: true }).relaxed).toBe(true);
      expect(kernelModule(false, { relaxed: true })).not.toBe(kernelModule(false, { relaxed: false }));
    } else {
      const message = 'Expected an engine with relaxed SIMD for `relaxed: true` (Node ≥ 22, Chrome ≥ 114); this one lacks it.';
      expect(() => createWasmKernels(memory, { relaxed: true })).toThrow(new Error(message));
      expect(() => kernelModuleBytes(false, { relaxed: true })).toThrow(message);
    }
    const plain = createWasmKernels(memory, { relaxed: false });
    expect(plain.relaxed).toBe(false);
    expect(createWasmKernels(memory).relaxed).toBe(relaxedHere());
    expect(kernelModuleBytes(false, { relaxed: false })).toEqual(encodeModule(kernelFunctions({ relaxed: false }), { shared: false }, KERNEL_GLOBALS));
  });
});

describe('the module, per memory kind', () => {
  it('kernelModuleBytes: not shared by default; shared declares a shared memory import', () => {
    const own = kernelModuleBytes(), shared = kernelModuleBytes(true);
    expect(own).toEqual(kernelModuleBytes(false));
    expect(own).toEqual(encodeModule(kernelFunctions({ relaxed: relaxedHere() }), { shared: false }, KERNEL_GLOBALS));
    expect(shared).toEqual(encodeModule(kernelFunctions({ relaxed: relaxedHere() }), { shared: true }, KERNEL_GLOBALS));
    expect(shared).not.toEqual(own);
  });

  it('kernelModule is compiled once per kind: the same object again, another for the other kind', () => {
    const own = kernelModule(false), shared = kernelModule(true);
    expect(kernelModule(false)).toBe(own);
    expect(kernelModule(true)).toBe(shared);
    expect(shared).not.toBe(own);
    expect(kernelModule(false, { relaxed: false })).toBe(kernelModule(false, { relaxed: false }));
    // Each instantiates only on its kind of memory.
    const ownMemory = new WebAssembly.Memory({ initial: 1 });
    const sharedMemory = new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true });
    expect(() => new WebAssembly.Instance(own, { env: { memory: ownMemory } })).not.toThrow();
    expect(() => new WebAssembly.Instance(own, { env: { memory: sharedMemory } })).toThrow();
    expect(() => new WebAssembly.Instance(shared, { env: { memory: sharedMemory } })).not.toThrow();
  });

  it('createWasmKernels runs on an own and on a shared memory, either first; it returns memory, relaxed and the raw exports', () => {
    for (const memory of [
      new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true }), new WebAssembly.Memory({ initial: 1 }),
      new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true }),
    ]) {
      const k = createWasmKernels(memory);
      expect(k.memory).toBe(memory);
      expect(k.relaxed).toBe(relaxedHere());
      expect(typeof k.exports.mul).toBe('function');
      const f = new Float32Array(memory.buffer);
      f.set([1, 2, 3], 4);
      k.mul(f, 8, f, 4, f, 4, 3);
      expect([...f.subarray(8, 11)]).toEqual([1, 4, 9]);
      k.exports.mul(48, 16, 16, 3); // the raw export: byte pointers
      expect([...f.subarray(12, 15)]).toEqual([1, 4, 9]);
    }
  });

  it('an engine without SharedArrayBuffer: every memory is its own (nothing asks SharedArrayBuffer)', () => {
    vi.stubGlobal('SharedArrayBuffer', undefined);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const k = createWasmKernels(memory);
    expect(k.memory).toBe(memory);
  });

  it('createWasmKernelsAsync: the same kernels, on both kinds of memory', async () => {
    for (const memory of [new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true }), new WebAssembly.Memory({ initial: 1 })]) {
      const k = await createWasmKernelsAsync(memory, { relaxed: false });
      expect(k.memory).toBe(memory);
      expect(k.relaxed).toBe(false);
      const f = new Float32Array(memory.buffer);
      f.set([2, 3], 0);
      k.mul(f, 2, f, 0, f, 0, 2);
      expect([...f.subarray(2, 4)]).toEqual([4, 9]);
    }
  });
});
