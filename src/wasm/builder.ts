import { type FunctionDef, ValType, f32Bytes, f64Bytes, signedLeb128, unsignedLeb128 } from './encoder.js';
import { show } from '../checks.js';
import { BLOCK_VOID, Op, OpFC, Simd } from './ops.js';

/** A local variable (or parameter) of the function being built: its index. */
export type Local = number;

/**
 * Builds one function body as a stack-machine instruction stream. Methods append
 * instructions and return `this`, so that a line reads as the expression it computes, in
 * postfix: `f.get(x).get(y).simd(Simd.f32x4_add).set(z)` is z = x + y.
 * Structured control takes callbacks that emit the nested body.
 */
export class FunctionBuilder<P extends string = string> {
  readonly name: string;
  /** The parameters, by name, as locals. */
  readonly p: Readonly<Record<P, Local>>;
  readonly #params: ValType[];
  readonly #results: ValType[];
  readonly #locals: ValType[] = [];
  readonly #code: number[] = [];

  constructor(name: string, params: Readonly<Record<P, ValType>>, results: readonly ValType[] = []) {
    this.name = name;
    this.#params = Object.values(params);
    this.#results = [...results];
    const p = {} as Record<P, Local>;
    (Object.keys(params) as P[]).forEach((key, i) => (p[key] = i));
    this.p = p;
  }

  /** A new local of the given type, zero-initialised on entry. */
  local(type: ValType): Local {
    return this.#params.length + this.#locals.push(type) - 1;
  }

  /** Several new locals of one type, by name: `const { i, j } = f.locals(i32, ['i', 'j'])`. */
  locals<const N extends string>(type: ValType, names: readonly N[]): Record<N, Local> {
    const out = {} as Record<N, Local>;
    for (const n of names) out[n] = this.local(type);
    return out;
  }

  /** Appends raw bytes (an opcode and its immediates). */
  op(...bytes: number[]): this {
    for (const b of bytes) this.#code.push(b);
    return this;
  }

  // Locals and constants.
  get(l: Local): this { return this.op(Op.local_get, ...unsignedLeb128(l)); }
  set(l: Local): this { return this.op(Op.local_set, ...unsignedLeb128(l)); }
  tee(l: Local): this { return this.op(Op.local_tee, ...unsignedLeb128(l)); }
  /** Pushes the module's global `index` (see encodeModule's `globals`). */
  globalGet(index: number): this { return this.op(Op.global_get, ...unsignedLeb128(index)); }
  /** An i32 constant; a uint32 wraps to its int32 bits. Anything else is a generator bug: thrown. */
  i32(v: number): this {
    if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 32) {
      throw new RangeError(`Expected an i32 constant (an integer in [-2^31, 2^32)), got ${show(v)}.`);
    }
    return this.op(Op.i32_const, ...signedLeb128(v | 0));
  }
  i64(v: number | bigint): this { return this.op(Op.i64_const, ...signedLeb128(v)); }
  f32(v: number): this { return this.op(Op.f32_const, ...f32Bytes(v)); }
  f64(v: number): this { return this.op(Op.f64_const, ...f64Bytes(v)); }

  /** A SIMD instruction without immediates. */
  simd(code: number): this { return this.op(Op.prefix_simd, ...unsignedLeb128(code)); }
  /** A 0xFC-prefixed instruction (saturating truncations). */
  fc(code: number): this { return this.op(Op.prefix_fc, ...unsignedLeb128(code)); }

  /**
   * A memory access with its memarg: alignment hint (log2 bytes) and constant byte offset.
   * The hint is only a hint: wasm allows unaligned accesses, so we claim 4-byte alignment
   * (true of every Float32Array view) and never more.
   */
  mem(opcode: number, offset = 0, alignLog2 = 2): this {
    return this.op(opcode, ...unsignedLeb128(alignLog2), ...unsignedLeb128(offset));
  }
  simdMem(code: number, offset = 0, alignLog2 = 2): this {
    return this.simd(code).op(...unsignedLeb128(alignLog2), ...unsignedLeb128(offset));
  }
  f32Load(offset = 0): this { return this.mem(Op.f32_load, offset); }
  f32Store(offset = 0): this { return this.mem(Op.f32_store, offset); }
  i32Load(offset = 0): this { return this.mem(Op.i32_load, offset); }
  v128Load(offset = 0): this { return this.simdMem(Simd.v128_load, offset); }
  v128Store(offset = 0): this { return this.simdMem(Simd.v128_store, offset); }
  /** Loads one float32 into all four lanes. */
  loadSplat(offset = 0): this { return this.simdMem(Simd.v128_load32_splat, offset); }
  /** Loads one float32 into lane 0, zeroing the others. */
  load32Zero(offset = 0): this { return this.simdMem(Simd.v128_load32_zero, offset); }
  /** Stores lane `lane` of a vector as one float32. */
  store32Lane(lane: number, offset = 0): this { return this.simdMem(Simd.v128_store32_lane, offset).op(lane); }
  extractLane(lane: number): this { return this.simd(Simd.f32x4_extract_lane).op(lane); }
  replaceLane(lane: number): this { return this.simd(Simd.f32x4_replace_lane).op(lane); }
  /** Picks 4 float32 lanes from the two vectors on the stack: indices 0–3 first, 4–7 second. */
  shuffle32(lanes: readonly [number, number, number, number]): this {
    return this.simd(Simd.i8x16_shuffle).op(...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
  }
  /** A vector constant with the same float32 in every lane. */
  f32x4(v: number): this {
    const b = f32Bytes(v);
    return this.simd(Simd.v128_const).op(...b, ...b, ...b, ...b);
  }
  /** A vector constant with the same int32 in every lane. */
  i32x4(v: number): this {
    const b = [...new Uint8Array(new Int32Array([v]).buffer)];
    return this.simd(Simd.v128_const).op(...b, ...b, ...b, ...b);
  }

  // Structured control flow. Branch depths inside a callback count from that construct.
  block(body: () => void): this { this.op(Op.block, BLOCK_VOID); body(); return this.op(Op.end); }
  loop(body: () => void): this { this.op(Op.loop, BLOCK_VOID); body(); return this.op(Op.end); }
  /** Pops an i32 condition; runs `then` if non-zero, otherwise `otherwise`. */
  if(then: () => void, otherwise?: () => void): this {
    this.op(Op.if, BLOCK_VOID);
    then();
    if (otherwise) {
      this.op(Op.else);
      otherwise();
    }
    return this.op(Op.end);
  }
  br(depth: number): this { return this.op(Op.br, ...unsignedLeb128(depth)); }
  brIf(depth: number): this { return this.op(Op.br_if, ...unsignedLeb128(depth)); }
  call(functionIndex: number): this { return this.op(Op.call, ...unsignedLeb128(functionIndex)); }

  /** while (cond) body — `cond` pushes an i32. */
  while(cond: () => void, body: () => void): this {
    return this.block(() => this.loop(() => {
      cond();
      this.op(Op.i32_eqz).brIf(1);
      body();
      this.br(0);
    }));
  }

  /** for (i = from; i < to; i += step) body, on i32 locals; `from` and `to` are locals or constants. */
  for(i: Local, from: Local | { const: number }, to: Local, step: number, body: () => void): this {
    if (typeof from === 'number') this.get(from); else this.i32(from.const);
    this.set(i);
    return this.while(() => this.get(i).get(to).op(Op.i32_lt_s), () => {
      body();
      this.get(i).i32(step).op(Op.i32_add).set(i);
    });
  }

  /** l += c, on an i32 local and a constant. */
  inc(l: Local, c: number): this { return this.get(l).i32(c).op(Op.i32_add).set(l); }
  /** l += m, on two i32 locals. */
  incBy(l: Local, m: Local): this { return this.get(l).get(m).op(Op.i32_add).set(l); }

  /** The finished function. */
  build(exported = true): FunctionDef {
    return {
      name: this.name,
      params: this.#params,
      results: this.#results,
      locals: this.#locals,
      code: [...this.#code, Op.end],
      exported,
    };
  }
}

export { ValType };
