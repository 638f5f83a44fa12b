import type { LayerContext } from '../lstm/pass.js';
import { elementwiseMain, grid, u32s, wgslKernel, type WgslKernel } from './wgsl.js';
import { CELL_BACKWARD, cellForward } from './kernels/elementwise.js';
import { GpuEngine } from './gpu.js';

// A layer's recurrence on the GPU, fused: one dispatch per time step forward and one per step
// backward, where the kernel-by-kernel phases of src/lstm/layer.ts make five (four gate
// products and the cell). Per-step dispatches are what a recurrence on a GPU costs; the rest
// of a step is small. An invocation owns hidden unit j of batch row b:
//
//   forward, step t:   Z_g[t][b, j] += Σ_k H_{t−1}[b, k] W_hg[k, j]  (g = i, f, o, c), then the
//                      cell for (b, j) — its four gates are its own, so no barrier is needed.
//   backward, step t:  dH_t[b, j] += Σ_g Σ_k dZ_g[t+1][b, k] W_hg[j, k]  (dh0 at t = −1; needs
//                      all of dZ[t+1], complete after the previous dispatch), then the cell
//                      backward of step t for (b, j), which needs only dH_t[b, j] just made.
//
// Each sum is Σ_k in k order from 0 with fused multiply-adds, added to its target gate by gate
// in order: the same bits as the GPU's unfused products (and so as the golden tests check).
// W_hg of gate g is at W_hi + g·gateStride in the parameter layout (i, f, o, c, each W_x, W_h, b).

/** stepForward(gates, hPrev, w, wStride, cPrev, c, tanhC, h, gs, B, H): one step, B·H invocations. */
function stepForwardWgsl(): WgslKernel {
  return wgslKernel(u32s('gates', 'hPrev', 'w', 'wStride', 'cPrev', 'c', 'tanhC', 'h', 'gs', 'B', 'H'), elementwiseMain('a.B * a.H', `
  let b = i / a.H;
  let j = i % a.H;
  var z: array<f32, 4>;
  for (var q = 0u; q < 4u; q++) {
    let w = a.w + q * a.wStride + j;
    var s = 0.0;
    for (var k = 0u; k < a.H; k++) { s = fma(ld(a.hPrev + b * a.H + k), ld(w + k * a.H), s); }
    z[q] = ld(a.gates + i + q * a.gs) + s;
  }
${cellForward(['z[0]', 'z[1]', 'z[2]', 'z[3]'])}`), (x) => grid(x.B! * x.H!, 256));
}

/**
 * stepBackward(dGates, dh, w, wStride, gates, cPrev, tanhC, dH, dC, gs, B, H, product, cell):
 * with `product`, dh[b, j] += Σ_g dZ_g[t+1][b, :] · W_hg[j, :] (dGates at step t+1's block);
 * with `cell`, the cell backward of step t (its blocks at gates, cPrev, tanhC, dH; dC per row).
 */
function stepBackwardWgsl(): WgslKernel {
  return wgslKernel(
    u32s('dNext', 'dh', 'w', 'wStride', 'dGates', 'gates', 'cPrev', 'tanhC', 'dH', 'dC', 'gs', 'B', 'H', 'product', 'cell'),
    elementwiseMain('a.B * a.H', `
  let b = i / a.H;
  let j = i % a.H;
  if (a.product != 0u) {
    var acc = ld(a.dh + i);
    for (var q = 0u; q < 4u; q++) {
      let w = a.w + q * a.wStride + j * a.H;
      let d = a.dNext + q * a.gs + b * a.H;
      var s = 0.0;
      for (var k = 0u; k < a.H; k++) { s = fma(ld(d + k), ld(w + k), s); }
      acc = acc + s;
    }
    st(a.dh + i, acc);
  }
  if (a.cell == 0u) { return; }
${CELL_BACKWARD}`),
    (x) => grid(x.B! * x.H!, 256),
  );
}

const FORWARD = stepForwardWgsl(), BACKWARD = stepBackwardWgsl();
const args: number[] = new Array<number>(15).fill(0);

/** The distance between consecutive gates' W_h in the layout (the same for every gate). */
function gateStride(c: LayerContext): number {
  const gates = c.pass.layout.layers[c.l]!.gates;
  return gates[1]!.W_h - gates[0]!.W_h;
}

/** Layer c.l's recurrence forward over its T steps: T dispatches. */
export function gpuRecurrenceForward(gpu: GpuEngine, c: LayerContext): void {
  const { ws, W } = c.pass;
  const { B, T } = ws;
  const H = c.pass.config.numHiddens, n = B * H, Tn = T * n;
  const { gates, hs, cs, tanhC } = ws.layers[c.l]!;
  const w = GpuEngine.at(W) + c.pass.layout.layers[c.l]!.gates[0]!.W_h, stride = gateStride(c);
  const at = GpuEngine.at;
  for (let t = 0; t < T; t++) {
    const row = t * n;
    args[0] = at(gates) + row; args[1] = at(hs) + row; args[2] = w; args[3] = stride; args[4] = at(cs) + row;
    args[5] = at(cs) + row + n; args[6] = at(tanhC) + row; args[7] = at(hs) + row + n; args[8] = Tn; args[9] = B; args[10] = H;
    gpu.dispatch(FORWARD, args);
  }
}

/** Layer c.l's BPTT: T + 1 dispatches (t = T−1 … −1), dh0 and dc0 zeroed before. */
export function gpuRecurrenceBackward(gpu: GpuEngine, c: LayerContext): void {
  const { ws, W } = c.pass;
  const { B, T } = ws;
  const H = c.pass.config.numHiddens, n = B * H, Tn = T * n;
  const { gates, cs, tanhC, dHs, dGates, dh0, dc0 } = ws.layers[c.l]!;
  const w = GpuEngine.at(W) + c.pass.layout.layers[c.l]!.gates[0]!.W_h, stride = gateStride(c);
  const at = GpuEngine.at;
  for (let t = T - 1; t >= -1; t--) {
    args[0] = at(dGates) + (t + 1) * n; // dZ[t+1] (unused at t = T−1)
    args[1] = t >= 0 ? at(dHs) + t * n : at(dh0);
    args[2] = w; args[3] = stride;
    args[4] = at(dGates) + Math.max(t, 0) * n; args[5] = at(gates) + Math.max(t, 0) * n;
    args[6] = at(cs) + Math.max(t, 0) * n; args[7] = at(tanhC) + Math.max(t, 0) * n; args[8] = at(dHs) + Math.max(t, 0) * n;
    args[9] = at(dc0); args[10] = Tn; args[11] = B; args[12] = H;
    args[13] = t + 1 < T ? 1 : 0; args[14] = t >= 0 ? 1 : 0;
    gpu.dispatch(BACKWARD, args);
  }
}
