// resolveBackend and the wasm Storage where the engine says no: no SIMD, a kernel module that
// cannot be compiled here (as on a browser's main thread that refuses synchronous compilation).
// The wasm module's functions are replaced by ones each test steers.
import { afterEach, describe, expect, it, vi } from 'vitest';

const engine = vi.hoisted(() => ({ simd: true, compiles: true, instantiates: true, compiled: [] as unknown[][] }));
vi.mock('../../src/backend/wasm.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/backend/wasm.js')>();
  return {
    ...real,
    wasmSimdSupported: () => engine.simd,
    kernelModule: (...args: Parameters<typeof real.kernelModule>) => {
      engine.compiled.push(args);
      if (!engine.compiles) throw new RangeError('WebAssembly.Module is disallowed on the main thread');
      return real.kernelModule(...args);
    },
    createWasmKernels: (...args: Parameters<typeof real.createWasmKernels>) => {
      if (!engine.instantiates) throw new RangeError('WebAssembly.Module is disallowed on the main thread');
      return real.createWasmKernels(...args);
    },
  };
});

// test/setup.ts loaded storage.js (through runner.js) before the mock: load it again.
vi.resetModules();
const { resolveBackend, Storage } = await import('../../src/backend/storage.js');
const none = { size: () => ({ floats: 0, ids: 0 }), create: () => ({}) };

afterEach(() => {
  Object.assign(engine, { simd: true, compiles: true, instantiates: true, compiled: [] });
});

describe('resolveBackend where the engine lacks something', () => {
  it('without SIMD: auto is js, wasm an Error naming the js backend', () => {
    engine.simd = false;
    expect(resolveBackend('auto', 'float32')).toBe('js');
    expect(() => resolveBackend('wasm', 'float32')).toThrow(new Error('The wasm backend needs WebAssembly SIMD, which this engine lacks; use backend "js".'));
    expect(resolveBackend('js', 'float32')).toBe('js');
  });

  it('a module that cannot be compiled here: auto falls back to js; wasm asked for stays wasm', () => {
    expect(resolveBackend('auto', 'float32')).toBe('wasm');
    expect(engine.compiled).toEqual([[false]]); // the module a one-thread model uses
    engine.compiles = false;
    expect(resolveBackend('auto', 'float32')).toBe('js');
    expect(resolveBackend('wasm', 'float32')).toBe('wasm');
  });
});

describe('Storage on the wasm backend where synchronous compilation is refused', () => {
  it('throws an Error that says what to do, with the engine error as its cause', () => {
    engine.instantiates = false;
    let error: Error | undefined;
    try {
      new Storage(4, 'float32', 'wasm', 1, none, 'm');
    } catch (e) {
      error = e as Error;
    }
    expect(error?.constructor).toBe(Error);
    expect(error?.message).toBe(
      "Expected backend 'wasm' to compile its kernels here, but this thread refuses synchronous WebAssembly compilation " +
        "(RangeError: WebAssembly.Module is disallowed on the main thread): await preloadWasm() first, or use backend 'auto'.",
    );
    expect((error?.cause as Error).message).toBe('WebAssembly.Module is disallowed on the main thread');
  });
});
