import { describe, expect, it } from 'vitest';
import { ValType, encodeModule, signedLeb128, unsignedLeb128 } from '../../src/wasm/encoder.js';
import { FunctionBuilder } from '../../src/wasm/builder.js';
import { Op } from '../../src/wasm/ops.js';
import { kernelModuleBytes } from '../../src/backend/wasm.js';
import { simd } from './helpers.js';

describe('LEB128', () => {
  it('encodes unsigned values as in the spec examples', () => {
    expect(unsignedLeb128(0)).toEqual([0x00]);
    expect(unsignedLeb128(127)).toEqual([0x7f]);
    expect(unsignedLeb128(128)).toEqual([0x80, 0x01]);
    expect(unsignedLeb128(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(unsignedLeb128(0xffffffff)).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
  });

  it('encodes signed values, sign-extending from bit 6 of the last byte', () => {
    expect(signedLeb128(0)).toEqual([0x00]);
    expect(signedLeb128(63)).toEqual([0x3f]);
    expect(signedLeb128(64)).toEqual([0xc0, 0x00]);
    expect(signedLeb128(-1)).toEqual([0x7f]);
    expect(signedLeb128(-64)).toEqual([0x40]);
    expect(signedLeb128(-65)).toEqual([0xbf, 0x7f]);
    expect(signedLeb128(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(signedLeb128(-2147483648)).toEqual([0x80, 0x80, 0x80, 0x80, 0x78]);
    expect(signedLeb128(0x3ff0000000000000n)).toEqual([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0xf8, 0x3f]);
  });
});

describe('encodeModule', () => {
  it('builds a module that validates and runs: add(a, b) = a + b', () => {
    const f = new FunctionBuilder('add', { a: ValType.i32, b: ValType.i32 }, [ValType.i32]);
    f.get(f.p.a).get(f.p.b).op(Op.i32_add);
    const bytes = encodeModule([f.build()], { shared: false });
    expect(WebAssembly.validate(bytes)).toBe(true);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const { add } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as {
      add: (a: number, b: number) => number;
    };
    expect(add(2, 40)).toBe(42);
  });

  it('globals: mutable i32s starting at 0, exported by name, one value per instance; none declared without them', () => {
    const f = new FunctionBuilder('read', {}, [ValType.i32]);
    f.globalGet(1);
    const module = new WebAssembly.Module(encodeModule([f.build()], { shared: false }, ['first', 'second']));
    expect(WebAssembly.Module.exports(module)).toEqual([
      { name: 'read', kind: 'function' }, { name: 'first', kind: 'global' }, { name: 'second', kind: 'global' },
    ]);
    const memory = new WebAssembly.Memory({ initial: 1 });
    type Exports = { read: () => number; first: WebAssembly.Global; second: WebAssembly.Global };
    const a = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Exports;
    const b = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Exports;
    expect([a.first.value, a.second.value, a.read()]).toEqual([0, 0, 0]);
    a.second.value = 300; // mutable: set from the host, per instance
    b.second.value = -7;
    expect([a.read(), b.read(), a.first.value]).toEqual([300, -7, 0]);
    // Without globals the module is as before: no global section.
    const plain = new FunctionBuilder('one', {}, [ValType.i32]);
    plain.i32(1);
    const noGlobals = encodeModule([plain.build()], { shared: false });
    expect(noGlobals).toEqual(encodeModule([plain.build()], { shared: false }, []));
    // One global adds its section (id, size, count, 5 bytes of entry) and its export (name 'g', kind, index): 12 bytes.
    expect(encodeModule([plain.build()], { shared: false }, ['g']).length - noGlobals.length).toBe(12);
    expect(WebAssembly.Module.exports(new WebAssembly.Module(noGlobals))).toEqual([{ name: 'one', kind: 'function' }]);
  });
});

describe.skipIf(!simd)('the kernel module', () => {
  it('validates, unshared and shared', () => {
    expect(WebAssembly.validate(kernelModuleBytes(false))).toBe(true);
    expect(WebAssembly.validate(kernelModuleBytes(true))).toBe(true);
  });

  it('instantiates on a shared memory (for threads)', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true });
    const module = new WebAssembly.Module(kernelModuleBytes(true));
    expect(() => new WebAssembly.Instance(module, { env: { memory } })).not.toThrow();
  });
});
