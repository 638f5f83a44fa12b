// The generated WGSL kernels as data, without a GPU (issue 13: mutation testing): each
// kernel's arguments, the workgroups it dispatches for a shape (exactly the grid needed —
// too few leaves outputs unwritten, too many only wastes a GPU, which no result shows), when
// a product takes its skinny variant, and the lines of code that TypeScript fills in (slot
// numbers, chunk sizes, tree widths). What the kernels compute is checked on the GPU in
// kernels-mutation.test.ts.
import { describe, expect, it } from 'vitest';
import {
  addBiasWgsl, CELL_BACKWARD, cellForward, gatherRowsWgsl, lstmCellBackwardWgsl, lstmCellForwardWgsl, mulWgsl,
} from '../../src/webgpu/kernels/elementwise.js';
import {
  clearSlotWgsl, flagNonFiniteWgsl, haltAfterWgsl, haltBeforeWgsl, nonFiniteWgsl, restoreBufferIfWgsl, restoreIfWgsl,
} from '../../src/webgpu/kernels/guard.js';
import { matmulWgsl, MIN_TILES } from '../../src/webgpu/kernels/matmul.js';
import { adamWgsl, clearSkipWgsl, rmspropWgsl, sgdWgsl, SKIP_SLOT } from '../../src/webgpu/kernels/optim.js';
import { addBiasBackwardWgsl, scatterAddRowsWgsl, softmaxCrossEntropyWgsl, sumWgsl } from '../../src/webgpu/kernels/reduce.js';
import { elementwiseMain, grid, MAX_GROUPS, u32s, wgslKernel, type WgslKernel } from '../../src/webgpu/wgsl.js';

const names = (k: WgslKernel): string => k.args.map(([n, t]) => `${n}:${t}`).join(' ');

describe('wgsl.ts', () => {
  it('grid: one group for nothing, x up to MAX_GROUPS, then rows of MAX_GROUPS', () => {
    expect(MAX_GROUPS).toBe(65535);
    expect(grid(0, 256)).toEqual([1, 1, 1]);
    expect(grid(1, 256)).toEqual([1, 1, 1]);
    expect(grid(257, 256)).toEqual([2, 1, 1]);
    expect(grid(512, 256)).toEqual([2, 1, 1]);
    expect(grid(65535 * 256, 256)).toEqual([65535, 1, 1]);
    expect(grid(65535 * 256 + 1, 256)).toEqual([65535, 2, 1]);
    expect(grid(65535 * 2, 1)).toEqual([65535, 2, 1]);
    expect(grid(65535 * 2 + 1, 1)).toEqual([65535, 3, 1]);
  });

  it('u32s: every name as u32, in order', () => {
    expect(u32s('a', 'b')).toEqual([['a', 'u32'], ['b', 'u32']]);
    expect(u32s()).toEqual([]);
  });

  it('wgslKernel: the bindings, struct Args in order, the shared functions, then the body', () => {
    const wg = () => [1, 2, 3] as const;
    const k = wgslKernel([['x', 'u32'], ['y', 'f32']], 'BODY', wg);
    expect(Object.keys(k)).toEqual(['args', 'code', 'workgroups']);
    expect(k.workgroups).toBe(wg);
    const code = k.code;
    expect(code).toContain('@group(0) @binding(0) var<storage, read_write> mem: array<u32>;');
    expect(code).toContain('@group(0) @binding(2) var<storage, read_write> aux: array<f32>;');
    expect(code).toContain('@group(0) @binding(3) var<storage, read_write> opt: array<f32>;');
    expect(code).toContain('@group(0) @binding(4) var<storage, read_write> opt2: array<f32>;');
    expect(code).toContain('fn ld(i: u32) -> f32 { return bitcast<f32>(mem[i]); }');
    expect(code).toContain('struct Args {\n  x: u32,\n  y: f32,\n}\n@group(0) @binding(1) var<uniform> a: Args;\n');
    expect(code).toContain('fn sigmoid(x: f32) -> f32 {');
    expect(code).toContain('fn tanh_(x: f32) -> f32 { return tanh(clamp(x, -15.0, 15.0)); }');
    expect(code.endsWith('}\nBODY')).toBe(true);
    expect(code.indexOf('struct Args')).toBeGreaterThan(code.indexOf('opt2'));
    expect(code.indexOf('fn sigmoid')).toBeGreaterThan(code.indexOf('struct Args'));
    const alt = { when: () => true, kernel: k };
    const k2 = wgslKernel([], 'B2', wg, alt);
    expect(k2.alternative).toBe(alt);
    expect(k2.code).toContain('struct Args {\n\n}');
  });

  it('elementwiseMain: 256 per workgroup, the item on a 2-D grid, an early return past the count', () => {
    const m = elementwiseMain('a.n * 2u', 'BODY;');
    expect(m).toContain('@compute @workgroup_size(256)');
    expect(m).toContain('let i = gid.x + gid.y * nwg.x * 256u;');
    expect(m).toContain('if (i >= a.n * 2u) { return; }\nBODY;\n}');
  });
});

describe('the kernels of the table', () => {
  it('the products: arguments, tiled workgroups, and the skinny variant below MIN_TILES blocks', () => {
    expect(MIN_TILES).toBe(64);
    for (const v of ['matmul', 'matmulTN', 'matmulNT'] as const) {
      expect(names(matmulWgsl(v))).toBe('out:u32 a:u32 b:u32 M:u32 K:u32 N:u32 acc:u32');
    }
    for (const v of ['matmulStrided', 'matmulNTStrided', 'matmulTNStrided'] as const) {
      expect(names(matmulWgsl(v))).toBe('out:u32 a:u32 b:u32 M:u32 K:u32 N:u32 ld:u32 acc:u32');
      expect(names(matmulWgsl(v).alternative!.kernel)).toBe('out:u32 a:u32 b:u32 M:u32 K:u32 N:u32 ld:u32 acc:u32');
    }
    const k = matmulWgsl('matmul');
    expect(k.workgroups({ M: 130, N: 65 })).toEqual([2, 3, 1]);
    expect(k.workgroups({ M: 64, N: 64 })).toEqual([1, 1, 1]);
    expect(k.workgroups({ M: 0, N: 0 })).toEqual([1, 1, 1]);
    const alt = k.alternative!;
    expect(alt.when({ M: 448, N: 448 })).toBe(true); // 7 × 7 blocks
    expect(alt.when({ M: 512, N: 512 })).toBe(false); // 8 × 8 = 64
    expect(alt.when({ M: 4096, N: 1 })).toBe(false); // 64 × 1
    expect(alt.when({ M: 4033, N: 1 })).toBe(false); // ⌈4033/64⌉ = 64
    expect(alt.when({ M: 4032, N: 1 })).toBe(true); // 63
    expect(alt.when({ M: 1, N: 4032 })).toBe(true);
    expect(alt.when({ M: 65, N: 1985 })).toBe(false); // 2 × 32
    const s = alt.kernel;
    expect(s.workgroups({ M: 3, N: 130 })).toEqual([3, 3, 1]);
    expect(s.workgroups({ M: 3, N: 128 })).toEqual([2, 3, 1]);
    expect(s.workgroups({ M: 5, N: 0 })).toEqual([1, 5, 1]);
    expect(s.workgroups({ M: 65535, N: 1 })).toEqual([1, 65535, 1]);
    expect(s.workgroups({ M: 65536, N: 1 })).toEqual([1, 65535, 2]);
    expect(s.workgroups({ M: 200_000, N: 64 })).toEqual([1, 65535, 4]);
    // The places of A, B and out per variant, and the skinny loop.
    expect(matmulWgsl('matmulTN').code).toContain('fn atA(i: u32, k: u32) -> u32 { return a.a + k * a.M + i; }');
    expect(matmulWgsl('matmulStrided').alternative!.kernel.code).toContain('fn atOut(i: u32, j: u32) -> u32 { return a.out + i * a.ld + j; }');
    expect(s.code).toContain('@compute @workgroup_size(64)');
    expect(k.code).toContain('@compute @workgroup_size(16, 16)');
  });

  it('elementwise kernels: arguments and one invocation per element', () => {
    expect(names(mulWgsl())).toBe('out:u32 a:u32 b:u32 n:u32');
    expect(mulWgsl().workgroups({ n: 513 })).toEqual([3, 1, 1]);
    expect(names(addBiasWgsl())).toBe('out:u32 bias:u32 M:u32 N:u32');
    expect(addBiasWgsl().workgroups({ M: 3, N: 300 })).toEqual([4, 1, 1]);
    expect(names(gatherRowsWgsl())).toBe('out:u32 w:u32 ids:u32 stride:u32 M:u32 N:u32 acc:u32');
    expect(gatherRowsWgsl().workgroups({ M: 3, N: 300 })).toEqual([4, 1, 1]);
    expect(names(lstmCellForwardWgsl())).toBe('gates:u32 cPrev:u32 c:u32 tanhC:u32 h:u32 gs:u32 n:u32');
    expect(lstmCellForwardWgsl().workgroups({ n: 257 })).toEqual([2, 1, 1]);
    expect(names(lstmCellBackwardWgsl())).toBe('dGates:u32 gates:u32 cPrev:u32 tanhC:u32 dH:u32 dC:u32 gs:u32 n:u32');
    expect(lstmCellBackwardWgsl().workgroups({ n: 257 })).toEqual([2, 1, 1]);
    expect(cellForward(['Z0', 'Z1', 'Z2', 'Z3'])).toContain('let ig = sigmoid(Z0);\n  let fg = sigmoid(Z1);\n  let og = sigmoid(Z2);\n  let ch = tanh_(Z3);');
    expect(lstmCellForwardWgsl().code).toContain('let ch = tanh_(ld(a.gates + i + 3u * a.gs));');
    expect(lstmCellBackwardWgsl().code).toContain(CELL_BACKWARD);
  });

  it('reductions: arguments, a workgroup per column or row, tree widths', () => {
    const ab = addBiasBackwardWgsl();
    expect(names(ab)).toBe('dbias:u32 dout:u32 M:u32 N:u32');
    expect(ab.workgroups({ M: 1000, N: 7 })).toEqual([7, 1, 1]);
    expect(ab.code).toContain('var<workgroup> red: array<f32, 256>;\n@compute @workgroup_size(256)');
    expect(ab.code).toContain('let j = wid.x + wid.y * nwg.x;\n  if (j >= a.N) { return; }');
    expect(ab.code).toContain('for (var w = 128u; w > 0u; w >>= 1u) {\n    if (li < w) { red[li] = red[li] + red[li + w]; }');
    const sc = scatterAddRowsWgsl();
    expect(names(sc)).toBe('dw:u32 dout:u32 ids:u32 stride:u32 M:u32 N:u32');
    expect(sc.workgroups({ M: 1000, N: 300 })).toEqual([2, 1, 1]);
    const ce = softmaxCrossEntropyWgsl();
    expect(names(ce)).toBe('dlogits:u32 logits:u32 targets:u32 stride:u32 M:u32 V:u32 scale:f32 lossAt:u32');
    expect(ce.workgroups({ M: 5, V: 1000 })).toEqual([5, 1, 1]);
    expect(ce.code).toContain('var<workgroup> red: array<f32, 64>;\n@compute @workgroup_size(64)');
    expect(ce.code).toContain('for (var w = 32u; w > 0u; w >>= 1u) {\n    if (li < w) { red[li] = max(red[li], red[li + w]); }');
    const sum = sumWgsl();
    expect(names(sum)).toBe('out:u32 x:u32 n:u32');
    expect(sum.workgroups({ n: 1e6 })).toEqual([1, 1, 1]);
    expect(sum.code).toContain('let unit = wid.x + wid.y * nwg.x;\n  if (unit >= 1u) { return; }');
  });
});

describe('optimiser, guard and clipping kernels', () => {
  it('the optimisers read the skip flag first; arguments; an invocation per element', () => {
    expect(SKIP_SLOT).toBe(32);
    expect(names(sgdWgsl())).toBe('data:u32 grad:u32 buf:u32 n:u32 hasBuf:u32 nesterov:u32 first:u32 lr:f32 momentum:f32 wd:f32');
    expect(names(adamWgsl())).toBe('data:u32 grad:u32 m:u32 v:u32 n:u32 beta1:f32 c1:f32 beta2:f32 c2:f32 eps:f32 l2:f32 decay:f32 stepSize:f32 bc2Sqrt:f32');
    expect(names(rmspropWgsl())).toBe('data:u32 grad:u32 v:u32 gAvg:u32 buf:u32 n:u32 centered:u32 hasBuf:u32 lr:f32 alpha:f32 c:f32 eps:f32 momentum:f32 wd:f32');
    for (const k of [sgdWgsl(), adamWgsl(), rmspropWgsl()]) {
      expect(k.code).toContain('if (i >= a.n) { return; }\n  if (aux[32u] != 0.0) { return; }\n');
      expect(k.workgroups({ n: 257 })).toEqual([2, 1, 1]);
    }
    const clear = clearSkipWgsl();
    expect(names(clear)).toBe('unused:u32');
    expect(clear.code).toContain('aux[32u] = 0.0;');
    expect(clear.workgroups({})).toEqual([1, 1, 1]);
  });

  it('the guard kernels: arguments and workgroups', () => {
    expect(names(nonFiniteWgsl())).toBe('out:u32 x:u32 n:u32');
    expect(nonFiniteWgsl().workgroups({ n: 1e6 })).toEqual([1, 1, 1]);
    expect(nonFiniteWgsl().code).toContain('fn nonFinite(bits: u32) -> bool');
    expect(names(flagNonFiniteWgsl())).toBe('flag:u32 slot:u32');
    expect(flagNonFiniteWgsl().code).toContain('fn nonFinite(bits: u32) -> bool');
    expect(flagNonFiniteWgsl().workgroups({})).toEqual([1, 1, 1]);
    expect(names(restoreIfWgsl())).toBe('flag:u32 at:u32 n:u32');
    expect(restoreIfWgsl().workgroups({ n: 257 })).toEqual([2, 1, 1]);
    expect(names(restoreBufferIfWgsl())).toBe('flag:u32 n:u32');
    expect(restoreBufferIfWgsl().workgroups({ n: 257 })).toEqual([2, 1, 1]);
    expect(names(haltBeforeWgsl())).toBe('skip:u32 halt:u32 prior:u32');
    expect(haltBeforeWgsl().workgroups({})).toEqual([1, 1, 1]);
    expect(names(haltAfterWgsl())).toBe('halt:u32 weights:u32');
    expect(haltAfterWgsl().workgroups({})).toEqual([1, 1, 1]);
    expect(names(clearSlotWgsl())).toBe('slot:u32');
    expect(clearSlotWgsl().workgroups({})).toEqual([1, 1, 1]);
  });

  it('clipping: arguments, chunks of 2048 per workgroup, the slots it writes', async () => {
    // Imported here: clip.ts builds its kernels when it loads, so a broken u32s fails this test, not the file.
    const { clipNormWgsl, scaleGradWgsl, sumSquaresWgsl, SCALE_SLOT, NORM_SLOTS_START } = await import('../../src/webgpu/clip.js');
    expect(SCALE_SLOT).toBe(33);
    expect(NORM_SLOTS_START).toBe(40);
    const ss = sumSquaresWgsl();
    expect(names(ss)).toBe('grad:u32 n:u32 part:u32 clip:f32');
    expect(ss.workgroups({ n: 2048 })).toEqual([1, 1, 1]);
    expect(ss.workgroups({ n: 2049 })).toEqual([2, 1, 1]);
    expect(ss.code).toContain('if (w * 2048u < a.n) {\n    for (var k = 0u; k < 8u; k++) {\n      let i = w * 2048u + k * 256u + li;');
    expect(ss.code).toContain('if (li == 0u && w * 2048u < a.n) { opt[a.part + w] = flagged(red[0], worst[0]); }');
    const cn = clipNormWgsl();
    expect(names(cn)).toBe('part:u32 count:u32 out:u32 setSkip:u32 lossAt:u32 maxNorm:f32');
    expect(cn.workgroups({ count: 1e6 })).toEqual([1, 1, 1]);
    expect(cn.code).toContain('aux[33u] = scale;');
    expect(cn.code).toContain('if (a.lossAt != 4294967295u && badness(aux[a.lossAt]) != 0u) { refuse = true; }\n    aux[32u] = select(0.0, 1.0, refuse);');
    const sg = scaleGradWgsl();
    expect(names(sg)).toBe('grad:u32 n:u32');
    expect(sg.workgroups({ n: 257 })).toEqual([2, 1, 1]);
    expect(sg.code).toContain('let s = aux[33u];');
  });
});
