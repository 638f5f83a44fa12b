import { FunctionBuilder, ValType, type Local } from '../builder.js';
import type { FunctionDef } from '../encoder.js';
import { Op, Simd } from '../ops.js';
import { at, lanes } from './lanes.js';

// The three matrix products of src/tensor/matmul.ts, on byte pointers into the memory:
//   matmul(out, a, b, M, K, N, accumulate)     out[M×N] (+)= a[M×K] · b[K×N]
//   matmulTN(…)                                 out (+)= aᵀ · b, a stored K×M
//   matmulNT(…)                                 out (+)= a · bᵀ, b stored N×K
// accumulate is 0 or 1. Pointers need only 4-byte alignment. Every inner access is a
// contiguous 16-byte load or a one-float broadcast; no operand is ever transposed in memory.

const { i32, v128 } = ValType;
const PARAMS = { out: i32, a: i32, b: i32, M: i32, K: i32, N: i32, accumulate: i32 } as const;
// matmulStrided, matmulNTStrided and matmulTNStrided: the same, with ld the distance in floats
// between rows of out (and, for matmulStrided, of b; for matmulTNStrided, of aᵀ and b): a block
// of N columns (of M rows, for matmulTNStrided) of a product with ld columns.
// Eight parameters at most: a thread command carries eight arguments.
const STRIDED_PARAMS = { out: i32, a: i32, b: i32, M: i32, K: i32, N: i32, ld: i32, accumulate: i32 } as const;

/** How the products are generated. */
export interface MatmulOptions {
  /**
   * Multiply-adds as relaxed SIMD's `f32x4.relaxed_madd` (one fused instruction where the
   * CPU has FMA: a single rounding instead of two) rather than `f32x4.mul` then `f32x4.add`.
   * Only for engines that validate it. Default false.
   */
  relaxed?: boolean;
}

/**
 * acc + x · y on three v128 locals, left on the stack: mul then add (two roundings, the same
 * bits as the float32 reference), or with `relaxed` one relaxed_madd (x · y + acc).
 */
function mulAdd(f: FunctionBuilder, acc: Local, x: Local, y: Local, relaxed: boolean): FunctionBuilder {
  if (relaxed) return f.get(x).get(y).get(acc).simd(Simd.f32x4_relaxed_madd);
  return f.get(acc).get(x).get(y).simd(Simd.f32x4_mul).simd(Simd.f32x4_add);
}

/**
 * matmul and matmulTN share one kernel: out[i, j] = Σ_k a(i, k) · b[k, j], where a(i, k)
 * sits at a + i·aRow + k·aK bytes (aRow = 4K, aK = 4 for a; aRow = 4, aK = 4M for aᵀ).
 * A register block of R rows × 4V columns keeps R·V accumulators; each step k loads V
 * vectors of row k of b and broadcasts R scalars of a. Blocks are 4×8, then 4×4 for a last
 * group of 4 columns, and plain scalar dot products for the last N mod 4 columns; the last
 * M mod 4 rows of a row band (all rows of a batch-1 product) are streamed instead (below).
 *
 * Cache blocking, for the LSTM's shapes (M = 16–32 rows times an H×H weight, and the
 * H×1120 · 1120×H weight gradient): k goes in chunks of KC, within a chunk rows go in
 * bands of MC, and each row block of a band runs along all column blocks. So the chunk's
 * KC rows of b stay in L2 while every row block passes over them (read along its rows, a
 * few pages at a time: at H = 1024 each row of b is a 4 KiB page), and the band's KC×MC
 * slice of a stays in L1, however large K, M and N are. Measured at the LSTM's shapes: k
 * chunks outside the bands beat bands outside, and row blocks outside the column blocks
 * beat the reverse; KC = 32, 48 or 64, MC = 32 or 128, and column panels did no better.
 * Between chunks the partial sums wait in out, in float32; each output is thus still
 * accumulated in k order starting from out (accumulate) or 0, as the reference does, and
 * the result does not depend on the blocking, the alignment or how rows are split.
 *
 * Packing. Where rows of b are PACK_BYTES or more apart (H ≥ 512), a block's KC rows of b
 * each sit on a page of their own and in the same few L1 sets: the 4×8 block then waits on
 * L2 and the TLB at every step (measured at H = 1024: ≈ 0.6× the speed of H = 256). So when
 * the instance has scratch memory (the `scratch` global, set by the host: 0 = none) and the
 * product has PACK_ROWS rows or more, the chunk's KC×8 panel of b is first copied to it, 32
 * bytes a row, and every row block of the band runs over that copy (column blocks become the
 * outer loop). aᵀ (matmulTN, matmulTNStrided) has the same problem when its rows k are
 * PACK_BYTES apart (M or ld ≥ 512): the band's MC×KC slice is copied once per band and chunk,
 * 4·MC bytes a row k. Copies change no arithmetic: same bits.
 */
const MC = 64;
const KC = 128;
/** Rows this many bytes apart or more are packed (when the instance has scratch)… */
const PACK_BYTES = 2048;
/** …in products of this many rows or more (a panel of b then serves two row blocks or more). */
const PACK_ROWS = 8;
/** The A panel (MC×KC floats) then the B panel (KC×8 floats). */
const PANEL_A_BYTES = 4 * MC * KC;
const PANEL_B_ROW = 32;

/** Bytes of scratch memory a product may overwrite (its packed panels): 36 KiB. */
export const MATMUL_SCRATCH_BYTES = PANEL_A_BYTES + PANEL_B_ROW * KC;

/**
 * The kernel module's one global: the byte address of this instance's scratch memory
 * (MATMUL_SCRATCH_BYTES), or 0 for none. Per instance, so each thread has its own.
 */
export const SCRATCH_GLOBAL = { index: 0, name: 'scratch' } as const;

function gemm(name: string, transposedA: boolean, relaxed: boolean, strided = false): FunctionDef {
  const f = new FunctionBuilder(name, strided ? STRIDED_PARAMS : PARAMS);
  const madd = (acc: Local, x: Local, y: Local): FunctionBuilder => mulAdd(f, acc, x, y, relaxed);
  const { out, a, b, M, K, N, accumulate } = f.p;
  // The rows of out and b are rowBytes apart: 4N, or 4·ld for a block of columns.
  const rowFloats = strided ? (f.p as unknown as { ld: Local }).ld : N;
  const { aRow, aK, rowBytes, N4, N8, i, j, k, pb, po, i0, iEnd, i4End, k0, kEnd, load } = f.locals(i32, [
    'aRow', 'aK', 'rowBytes', 'N4', 'N8', 'i', 'j', 'k', 'pb', 'po', 'i0', 'iEnd', 'i4End', 'k0', 'kEnd', 'load',
  ]);
  const pa = [0, 1, 2, 3].map(() => f.local(i32));
  const acc = [0, 1, 2, 3].map(() => [f.local(v128), f.local(v128)]);
  const bv = f.local(v128);
  const s = [0, 1, 2, 3].map(() => f.local(v128));
  const { scratch, packA, packB, ps } = f.locals(i32, ['scratch', 'packA', 'packB', 'ps']);

  // aᵀ's rows k are M floats apart, or ld for a block of its columns (matmulTNStrided).
  if (transposedA) f.i32(4).set(aRow).get(strided ? rowFloats : M).i32(2).op(Op.i32_shl).set(aK);
  else f.get(K).i32(2).op(Op.i32_shl).set(aRow).i32(4).set(aK);
  f.get(rowFloats).i32(2).op(Op.i32_shl).set(rowBytes);
  f.get(N).i32(~3).op(Op.i32_and).set(N4);
  f.get(N).i32(~7).op(Op.i32_and).set(N8);
  // Which operands are packed (see above): b where its rows are far apart, aᵀ likewise.
  f.globalGet(SCRATCH_GLOBAL.index).set(scratch);
  f.get(scratch).i32(0).op(Op.i32_ne).get(rowBytes).i32(PACK_BYTES).op(Op.i32_ge_s).op(Op.i32_and)
    .get(M).i32(PACK_ROWS).op(Op.i32_ge_s).op(Op.i32_and).set(packB);
  // (a's own rows are read along k, aK = 4 bytes apart: never packed.)
  f.get(scratch).i32(0).op(Op.i32_ne).get(aK).i32(PACK_BYTES).op(Op.i32_ge_s).op(Op.i32_and).set(packA);

  // po = out + i·4N + 4j; pa[0] = a + i·aRow + k0·aK; pb = b + k0·4N + 4j.
  const setPointers = (): void => {
    f.get(out).get(i).get(rowBytes).op(Op.i32_mul).op(Op.i32_add).get(j).i32(2).op(Op.i32_shl).op(Op.i32_add).set(po);
    f.get(a).get(i).get(aRow).op(Op.i32_mul).op(Op.i32_add).get(k0).get(aK).op(Op.i32_mul).op(Op.i32_add).set(pa[0]!);
    f.get(b).get(k0).get(rowBytes).op(Op.i32_mul).op(Op.i32_add).get(j).i32(2).op(Op.i32_shl).op(Op.i32_add).set(pb);
  };

  // fromPanelA: aᵀ's rows from the band's packed copy; fromPanelB: b's from the panel's.
  const block = (R: number, V: number, fromPanelA = false, fromPanelB = false): void => {
    setPointers();
    if (fromPanelA) f.get(i).get(i0).op(Op.i32_sub).i32(2).op(Op.i32_shl).get(scratch).op(Op.i32_add).set(pa[0]!);
    if (fromPanelB) f.get(scratch).i32(PANEL_A_BYTES).op(Op.i32_add).set(pb);
    // aᵀ's R rows are adjacent floats (offsets 4r from pa[0]); a's are aRow apart, one pointer each.
    if (!transposedA) for (let r = 1; r < R; r++) f.get(pa[r - 1]!).get(aRow).op(Op.i32_add).set(pa[r]!);
    const rowPtr = (r: number): void => { f.get(po); if (r > 0) f.get(rowBytes).i32(r).op(Op.i32_mul).op(Op.i32_add); };
    f.get(load).if(
      () => { for (let r = 0; r < R; r++) for (let v = 0; v < V; v++) { rowPtr(r); f.v128Load(16 * v).set(acc[r]![v]!); } },
      () => { for (let r = 0; r < R; r++) for (let v = 0; v < V; v++) f.f32x4(0).set(acc[r]![v]!); },
    );
    // The R broadcasts first, then each vector of b just before its R uses.
    const step = (): void => {
      for (let r = 0; r < R; r++) {
        if (transposedA) f.get(pa[0]!).loadSplat(4 * r);
        else f.get(pa[r]!).loadSplat();
        f.set(s[r]!);
      }
      for (let v = 0; v < V; v++) {
        f.get(pb).v128Load(16 * v).set(bv);
        for (let r = 0; r < R; r++) madd(acc[r]![v]!, s[r]!, bv).set(acc[r]![v]!);
      }
    };
    f.get(kEnd).get(k0).op(Op.i32_sub).tee(k).if(() => f.loop(() => {
      step();
      if (fromPanelA) f.inc(pa[0]!, 4 * MC);
      else if (transposedA) f.incBy(pa[0]!, aK);
      else for (let r = 0; r < R; r++) f.inc(pa[r]!, 4);
      if (fromPanelB) f.inc(pb, PANEL_B_ROW);
      else f.incBy(pb, rowBytes);
      f.get(k).i32(1).op(Op.i32_sub).tee(k).brIf(0);
    }));
    for (let r = 0; r < R; r++) for (let v = 0; v < V; v++) { rowPtr(r); f.get(acc[r]![v]!).v128Store(16 * v); }
  };

  // One output column j for row i over [k0, kEnd), in lane 0 of vectors: the multiply-add of
  // the blocks (plain: exactly float32 mul then add; relaxed: the same fused madd), so that
  // an output's bits never depend on whether its row went in a block or was streamed.
  const sum = s[0]!, x = s[1]!;
  const scalar = (): void => {
    setPointers();
    f.get(load).if(() => f.get(po).load32Zero().set(sum), () => f.f32x4(0).set(sum));
    f.get(kEnd).get(k0).op(Op.i32_sub).tee(k).if(() => f.loop(() => {
      f.get(pa[0]!).load32Zero().set(x).get(pb).load32Zero().set(bv);
      madd(sum, x, bv).set(sum);
      f.incBy(pa[0]!, aK).incBy(pb, rowBytes);
      f.get(k).i32(1).op(Op.i32_sub).tee(k).brIf(0);
    }));
    f.get(po).get(sum).store32Lane(0);
  };

  // Row bands [i0, iEnd) of MC rows; i4End ends the band's groups of 4.
  const band = (body: () => void): void => {
    f.for(i0, { const: 0 }, M, MC, () => {
      f.get(i0).i32(MC).op(Op.i32_add).tee(iEnd).get(M).op(Op.i32_gt_s).if(() => f.get(M).set(iEnd));
      f.get(iEnd).get(i0).op(Op.i32_sub).i32(~3).op(Op.i32_and).get(i0).op(Op.i32_add).set(i4End);
      body();
    });
  };
  // Chunks [k0, kEnd) of KC steps; at least one, so that K = 0 still writes out.
  const chunk = (body: () => void): void => {
    f.i32(0).set(k0);
    f.loop(() => {
      f.get(k0).i32(KC).op(Op.i32_add).tee(kEnd).get(K).op(Op.i32_gt_s).if(() => f.get(K).set(kEnd));
      f.get(accumulate).get(k0).op(Op.i32_or).set(load);
      body();
      f.get(kEnd).tee(k0).get(K).op(Op.i32_lt_s).brIf(0);
    });
  };
  // The rows outside the 4-row blocks (every row of a batch-1 matrix-vector product), R = 2
  // or 1 at a time, streamed along b's rows: a pass takes U rows of k (U·R broadcasts of a)
  // and runs along all N columns, each vector of out loaded once, given its U terms in k
  // order, and stored (out's rows stay in L1). A column block would keep only a few sums
  // going (a 1×8 block waits on the add latency) and read b with the stride of its rows,
  // which at power-of-two widths maps every row to the same few L1 sets; streaming reads b
  // in order. Each output is still summed in k order from out or 0: the same bits as a block.
  const streamed = f.local(i32);
  const pu = Array.from({ length: 8 }, () => f.local(i32)); // row k + u of b, u < U
  const su = Array.from({ length: 8 }, () => f.local(v128)); // a(i + r, k + u) at r·U + u
  const sums = [f.local(v128), f.local(v128)];
  const jb = f.local(i32);
  const rows = (R: 1 | 2, U: number): void => {
    f.i32(0).set(j);
    setPointers();
    const pos: readonly Local[] = [po, f.local(i32)];
    if (R === 2) {
      f.get(po).get(rowBytes).op(Op.i32_add).set(pos[1]!);
      f.get(pa[0]!).get(aRow).op(Op.i32_add).set(pa[1]!);
    }
    // streamed: whether out already holds a partial sum (or accumulate's starting value).
    f.get(load).set(streamed);
    const pass = (u: number): void => {
      for (let r = 0; r < R; r++) {
        for (let t = 0; t < u; t++) f.get(pa[r]!).loadSplat().set(su[r * u + t]!).incBy(pa[r]!, aK);
      }
      f.get(pb).set(pu[0]!);
      for (let t = 1; t < u; t++) f.get(pu[t - 1]!).get(rowBytes).op(Op.i32_add).set(pu[t]!);
      f.get(pu[u - 1]!).get(rowBytes).op(Op.i32_add).set(pb);
      const along = (fromOut: boolean): void => lanes(f, N, jb, (w) => {
        for (let r = 0; r < R; r++) {
          if (fromOut) { at(f, pos[r]!, jb); w.load(); } else f.f32x4(0);
          f.set(sums[r]!);
        }
        for (let t = 0; t < u; t++) {
          at(f, pu[t]!, jb); w.load(); f.set(bv);
          for (let r = 0; r < R; r++) madd(sums[r]!, su[r * u + t]!, bv).set(sums[r]!);
        }
        for (let r = 0; r < R; r++) { at(f, pos[r]!, jb); f.get(sums[r]!); w.store(); }
      });
      f.get(streamed).if(() => along(true), () => along(false));
      f.i32(1).set(streamed);
      f.inc(k, u);
    };
    f.get(k0).set(k);
    f.while(() => f.get(kEnd).get(k).op(Op.i32_sub).i32(U).op(Op.i32_ge_s), () => pass(U));
    f.while(() => f.get(k).get(kEnd).op(Op.i32_lt_s), () => pass(1));
    // K = 0 and not accumulating: nothing was added, out is still set (to zeros).
    f.get(streamed).op(Op.i32_eqz).if(() => lanes(f, N, jb, (w) => {
      for (let r = 0; r < R; r++) { at(f, pos[r]!, jb); f.f32x4(0); w.store(); }
    }));
  };
  // The band's 4-row blocks along all column blocks (4×8, then 4×4), then the tails.
  const sweep = (): void => {
    f.for(i, i0, i4End, 4, () => {
      f.for(j, { const: 0 }, N8, 8, () => block(4, 2));
      f.get(N8).get(N4).op(Op.i32_lt_s).if(() => { f.get(N8).set(j); block(4, 1); });
    });
    tails();
  };
  // The last N mod 4 columns of the 4-row blocks as scalar dot products; then the band's last
  // M mod 4 rows, streamed in pairs (U = 4: 8 broadcasts) and a single row (U = 8).
  const tails = (): void => {
    f.for(j, N4, N, 1, () => f.for(i, i0, i4End, 1, scalar));
    f.for(i, i4End, iEnd, 2, () => {
      f.get(iEnd).get(i).op(Op.i32_sub).i32(2).op(Op.i32_ge_s).if(() => rows(2, 4), () => rows(1, 8));
    });
  };
  // Copies of the operands for the packed sweep: the band's aᵀ (rows k of 4·(i4End − i0)
  // bytes, 4·MC apart in the copy) and the 8-column panel of b at j (rows of 32 bytes).
  const copyRows = (from: Local, to: Local, bytes: Local, fromStride: Local, toStride: number): void => {
    f.for(k, k0, kEnd, 1, () => {
      f.for(jb, { const: 0 }, bytes, 16, () => { at(f, to, jb); at(f, from, jb).v128Load(); f.v128Store(); });
      f.incBy(from, fromStride).inc(to, toStride);
    });
  };
  const panelBytes = f.local(i32);
  const copyBand = (): void => {
    f.get(a).get(i0).i32(2).op(Op.i32_shl).op(Op.i32_add).get(k0).get(aK).op(Op.i32_mul).op(Op.i32_add).set(pb);
    f.get(scratch).set(ps);
    f.get(i4End).get(i0).op(Op.i32_sub).i32(2).op(Op.i32_shl).set(panelBytes);
    copyRows(pb, ps, panelBytes, aK, 4 * MC);
  };
  const copyPanel = (): void => {
    f.get(b).get(k0).get(rowBytes).op(Op.i32_mul).op(Op.i32_add).get(j).i32(2).op(Op.i32_shl).op(Op.i32_add).set(pb);
    f.get(scratch).i32(PANEL_A_BYTES).op(Op.i32_add).set(ps);
    f.i32(PANEL_B_ROW).set(panelBytes);
    copyRows(pb, ps, panelBytes, rowBytes, PANEL_B_ROW);
  };
  // Column blocks outside the row blocks, each 4×8 panel of b copied first where packB.
  const packedSweep = (): void => {
    const rowBlocks = (fromA: boolean, fromB: boolean, V = 2): void => { f.for(i, i0, i4End, 4, () => block(4, V, fromA, fromB)); };
    const eitherA = (fromB: boolean, V = 2): void => {
      if (transposedA) f.get(packA).if(() => rowBlocks(true, fromB, V), () => rowBlocks(false, fromB, V));
      else rowBlocks(false, fromB, V);
    };
    if (transposedA) f.get(packA).if(copyBand);
    f.for(j, { const: 0 }, N8, 8, () => {
      f.get(packB).if(() => { copyPanel(); eitherA(true); }, () => eitherA(false));
    });
    f.get(N8).get(N4).op(Op.i32_lt_s).if(() => { f.get(N8).set(j); eitherA(false, 1); });
    tails();
  };
  const packing = transposedA ? (): void => { f.get(packA).get(packB).op(Op.i32_or); } : (): void => { f.get(packB); };
  chunk(() => band(() => { packing(); f.if(packedSweep, sweep); }));
  return f.build();
}

export function matmulKernel(options: MatmulOptions = {}): FunctionDef {
  return gemm('matmul', false, options.relaxed ?? false);
}

export function matmulTNKernel(options: MatmulOptions = {}): FunctionDef {
  return gemm('matmulTN', true, options.relaxed ?? false);
}

/** matmulTN on a block of M rows: out, aᵀ and b have rows ld floats apart (see src/tensor/matmul.ts). */
export function matmulTNStridedKernel(options: MatmulOptions = {}): FunctionDef {
  return gemm('matmulTNStrided', true, options.relaxed ?? false, true);
}

/** matmul on a block of N columns: out and b have rows ld floats apart (see src/tensor/matmul.ts). */
export function matmulStridedKernel(options: MatmulOptions = {}): FunctionDef {
  return gemm('matmulStrided', false, options.relaxed ?? false, true);
}

/**
 * Sums each of four vectors across its lanes: [Σx0, Σx1, Σx2, Σx3], each as (l0+l2)+(l1+l3).
 * A 4×4 transpose done with three rounds of shuffles and adds.
 */
function transposeSum(f: FunctionBuilder, x: readonly Local[], t: readonly Local[]): FunctionBuilder {
  const [x0, x1, x2, x3] = x as [Local, Local, Local, Local];
  const [s01, s23] = t as [Local, Local];
  // s01 = [x0₀+x0₂, x1₀+x1₂, x0₁+x0₃, x1₁+x1₃], s23 likewise for x2, x3.
  f.get(x0).get(x1).shuffle32([0, 4, 1, 5]).get(x0).get(x1).shuffle32([2, 6, 3, 7]).simd(Simd.f32x4_add).set(s01);
  f.get(x2).get(x3).shuffle32([0, 4, 1, 5]).get(x2).get(x3).shuffle32([2, 6, 3, 7]).simd(Simd.f32x4_add).set(s23);
  return f.get(s01).get(s23).shuffle32([0, 1, 4, 5]).get(s01).get(s23).shuffle32([2, 3, 6, 7]).simd(Simd.f32x4_add);
}

/**
 * out[i, j] (+)= Σ_k a[i, k] · b[j, k]: every output is a dot product of two contiguous rows.
 * A block of 2 rows of a × 4 rows of b keeps 8 vector accumulators over k (4 lanes of k
 * each); at the end a transpose-sum turns the 4 accumulators of a row into the 4 adjacent
 * outputs [j, j+4), stored as one vector. The last K mod 4 terms are added afterwards with
 * b's column gathered into lanes. Blocks: 2×4, then 1×4 for an odd last row, then 2×1 / 1×1
 * for the last N mod 4 columns. Row blocks are the outer loop when M > N (the rows of b are
 * swept many times and stay in cache) and column blocks otherwise.
 */
export function matmulNTKernel(options: MatmulOptions = {}): FunctionDef {
  return gemmNT('matmulNT', options.relaxed ?? false, false);
}

/** matmulNT on a block of N columns: out has rows ld floats apart (see src/tensor/matmul.ts). */
export function matmulNTStridedKernel(options: MatmulOptions = {}): FunctionDef {
  return gemmNT('matmulNTStrided', options.relaxed ?? false, true);
}

function gemmNT(name: string, relaxed: boolean, strided: boolean): FunctionDef {
  const f = new FunctionBuilder(name, strided ? STRIDED_PARAMS : PARAMS);
  const { out, a, b, M, K, N, accumulate } = f.p;
  const rowFloats = strided ? (f.p as unknown as { ld: Local }).ld : N; // out's rows are 4·rowFloats bytes apart
  const { rowK, rowN, Kb, K4b, M2, N4, i, j, kb } = f.locals(i32, ['rowK', 'rowN', 'Kb', 'K4b', 'M2', 'N4', 'i', 'j', 'kb']);
  const pa = [f.local(i32), f.local(i32)];
  const pb = [0, 1, 2, 3].map(() => f.local(i32));
  const acc = [0, 1].map(() => [0, 1, 2, 3].map(() => f.local(v128)));
  const av = [f.local(v128), f.local(v128)];
  const { bv, t0, t1 } = f.locals(v128, ['bv', 't0', 't1']);
  const res = [f.local(v128), f.local(v128)];

  f.get(K).i32(2).op(Op.i32_shl).tee(Kb).set(rowK);
  f.get(K).i32(~3).op(Op.i32_and).i32(2).op(Op.i32_shl).set(K4b);
  f.get(rowFloats).i32(2).op(Op.i32_shl).set(rowN);
  f.get(M).i32(~1).op(Op.i32_and).set(M2);
  f.get(N).i32(~3).op(Op.i32_and).set(N4);

  const block = (R: number, C: number): void => {
    for (let r = 0; r < R; r++) f.get(a).get(i).i32(r).op(Op.i32_add).get(rowK).op(Op.i32_mul).op(Op.i32_add).set(pa[r]!);
    for (let c = 0; c < C; c++) f.get(b).get(j).i32(c).op(Op.i32_add).get(rowK).op(Op.i32_mul).op(Op.i32_add).set(pb[c]!);
    for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) f.f32x4(0).set(acc[r]![c]!);
    f.for(kb, { const: 0 }, K4b, 16, () => {
      for (let r = 0; r < R; r++) f.get(pa[r]!).get(kb).op(Op.i32_add).v128Load().set(av[r]!);
      for (let c = 0; c < C; c++) {
        f.get(pb[c]!).get(kb).op(Op.i32_add).v128Load().set(bv);
        for (let r = 0; r < R; r++) mulAdd(f, acc[r]![c]!, av[r]!, bv, relaxed).set(acc[r]![c]!);
      }
    });
    // res[r] lanes [0, C) = the dot products so far.
    for (let r = 0; r < R; r++) {
      if (C === 4) transposeSum(f, acc[r]!, [t0, t1]).set(res[r]!);
      else {
        const x = acc[r]![0]!;
        f.get(x).extractLane(0).get(x).extractLane(2).op(Op.f32_add);
        f.get(x).extractLane(1).get(x).extractLane(3).op(Op.f32_add).op(Op.f32_add);
        f.simd(Simd.f32x4_splat).set(res[r]!);
      }
    }
    // The last K mod 4 terms: column k of b's rows j…j+C gathered into lanes.
    f.for(kb, K4b, Kb, 4, () => {
      f.get(pb[0]!).get(kb).op(Op.i32_add).loadSplat();
      for (let c = 1; c < C; c++) f.get(pb[c]!).get(kb).op(Op.i32_add).f32Load().replaceLane(c);
      f.set(bv);
      for (let r = 0; r < R; r++) {
        f.get(pa[r]!).get(kb).op(Op.i32_add).loadSplat().set(av[r]!);
        mulAdd(f, res[r]!, av[r]!, bv, relaxed).set(res[r]!);
      }
    });
    for (let r = 0; r < R; r++) {
      // Address of out[i + r, j].
      const at = (): void => {
        f.get(out).get(i).i32(r).op(Op.i32_add).get(rowN).op(Op.i32_mul).op(Op.i32_add).get(j).i32(2).op(Op.i32_shl).op(Op.i32_add);
      };
      f.get(accumulate).if(() => {
        f.get(res[r]!);
        at();
        if (C === 4) f.v128Load(); else f.load32Zero();
        f.simd(Simd.f32x4_add).set(res[r]!);
      });
      at();
      f.get(res[r]!);
      if (C === 4) f.v128Store(); else f.store32Lane(0);
    }
  };

  // An odd last row (i = M − 1) is handled as a 1-row block after the pairs.
  const oddRow = (body: () => void): void => {
    f.get(M2).get(M).op(Op.i32_lt_s).if(() => { f.get(M2).set(i); body(); });
  };
  f.get(M).get(N).op(Op.i32_gt_s).if(
    () => {
      f.for(i, { const: 0 }, M2, 2, () => {
        f.for(j, { const: 0 }, N4, 4, () => block(2, 4));
        f.for(j, N4, N, 1, () => block(2, 1));
      });
      oddRow(() => {
        f.for(j, { const: 0 }, N4, 4, () => block(1, 4));
        f.for(j, N4, N, 1, () => block(1, 1));
      });
    },
    () => {
      f.for(j, { const: 0 }, N4, 4, () => {
        f.for(i, { const: 0 }, M2, 2, () => block(2, 4));
        oddRow(() => block(1, 4));
      });
      f.for(j, N4, N, 1, () => {
        f.for(i, { const: 0 }, M2, 2, () => block(2, 1));
        oddRow(() => block(1, 1));
      });
    },
  );
  return f.build();
}
