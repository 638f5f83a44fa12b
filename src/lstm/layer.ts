import type { Kernels } from '../backend/table.js';
import type { FloatArray } from '../tensor/float-array.js';
import { outputWeightGradients } from './output.js';
import type { LayerContext, Pass } from './pass.js';
import { partStart, type Runner } from './runner.js';
import { gpuRecurrenceBackward, gpuRecurrenceForward } from '../webgpu/recurrence.js';

// One LSTM layer over T steps: forward and backward side by side, as phases (see runner.ts).
// Dimensions: B batch rows, T steps, H hidden units, n = B·H, N = T·B time-major rows,
// Tn = T·n (the distance between gate blocks), I the layer's input size (V, E or H).
//
//   Z_g = X W_xg + b_g                 over all N rows at once      (layerInputForward)
//   for t: Z_g[t] += H_{t−1} W_hg; I, F, O, Ĉ, C_t, tanh C_t, H_t   (layerRecurrenceForward)
//   for t = T−1 … 0: dZ_g[t]; dH_{t−1} += Σ_g dZ_g W_hgᵀ           (layerRecurrenceBackward)
//
// The recurrence has two splits (recurrenceForward/Backward follow pass.byUnits):
// by batch rows, all T steps in one phase (row b involves only row b), or by hidden units,
// one phase per step (layerStepForward/Backward: step t needs all of H_{t−1}). Both make
// every output element from the same terms in the same order: the results are bit-identical.
//   dX = Σ_g dZ_g W_xgᵀ; dW_xg, dW_hg, db_g over all N rows         (layerInputBackward)
//
// X is the layer's input: one-hot ids (layer 0 without embedding: the product is a row
// gather, its gradient a scatter-add), the embedded rows (layer 0 with one), or the layer
// below's output H (⊙ its dropout mask when the pass applies dropout).

/**
 * The layer's input rows: the array (null for one-hot ids: xT) and, from inputOffset, where
 * its row 0 is — the embedded rows, the layer below's dropped output, or its hs[1..T].
 */
function inputArray(pass: Pass, l: number): FloatArray | null {
  if (l === 0) return pass.ws.emb; // null without an embedding: one-hot
  const below = pass.ws.layers[l - 1]!;
  return pass.dropout ? below.out : below.hs;
}

function inputOffset(pass: Pass, l: number): number {
  return l === 0 || pass.dropout ? 0 : pass.ws.B * pass.config.numHiddens;
}

/**
 * Z_g = X W_xg + b_g for time-major rows [r0, r0 + R), every gate. Layer 0 with an embedding
 * first gathers its rows of W_embed; a layer above a dropout first masks its rows of the
 * layer below's output.
 */
export function layerInputForward(k: Kernels, c: LayerContext, part: number, parts: number): number {
  const { pass, l } = c;
  const { ws, layout, W } = pass;
  const { B, T } = ws;
  const H = pass.config.numHiddens, n = B * H, Tn = T * n;
  const lw = ws.layers[l]!, p = layout.layers[l]!, I = p.inputSize;
  const r0 = partStart(T * B, part, parts), R = partStart(T * B, part + 1, parts) - r0;
  if (l === 0 && ws.emb !== null) k.gatherRows(ws.emb, r0 * I, W, layout.embed, ws.xT, r0, 1, R, I, false);
  if (l > 0 && pass.dropout) {
    const below = ws.layers[l - 1]!;
    k.mul(below.out!, r0 * H, below.hs, n + r0 * H, below.mask!, r0 * H, R * H);
  }
  const x = inputArray(pass, l), xo = inputOffset(pass, l);
  for (let g = 0; g < 4; g++) {
    const gp = p.gates[g]!, z = g * Tn + r0 * H;
    if (x === null) k.gatherRows(lw.gates, z, W, gp.W_x, ws.xT, r0, 1, R, H, false);
    else k.matmul(lw.gates, z, x, xo + r0 * I, W, gp.W_x, R, I, H, false);
    k.addBias(lw.gates, z, W, gp.b, R, H);
  }
  return 0;
}

/** The recurrence through the T steps for batch rows [b0, b0 + m): row b involves row b only. */
export function layerRecurrenceForward(k: Kernels, c: LayerContext, part: number, parts: number): number {
  const { pass, l } = c;
  const { ws, W } = pass;
  const { B, T } = ws;
  const H = pass.config.numHiddens, n = B * H, Tn = T * n;
  const { gates, hs, cs, tanhC } = ws.layers[l]!, p = pass.layout.layers[l]!;
  const b0 = partStart(B, part, parts), m = partStart(B, part + 1, parts) - b0;
  for (let t = 0; t < T; t++) {
    const row = t * n + b0 * H; // rows b0… of step t in a (T, B, H) array
    for (let g = 0; g < 4; g++) k.matmul(gates, g * Tn + row, hs, row, W, p.gates[g]!.W_h, m, H, H, true);
    // I, F, O, Ĉ in place, then C_t, tanh(C_t), H_t (hs[t + 1], cs[t + 1]).
    k.lstmCellForward(gates, row, cs, row, cs, row + n, tanhC, row, hs, row + n, Tn, m * H);
  }
  return 0;
}

/**
 * Where part `part` of `parts` of the H hidden units starts: on a multiple of 8 (two SIMD
 * vectors), so that a part's columns fill whole register blocks of the products.
 */
function unitStart(H: number, part: number, parts: number): number {
  return Math.min(H, 8 * partStart(Math.ceil(H / 8), part, parts));
}

/**
 * Step c.t of the recurrence for hidden units [j0, j0 + J) of every batch row: the four gates'
 * columns Z_g[t][:, j0:j0+J] += H_{t−1} W_hg[:, j0:j0+J], then the cell for those units
 * (elementwise per unit, and a unit's four gates are in this part), one batch row at a time.
 */
export function layerStepForward(k: Kernels, c: LayerContext, part: number, parts: number): number {
  const { pass, l, t } = c;
  const { ws, W } = pass;
  const { B, T } = ws;
  const H = pass.config.numHiddens, n = B * H, Tn = T * n;
  const { gates, hs, cs, tanhC } = ws.layers[l]!, p = pass.layout.layers[l]!;
  const j0 = unitStart(H, part, parts), J = unitStart(H, part + 1, parts) - j0;
  if (J === 0) return 0;
  const row = t * n; // step t in a (T, B, H) array
  for (let g = 0; g < 4; g++) k.matmulStrided(gates, g * Tn + row + j0, hs, row, W, p.gates[g]!.W_h + j0, B, H, J, H, true);
  for (let b = 0; b < B; b++) {
    const at = row + b * H + j0;
    k.lstmCellForward(gates, at, cs, at, cs, at + n, tanhC, at, hs, at + n, Tn, J);
  }
  return 0;
}

/**
 * Step c.t of BPTT (t = T−1 … −1) for hidden units [j0, j0 + J): first the recurrent part of
 * dH_t from step t+1, dH_t[:, j0:j0+J] += Σ_g dZ_g[t+1] W_hg[j0:j0+J, :]ᵀ (needs all of
 * dZ_g[t+1]'s columns, hence after the previous phase's barrier; into dh0 at t = −1), then
 * the cell backward of step t for these units, which needs only the columns just completed.
 */
export function layerStepBackward(k: Kernels, c: LayerContext, part: number, parts: number): number {
  const { pass, l, t } = c;
  const { ws, W } = pass;
  const { B, T } = ws;
  const H = pass.config.numHiddens, n = B * H, Tn = T * n;
  const { gates, cs, tanhC, dHs, dGates, dh0, dc0 } = ws.layers[l]!, p = pass.layout.layers[l]!;
  const j0 = unitStart(H, part, parts), J = unitStart(H, part + 1, parts) - j0;
  if (J === 0) return 0;
  if (t + 1 < T) {
    const dh = t >= 0 ? dHs : dh0, dhRow = t >= 0 ? t * n : 0;
    for (let g = 0; g < 4; g++) {
      k.matmulNTStrided(dh, dhRow + j0, dGates, g * Tn + (t + 1) * n, W, p.gates[g]!.W_h + j0 * H, B, H, J, H, true);
    }
  }
  if (t < 0) return 0;
  for (let b = 0; b < B; b++) {
    const at = t * n + b * H + j0;
    k.lstmCellBackward(dGates, at, gates, at, cs, at, tanhC, at, dHs, at, dc0, b * H + j0, Tn, J);
  }
  return 0;
}

/**
 * Runs layer c.l's recurrence forward with the split the call chose (runner.ts, planSplit);
 * on the webgpu backend, one fused dispatch per step (src/webgpu/recurrence.ts).
 */
export function recurrenceForward(runner: Runner<unknown>, c: LayerContext): void {
  if (runner.gpu !== undefined) {
    gpuRecurrenceForward(runner.gpu, c);
    return;
  }
  const { byUnits, recurrenceParts } = c.pass;
  if (!byUnits) {
    runner.run(layerRecurrenceForward, c, recurrenceParts);
    return;
  }
  for (let t = 0; t < c.pass.ws.T; t++) {
    c.t = t;
    runner.run(layerStepForward, c, recurrenceParts);
  }
}

/**
 * Runs layer c.l's BPTT with the split the call chose: T + 1 phases when split by units; on
 * the webgpu backend, T + 1 fused dispatches.
 */
export function recurrenceBackward(runner: Runner<unknown>, c: LayerContext): void {
  if (runner.gpu !== undefined) {
    gpuRecurrenceBackward(runner.gpu, c);
    return;
  }
  const { byUnits, recurrenceParts } = c.pass;
  if (!byUnits) {
    runner.run(layerRecurrenceBackward, c, recurrenceParts);
    return;
  }
  for (let t = c.pass.ws.T - 1; t >= -1; t--) {
    c.t = t;
    runner.run(layerStepBackward, c, recurrenceParts);
  }
}

/**
 * BPTT, t = T−1 … 0, for batch rows [b0, b0 + m): only what depends on the recurrence.
 * dHs[t] is the whole dH_t once step t+1 has added its recurrent part; dc0 carries dC_t (and
 * ends as dC_{−1}); dh0 receives the recurrent part of dH_{−1}. Both start at zero.
 */
export function layerRecurrenceBackward(k: Kernels, c: LayerContext, part: number, parts: number): number {
  const { pass, l } = c;
  const { ws, W } = pass;
  const { B, T } = ws;
  const H = pass.config.numHiddens, n = B * H, Tn = T * n;
  const { gates, cs, tanhC, dHs, dGates, dh0, dc0 } = ws.layers[l]!, p = pass.layout.layers[l]!;
  const b0 = partStart(B, part, parts), m = partStart(B, part + 1, parts) - b0;
  for (let t = T - 1; t >= 0; t--) {
    const row = t * n + b0 * H;
    k.lstmCellBackward(dGates, row, gates, row, cs, row, tanhC, row, dHs, row, dc0, b0 * H, Tn, m * H);
    // dH_{t−1} += dZ_g W_hgᵀ, into dHs[t − 1] (or dh0 at t = 0)
    const dhPrev = t > 0 ? dHs : dh0;
    const dhRow = t > 0 ? row - n : b0 * H;
    for (let g = 0; g < 4; g++) k.matmulNT(dhPrev, dhRow, dGates, g * Tn + row, W, p.gates[g]!.W_h, m, H, H, true);
  }
  return 0;
}

/**
 * What no longer depends on the recurrence, over all N rows. Split two ways at once (the two
 * write different memory): the gradient reaching the input, dX = Σ_g dZ_g W_xgᵀ, by rows —
 * into the layer below's dHs (⊙ its mask) or into dEmb; and the weight gradients by their
 * cost (weightGradientShare). Each row of a weight gradient is summed as by one matmulTN,
 * whichever part makes it and however the rows are cut (matmulTNStrided): the same bits.
 */
export function layerInputBackward(k: Kernels, c: LayerContext, part: number, parts: number): number {
  const { pass, l } = c;
  const { ws, W, layout } = pass;
  const { B, T } = ws;
  const H = pass.config.numHiddens, N = T * B;
  const { dGates } = ws.layers[l]!, I = layout.layers[l]!.inputSize;
  const dx = l > 0 ? ws.layers[l - 1]!.dHs : ws.dEmb; // null: one-hot input has no gradient
  if (dx !== null) {
    const r0 = partStart(N, part, parts), R = partStart(N, part + 1, parts) - r0;
    const Tn = N * H;
    for (let g = 0; g < 4; g++) k.matmulNT(dx, r0 * I, dGates, g * Tn + r0 * H, W, layout.layers[l]!.gates[g]!.W_x, R, H, I, g > 0);
    if (l > 0 && pass.dropout) k.mul(dx, r0 * H, dx, r0 * H, ws.layers[l - 1]!.mask!, r0 * H, R * H);
  }
  weightGradientShare(k, c, part, parts);
  return 0;
}

/**
 * Flops of product an element-wise sum over the rows costs, for sharing out the weight
 * gradients: a column sum (db_g) or a scatter-add (a one-hot dW_xg) reads N·H floats at ≈ 3·10⁹
 * a second here, where the products run at ≈ 5·10¹⁰ flops a second.
 */
const SUM_COST = 16;

/**
 * Part `part` of `parts` of layer c.l's weight gradients. Their work, in flops, is laid end to
 * end: the output layer's (on the top layer: dW_hq += Hsᵀ dY, db_q), then for each gate g its
 * head — db_g += Σ_rows dZ_g, and dW_xg += Xᵀ dZ_g whole where X's rows are not H long (a
 * scatter-add for a one-hot input) — and its H rows: dW_hg += H_prevᵀ dZ_g, with dW_xg's where
 * X's rows are H long (the layers above the first). Rows can be cut (at multiples of 4: whole
 * register blocks), the output layer and the heads cannot. The parts are filled in order, each
 * with as much as fits in a capacity — the least with which `parts` parts hold everything,
 * found by bisection (once per part count: c.shareCapacity). One part doing a gate's slice and
 * the output layer's gradient had been the slowest at 16 parts (bench/critical-path.ts); now
 * every part's work is within a few rows, or an indivisible head, of the even share. Nothing
 * is allocated.
 */
function weightGradientShare(k: Kernels, c: LayerContext, part: number, parts: number): void {
  const { pass, l } = c;
  const { ws, dW, layout } = pass;
  const H = pass.config.numHiddens, V = pass.config.vocabSize, N = ws.T * ws.B, Tn = N * H;
  const { hs, dGates } = ws.layers[l]!, p = layout.layers[l]!, I = p.inputSize;
  const x = inputArray(pass, l), xo = inputOffset(pass, l);
  const sliceX = x !== null && I === H;
  const outputCost = l === pass.config.numLayers - 1 ? 2 * N * H * V + SUM_COST * N * V : 0;
  const headCost = SUM_COST * N * H + (x === null ? SUM_COST * N * H : sliceX ? 0 : 2 * N * I * H);
  const rowCost = 2 * N * H * (sliceX ? 2 : 1), blockCost = 4 * rowCost;
  const gateCost = headCost + H * rowCost, total = outputCost + 4 * gateCost;
  // Where gate g's head starts in the line; its rows start headCost later.
  const headAt = (g: number): number => outputCost + g * gateCost;
  // The furthest boundary at most b ≥ outputCost (total past the end): the end of the rows'
  // last whole block of 4 (or their end), or the start of a head that b would cut.
  const cut = (b: number): number => {
    const g = Math.min(3, Math.floor((b - outputCost) / gateCost)), at = headAt(g);
    if (b < at + headCost) return at;
    return at + headCost + Math.min(H, 4 * Math.floor((b - at - headCost) / blockCost)) * rowCost;
  };
  // Where `count` parts of `capacity` each, filled in order, end. A capacity of at least every
  // item holds the output layer (first) and any head a part starts at.
  const fill = (capacity: number, count: number): number => {
    let at = 0;
    for (let q = 0; q < count; q++) at = cut(at + capacity);
    return at;
  };
  if (c.shareParts !== parts) {
    // Bisection between the even share (or the biggest item) and a capacity that always fits:
    // with the biggest item and a block more, every part holds at least a share.
    let low = Math.max(total / parts, outputCost, headCost), high = low + Math.max(outputCost, headCost) + blockCost;
    while (high - low > 1) {
      const mid = (low + high) / 2;
      if (fill(mid, parts) >= total) high = mid;
      else low = mid;
    }
    c.shareParts = parts;
    c.shareCapacity = high;
  }
  const capacity = c.shareCapacity!;
  const lo = fill(capacity, part), hi = fill(capacity, part + 1); // the last part's hi: total
  const mine = (at: number, cost: number): boolean => cost > 0 && at >= lo && at < hi;
  // The row of gate g where boundary b (never inside a head) falls.
  const rowAt = (b: number, g: number): number => Math.min(H, Math.max(0, Math.round((b - headAt(g) - headCost) / rowCost)));
  if (mine(0, outputCost)) outputWeightGradients(k, pass);
  for (let g = 0; g < 4; g++) {
    const gp = p.gates[g]!, dz = g * Tn;
    if (mine(headAt(g), headCost)) {
      if (x === null) k.scatterAddRows(dW, gp.W_x, dGates, dz, ws.xT, 0, 1, N, H); // dW_xg[x] += dZ_g
      else if (!sliceX) k.matmulTN(dW, gp.W_x, x, xo, dGates, dz, I, N, H, true); // dW_xg += Xᵀ dZ_g
      k.addBiasBackward(dW, gp.b, dGates, dz, N, H); // db_g += Σ_rows dZ_g
    }
    const i0 = rowAt(lo, g), i1 = rowAt(hi, g);
    if (i1 <= i0) continue;
    if (i1 - i0 === H) { // the whole gate, as one part makes it: matmulTN (webgpu's has a skinny variant)
      if (sliceX) k.matmulTN(dW, gp.W_x, x, xo, dGates, dz, H, N, H, true);
      k.matmulTN(dW, gp.W_h, hs, 0, dGates, dz, H, N, H, true);
      continue;
    }
    // Rows [i0, i1): H_prev's columns i0… (and X's).
    if (sliceX) k.matmulTNStrided(dW, gp.W_x + i0 * H, x, xo + i0, dGates, dz, i1 - i0, N, H, H, true);
    k.matmulTNStrided(dW, gp.W_h + i0 * H, hs, i0, dGates, dz, i1 - i0, N, H, H, true);
  }
}

/** dW_embed[x] += dEmb over all N rows: one task (rows of the same token would collide). */
export function embeddingBackward(k: Kernels, pass: Pass, part: number): number {
  const { ws, layout } = pass;
  if (part !== 0 || ws.dEmb === null) return 0;
  k.scatterAddRows(pass.dW, layout.embed, ws.dEmb, 0, ws.xT, 0, 1, ws.T * ws.B, pass.config.embeddingSize!);
  return 0;
}
