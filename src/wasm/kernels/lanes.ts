import { type FunctionBuilder, ValType, type Local } from '../builder.js';
import { Op } from '../ops.js';

/**
 * How a loop body touches memory: four floats at a time, or (for the last n mod 4
 * elements) one float in lane 0 with the other lanes zero. Writing the body once against
 * this interface gives the vector loop and its scalar tail the same arithmetic.
 */
export interface Width {
  /** Pops an address, pushes a v128. */
  load(): void;
  /** Pops an address and a v128, stores the vector (or its lane 0). */
  store(): void;
  bytes: number;
}

const VECTOR = (f: FunctionBuilder): Width => ({ load: () => f.v128Load(), store: () => f.v128Store(), bytes: 16 });
const SINGLE = (f: FunctionBuilder): Width => ({ load: () => f.load32Zero(), store: () => f.store32Lane(0), bytes: 4 });

/**
 * for (kb = 0; kb < 4n; kb += bytes) body(width), vectors first, then the remainder one
 * float at a time. `kb` is a byte offset, to add to each operand's base pointer.
 */
export function lanes(f: FunctionBuilder, n: Local, kb: Local, body: (w: Width) => void): void {
  const nb = f.local(ValType.i32);
  const vb = f.local(ValType.i32);
  f.get(n).i32(2).op(Op.i32_shl).set(nb);
  f.get(n).i32(~3).op(Op.i32_and).i32(2).op(Op.i32_shl).set(vb);
  f.for(kb, { const: 0 }, vb, 16, () => body(VECTOR(f)));
  f.for(kb, vb, nb, 4, () => body(SINGLE(f)));
}

/** Pushes base + kb. */
export function at(f: FunctionBuilder, base: Local, kb: Local): FunctionBuilder {
  return f.get(base).get(kb).op(Op.i32_add);
}
