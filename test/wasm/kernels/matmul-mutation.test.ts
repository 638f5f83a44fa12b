import { describe, expect, it } from 'vitest';
import { Op, Simd } from '../../../src/wasm/ops.js';
import { encodeModule, type FunctionDef, unsignedLeb128 } from '../../../src/wasm/encoder.js';
import {
  MATMUL_SCRATCH_BYTES, matmulKernel, matmulNTKernel, matmulNTStridedKernel, matmulStridedKernel, matmulTNKernel, matmulTNStridedKernel,
  type MatmulOptions,
  SCRATCH_GLOBAL,
} from '../../../src/wasm/kernels/matmul.js';
import { simd } from '../helpers.js';

// Every path of the wasm products at small sizes, BIT FOR BIT against the order of float32
// operations each kernel promises, on a block in the middle of a memory whose other values
// must not change (a block of columns of a wider matrix for the strided variants, whose
// gaps between rows must stay as they were):
// - matmul, matmulTN, matmulStrided: each output is out (accumulating) or 0, plus each
//   a(i, k)·b(k, j) in k order, rounded to float32 at every multiply and add — whether its
//   row went in a 4×8 or 4×4 block, a scalar column, or was streamed (pairs U = 4, single rows
//   U = 8), across k chunks of 128 and row bands of 64.
// - matmulNT, matmulNTStrided: four lane sums over k ≡ 0…3 (mod 4) up to K − K mod 4, summed
//   as (l0 + l2) + (l1 + l3), then the last K mod 4 terms in order, then + out (accumulating).
// Small shapes reach every block (M up to 9 covers 4-row blocks with 0–3 streamed rows after,
// N up to 17 the 4×8, 4×4 and scalar columns, K the passes of 4 and 8 and their rests); a few
// larger ones cross the chunk and band edges. With scratch memory, rows of b (matmul,
// matmulStrided, matmulTN) or of aᵀ (matmulTN) 2 KiB or more apart are copied to packed panels
// first: the same checks on shapes that pack (N or ld ≥ 512, M ≥ 512 for aᵀ), and the scratch
// is seen to be written exactly when they do. The relaxed variants (fused multiply-add) are
// not valid on Node 20: their code is checked to be the plain code with each multiply-add fused.

const fr = Math.fround;
const SENTINEL = 1.25e-3;

type Variant = 'matmul' | 'matmulTN' | 'matmulNT' | 'matmulStrided' | 'matmulNTStrided' | 'matmulTNStrided';
const generators: Record<Variant, (o?: MatmulOptions) => FunctionDef> = {
  matmul: matmulKernel,
  matmulTN: matmulTNKernel,
  matmulNT: matmulNTKernel,
  matmulStrided: matmulStridedKernel,
  matmulTNStrided: matmulTNStridedKernel,
  matmulNTStrided: matmulNTStridedKernel,
};

/** The expected outputs (row-major M×N) from the inputs as laid out in `f`. */
function model(
  variant: Variant, f: Float32Array, o: number, a: number, b: number, M: number, K: number, N: number, ld: number, acc: boolean,
): number[] {
  const A = (i: number, k: number): number =>
    (variant === 'matmulTN' ? f[a + k * M + i]! : variant === 'matmulTNStrided' ? f[a + k * ld + i]! : f[a + i * K + k]!);
  const nt = variant === 'matmulNT' || variant === 'matmulNTStrided';
  const B = (k: number, j: number): number => (nt ? f[b + j * K + k]! : f[b + k * ld + j]!);
  const out: number[] = [];
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      const start = f[o + i * ld + j]!;
      let s: number;
      if (!nt) {
        s = acc ? start : 0;
        for (let k = 0; k < K; k++) s = fr(s + fr(A(i, k) * B(k, j)));
      } else {
        const lane = [0, 0, 0, 0];
        const K4 = K - (K % 4);
        for (let k = 0; k < K4; k++) lane[k % 4] = fr(lane[k % 4]! + fr(A(i, k) * B(k, j)));
        s = fr(fr(lane[0]! + lane[2]!) + fr(lane[1]! + lane[3]!));
        for (let k = K4; k < K; k++) s = fr(s + fr(A(i, k) * B(k, j)));
        if (acc) s = fr(s + start);
      }
      out.push(s);
    }
  }
  return out;
}

/**
 * One module with the variant, on a memory of `pages`, and a checker for one call. `scratch`:
 * the instance gets scratch memory (the memory's last MATMUL_SCRATCH_BYTES); `gap`: the
 * strided variants' rows are N + gap floats apart (default 3). The checker returns which of
 * the scratch's two panels (aᵀ's, b's) the call wrote.
 */
function harness(variant: Variant, pages = 4, { scratch = false, gap = 3 } = {}) {
  const memory = new WebAssembly.Memory({ initial: pages });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(encodeModule([generators[variant]()], { shared: false }, [SCRATCH_GLOBAL.name])), {
    env: { memory },
  });
  const run = instance.exports[variant] as (...args: number[]) => void;
  const f = new Float32Array(memory.buffer);
  const scratchAt = f.length - MATMUL_SCRATCH_BYTES / 4; // in floats
  const panelB = scratchAt + (MATMUL_SCRATCH_BYTES - 32 * 128) / 4; // b's panel: its last 128 rows of 8 floats
  if (scratch) (instance.exports[SCRATCH_GLOBAL.name] as WebAssembly.Global).value = 4 * scratchAt;
  let seed = 7;
  const value = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return fr((seed / 2147483648) * 2 - 1);
  };
  const strided = variant === 'matmulStrided' || variant === 'matmulNTStrided' || variant === 'matmulTNStrided';
  return (M: number, K: number, N: number, acc: boolean): { panelA: boolean; panelB: boolean } => {
    // Rows of out (and of b, for matmulStrided) are ld floats apart: a block of N columns of a
    // wider matrix, starting at column 2 of it.
    const ld = variant === 'matmulTNStrided' ? Math.max(M, N) + gap : strided ? N + gap : N; // aᵀ's rows too, for matmulTNStrided
    const nt = variant === 'matmulNT' || variant === 'matmulNTStrided';
    const aSize = variant === 'matmulTNStrided' ? K * ld : M * K;
    const aAt = 5, bAt = aAt + aSize + 3 + (nt || !strided ? 0 : 2);
    const bSize = nt ? N * K : K * ld;
    const oAt = bAt + bSize + 3 + (strided ? 2 : 0);
    const end = oAt + M * ld + 9;
    if (end > scratchAt) throw new Error(`${M}×${K}×${N} does not fit ${pages} pages`);
    f.fill(SENTINEL, 0, end);
    f.fill(SENTINEL, scratchAt);
    for (let e = 0; e < aSize; e++) f[aAt + e] = value();
    for (let e = 0; e < bSize; e++) f[bAt + e] = value();
    for (let e = 0; e < M * ld; e++) f[oAt + e] = value();
    const before = f.slice(0, end);
    run(4 * oAt, 4 * aAt, 4 * bAt, M, K, N, ...(strided ? [ld] : []), acc ? 1 : 0);
    const expected = model(variant, before, oAt, aAt, bAt, M, K, N, ld, acc);
    const written = new Set<number>();
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        const q = oAt + i * ld + j;
        written.add(q);
        if (!Object.is(f[q], expected[i * N + j])) {
          throw new Error(`${variant} ${M}×${K}×${N} acc=${acc}: out[${i}, ${j}] = ${f[q]}, expected ${expected[i * N + j]}`);
        }
      }
    }
    for (let q = 0; q < end; q++) {
      if (!written.has(q) && !Object.is(f[q], before[q])) throw new Error(`${variant} ${M}×${K}×${N} acc=${acc}: element ${q} changed`);
    }
    const changed = (from: number, to: number): boolean => f.subarray(from, to).some((x) => x !== fr(SENTINEL));
    return { panelA: changed(scratchAt, panelB), panelB: changed(panelB, f.length) };
  };
}

const MS = [1, 2, 3, 4, 5, 6, 7, 8, 9];
const NS = [1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 16, 17];
const KS = [0, 1, 2, 3, 4, 5, 7, 8, 9, 17];
// Across the k chunks (128), the row bands (64) and the streamed rows after a band's blocks.
const LARGE: [number, number, number][] = [
  [1, 128, 5], [1, 129, 9], [2, 257, 13], [3, 131, 4], [5, 300, 3], [4, 130, 8], [64, 3, 5], [65, 130, 5], [67, 129, 13],
  [70, 0, 3], [130, 9, 6], [9, 133, 17], [16, 64, 24],
];

describe.skipIf(!simd)('wasm products at every path, bit for bit', () => {
  for (const variant of Object.keys(generators) as Variant[]) {
    it(`${variant}: M 1–9 × N 1–17 × K 0–17, overwriting and accumulating`, () => {
      const check = harness(variant);
      for (const M of MS) for (const N of NS) for (const K of KS) for (const acc of [false, true]) check(M, K, N, acc);
    });

    it(`${variant}: across k chunks and row bands`, () => {
      const check = harness(variant, 8);
      for (const [M, K, N] of LARGE) for (const acc of [false, true]) check(M, K, N, acc);
    });
  }
});

describe.skipIf(!simd)('wasm products with scratch: packed panels, bit for bit', () => {
  // Shapes whose rows of b are 2 KiB or more apart (N ≥ 512; ld ≥ 512 for matmulStrided) and,
  // for matmulTN, whose rows of aᵀ are (M ≥ 512), including the 4×4 and scalar columns, the
  // streamed rows after a band's blocks, bands of 64 rows and chunks of 128 k.
  const small = (M: number): number[] => [M, M + 1, M + 3, M + 4, M + 7, M + 8, M + 12, M + 13, M + 17];
  const PACKS: Record<'matmul' | 'matmulStrided' | 'matmulTN' | 'matmulTNStrided', [number[], number[], number[], [number, number, number][]]> = {
    // [Ms, Ks, Ns, larger shapes]
    matmul: [MS, [0, 1, 3, 9, 17], small(512), [[65, 130, 520], [70, 129, 515], [4, 300, 513]]],
    matmulStrided: [MS, [0, 1, 3, 9, 17], NS, [[65, 130, 9], [70, 129, 17], [4, 300, 13]]],
    matmulTNStrided: [MS, [0, 1, 3, 9, 17], NS, [[65, 130, 9], [70, 129, 17], [4, 300, 13]]], // ld = max(M, N) + 509: both packed
    matmulTN: [small(512), [0, 1, 3, 17], [1, 4, 8, 9, 13, 17], [[1, 130, 520], [9, 129, 515], [513, 3, 517], [520, 130, 9], [580, 9, 512]]],
  };
  for (const [variant, [Ms, Ks, Ns, large]] of Object.entries(PACKS) as [keyof typeof PACKS, (typeof PACKS)[keyof typeof PACKS]][]) {
    it(`${variant}: every path, overwriting and accumulating; the same results without scratch`, () => {
      const gap = variant === 'matmulStrided' || variant === 'matmulTNStrided' ? 509 : 3;
      const packed = harness(variant, 48, { scratch: true, gap });
      const inPlace = harness(variant, 48, { gap });
      for (const M of Ms) for (const N of Ns) for (const K of Ks) for (const acc of [false, true]) { packed(M, K, N, acc); inPlace(M, K, N, acc); }
      for (const [M, K, N] of large) for (const acc of [false, true]) { packed(M, K, N, acc); inPlace(M, K, N, acc); }
    });
  }

  it('packs exactly the operands whose rows are 2 KiB or more apart, and only with scratch', () => {
    const none = { panelA: false, panelB: false };
    // b: rows 2 KiB apart in a product of 8 rows or more (a panel then serves two row blocks).
    const mm = harness('matmul', 48, { scratch: true });
    expect(mm(8, 9, 511, false)).toEqual(none);
    expect(mm(7, 9, 512, false)).toEqual(none);
    expect(mm(8, 9, 512, false)).toEqual({ panelA: false, panelB: true });
    expect(harness('matmul', 48)(8, 9, 512, false)).toEqual(none);
    const strided = harness('matmulStrided', 48, { scratch: true, gap: 8 });
    expect(strided(8, 9, 503, false)).toEqual(none); // ld 511
    expect(strided(7, 9, 504, false)).toEqual(none);
    expect(strided(8, 9, 504, false)).toEqual({ panelA: false, panelB: true }); // ld 512
    // aᵀ: rows k 2 KiB apart (M ≥ 512).
    const tn = harness('matmulTN', 48, { scratch: true });
    expect(tn(511, 9, 8, false)).toEqual(none);
    expect(tn(512, 9, 8, false)).toEqual({ panelA: true, panelB: false });
    expect(tn(8, 9, 512, false)).toEqual({ panelA: false, panelB: true });
    expect(tn(7, 9, 512, false)).toEqual(none);
    expect(tn(512, 9, 512, true)).toEqual({ panelA: true, panelB: true });
    expect(harness('matmulTN', 48)(512, 9, 512, false)).toEqual(none);
    // matmulNT reads both operands along their rows: never packed.
    expect(harness('matmulNT', 48, { scratch: true })(600, 9, 600, false)).toEqual(none);
  });
});

describe('relaxed variants: the plain code with each multiply-add fused', () => {
  /** Reads a LEB128 local index at code[i]; returns [value, next index]. */
  const leb = (code: readonly number[], i: number): [number, number] => {
    let v = 0, shift = 0;
    for (;;) {
      const byte = code[i++]!;
      v |= (byte & 0x7f) << shift;
      shift += 7;
      if ((byte & 0x80) === 0) return [v, i];
    }
  };
  const lebBytes = unsignedLeb128; // tested on its own in test/wasm/builder-mutation.test.ts
  const MUL = [Op.prefix_simd, ...lebBytes(Simd.f32x4_mul)];
  const ADD = [Op.prefix_simd, ...lebBytes(Simd.f32x4_add)];
  const MADD = [Op.prefix_simd, ...lebBytes(Simd.f32x4_relaxed_madd)];
  const at = (code: readonly number[], i: number, bytes: readonly number[]): boolean => bytes.every((b, k) => code[i + k] === b);

  /** `get acc; get x; get y; f32x4.mul; f32x4.add` → `get x; get y; get acc; f32x4.relaxed_madd`. */
  function fuse(code: readonly number[]): { code: number[]; fused: number } {
    const out: number[] = [];
    let fused = 0;
    for (let i = 0; i < code.length;) {
      if (code[i] === Op.local_get) {
        const [accL, i1] = leb(code, i + 1);
        if (code[i1] === Op.local_get) {
          const [x, i2] = leb(code, i1 + 1);
          if (code[i2] === Op.local_get) {
            const [y, i3] = leb(code, i2 + 1);
            if (at(code, i3, MUL) && at(code, i3 + MUL.length, ADD)) {
              out.push(Op.local_get, ...lebBytes(x), Op.local_get, ...lebBytes(y), Op.local_get, ...lebBytes(accL), ...MADD);
              fused++;
              i = i3 + MUL.length + ADD.length;
              continue;
            }
          }
        }
      }
      out.push(code[i]!);
      i++;
    }
    return { code: out, fused };
  }

  for (const variant of Object.keys(generators) as Variant[]) {
    it(variant, () => {
      const plain = generators[variant]();
      expect(generators[variant]({ relaxed: false })).toEqual(plain);
      expect(generators[variant]({})).toEqual(plain);
      const relaxed = generators[variant]({ relaxed: true });
      const { code, fused } = fuse(plain.code);
      expect(fused).toBeGreaterThan(4);
      expect(relaxed.code).toEqual(code);
      expect({ ...relaxed, code: [] }).toEqual({ ...plain, code: [] });
      expect(relaxed.name).toBe(variant);
    });
  }
});

describe.skipIf(!simd)('wasm products on an output that ends at the end of the memory', () => {
  // A kernel may read or write only its own floats: an output ending at the last byte of the
  // memory traps on any wider access (a 16-byte load where one float is due).
  for (const variant of Object.keys(generators) as Variant[]) {
    it(variant, () => {
      const memory = new WebAssembly.Memory({ initial: 1 });
      const run = new WebAssembly.Instance(new WebAssembly.Module(encodeModule([generators[variant]()], { shared: false }, [SCRATCH_GLOBAL.name])), {
        env: { memory },
      }).exports[variant] as (...args: number[]) => void;
      const f = new Float32Array(memory.buffer);
      const strided = variant === 'matmulStrided' || variant === 'matmulNTStrided' || variant === 'matmulTNStrided';
      for (const [M, K, N] of [[1, 3, 1], [2, 5, 5], [3, 4, 6], [5, 9, 3]] as const) {
        if (variant === 'matmulTNStrided' && M > N) continue; // aᵀ's rows (ld ≥ M) would be wider than out's block
        const ld = N; // strided: a block as wide as the matrix, so the block's end is the memory's end
        f.fill(0);
        for (let e = 0; e < 64; e++) f[e] = fr(Math.sin(e + 1));
        const aAt = 0, bAt = 32, oAt = f.length - M * ld;
        for (let e = 0; e < M * ld; e++) f[oAt + e] = fr(Math.cos(e));
        const before = f.slice();
        run(4 * oAt, 4 * aAt, 4 * bAt, M, K, N, ...(strided ? [ld] : []), 1);
        const expected = model(variant, before, oAt, aAt, bAt, M, K, N, ld, true);
        expect([...f.subarray(oAt)]).toEqual(expected);
      }
    });
  }
});
