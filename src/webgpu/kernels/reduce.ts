import { elementwiseMain, grid, u32s, wgslKernel, type WgslKernel } from '../wgsl.js';

// The kernels of the table that sum (twins of addBiasBackward, scatterAddRows and
// softmaxCrossEntropy), and the GPU's own sum of the per-row losses. Every sum has a fixed
// order — a strided partial sum per invocation, then a tree in workgroup memory — so a run
// repeats bit for bit; no atomics.

/** A tree reduction of `red` (size invocations) with `op`, leaving the result in red[0]. */
const tree = (size: number, op: (x: string, y: string) => string): string => `
  workgroupBarrier();
  for (var w = ${size / 2}u; w > 0u; w >>= 1u) {
    if (li < w) { red[li] = ${op('red[li]', 'red[li + w]')}; }
    workgroupBarrier();
  }`;

const groupMain = (size: number, item: string, count: string, body: string): string => `
var<workgroup> red: array<f32, ${size}>;
@compute @workgroup_size(${size})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let ${item} = wid.x + wid.y * nwg.x;
  if (${item} >= ${count}) { return; }
${body}
}`;

/** addBiasBackward(dbias, dout, M, N): dbias[j] += Σ_i dout[i, j]; one workgroup per column. */
export function addBiasBackwardWgsl(): WgslKernel {
  return wgslKernel(u32s('dbias', 'dout', 'M', 'N'), groupMain(256, 'j', 'a.N', `
  var s = 0.0;
  for (var r = li; r < a.M; r += 256u) { s += ld(a.dout + r * a.N + j); }
  red[li] = s;${tree(256, (x, y) => `${x} + ${y}`)}
  if (li == 0u) { st(a.dbias + j, ld(a.dbias + j) + red[0]); }`), (x) => grid(x.N!, 1));
}

/**
 * scatterAddRows(dw, dout, ids, stride, M, N): dw[ids[i·stride], :] += dout[i, :]. Rows of
 * one id collide, so an invocation owns a column and adds the rows in order.
 */
export function scatterAddRowsWgsl(): WgslKernel {
  return wgslKernel(u32s('dw', 'dout', 'ids', 'stride', 'M', 'N'), elementwiseMain('a.N', `
  for (var r = 0u; r < a.M; r++) {
    let at = a.dw + mem[a.ids + r * a.stride] * a.N + i;
    st(at, ld(at) + ld(a.dout + r * a.N + i));
  }`), (x) => grid(x.N!, 256));
}

/**
 * softmaxCrossEntropy(dlogits, logits, targets, stride, M, V, scale, lossAt): per row,
 * loss = log Σ exp(y − max) − (y[target] − max) into aux[lossAt + row] (the caller sums the
 * rows: see `sumWgsl`), and dlogits = (softmax − onehot)·scale. dlogits may be logits: every
 * invocation reads the target's logit before any writes. One workgroup of 64 per row.
 */
export function softmaxCrossEntropyWgsl(): WgslKernel {
  return wgslKernel(
    [...u32s('dlogits', 'logits', 'targets', 'stride', 'M', 'V'), ['scale', 'f32'], ['lossAt', 'u32']],
    groupMain(64, 'r', 'a.M', `
  let lo = a.logits + r * a.V;
  let dl = a.dlogits + r * a.V;
  var m = -3.402823e38;
  for (var j = li; j < a.V; j += 64u) { m = max(m, ld(lo + j)); }
  red[li] = m;${tree(64, (x, y) => `max(${x}, ${y})`)}
  let mx = red[0];
  workgroupBarrier();
  var s = 0.0;
  for (var j = li; j < a.V; j += 64u) { s += exp(ld(lo + j) - mx); }
  red[li] = s;${tree(64, (x, y) => `${x} + ${y}`)}
  let logSum = log(red[0]);
  let y = mem[a.targets + r * a.stride];
  let ly = ld(lo + y);
  workgroupBarrier();
  if (li == 0u) { aux[a.lossAt + r] = logSum - (ly - mx); }
  for (var j = li; j < a.V; j += 64u) { st(dl + j, exp(ld(lo + j) - mx - logSum) * a.scale); }
  if (li == y % 64u) { st(dl + y, ld(dl + y) - a.scale); }`),
    (x) => grid(x.M!, 1),
  );
}

/** sum(out, x, n): aux[out] = Σ aux[x .. x + n), in one workgroup (the loss of a call). */
export function sumWgsl(): WgslKernel {
  return wgslKernel(u32s('out', 'x', 'n'), groupMain(256, 'unit', '1u', `
  var s = 0.0;
  for (var r = li; r < a.n; r += 256u) { s += aux[a.x + r]; }
  red[li] = s;${tree(256, (x, y) => `${x} + ${y}`)}
  if (li == 0u) { aux[a.out] = red[0]; }`), () => [1, 1, 1]);
}
