import { elementwiseMain, grid, u32s, wgslKernel, type WgslKernel } from '../wgsl.js';

// The divergence checks of a training step on the GPU. Finiteness is tested on the bits (an
// exponent of all ones is ∞ or NaN), never with x != x: WGSL lets compilers assume that
// floats are finite and fold such comparisons away.

const NON_FINITE = `fn nonFinite(bits: u32) -> bool { return (bits & 0x7f800000u) == 0x7f800000u; }`;

/** nonFinite(out, x, n): aux[out] = 1 if any of mem[x .. x + n) is ∞ or NaN, else 0 (one workgroup). */
export function nonFiniteWgsl(): WgslKernel {
  return wgslKernel(u32s('out', 'x', 'n'), `
${NON_FINITE}
var<workgroup> red: array<u32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) li: u32) {
  var bad = 0u;
  for (var i = li; i < a.n; i += 256u) { if (nonFinite(mem[a.x + i])) { bad = 1u; } }
  red[li] = bad;
  workgroupBarrier();
  for (var w = 128u; w > 0u; w >>= 1u) {
    if (li < w) { red[li] = max(red[li], red[li + w]); }
    workgroupBarrier();
  }
  if (li == 0u) { aux[a.out] = f32(red[0]); }
}`, () => [1, 1, 1]);
}

/** flagNonFinite(flag, slot): aux[flag] = 1 if aux[slot] is ∞ or NaN (else unchanged). */
export function flagNonFiniteWgsl(): WgslKernel {
  return wgslKernel(u32s('flag', 'slot'), `
${NON_FINITE}
@compute @workgroup_size(1)
fn main() {
  if (nonFinite(bitcast<u32>(aux[a.slot]))) { aux[a.flag] = 1.0; }
}`, () => [1, 1, 1]);
}

/**
 * restoreIf(flag, at, n): when aux[flag] ≠ 0, mem[at .. at + n) = opt[0 .. n) — the weights put
 * back from the snapshot taken before the step, on the GPU, before anything queued later runs.
 */
export function restoreIfWgsl(): WgslKernel {
  return wgslKernel(u32s('flag', 'at', 'n'), elementwiseMain('a.n', `
  if (aux[a.flag] != 0.0) { mem[a.at + i] = bitcast<u32>(opt[i]); }`), (x) => grid(x.n!, 256));
}

/** restoreBufferIf(flag, n): when aux[flag] ≠ 0, opt[0 .. n) = opt2[0 .. n) — an optimiser's state put back. */
export function restoreBufferIfWgsl(): WgslKernel {
  return wgslKernel(u32s('flag', 'n'), elementwiseMain('a.n', `
  if (aux[a.flag] != 0.0) { opt[i] = opt2[i]; }`), (x) => grid(x.n!, 256));
}

/**
 * haltBefore(skip, halt, prior): a step after one that did not happen (halt set) is skipped
 * too: aux[prior] = aux[halt] (whether this step was skipped for an earlier one), then
 * aux[skip] = aux[halt] = max of both. Recorded after clipping set `skip` for this step.
 */
export function haltBeforeWgsl(): WgslKernel {
  return wgslKernel(u32s('skip', 'halt', 'prior'), `
@compute @workgroup_size(1)
fn main() {
  aux[a.prior] = aux[a.halt];
  let h = max(aux[a.skip], aux[a.halt]);
  aux[a.skip] = h;
  aux[a.halt] = h;
}`, () => [1, 1, 1]);
}

/** haltAfter(halt, weights): aux[halt] = max(aux[halt], aux[weights]) — the step was undone. */
export function haltAfterWgsl(): WgslKernel {
  return wgslKernel(u32s('halt', 'weights'), `
@compute @workgroup_size(1)
fn main() {
  aux[a.halt] = max(aux[a.halt], aux[a.weights]);
}`, () => [1, 1, 1]);
}

/** clear(slot): aux[slot] = 0. */
export function clearSlotWgsl(): WgslKernel {
  return wgslKernel(u32s('slot'), `
@compute @workgroup_size(1)
fn main() {
  aux[a.slot] = 0.0;
}`, () => [1, 1, 1]);
}
