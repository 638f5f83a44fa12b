// preloadWasm and the module cache seen from a fresh copy of src/backend/wasm.ts per test
// (vi.resetModules): what is compiled, how often, and what an engine without SIMD or without
// SharedArrayBuffer gets.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FunctionBuilder, ValType } from '../../src/wasm/builder.js';
import { encodeModule } from '../../src/wasm/encoder.js';
import { Simd } from '../../src/wasm/ops.js';

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

const fresh = async () => {
  vi.resetModules();
  return import('../../src/backend/wasm.js');
};

describe('preloadWasm', () => {
  it('compiles the own and the shared module once, asynchronously; later calls, async or not, reuse them', async () => {
    const w = await fresh();
    const compile = vi.spyOn(WebAssembly, 'compile');
    expect(await w.preloadWasm()).toBe(true);
    expect(compile).toHaveBeenCalledTimes(2);
    const [own, shared] = await Promise.all(compile.mock.results.map((r) => r.value as Promise<WebAssembly.Module>));
    expect(compile.mock.calls[0]![0]).toEqual(w.kernelModuleBytes(false));
    expect(compile.mock.calls[1]![0]).toEqual(w.kernelModuleBytes(true));
    expect(w.kernelModule(false)).toBe(own);
    expect(w.kernelModule(true)).toBe(shared);
    await w.createWasmKernelsAsync(new WebAssembly.Memory({ initial: 1 }));
    await w.createWasmKernelsAsync(new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true }));
    expect(await w.preloadWasm()).toBe(true);
    expect(compile).toHaveBeenCalledTimes(2);
  });

  it('a module compiled synchronously first is not compiled again', async () => {
    const w = await fresh();
    const own = w.kernelModule(false);
    const compile = vi.spyOn(WebAssembly, 'compile');
    await w.createWasmKernelsAsync(new WebAssembly.Memory({ initial: 1 }));
    expect(compile).not.toHaveBeenCalled();
    expect(w.kernelModule(false)).toBe(own);
  });

  it('without SharedArrayBuffer only the own module is compiled', async () => {
    const w = await fresh();
    const compile = vi.spyOn(WebAssembly, 'compile');
    vi.stubGlobal('SharedArrayBuffer', undefined);
    expect(await w.preloadWasm()).toBe(true);
    expect(compile).toHaveBeenCalledTimes(1);
  });

  it('without SIMD: false, nothing compiled, and relaxed SIMD is not claimed even where the engine would validate it', async () => {
    const w = await fresh();
    // SIMD's probe is refused; every other module (the relaxed probe included) accepted.
    vi.spyOn(WebAssembly, 'validate').mockImplementation((bytes) => (bytes as Uint8Array).length !== 43);
    const compile = vi.spyOn(WebAssembly, 'compile');
    expect(w.wasmSimdSupported()).toBe(false);
    expect(await w.preloadWasm()).toBe(false);
    expect(compile).not.toHaveBeenCalled();
    expect(w.wasmRelaxedSimdSupported()).toBe(false);
  });
});

describe('wasmRelaxedSimdSupported', () => {
  it('validates one module, once: a function (a, b, c: v128) → v128 of f32x4.relaxed_madd, on an own memory', async () => {
    const w = await fresh();
    const validate = vi.spyOn(WebAssembly, 'validate');
    const answer = w.wasmRelaxedSimdSupported();
    expect(w.wasmRelaxedSimdSupported()).toBe(answer);
    expect(validate).toHaveBeenCalledTimes(2); // the SIMD probe, then this one; the answer is kept
    const { v128 } = ValType;
    const f = new FunctionBuilder('madd', { a: v128, b: v128, c: v128 }, [v128]);
    f.get(f.p.a).get(f.p.b).get(f.p.c).simd(Simd.f32x4_relaxed_madd);
    expect(validate.mock.calls[1]![0]).toEqual(encodeModule([f.build()], { shared: false }));
    expect(answer).toBe(validate.mock.results[1]!.value);
  });
});
