import { show } from '../checks.js';
import { RESULTS, type GpuEngine } from './gpu.js';
import { SKIP_SLOT } from './kernels/optim.js';
import { elementwiseMain, grid, u32s, wgslKernel, type WgslKernel } from './wgsl.js';

// Gradient clipping on the GPU, twin of src/optim/clip.ts in the order fit's training step
// uses it (src/train/fit.ts): the global L2 norm of the gradients is measured first (and the
// step refused when it is not finite), then clipValue clamps, then clipNorm scales — measuring
// again after a clamp. Nothing is read back: the norm goes to an aux result slot, read when the
// caller wants it.
//
// The norm is a deterministic two-pass sum: `sumSquares` writes one partial Σ g² per workgroup
// of CHUNK elements into a scratch buffer (bound as `opt`), then `clipNorm` — one workgroup —
// sums the partials in a fixed order, writes the norm, the scale (maxNorm / norm when the norm
// is finite and above maxNorm, else 1) and, for the first measure, the skip flag that the
// optimisers read (src/webgpu/kernels/optim.ts). Sums are float32 (the CPU's is float64): the
// norm agrees to about 1e-6 relative. Finiteness is decided on the bits (WGSL lets an
// implementation assume that no NaN or ∞ occurs), so NaN and ∞ are reported as the CPU does:
// NaN when any gradient is NaN, else ∞ when any is ±∞ or the sum overflows float32 (the CPU's
// float64 sum overflows only past 1.3e154 per element).

/** aux slot of the scale that the last clipNorm computed (1: leave the gradients alone). */
export const SCALE_SLOT = 33;
/** aux slot of the norm measured after a clamp (clipValue and clipNorm together). */
const CLAMPED_NORM_SLOT = 34;
/** The aux slots the norms rotate through, [NORM_SLOTS_START, RESULTS = 64): a lagged read stays valid for this many clips. */
export const NORM_SLOTS_START = 40;
const NORM_SLOTS = RESULTS - NORM_SLOTS_START;
/** Elements per workgroup in the first pass: 256 invocations × 8. */
const CHUNK = 2048;
const NO_LOSS = 0xffffffff;

/** A block of gradients in the engine's mem: element index and length. */
export interface GradientRange {
  readonly grad: number;
  readonly length: number;
}

/** Options of {@link recordClip}: those of fit (see FitOptions). */
export interface GpuClipOptions {
  /** Scale the gradients to this global L2 norm when their norm is above it (> 0). */
  readonly clipNorm?: number;
  /** Clamp every gradient element to [−clipValue, clipValue] (> 0, finite). */
  readonly clipValue?: number;
  /** An aux slot holding the loss (`engine.sumLoss()`): a non-finite loss also sets the skip flag. */
  readonly lossSlot?: number;
}

// 0 finite, 1 ±∞, 2 NaN, from the bits.
const FLAG = `
fn badness(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  if ((b & 0x7f800000u) != 0x7f800000u) { return 0u; }
  if ((b & 0x007fffffu) == 0u) { return 1u; }
  return 2u;
}
fn flagged(s: f32, bad: u32) -> f32 {
  if (bad == 0u) { return s; }
  return bitcast<f32>(select(0x7f800000u, 0x7fc00000u, bad == 2u)); // (a runtime select: a constant NaN is a compile error)
}
var<workgroup> red: array<f32, 256>;
var<workgroup> worst: array<u32, 256>;
fn reduce(li: u32) {
  workgroupBarrier();
  for (var w = 128u; w > 0u; w >>= 1u) {
    if (li < w) { red[li] = red[li] + red[li + w]; worst[li] = max(worst[li], worst[li + w]); }
    workgroupBarrier();
  }
}`;

/**
 * sumSquares(grad, n, part; clip): opt[part + w] = Σ g² over workgroup w's CHUNK elements
 * (NaN if any is NaN, else ∞ if any is ±∞); with clip > 0, the elements are then clamped to
 * [−clip, clip] in place (NaN stays NaN), the squares taken before the clamp.
 */
export function sumSquaresWgsl(): WgslKernel {
  return wgslKernel([...u32s('grad', 'n', 'part'), ['clip', 'f32']], `${FLAG}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let w = wid.x + wid.y * nwg.x;
  var s = 0.0;
  var bad = 0u;
  if (w * ${CHUNK}u < a.n) {
    for (var k = 0u; k < ${CHUNK / 256}u; k++) {
      let i = w * ${CHUNK}u + k * 256u + li;
      if (i >= a.n) { break; }
      let g = ld(a.grad + i);
      bad = max(bad, badness(g));
      s += g * g;
      if (a.clip > 0.0) {
        if (g > a.clip) { st(a.grad + i, a.clip); } else if (g < -a.clip) { st(a.grad + i, -a.clip); }
      }
    }
  }
  red[li] = s;
  worst[li] = bad;
  reduce(li);
  if (li == 0u && w * ${CHUNK}u < a.n) { opt[a.part + w] = flagged(red[0], worst[0]); }
}`, (x) => grid(Math.ceil(x.n! / CHUNK), 1));
}

/**
 * clipNorm(part, count, out, setSkip, lossAt; maxNorm), one workgroup: norm = √Σ opt[part …
 * part + count) into aux[out]; aux[SCALE_SLOT] = maxNorm / norm when the norm is finite and
 * above maxNorm (maxNorm 0: never), else 1; with setSkip, aux[SKIP_SLOT] = 1 when the norm (or
 * aux[lossAt], unless lossAt is 0xffffffff) is not finite, else 0.
 */
export function clipNormWgsl(): WgslKernel {
  return wgslKernel([...u32s('part', 'count', 'out', 'setSkip', 'lossAt'), ['maxNorm', 'f32']], `${FLAG}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) li: u32) {
  var s = 0.0;
  var bad = 0u;
  for (var r = li; r < a.count; r += 256u) {
    let x = opt[a.part + r];
    bad = max(bad, badness(x));
    s += x;
  }
  red[li] = s;
  worst[li] = bad;
  reduce(li);
  if (li != 0u) { return; }
  let sum = red[0];
  let b = max(worst[0], badness(sum));
  let norm = flagged(sqrt(sum), b);
  aux[a.out] = norm;
  var scale = 1.0;
  if (b == 0u && a.maxNorm > 0.0 && norm > a.maxNorm) { scale = a.maxNorm / norm; }
  aux[${SCALE_SLOT}u] = scale;
  if (a.setSkip != 0u) {
    var refuse = b != 0u;
    if (a.lossAt != ${NO_LOSS}u && badness(aux[a.lossAt]) != 0u) { refuse = true; }
    aux[${SKIP_SLOT}u] = select(0.0, 1.0, refuse);
  }
}`, () => [1, 1, 1]);
}

/** scaleGrad(grad, n): grad ·= aux[SCALE_SLOT], unless it is 1. */
export function scaleGradWgsl(): WgslKernel {
  return wgslKernel(u32s('grad', 'n'), elementwiseMain('a.n', `
  let s = aux[${SCALE_SLOT}u];
  if (s != 1.0) { st(a.grad + i, ld(a.grad + i) * s); }`), (x) => grid(x.n!, 256));
}

const SUM_SQUARES = sumSquaresWgsl(), CLIP_NORM = clipNormWgsl(), SCALE = scaleGradWgsl();

/** Per engine: the scratch buffer of partial sums, and the next norm slot. */
interface ClipState {
  scratch: GPUBuffer;
  size: number;
  next: number;
}
const states = new WeakMap<GpuEngine, ClipState>();

/** Adjacent ranges (a model's gradients are one block) merged, in order: fewer dispatches. */
function merge(places: readonly GradientRange[]): GradientRange[] {
  const out: { grad: number; length: number }[] = [];
  for (const { grad, length } of places) {
    if (length === 0) continue;
    const last = out[out.length - 1];
    if (last !== undefined && last.grad + last.length === grad) last.length += length;
    else out.push({ grad, length });
  }
  return out;
}

/**
 * Records the clipping of fit's training step over the gradients at `places` (element ranges
 * of the engine's mem): measures their global L2 norm, sets the skip flag (aux[SKIP_SLOT]) when
 * the norm — or the loss at `lossSlot` — is not finite, clamps to ±clipValue, and scales to
 * clipNorm, as clipGradNorm and clipGradValue in src/train/fit.ts's order. With no options it
 * only measures (and sets the flag). Returns the aux slot of the norm before any clipping (it
 * stays there for the next NORM_SLOTS − 1 calls: read it lagged with `engine.read`).
 *
 * @example
 * const slot = recordClip(engine, device.places(model.parameters()), { clipNorm: 1, lossSlot });
 * optimizer.step(); // recorded: skipped on the GPU when the norm is not finite
 * const norm = new Float32Array(1);
 * await engine.read([{ at: slot, length: 1, into: norm, aux: true }]);
 */
export function recordClip(engine: GpuEngine, places: readonly GradientRange[], options: GpuClipOptions = {}): number {
  const { clipNorm, clipValue, lossSlot } = options;
  if (clipNorm !== undefined && !(typeof clipNorm === 'number' && clipNorm > 0)) {
    throw new RangeError(`Expected \`clipNorm\` to be a positive number, got ${show(clipNorm)}.`);
  }
  if (clipValue !== undefined && !(typeof clipValue === 'number' && clipValue > 0 && Number.isFinite(clipValue))) {
    throw new RangeError(`Expected \`clipValue\` to be a positive finite number, got ${show(clipValue)}.`);
  }
  if (lossSlot !== undefined && !(Number.isInteger(lossSlot) && lossSlot >= 0 && lossSlot < RESULTS)) {
    throw new RangeError(`Expected \`lossSlot\` to be an aux result slot (an integer in [0, ${RESULTS})), got ${show(lossSlot)}.`);
  }
  const ranges = merge(places);
  let count = 0;
  for (const r of ranges) count += Math.ceil(r.length / CHUNK);
  let state = states.get(engine);
  if (state === undefined || state.size < count) {
    const size = Math.max(count, 2 * (state?.size ?? 0), 256);
    state = { scratch: engine.createBuffer(size), size, next: state?.next ?? 0 };
    states.set(engine, state);
  }
  const slot = NORM_SLOTS_START + state.next;
  state.next = (state.next + 1) % NORM_SLOTS;
  const measure = (clip: number, out: number, maxNorm: number, setSkip: boolean): void => {
    let part = 0;
    for (const r of ranges) {
      engine.dispatch(SUM_SQUARES, [r.grad, r.length, part, clip], state.scratch);
      part += Math.ceil(r.length / CHUNK);
    }
    engine.dispatch(CLIP_NORM, [0, count, out, setSkip ? 1 : 0, lossSlot ?? NO_LOSS, maxNorm], state.scratch);
    if (maxNorm > 0) for (const r of ranges) engine.dispatch(SCALE, [r.grad, r.length]);
  };
  if (clipValue === undefined) {
    measure(0, slot, clipNorm ?? 0, true);
  } else {
    measure(clipValue, slot, 0, true); // the norm before the clamp, then the clamp
    if (clipNorm !== undefined) measure(0, CLAMPED_NORM_SLOT, clipNorm, false);
  }
  return slot;
}
