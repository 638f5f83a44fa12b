// The module encoder and the function builder exactly (issue 13: Stryker survivors in
// src/wasm/encoder.ts and builder.ts that the cheap kernel tests leave): identical signatures
// share one type entry, a function that is not exported is left out of the exports (and can
// still be called), locals in runs, and the builder's call, for-loops from a local, inc and
// shuffle32, each run in a module against its plain-JS meaning.
import { describe, expect, it } from 'vitest';
import { FunctionBuilder } from '../../src/wasm/builder.js';
import { encodeModule, type FunctionDef, unsignedLeb128, ValType } from '../../src/wasm/encoder.js';
import { Op } from '../../src/wasm/ops.js';
import { simd } from './helpers.js';

const { i32, f32 } = ValType;

function instantiate(functions: FunctionDef[], memory = new WebAssembly.Memory({ initial: 1 })): Record<string, (...args: number[]) => number> {
  const bytes = encodeModule(functions, { shared: false });
  expect(WebAssembly.validate(bytes)).toBe(true);
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as never;
}

/** The payload of section `id` (sections in order after the 8-byte header). */
function sectionPayload(bytes: Uint8Array, id: number): number[] {
  let at = 8;
  while (at < bytes.length) {
    const sid = bytes[at]!;
    let size = 0, shift = 0, b: number;
    at++;
    do {
      b = bytes[at++]!;
      size |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    if (sid === id) return [...bytes.subarray(at, at + size)];
    at += size;
  }
  throw new Error(`no section ${id}`);
}

describe('encodeModule', () => {
  it('identical signatures share one type entry; functions keep their own type index', () => {
    const a = new FunctionBuilder('a', { x: i32 }, [i32]);
    a.get(a.p.x);
    const b = new FunctionBuilder('b', { x: i32 }, [i32]);
    b.get(b.p.x).i32(1).op(Op.i32_add);
    const c = new FunctionBuilder('c', {}, []);
    const d = new FunctionBuilder('d', { y: i32 }, [i32]);
    d.get(d.p.y).i32(2).op(Op.i32_add);
    const bytes = encodeModule([a.build(), b.build(), c.build(), d.build()], { shared: false });
    // type section: 2 entries, (i32) → (i32) and () → ()
    expect(sectionPayload(bytes, 1)).toEqual([2, 0x60, 1, i32, 1, i32, 0x60, 0, 0]);
    // function section: the type index of each function
    expect(sectionPayload(bytes, 3)).toEqual([4, 0, 0, 1, 0]);
    const { a: fa, b: fb, d: fd } = instantiate([a.build(), b.build(), c.build(), d.build()]);
    expect([fa!(5), fb!(5), fd!(5)]).toEqual([5, 6, 7]);
  });

  it('a function that is not exported is not in the exports, and others can call it (call)', () => {
    const inc = new FunctionBuilder('inc', { x: i32 }, [i32]);
    inc.get(inc.p.x).i32(1).op(Op.i32_add);
    const twice = new FunctionBuilder('twice', { x: i32 }, [i32]);
    twice.get(twice.p.x).call(0).call(0);
    const bytes = encodeModule([inc.build(false), twice.build()], { shared: false });
    // export section: one entry, "twice", a function, index 1
    expect(sectionPayload(bytes, 7)).toEqual([1, 5, ...new TextEncoder().encode('twice'), 0x00, 1]);
    const exports = instantiate([inc.build(false), twice.build()]);
    expect(Object.keys(exports)).toEqual(['twice']);
    expect(exports.twice!(5)).toBe(7);
  });

  it('locals in runs of one type: (count, type) pairs', () => {
    const f = new FunctionBuilder('f', { p: i32 }, [i32]);
    f.local(i32);
    f.local(i32);
    f.local(f32);
    f.local(i32);
    f.get(f.p.p);
    const bytes = encodeModule([f.build()], { shared: false });
    const code = sectionPayload(bytes, 10);
    // 1 body, its size, 3 runs: 2 × i32, 1 × f32, 1 × i32; then local.get 0, end
    expect(code).toEqual([1, 10, 3, 2, i32, 1, f32, 1, i32, Op.local_get, 0, Op.end]);
  });
});

describe('FunctionBuilder', () => {
  it('for (i = a; i < b; i += step) starting from a local, and inc', () => {
    const f = new FunctionBuilder('sum', { a: i32, b: i32 }, [i32]);
    const { i, s } = f.locals(i32, ['i', 's']);
    f.for(i, f.p.a, f.p.b, 2, () => f.get(s).get(i).op(Op.i32_add).set(s));
    f.inc(s, 1000).get(s);
    const g = new FunctionBuilder('count', { n: i32 }, [i32]);
    const { j, m } = g.locals(i32, ['j', 'm']);
    g.for(j, { const: 3 }, g.p.n, 1, () => g.inc(m, 1)).get(m);
    const { sum, count } = instantiate([f.build(), g.build()]);
    expect(sum!(3, 10)).toBe(3 + 5 + 7 + 9 + 1000);
    expect(sum!(4, 4)).toBe(1000);
    expect(count!(10)).toBe(7);
    expect(count!(2)).toBe(0);
  });

  it.skipIf(!simd)('shuffle32 picks lanes 0–3 of the first vector and 4–7 of the second', () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const f = new FunctionBuilder('shuffle', {}, []);
    f.i32(32).i32(0).v128Load().i32(0).v128Load(16).shuffle32([1, 4, 3, 6]).v128Store();
    const g = new FunctionBuilder('shuffle2', {}, []);
    g.i32(48).i32(0).v128Load().i32(0).v128Load(16).shuffle32([7, 0, 5, 2]).v128Store();
    const { shuffle, shuffle2 } = instantiate([f.build(), g.build()], memory);
    const view = new Float32Array(memory.buffer);
    view.set([10, 11, 12, 13, 20, 21, 22, 23]);
    shuffle!();
    shuffle2!();
    expect(Array.from(view.subarray(8, 16))).toEqual([11, 20, 13, 22, 23, 10, 21, 12]);
  });
});

describe('FunctionBuilder.i32', () => {
  it('takes an integer in [-2^31, 2^32) (a uint32 as its int32 bits) and refuses anything else', () => {
    const f = new FunctionBuilder('k', {}, [i32]);
    f.i32(0xffffffff);
    expect(() => new FunctionBuilder('k', {}, []).i32(-(2 ** 31)).i32(2 ** 32 - 1)).not.toThrow();
    const g = new FunctionBuilder('k', {}, [i32]);
    g.i32(-1);
    expect(f.build().code).toEqual(g.build().code);
    const k = new FunctionBuilder('k', {}, [i32]);
    expect(instantiate([f.i32(0xffffffff).op(Op.i32_add).build()]).k!()).toBe(-2);
    for (const bad of [undefined, 1.5, Number.NaN, 2 ** 32, -(2 ** 31) - 1, '1']) {
      expect(() => k.i32(bad as never)).toThrow(new RangeError(`Expected an i32 constant (an integer in [-2^31, 2^32)), got ${bad === '1' ? '"1"' : String(bad)}.`));
    }
  });

  it('a loop whose start has no constant is refused, not started at 0', () => {
    const f = new FunctionBuilder('k', { n: i32 }, []);
    const i = f.local(i32);
    expect(() => f.for(i, {} as never, f.p.n, 1, () => {})).toThrow(RangeError);
  });
});

describe('unsignedLeb128', () => {
  it('encodes a uint32 and refuses anything else (an offset of Infinity or 2.5 is not wrapped)', () => {
    expect(unsignedLeb128(0)).toEqual([0]);
    expect(unsignedLeb128(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(unsignedLeb128(2 ** 32 - 1)).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
    for (const bad of [Number.POSITIVE_INFINITY, 2.5, -1, 2 ** 32, Number.NaN]) {
      expect(() => unsignedLeb128(bad)).toThrow(new RangeError(`Expected a uint32 for LEB128, got ${String(bad)}.`));
      expect(() => new FunctionBuilder('k', {}, []).i32(0).v128Load(bad)).toThrow(RangeError);
    }
  });
});
