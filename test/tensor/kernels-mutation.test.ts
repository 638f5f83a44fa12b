// The kernels of src/tensor/{activations,bias,cross-entropy,onehot}.ts as they are called:
// on a block of a larger buffer (one time step of a workspace, one parameter of the flat
// array), with ids read at a stride from a (B, T) batch. Each kernel must read and write its
// block and nothing around it, which the whole-array tests of kernels.test.ts cannot see
// (issue 13: mutation testing). References are naive loops in float64.
import { describe, expect, it } from 'vitest';
import { sigmoid, sigmoidBackward, sigmoidForward, tanhBackward, tanhForward } from '../../src/tensor/activations.js';
import { addBias, addBiasBackward } from '../../src/tensor/bias.js';
import { softmaxCrossEntropy } from '../../src/tensor/cross-entropy.js';
import { gatherRows, oneHot, scatterAddRows } from '../../src/tensor/onehot.js';

const SENTINEL = -7.25;
/** An array of `pad + n + pad` elements: `values` in the middle, SENTINEL around them. */
function padded(values: ArrayLike<number>, pad = 3): Float64Array {
  const a = new Float64Array(values.length + 2 * pad).fill(SENTINEL);
  a.set(values, pad);
  return a;
}
/** The pad elements on each side of a padded array are still SENTINEL. */
function expectPadsUntouched(a: Float64Array, n: number, pad = 3) {
  expect(Array.from(a.subarray(0, pad))).toEqual(Array(pad).fill(SENTINEL));
  expect(Array.from(a.subarray(pad + n))).toEqual(Array(a.length - pad - n).fill(SENTINEL));
}

describe('activations on a block', () => {
  // x has real values after the block, so a kernel that runs one step too far changes y.
  const xs = [-2, -0.5, 0.25, 1.5];
  const x = Float64Array.from([...xs, 3, 4, 5]);
  for (const [name, fwd, f] of [
    ['sigmoidForward', sigmoidForward, (v: number) => 1 / (1 + Math.exp(-v))],
    ['tanhForward', tanhForward, Math.tanh],
  ] as const) {
    it(`${name} writes y[yo … yo + n) only`, () => {
      const y = padded(new Float64Array(xs.length).fill(SENTINEL));
      fwd(y, 3, x, 0, xs.length);
      xs.forEach((v, i) => expect(y[3 + i]).toBeCloseTo(f(v), 15));
      expectPadsUntouched(y, xs.length);
    });
  }
  for (const [name, bwd, d] of [
    ['sigmoidBackward', sigmoidBackward, (y: number) => y * (1 - y)],
    ['tanhBackward', tanhBackward, (y: number) => 1 - y * y],
  ] as const) {
    it(`${name} adds into dx[dxo … dxo + n) only`, () => {
      const y = Float64Array.from([0.1, 0.7, -0.3, 0.9, 0.5, 0.5]), dy = Float64Array.from([1, -2, 3, 0.5, 4, 4]);
      const dx = padded([0.5, 0.5, 0.5, 0.5]);
      bwd(dx, 3, y, 0, dy, 0, 4);
      for (let i = 0; i < 4; i++) expect(dx[3 + i]).toBeCloseTo(0.5 + dy[i]! * d(y[i]!), 15);
      expectPadsUntouched(dx, 4);
    });
  }
  it('sigmoid keeps its relative accuracy where e^−x overflows (x < −709.8)', () => {
    // σ(x) = e^x / (1 + e^x) = e^x to double precision there; 1 / (1 + e^−x) would be 1/∞ = 0.
    for (const v of [-710, -720, -740]) {
      expect(sigmoid(v)).toBeGreaterThan(0);
      expect(sigmoid(v)).toBe(Math.exp(v));
    }
  });
});

describe('bias on a block', () => {
  const M = 3, N = 2;
  it('addBias adds b to the M×N block only', () => {
    const block = [1, 2, 3, 4, 5, 6], out = padded(block), b = Float64Array.from([10, 20, 99]);
    addBias(out, 3, b, 0, M, N);
    expect(Array.from(out.subarray(3, 3 + M * N))).toEqual([11, 22, 13, 24, 15, 26]);
    expectPadsUntouched(out, M * N);
  });
  it('addBiasBackward adds the column sums into db[dbo … dbo + N) only', () => {
    const dout = Float64Array.from([1, 2, 3, 4, 5, 6, 100, 200]), db = padded([0.5, -0.5]);
    addBiasBackward(db, 3, dout, 0, M, N);
    expect(Array.from(db.subarray(3, 5))).toEqual([9.5, 11.5]);
    expectPadsUntouched(db, N);
  });
});

describe('softmaxCrossEntropy on a block', () => {
  /** −Σ log softmax(row)[target] and (softmax − onehot)·scale, row by row in float64. */
  function reference(rows: number[][], targets: number[], scale: number) {
    let loss = 0;
    const grad: number[] = [];
    rows.forEach((row, i) => {
      const max = Math.max(...row), z = row.reduce((s, e) => s + Math.exp(e - max), 0);
      loss -= row[targets[i]!]! - max - Math.log(z);
      row.forEach((e, j) => grad.push((Math.exp(e - max) / z - (j === targets[i] ? 1 : 0)) * scale));
    });
    return { loss, grad };
  }

  it('takes each row’s own maximum: a row whose later logit is ≫ its first', () => {
    // Shifting by anything but the row's maximum overflows exp (e^1000) or underflows every term.
    const rows = [[0, 1000, 1], [2000, 0, 3], [5, -1, 2]], targets = [1, 0, 2];
    const logits = Float64Array.from([...rows.flat(), 5000]); // and a huge value just after the block
    const grad = padded(new Float64Array(9));
    const loss = softmaxCrossEntropy(grad, 3, logits, 0, Int32Array.from(targets), 0, 1, 3, 3, 0.5);
    const ref = reference(rows, targets, 0.5);
    expect(Number.isFinite(loss)).toBe(true);
    expect(loss).toBeCloseTo(ref.loss, 10);
    ref.grad.forEach((g, k) => expect(grad[3 + k]).toBeCloseTo(g, 12));
    expectPadsUntouched(grad, 9);
  });

  it('reads targets at ti + i·stride (column t of a (B, T) batch)', () => {
    const rows = [[1, 2, 3], [3, 1, 0], [0, 0, 4]];
    // B = 3 rows of T = 4 ids; column t = 2 holds the targets 1, 0, 2; the others would be wrong.
    const batch = Int32Array.from([0, 0, 1, 0, 2, 2, 0, 2, 1, 1, 2, 1]);
    const targets = [1, 0, 2];
    const grad = new Float64Array(9);
    const loss = softmaxCrossEntropy(grad, 0, Float64Array.from(rows.flat()), 0, batch, 2, 4, 3, 3, 1);
    const ref = reference(rows, targets, 1);
    expect(loss).toBeCloseTo(ref.loss, 12);
    ref.grad.forEach((g, k) => expect(grad[k]).toBeCloseTo(g, 12));
  });
});

describe('one-hot kernels on a block', () => {
  const V = 4, N = 3, M = 3, T = 3;
  // Ids at column 1 of a (M, T) batch, with a (M + 1)-th row after them, as in a larger batch.
  const batch = Int32Array.from([0, 3, 1, 2, 1, 0, 1, 0, 2, 3, 2, 3]);
  const ids = [3, 1, 0]; // batch[1 + i·T]
  const w = Float64Array.from({ length: V * N }, (_, k) => k + 1); // row r = [3r+1, 3r+2, 3r+3]

  it('oneHot clears the whole M×V block first and writes nothing after it', () => {
    const out = padded(new Float64Array(M * V).fill(5)); // stale values in the block
    oneHot(out, 3, batch, 1, T, M, V);
    const expected = ids.flatMap((id) => Array.from({ length: V }, (_, j) => (j === id ? 1 : 0)));
    expect(Array.from(out.subarray(3, 3 + M * V))).toEqual(expected);
    expectPadsUntouched(out, M * V);
  });

  it('gatherRows writes rows ids[i] of W into the M×N block only, overwrite and accumulate', () => {
    const expected = ids.flatMap((id) => Array.from(w.subarray(id * N, id * N + N)));
    const out = padded(new Float64Array(M * N).fill(0.5));
    gatherRows(out, 3, w, 0, batch, 1, T, M, N, false);
    expect(Array.from(out.subarray(3, 3 + M * N))).toEqual(expected);
    expectPadsUntouched(out, M * N);
    gatherRows(out, 3, w, 0, batch, 1, T, M, N, true);
    expect(Array.from(out.subarray(3, 3 + M * N))).toEqual(expected.map((e) => 2 * e));
    expectPadsUntouched(out, M * N);
  });

  it('scatterAddRows adds dout’s rows into rows ids[io + i·stride] of dW only', () => {
    const dout = Float64Array.from([1, 2, 3, 10, 20, 30, 100, 200, 300, 7, 7, 7]); // a 4th row after the block
    const dw = padded(new Float64Array(V * N));
    scatterAddRows(dw, 3, dout, 0, batch, 1, T, M, N);
    const expected = new Float64Array(V * N);
    ids.forEach((id, i) => { for (let j = 0; j < N; j++) expected[id * N + j]! += dout[i * N + j]!; });
    expect(Array.from(dw.subarray(3, 3 + V * N))).toEqual(Array.from(expected));
    expectPadsUntouched(dw, V * N);
  });
});
