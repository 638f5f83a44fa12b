import type { FloatArray } from '../tensor/float-array.js';

/**
 * Everything one forward/backward pass of a (B, T) batch writes, allocated once per shape and
 * reused, so the training loop allocates nothing. Blocks are addressed by offsets (n = B·H is
 * one step's B×H block). Rows are time-major throughout — row t·B + b is step t of batch row
 * b — so that the work that does not depend on the recurrence (input gathers, the output
 * layer, the weight gradients) is one product over all T·B rows.
 *
 *   xT, yT   (T, B)        token ids, time-major
 *   gates    (4, T, B, H)  gate g ∈ (i, f, o, c) of step t at g·T·n + t·n: the pre-activations
 *                          Z, then (after the cell) the activations I, F, O, Ĉ
 *   hs       (T+1, B, H)   hs[0] = H_{−1} (the state passed in), hs[t+1] = H_t
 *   cs       (T+1, B, H)   cs[0] = C_{−1},                     cs[t+1] = C_t
 *   tanhC    (T, B, H)     tanh(C_t), kept for backward
 *   logits   (T·B, V)      Y_t stacked time-major; backward overwrites it with dY
 *   dHs      (T, B, H)     the gradient reaching H_t: from the output layer, plus (added during
 *                          backward of step t+1) the recurrent path
 *   dGates   (4, T, B, H)  dZ, laid out as gates
 *   dh0, dc0 (B, H)        gradient reaching the state passed in; dc0 also carries dC during BPTT
 */
export interface Workspace {
  readonly B: number;
  readonly T: number;
  readonly xT: Int32Array;
  readonly yT: Int32Array;
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

/** The float blocks of a workspace and their lengths, in allocation order. */
export function workspaceLayout(B: number, T: number, H: number, V: number) {
  const n = B * H;
  return {
    gates: T * 4 * n,
    hs: (T + 1) * n,
    cs: (T + 1) * n,
    tanhC: T * n,
    logits: T * B * V,
    dHs: T * n,
    dGates: T * 4 * n,
    dh0: n,
    dc0: n,
  };
}

/** Allocates a workspace for batches of B rows of T steps, with blocks carved by `alloc`. */
export function createWorkspace(
  B: number, T: number, H: number, V: number,
  alloc: (length: number) => FloatArray,
  allocIds: (length: number) => Int32Array,
): Workspace {
  const floats = workspaceLayout(B, T, H, V);
  const blocks = Object.fromEntries(Object.entries(floats).map(([name, length]) => [name, alloc(length)]));
  return { B, T, xT: allocIds(B * T), yT: allocIds(B * T), ...(blocks as Record<keyof typeof floats, FloatArray>) };
}
