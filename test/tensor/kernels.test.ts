import { describe, expect, it } from 'vitest';
import { matmul, matmulNT, matmulNTStrided, matmulStrided, matmulTN, matmulTNStrided } from '../../src/tensor/matmul.js';
import { addBias, addBiasBackward } from '../../src/tensor/bias.js';
import { gatherRows, oneHot, scatterAddRows } from '../../src/tensor/onehot.js';
import { softmaxCrossEntropy } from '../../src/tensor/cross-entropy.js';
import { sigmoid, sigmoidBackward, sigmoidForward, tanhBackward, tanhForward } from '../../src/tensor/activations.js';
import { Random } from '../../src/tensor/random.js';

// Each kernel against a naive reference written from the definition, in float64 so that
// the only differences are summation order (tolerance 1e-12). Operands sit at non-zero
// offsets inside larger arrays to check the addressing.

const rng = new Random(1);
const randn = (n: number) => Float64Array.from({ length: n }, () => rng.normal());
const at = (a: Float64Array, off: number, i: number, j: number, cols: number) => a[off + i * cols + j]!;
// M×K×N. The matmul family computes 4×4 blocks of out and then the leftover rows and columns
// one by one, so the later shapes mix whole blocks with every remainder (M or N mod 4 = 0…3).
const SHAPES: [number, number, number][] = [[1, 1, 1], [2, 3, 4], [5, 7, 3], [8, 1, 9], [3, 16, 2],
  [4, 4, 4], [4, 1, 8], [8, 5, 7], [9, 3, 4], [7, 17, 5], [17, 9, 13], [5, 8, 1], [1, 9, 17]];

function expectClose(actual: Float64Array, expected: Float64Array, tol = 1e-12) {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThan(tol);
}

describe('matmul family', () => {
  // out (+)= op(a) · op(b), each operand stored as given; references loop over definitions.
  const variants = {
    matmul: { fn: matmul, a: (M: number, K: number) => [M, K], b: (K: number, N: number) => [K, N],
      ref: (a: Float64Array, ao: number, b: Float64Array, bo: number, i: number, j: number, k: number, M: number, K: number, N: number) =>
        at(a, ao, i, k, K) * at(b, bo, k, j, N) },
    matmulTN: { fn: matmulTN, a: (M: number, K: number) => [K, M], b: (K: number, N: number) => [K, N],
      ref: (a: Float64Array, ao: number, b: Float64Array, bo: number, i: number, j: number, k: number, M: number, K: number, N: number) =>
        at(a, ao, k, i, M) * at(b, bo, k, j, N) },
    matmulNT: { fn: matmulNT, a: (M: number, K: number) => [M, K], b: (K: number, N: number) => [N, K],
      ref: (a: Float64Array, ao: number, b: Float64Array, bo: number, i: number, j: number, k: number, M: number, K: number, N: number) =>
        at(a, ao, i, k, K) * at(b, bo, j, k, K) },
  };
  for (const [name, v] of Object.entries(variants)) {
    for (const [M, K, N] of SHAPES) {
      for (const accumulate of [false, true]) {
        it(`${name} ${M}×${K}×${N} accumulate=${accumulate}`, () => {
          const ao = 3, bo = 5, oo = 2;
          const a = randn(ao + M * K + 1), b = randn(bo + K * N + 1), out = randn(oo + M * N + 2);
          const expected = out.slice();
          for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
            let s = 0;
            for (let k = 0; k < K; k++) s += v.ref(a, ao, b, bo, i, j, k, M, K, N);
            expected[oo + i * N + j] = (accumulate ? expected[oo + i * N + j]! : 0) + s;
          }
          v.fn(out, oo, a, ao, b, bo, M, K, N, accumulate);
          expectClose(out, expected); // including the untouched elements around the block
        });
      }
    }
  }
});

describe('matmul family: rows one at a time (M % 4 rows, batch 1)', () => {
  // The reference: each output one sum from 0 in k order, in a double, plus out when
  // accumulating — the order the kernels promise, so the comparison is exact (bit-identical),
  // on Float32Array as the models use it. Row i of an M-row product must equal the 1-row
  // product of that row alone: generation with several samples relies on it.
  const f32 = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  const strides = {
    matmul: (M: number, K: number, N: number) => ({ ai: K, ak: 1, bk: N, bj: 1 }),
    matmulTN: (M: number, K: number, N: number) => ({ ai: 1, ak: M, bk: N, bj: 1 }),
    matmulNT: (M: number, K: number, N: number) => ({ ai: K, ak: 1, bk: 1, bj: K }),
  };
  const fns = { matmul, matmulTN, matmulNT };
  const shapes: [number, number, number][] = [[1, 256, 256], [1, 64, 65], [1, 3, 7], [1, 5, 8], [1, 9, 9], [1, 2, 17],
    [2, 7, 16], [3, 11, 23], [5, 6, 9], [6, 4, 33], [7, 13, 8]];
  for (const [name, fn] of Object.entries(fns)) {
    for (const [M, K, N] of shapes) {
      it(`${name} ${M}×${K}×${N}: exact, and each row as on its own`, () => {
        const { ai, ak, bk, bj } = strides[name as keyof typeof strides](M, K, N);
        const ao = 1, bo = 2, oo = 3;
        const a = f32(ao + M * K), b = f32(bo + K * N);
        for (const accumulate of [false, true]) {
          const out = f32(oo + M * N + 1), expected = out.slice();
          for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
            let s = 0;
            for (let k = 0; k < K; k++) s += a[ao + i * ai + k * ak]! * b[bo + k * bk + j * bj]!;
            const p = oo + i * N + j;
            expected[p] = accumulate ? expected[p]! + s : s;
          }
          const before = out.slice();
          fn(out, oo, a, ao, b, bo, M, K, N, accumulate);
          expect(out).toEqual(expected);
          if (name === 'matmulTN') continue; // a row of aᵀ is a strided column: no 1-row call for it
          for (let i = 0; i < M; i++) {
            const row = before.slice(oo + i * N, oo + (i + 1) * N);
            fn(row, 0, a, ao + i * K, b, bo, 1, K, N, accumulate);
            expect(row).toEqual(out.subarray(oo + i * N, oo + (i + 1) * N));
          }
        }
      });
    }
  }
});

describe('strided products: a block of columns of a wider product', () => {
  // out[M×N] (+)= a·b (matmulStrided: b's rows ld apart) or a·bᵀ (matmulNTStrided: b stored
  // N×K) with out's rows ld apart: against the definition in float64 (every remainder of the
  // 4×4 blocks), then on Float32Array each column block of a product equal bit for bit to the
  // same columns of the whole product (the recurrence split by hidden units relies on it).
  const variants = {
    matmulStrided: { fn: matmulStrided, whole: matmul, b: (k: number, j: number, K: number, ld: number) => k * ld + j, bAt: (j0: number) => j0 },
    matmulNTStrided: { fn: matmulNTStrided, whole: matmulNT, b: (k: number, j: number, K: number) => j * K + k, bAt: (j0: number, K: number) => j0 * K },
  };
  for (const [name, v] of Object.entries(variants)) {
    for (const [M, K, N] of SHAPES) {
      for (const accumulate of [false, true]) {
        it(`${name} ${M}×${K}×${N} (ld ${N + 3}) accumulate=${accumulate}`, () => {
          const ld = N + 3, ao = 3, bo = 5, oo = 2;
          const a = randn(ao + M * K + 1), b = randn(bo + K * ld + 1), out = randn(oo + M * ld + 2);
          const expected = out.slice();
          for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
            let s = 0;
            for (let k = 0; k < K; k++) s += a[ao + i * K + k]! * b[bo + v.b(k, j, K, ld)]!;
            expected[oo + i * ld + j] = (accumulate ? expected[oo + i * ld + j]! : 0) + s;
          }
          v.fn(out, oo, a, ao, b, bo, M, K, N, ld, accumulate);
          expectClose(out, expected); // the columns past N of each row untouched
        });
      }
    }
    const f32 = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
    for (const [M, K, H] of [[1, 37, 64], [2, 16, 33], [3, 40, 72], [5, 9, 29], [9, 64, 40]] as const) {
      it(`${name}: column blocks of ${M}×${K}×${H} equal the whole product bit for bit`, () => {
        const a = f32(M * K), b = f32(K * H); // matmulNT reads b as H×K
        for (const accumulate of [false, true]) {
          const start = f32(M * H), whole = start.slice(), blocks = start.slice();
          v.whole(whole, 0, a, 0, b, 0, M, K, H, accumulate);
          for (const cuts of [[0, H], [0, 1, H], [0, 8, 13, H], [0, Math.floor(H / 2), H], [0, 3, 5, 6, 11, H]]) {
            blocks.set(start);
            for (let p = 0; p + 1 < cuts.length; p++) {
              const j0 = cuts[p]!, j1 = cuts[p + 1]!;
              v.fn(blocks, j0, a, 0, b, v.bAt(j0, K), M, K, j1 - j0, H, accumulate);
            }
            expect(blocks).toEqual(whole);
          }
        }
      });
    }
  }
});

describe('matmulTNStrided: a block of rows of a weight gradient', () => {
  // out[M×N] (+)= aᵀ·b with out, a (stored K×ld) and b (K×ld) rows ld apart: against the
  // definition in float64, then on Float32Array row blocks equal to the whole matmulTN's rows
  // bit for bit (the weight gradients split by rows rely on it).
  for (const [M, K, N] of SHAPES) {
    for (const accumulate of [false, true]) {
      it(`${M}×${K}×${N} (ld ${Math.max(M, N) + 3}) accumulate=${accumulate}`, () => {
        const ld = Math.max(M, N) + 3, ao = 3, bo = 5, oo = 2;
        const a = randn(ao + K * ld + 1), b = randn(bo + K * ld + 1), out = randn(oo + M * ld + 2);
        const expected = out.slice();
        for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += a[ao + k * ld + i]! * b[bo + k * ld + j]!;
          expected[oo + i * ld + j] = (accumulate ? expected[oo + i * ld + j]! : 0) + s;
        }
        matmulTNStrided(out, oo, a, ao, b, bo, M, K, N, ld, accumulate);
        expectClose(out, expected); // the columns past N, and everything around, untouched
      });
    }
  }
  const f32 = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  for (const [H, K] of [[1, 37], [33, 16], [40, 9], [72, 40]] as const) {
    it(`row blocks of ${H}×${K}×${H} equal the whole matmulTN bit for bit`, () => {
      const a = f32(K * H), b = f32(K * H);
      for (const accumulate of [false, true]) {
        const start = f32(H * H), whole = start.slice(), blocks = start.slice();
        matmulTN(whole, 0, a, 0, b, 0, H, K, H, accumulate);
        for (const cuts of [[0, H], [0, 1, H], [0, 8, 13, H].filter((c) => c <= H), [0, Math.floor(H / 2), H]]) {
          blocks.set(start);
          for (let p = 0; p + 1 < cuts.length; p++) {
            const i0 = cuts[p]!, i1 = cuts[p + 1]!;
            if (i1 > i0) matmulTNStrided(blocks, i0 * H, a, i0, b, 0, i1 - i0, K, H, H, accumulate);
          }
          expect(blocks).toEqual(whole);
        }
      }
    });
  }
});

describe('strided products: the JSDoc examples', () => {
  it('columns 4…7 of a 2×8 product, a·b and a·bᵀ', () => {
    const a = Float64Array.from({ length: 6 }, (_, i) => i - 2), b = Float64Array.from({ length: 24 }, (_, i) => (i % 7) - 3);
    const whole = new Float64Array(16), out = new Float64Array(16);
    matmul(whole, 0, a, 0, b, 0, 2, 3, 8, false);
    matmulStrided(out, 4, a, 0, b, 4, 2, 3, 4, 8, false);
    expect([...out]).toEqual([...whole].map((x, i) => (i % 8 >= 4 ? x : 0)));
    matmulNT(whole, 0, a, 0, b, 0, 2, 3, 8, false);
    matmulNTStrided(out, 4, a, 0, b, 4 * 3, 2, 3, 4, 8, false);
    expect([...out]).toEqual([...whole].map((x, i) => (i % 8 >= 4 ? x : 0)));
  });

  it('rows 2…3 of a 4×4 weight gradient aᵀ·b', () => {
    const a = Float64Array.from({ length: 12 }, (_, i) => i - 5), b = Float64Array.from({ length: 12 }, (_, i) => (i % 5) - 2);
    const whole = new Float64Array(16), out = new Float64Array(16);
    matmulTN(whole, 0, a, 0, b, 0, 4, 3, 4, false);
    matmulTNStrided(out, 2 * 4, a, 2, b, 0, 2, 3, 4, 4, false);
    expect([...out]).toEqual([...whole].map((x, i) => (i >= 8 ? x : 0)));
  });
});

describe('bias', () => {
  it('addBias adds b to every row; addBiasBackward sums rows into db', () => {
    const M = 3, N = 4, out = randn(M * N), b = randn(N), expected = out.slice();
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) expected[i * N + j]! += b[j]!;
    addBias(out, 0, b, 0, M, N);
    expectClose(out, expected);
    const db = randn(N), dbExpected = db.slice();
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) dbExpected[j]! += out[i * N + j]!;
    addBiasBackward(db, 0, out, 0, M, N);
    expectClose(db, dbExpected);
  });
});

describe('one-hot gather and scatter', () => {
  const V = 6, N = 5, M = 4, T = 3;
  const ids = Int32Array.from({ length: M * T }, () => rng.int(V)); // M rows of T; column t = 1
  it('gatherRows equals onehot(ids)·W, overwrite and accumulate', () => {
    const w = randn(V * N), x = new Float64Array(M * V);
    oneHot(x, 0, ids, 1, T, M, V);
    for (let i = 0; i < M; i++) expect(x.slice(i * V, (i + 1) * V).reduce((s, e) => s + e, 0)).toBe(1);
    const expected = new Float64Array(M * N);
    matmul(expected, 0, x, 0, w, 0, M, V, N, false);
    const out = randn(M * N);
    gatherRows(out, 0, w, 0, ids, 1, T, M, N, false);
    expectClose(out, expected);
    const before = out.slice();
    gatherRows(out, 0, w, 0, ids, 1, T, M, N, true);
    expectClose(out, before.map((e, i) => e + expected[i]!));
  });
  it('scatterAddRows adds onehot(ids)ᵀ·dout, repeated ids included', () => {
    const repeated = Int32Array.from([2, 2, 0, 2]);
    const dout = randn(M * N), dw = randn(V * N), x = new Float64Array(M * V);
    oneHot(x, 0, repeated, 0, 1, M, V);
    const expected = dw.slice();
    matmulTN(expected, 0, x, 0, dout, 0, V, M, N, true);
    scatterAddRows(dw, 0, dout, 0, repeated, 0, 1, M, N);
    expectClose(dw, expected);
  });
});

describe('softmaxCrossEntropy', () => {
  it('matches −log softmax and its gradient, including aliasing and huge logits', () => {
    const M = 4, V = 5, logits = randn(M * V).map((e) => e * 3);
    logits[7] = 800; // would overflow a naive exp
    const targets = Int32Array.from([1, 2, 0, 4]);
    let expectedLoss = 0;
    const expectedGrad = new Float64Array(M * V);
    for (let i = 0; i < M; i++) {
      const row = logits.slice(i * V, (i + 1) * V), max = Math.max(...row);
      const z = row.reduce((s, e) => s + Math.exp(e - max), 0);
      expectedLoss += -(row[targets[i]!]! - max - Math.log(z));
      for (let j = 0; j < V; j++) expectedGrad[i * V + j] = (Math.exp(row[j]! - max) / z - (j === targets[i] ? 1 : 0)) / M;
    }
    const grad = new Float64Array(M * V);
    expect(softmaxCrossEntropy(grad, 0, logits, 0, targets, 0, 1, M, V, 1 / M)).toBeCloseTo(expectedLoss, 10);
    expectClose(grad, expectedGrad);
    const aliased = logits.slice();
    expect(softmaxCrossEntropy(aliased, 0, aliased, 0, targets, 0, 1, M, V, 1 / M)).toBeCloseTo(expectedLoss, 10);
    expectClose(aliased, expectedGrad);
    expect(Number.isFinite(expectedLoss)).toBe(true);
  });
});

describe('activations', () => {
  const x = Float64Array.from([-800, -20, -1, -1e-9, 0, 0.5, 3, 40, 800]);
  it('sigmoid is 1/(1+e^−x) without overflow; backward adds dy·y(1−y)', () => {
    const y = new Float64Array(x.length);
    sigmoidForward(y, 0, x, 0, x.length);
    x.forEach((v, i) => expect(y[i]).toBeCloseTo(v > 700 ? 1 : v < -700 ? 0 : 1 / (1 + Math.exp(-v)), 15));
    expect(sigmoid(-800)).toBe(0);
    const dy = randn(x.length), dx = randn(x.length), expected = dx.map((d, i) => d + dy[i]! * y[i]! * (1 - y[i]!));
    sigmoidBackward(dx, 0, y, 0, dy, 0, x.length);
    expectClose(dx, expected);
  });
  it('tanh; backward adds dy·(1−y²)', () => {
    const y = new Float64Array(x.length);
    tanhForward(y, 0, x, 0, x.length);
    x.forEach((v, i) => expect(y[i]).toBe(Math.tanh(v)));
    const dy = randn(x.length), dx = randn(x.length), expected = dx.map((d, i) => d + dy[i]! * (1 - y[i]! ** 2));
    tanhBackward(dx, 0, y, 0, dy, 0, x.length);
    expectClose(dx, expected);
  });
  it('finite differences agree with the backward kernels', () => {
    for (const [fwd, bwd] of [[sigmoidForward, sigmoidBackward], [tanhForward, tanhBackward]] as const) {
      const xs = Float64Array.from([-3, -0.7, 0, 0.4, 2.5]), y = new Float64Array(5), dx = new Float64Array(5);
      fwd(y, 0, xs, 0, 5);
      bwd(dx, 0, y, 0, new Float64Array(5).fill(1), 0, 5);
      const f = (v: number) => { const o = new Float64Array(1); fwd(o, 0, Float64Array.of(v), 0, 1); return o[0]!; };
      xs.forEach((v, i) => expect(dx[i]).toBeCloseTo((f(v + 1e-6) - f(v - 1e-6)) / 2e-6, 8));
    }
  });
});
