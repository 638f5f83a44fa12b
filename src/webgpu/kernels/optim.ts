import { elementwiseMain, grid, u32s, wgslKernel, type ArgType, type WgslKernel } from '../wgsl.js';

// The optimisers' updates on the GPU, twins of sgdUpdate, adamUpdate and rmspropUpdate
// (src/optim/): one kernel per optimiser, one dispatch per parameter, one invocation per
// element. The parameter's values and gradient are in mem (element offsets `data`, `grad`),
// its state buffers in `opt` (element offsets `buf`, `m`, `v`, …). Hyperparameters arrive as
// f32; where the CPU computes 1 − β in float64, the host passes it already computed
// (f32(1 − 0.999) is 1e-3 within 3e-8; 1 − f32(0.999) is off by 1.3e-5 relative).
//
// Every update first reads the skip flag, aux[SKIP_SLOT], and does nothing when it is
// non-zero: clipping sets it when the gradient norm is not finite (src/webgpu/clip.ts), the
// GPU's way of refusing a step with no readback. The optimiser's step clears it afterwards
// (`clearSkipWgsl`), so a flag skips exactly one step.

/** The aux result slot of the skip flag (slots [32, 64) are the optimisers' and clipping's). */
export const SKIP_SLOT = 32;

const skip = `  if (aux[${SKIP_SLOT}u] != 0.0) { return; }\n`;
const f32s = (...names: string[]): [string, ArgType][] => names.map((n) => [n, 'f32']);

/**
 * sgd(data, grad, buf, n, hasBuf, nesterov, first; lr, momentum, wd), torch.optim.SGD with
 * dampening 0:
 *   d = grad + wd·data;  buf = d (first step) or momentum·buf + d;  data −= lr·(d + momentum·buf
 *   (Nesterov) or buf); without a buffer, data −= lr·d.
 */
export function sgdWgsl(): WgslKernel {
  return wgslKernel([...u32s('data', 'grad', 'buf', 'n', 'hasBuf', 'nesterov', 'first'), ...f32s('lr', 'momentum', 'wd')],
    elementwiseMain('a.n', `${skip}
  let p = ld(a.data + i);
  var d = ld(a.grad + i);
  if (a.wd != 0.0) { d = d + a.wd * p; }
  if (a.hasBuf == 0u) { st(a.data + i, p - a.lr * d); return; }
  var b = d;
  if (a.first == 0u) { b = a.momentum * opt[a.buf + i] + d; }
  opt[a.buf + i] = b;
  var u = b;
  if (a.nesterov != 0u) { u = d + a.momentum * b; }
  st(a.data + i, p - a.lr * u);`), (x) => grid(x.n!, 256));
}

/**
 * adam(data, grad, m, v, n; beta1, c1, beta2, c2, eps, l2, decay, stepSize, bc2Sqrt), Adam and
 * AdamW (adamUpdate), with c1 = 1 − β1, c2 = 1 − β2, stepSize = lr / (1 − β1ᵗ) and
 * bc2Sqrt = √(1 − β2ᵗ) computed on the host:
 *   p = data·decay;  g = grad + l2·p;  m = β1·m + c1·g;  v = β2·v + c2·g²
 *   data = p − stepSize · m / (√v / bc2Sqrt + eps)
 */
export function adamWgsl(): WgslKernel {
  return wgslKernel([...u32s('data', 'grad', 'm', 'v', 'n'), ...f32s('beta1', 'c1', 'beta2', 'c2', 'eps', 'l2', 'decay', 'stepSize', 'bc2Sqrt')],
    elementwiseMain('a.n', `${skip}
  var p = ld(a.data + i);
  if (a.decay != 1.0) { p = p * a.decay; }
  var g = ld(a.grad + i);
  if (a.l2 != 0.0) { g = g + a.l2 * p; }
  let mi = a.beta1 * opt[a.m + i] + a.c1 * g;
  let vi = a.beta2 * opt[a.v + i] + a.c2 * g * g;
  opt[a.m + i] = mi;
  opt[a.v + i] = vi;
  st(a.data + i, p - a.stepSize * (mi / (sqrt(vi) / a.bc2Sqrt + a.eps)));`), (x) => grid(x.n!, 256));
}

/**
 * rmsprop(data, grad, v, gAvg, buf, n, centered, hasBuf; lr, alpha, c, eps, momentum, wd),
 * torch.optim.RMSprop (rmspropUpdate), c = 1 − α from the host:
 *   g = grad + wd·data;  v = α·v + c·g²;  ḡ = α·ḡ + c·g (centered)
 *   r = √v + eps, or √(v − ḡ²) + eps (centered)
 *   buf = momentum·buf + g/r, data −= lr·buf (momentum); else data −= lr·g/r
 */
export function rmspropWgsl(): WgslKernel {
  return wgslKernel([...u32s('data', 'grad', 'v', 'gAvg', 'buf', 'n', 'centered', 'hasBuf'), ...f32s('lr', 'alpha', 'c', 'eps', 'momentum', 'wd')],
    elementwiseMain('a.n', `${skip}
  let p = ld(a.data + i);
  var g = ld(a.grad + i);
  if (a.wd != 0.0) { g = g + a.wd * p; }
  let vi = a.alpha * opt[a.v + i] + a.c * g * g;
  opt[a.v + i] = vi;
  var r = sqrt(vi) + a.eps;
  if (a.centered != 0u) {
    let gi = a.alpha * opt[a.gAvg + i] + a.c * g;
    opt[a.gAvg + i] = gi;
    r = sqrt(vi - gi * gi) + a.eps;
  }
  if (a.hasBuf == 0u) { st(a.data + i, p - a.lr * (g / r)); return; }
  let b = a.momentum * opt[a.buf + i] + g / r;
  opt[a.buf + i] = b;
  st(a.data + i, p - a.lr * b);`), (x) => grid(x.n!, 256));
}

/** clearSkip(): aux[SKIP_SLOT] = 0, after an optimiser step has read it (one invocation). */
export function clearSkipWgsl(): WgslKernel {
  return wgslKernel(u32s('unused'), `
@compute @workgroup_size(1)
fn main() {
  aux[${SKIP_SLOT}u] = 0.0;
}`, () => [1, 1, 1]);
}
