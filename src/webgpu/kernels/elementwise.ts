import { elementwiseMain, grid, u32s, wgslKernel, type WgslKernel } from '../wgsl.js';

// The kernels of the table that are one independent item per output element (twins of
// src/tensor/elementwise.ts, bias.ts (forward), onehot.ts (gather) and lstm-cell.ts), 256
// items per workgroup. Ids are mem's u32s (see wgsl.ts).

/** mul(out, a, b, n): out[k] = a[k]·b[k]. */
export function mulWgsl(): WgslKernel {
  return wgslKernel(u32s('out', 'a', 'b', 'n'), elementwiseMain('a.n', '  st(a.out + i, ld(a.a + i) * ld(a.b + i));'),
    (x) => grid(x.n!, 256));
}

/** addBias(out, bias, M, N): out[i, j] += bias[j]. */
export function addBiasWgsl(): WgslKernel {
  return wgslKernel(u32s('out', 'bias', 'M', 'N'), elementwiseMain('a.M * a.N', '  st(a.out + i, ld(a.out + i) + ld(a.bias + i % a.N));'),
    (x) => grid(x.M! * x.N!, 256));
}

/** gatherRows(out, w, ids, stride, M, N, acc): out[i, :] (+)= w[ids[i·stride], :]. */
export function gatherRowsWgsl(): WgslKernel {
  return wgslKernel(u32s('out', 'w', 'ids', 'stride', 'M', 'N', 'acc'), elementwiseMain('a.M * a.N', `
  let r = i / a.N;
  let j = i % a.N;
  let v = ld(a.w + mem[a.ids + r * a.stride] * a.N + j);
  if (a.acc != 0u) { st(a.out + i, ld(a.out + i) + v); } else { st(a.out + i, v); }`), (x) => grid(x.M! * x.N!, 256));
}

/**
 * The LSTM cell's forward for element i, gate k's block at a.gates + k·a.gs, the four
 * pre-activations given as WGSL expressions (read from the gates, or — in the fused step of
 * src/webgpu/recurrence.ts — from registers):
 *   I = σ(Z_i)  F = σ(Z_f)  O = σ(Z_o)  Ĉ = tanh(Z_c)   (stored in place of Z)
 *   C = F ⊙ C_prev + I ⊙ Ĉ     tC = tanh(C)     H = O ⊙ tC
 * Reads a.cPrev; writes a.c, a.tanhC, a.h.
 */
export function cellForward(z: readonly [string, string, string, string]): string {
  return `
  let g = a.gates + i;
  let ig = sigmoid(${z[0]});
  let fg = sigmoid(${z[1]});
  let og = sigmoid(${z[2]});
  let ch = tanh_(${z[3]});
  st(g, ig);
  st(g + a.gs, fg);
  st(g + 2u * a.gs, og);
  st(g + 3u * a.gs, ch);
  let cn = fg * ld(a.cPrev + i) + ig * ch;
  let tc = tanh_(cn);
  st(a.c + i, cn);
  st(a.tanhC + i, tc);
  st(a.h + i, og * tc);`;
}

/**
 * The LSTM cell's backward for element i (the equations of src/tensor/lstm-cell.ts): reads the
 * activations at a.gates + k·a.gs, a.tanhC, a.cPrev, a.dH and dC at a.dC; writes dZ at
 * a.dGates + k·a.gs (overwriting) and replaces dC with the gradient reaching C_{t−1}.
 */
export const CELL_BACKWARD = `
  let g = a.gates + i;
  let ig = ld(g);
  let fg = ld(g + a.gs);
  let og = ld(g + 2u * a.gs);
  let ch = ld(g + 3u * a.gs);
  let tc = ld(a.tanhC + i);
  let dh = ld(a.dH + i);
  let dO = dh * tc;
  let dCt = ld(a.dC + i) + dh * og * (1.0 - tc * tc);
  let dF = dCt * ld(a.cPrev + i);
  let dI = dCt * ch;
  let dCh = dCt * ig;
  st(a.dC + i, dCt * fg);
  let d = a.dGates + i;
  st(d, dI * ig * (1.0 - ig));
  st(d + a.gs, dF * fg * (1.0 - fg));
  st(d + 2u * a.gs, dO * og * (1.0 - og));
  st(d + 3u * a.gs, dCh * (1.0 - ch * ch));`;

/** lstmCellForward(gates, cPrev, c, tanhC, h, gs, n): the cell forward (`cellForward`) over n elements. */
export function lstmCellForwardWgsl(): WgslKernel {
  return wgslKernel(u32s('gates', 'cPrev', 'c', 'tanhC', 'h', 'gs', 'n'),
    elementwiseMain('a.n', cellForward(['ld(a.gates + i)', 'ld(a.gates + i + a.gs)', 'ld(a.gates + i + 2u * a.gs)', 'ld(a.gates + i + 3u * a.gs)'])),
    (x) => grid(x.n!, 256));
}

/** lstmCellBackward(dGates, gates, cPrev, tanhC, dH, dC, gs, n): the cell backward (`CELL_BACKWARD`) over n elements. */
export function lstmCellBackwardWgsl(): WgslKernel {
  return wgslKernel(u32s('dGates', 'gates', 'cPrev', 'tanhC', 'dH', 'dC', 'gs', 'n'), elementwiseMain('a.n', CELL_BACKWARD),
    (x) => grid(x.n!, 256));
}
