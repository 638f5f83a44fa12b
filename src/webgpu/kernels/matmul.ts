import { u32s, wgslKernel, type WgslKernel } from '../wgsl.js';

// The six products of src/tensor/matmul.ts as one tiled WGSL kernel, specialised by where
// A(i, k), B(k, j) and out(i, j) are (element offsets into mem):
//   matmul            out[M×N] (+)= a[M×K] · b[K×N]
//   matmulTN          out (+)= aᵀ · b,  a stored K×M
//   matmulNT          out (+)= a · bᵀ,  b stored N×K
//   matmulStrided     as matmul, out and b with rows ld apart (a block of columns)
//   matmulNTStrided   as matmulNT, out with rows ld apart
//   matmulTNStrided   as matmulTN, out, aᵀ and b with rows ld apart (a block of rows)
// A workgroup of 16×16 invocations computes a 64×64 block of out, each invocation a 4×4
// block in registers, over K in tiles of 16 staged in workgroup memory. A product with fewer
// than MIN_TILES such blocks (the recurrence's B×H·H×H at small B, the weight gradients' H×H
// over long K) would leave most of a GPU idle: it runs the skinny variant instead, one output
// per invocation, 64 per workgroup along a row. Both sum every out(i, j) over k in order from
// 0 with fused multiply-adds, then add it to out when accumulating: the same bits whichever
// runs, and for every run.

interface Variant {
  readonly extra: readonly string[]; // arguments after M, K, N (before acc)
  readonly A: string; // element index of A(i, k)
  readonly B: string; // of B(k, j)
  readonly out: string; // of out(i, j)
}

const VARIANTS = {
  matmul: { extra: [], A: 'a.a + i * a.K + k', B: 'a.b + k * a.N + j', out: 'a.out + i * a.N + j' },
  matmulTN: { extra: [], A: 'a.a + k * a.M + i', B: 'a.b + k * a.N + j', out: 'a.out + i * a.N + j' },
  matmulNT: { extra: [], A: 'a.a + i * a.K + k', B: 'a.b + j * a.K + k', out: 'a.out + i * a.N + j' },
  matmulStrided: { extra: ['ld'], A: 'a.a + i * a.K + k', B: 'a.b + k * a.ld + j', out: 'a.out + i * a.ld + j' },
  matmulNTStrided: { extra: ['ld'], A: 'a.a + i * a.K + k', B: 'a.b + j * a.K + k', out: 'a.out + i * a.ld + j' },
  matmulTNStrided: { extra: ['ld'], A: 'a.a + k * a.ld + i', B: 'a.b + k * a.ld + j', out: 'a.out + i * a.ld + j' },
} satisfies Record<string, Variant>;

/** The name of one of the six products. */
export type MatmulVariant = keyof typeof VARIANTS;

/** Below this many 64×64 output blocks a product runs the skinny variant. */
export const MIN_TILES = 64;

const places = (v: Variant): string => `
fn atA(i: u32, k: u32) -> u32 { return ${v.A}; }
fn atB(k: u32, j: u32) -> u32 { return ${v.B}; }
fn atOut(i: u32, j: u32) -> u32 { return ${v.out}; }`;

const argsOf = (v: Variant) => [...u32s('out', 'a', 'b', 'M', 'K', 'N'), ...u32s(...v.extra), ...u32s('acc')];

/** The skinny variant: one out(i, j) per invocation; workgroups (⌈N/64⌉, M). */
function skinny(v: Variant): WgslKernel {
  return wgslKernel(argsOf(v), `${places(v)}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = wid.y + wid.z * 65535u;
  let j = wid.x * 64u + lid.x;
  if (i >= a.M || j >= a.N) { return; }
  var s = 0.0;
  for (var k = 0u; k < a.K; k++) { s = fma(ld(atA(i, k)), ld(atB(k, j)), s); }
  let at = atOut(i, j);
  if (a.acc != 0u) { st(at, ld(at) + s); } else { st(at, s); }
}`, (x) => [Math.max(1, Math.ceil(x.N! / 64)), Math.min(x.M!, 65535), Math.ceil(x.M! / 65535)]);
}

/** The WGSL kernel of product `variant` (arguments: out, a, b, M, K, N, [ld,] acc). */
export function matmulWgsl(variant: MatmulVariant): WgslKernel {
  const v: Variant = VARIANTS[variant];
  const body = `${places(v)}
const TM = 64u;
const TN = 64u;
const TK = 16u;
var<workgroup> As: array<f32, 1024>; // [TK][TM]
var<workgroup> Bs: array<f32, 1024>; // [TK][TN]

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let row0 = wid.y * TM;
  let col0 = wid.x * TN;
  var s: array<f32, 16>;
  for (var k0 = 0u; k0 < a.K; k0 += TK) {
    for (var e = 0u; e < 4u; e++) {
      let idx = li + e * 256u;
      let r = idx / TK;
      let kk = idx % TK;
      let i = row0 + r;
      let k = k0 + kk;
      var x = 0.0;
      if (i < a.M && k < a.K) { x = ld(atA(i, k)); }
      As[kk * TM + r] = x;
      let c = idx % TN;
      let kb = idx / TN;
      let j = col0 + c;
      let k2 = k0 + kb;
      var y = 0.0;
      if (k2 < a.K && j < a.N) { y = ld(atB(k2, j)); }
      Bs[kb * TN + c] = y;
    }
    workgroupBarrier();
    let kn = min(TK, a.K - k0);
    for (var kk = 0u; kk < kn; kk++) {
      let ar = vec4f(As[kk * TM + lid.y * 4u], As[kk * TM + lid.y * 4u + 1u],
                     As[kk * TM + lid.y * 4u + 2u], As[kk * TM + lid.y * 4u + 3u]);
      let bc = vec4f(Bs[kk * TN + lid.x * 4u], Bs[kk * TN + lid.x * 4u + 1u],
                     Bs[kk * TN + lid.x * 4u + 2u], Bs[kk * TN + lid.x * 4u + 3u]);
      for (var r = 0u; r < 4u; r++) {
        for (var c = 0u; c < 4u; c++) { s[r * 4u + c] = fma(ar[r], bc[c], s[r * 4u + c]); }
      }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    for (var c = 0u; c < 4u; c++) {
      let i = row0 + lid.y * 4u + r;
      let j = col0 + lid.x * 4u + c;
      if (i < a.M && j < a.N) {
        let at = atOut(i, j);
        if (a.acc != 0u) { st(at, ld(at) + s[r * 4u + c]); } else { st(at, s[r * 4u + c]); }
      }
    }
  }
}`;
  const tiles = (x: Readonly<Record<string, number>>): number => Math.ceil(x.N! / 64) * Math.ceil(x.M! / 64);
  return wgslKernel(
    argsOf(v),
    body,
    (x) => [Math.max(1, Math.ceil(x.N! / 64)), Math.max(1, Math.ceil(x.M! / 64)), 1],
    { when: (x) => tiles(x) < MIN_TILES, kernel: skinny(v) },
  );
}
