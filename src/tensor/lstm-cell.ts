import type { FloatArray } from './float-array.js';
import { sigmoid } from './activations.js';

// The LSTM cell's elementwise part for one time step, forward and backward side by side.
// A step's gates are four n = B·H blocks in the seed's parameter order (i, f, o, c), block k
// at go + k·gs: gs = n when a step's gates are contiguous, T·n when each gate's blocks are
// contiguous over time (as the model keeps them, so that the weight gradients of all steps
// are one product). Forward receives the pre-activations Z there and leaves the activations
// I, F, O, Ĉ in their place for backward to read. Equations with these names: docs/design.md.

/**
 * Forward of one step, in place on the gate block:
 *   I = σ(Z_i)  F = σ(Z_f)  O = σ(Z_o)  Ĉ = tanh(Z_c)
 *   C = F ⊙ C_prev + I ⊙ Ĉ     tC = tanh(C)     H = O ⊙ tC
 */
export function lstmCellForward(
  gates: FloatArray, go: number,
  cPrev: FloatArray, cpo: number,
  c: FloatArray, co: number,
  tanhC: FloatArray, tco: number,
  h: FloatArray, ho: number,
  gs: number, n: number,
): void {
  for (let k = 0; k < n; k++) {
    const i = sigmoid(gates[go + k]!);
    const f = sigmoid(gates[go + gs + k]!);
    const o = sigmoid(gates[go + 2 * gs + k]!);
    const cHat = Math.tanh(gates[go + 3 * gs + k]!);
    gates[go + k] = i;
    gates[go + gs + k] = f;
    gates[go + 2 * gs + k] = o;
    gates[go + 3 * gs + k] = cHat;
    const cNew = f * cPrev[cpo + k]! + i * cHat;
    const tc = Math.tanh(cNew);
    c[co + k] = cNew;
    tanhC[tco + k] = tc;
    h[ho + k] = o * tc;
  }
}

/**
 * Backward of one step. Reads the activations left by forward, dH (the whole gradient
 * reaching H_t: from the output layer and from step t+1) and dC (the gradient reaching C_t
 * from step t+1); writes the pre-activation gradients dZ into dGates (overwriting) and
 * replaces dC with the gradient reaching C_{t−1}. dGates has the gate layout of gates (stride gs):
 *   dO = dH ⊙ tC                  dC_t = dC + dH ⊙ O ⊙ (1 − tC²)
 *   dF = dC_t ⊙ C_prev   dI = dC_t ⊙ Ĉ   dĈ = dC_t ⊙ I   dC_prev = dC_t ⊙ F
 *   dZ_i = dI ⊙ I(1−I)  dZ_f = dF ⊙ F(1−F)  dZ_o = dO ⊙ O(1−O)  dZ_c = dĈ ⊙ (1−Ĉ²)
 */
export function lstmCellBackward(
  dGates: FloatArray, dgo: number,
  gates: FloatArray, go: number,
  cPrev: FloatArray, cpo: number,
  tanhC: FloatArray, tco: number,
  dH: FloatArray, dho: number,
  dC: FloatArray, dco: number,
  gs: number, n: number,
): void {
  for (let k = 0; k < n; k++) {
    const i = gates[go + k]!;
    const f = gates[go + gs + k]!;
    const o = gates[go + 2 * gs + k]!;
    const cHat = gates[go + 3 * gs + k]!;
    const tc = tanhC[tco + k]!;
    const dh = dH[dho + k]!;
    const dO = dh * tc;
    const dCt = dC[dco + k]! + dh * o * (1 - tc * tc);
    const dF = dCt * cPrev[cpo + k]!;
    const dI = dCt * cHat;
    const dCHat = dCt * i;
    dC[dco + k] = dCt * f;
    dGates[dgo + k] = dI * i * (1 - i);
    dGates[dgo + gs + k] = dF * f * (1 - f);
    dGates[dgo + 2 * gs + k] = dO * o * (1 - o);
    dGates[dgo + 3 * gs + k] = dCHat * (1 - cHat * cHat);
  }
}
