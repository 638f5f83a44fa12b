import type { FloatArray } from '../tensor/float-array.js';

/**
 * Everything one forward/backward pass of a (B, T) batch writes, allocated once per shape and
 * reused, so the training loop allocates nothing. Blocks are addressed by offsets into a few
 * flat arrays (n = B·H is one step's B×H block):
 *
 *   x, y     (B, T)        token ids, row-major as given (step t of row b at b·T + t)
 *   gates    (T, 4, B, H)  per step: the gates i, f, o, c — pre-activations Z, then I, F, O, Ĉ
 *   hs       (T+1, B, H)   hs[0] = H_{−1} (the state passed in), hs[t+1] = H_t
 *   cs       (T+1, B, H)   cs[0] = C_{−1},                     cs[t+1] = C_t
 *   tanhC    (T, B, H)     tanh(C_t), kept for backward
 *   logits   (T·B, V)      Y_t stacked time-major (row t·B + b); backward overwrites it with dlogits
 *   dHs      (T, B, H)     the gradient reaching H_t: from the output layer, plus (added during
 *                          backward of step t+1) the recurrent path
 *   dGates   (4, B, H)     one step's dZ_i, dZ_f, dZ_o, dZ_c
 *   dh0, dc0 (B, H)        gradient reaching the state passed in; dc0 also carries dC during BPTT
 */
export interface Workspace {
  readonly B: number;
  readonly T: number;
  readonly x: Int32Array;
  readonly y: Int32Array;
  readonly gates: FloatArray;
  readonly hs: FloatArray;
  readonly cs: FloatArray;
  readonly tanhC: FloatArray;
  readonly logits: FloatArray;
  readonly dHs: FloatArray;
  readonly dGates: FloatArray;
  readonly dh0: FloatArray;
  readonly dc0: FloatArray;
}

/** Allocates a workspace for batches of B rows of T steps, with arrays made by `alloc`. */
export function createWorkspace(
  B: number, T: number, H: number, V: number,
  alloc: (length: number) => FloatArray,
  allocIds: (length: number) => Int32Array,
): Workspace {
  const n = B * H;
  return {
    B,
    T,
    x: allocIds(B * T),
    y: allocIds(B * T),
    gates: alloc(T * 4 * n),
    hs: alloc((T + 1) * n),
    cs: alloc((T + 1) * n),
    tanhC: alloc(T * n),
    logits: alloc(T * B * V),
    dHs: alloc(T * n),
    dGates: alloc(4 * n),
    dh0: alloc(n),
    dc0: alloc(n),
  };
}
