import { describe, expect, it } from 'vitest';
import type { FunctionDef } from '../../../src/wasm/encoder.js';
import { encodeModule } from '../../../src/wasm/encoder.js';
import { addBiasBackwardKernel, addBiasKernel } from '../../../src/wasm/kernels/bias.js';
import { softmaxCrossEntropyKernel } from '../../../src/wasm/kernels/cross-entropy.js';
import { mulKernel } from '../../../src/wasm/kernels/elementwise.js';
import { gatherRowsKernel, scatterAddRowsKernel } from '../../../src/wasm/kernels/onehot.js';
import { simd } from '../helpers.js';
import { exp64, fr, log64 } from './models.js';

// The small wasm kernels (bias, one-hot, mul, softmax cross-entropy, and the vector/scalar
// loop of lanes.ts under all of them), each on its own module built inside the test, on a
// block in the middle of a memory filled with a sentinel: a kernel works on a block of a
// larger buffer (a time step of a workspace), so one turn too many, or an offset off by a
// row, writes a neighbour, which the sentinel check sees. Results are compared BIT FOR BIT
// with the float32 (or float64) operations done in the same order here. Widths 1…9 and 13
// cover the vector loop, its scalar tail, and both together.

const SENTINEL = -3.75;
const WIDTHS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 13];

type Raw = (...args: number[]) => number;

/** One module of `defs` on a fresh memory filled with the sentinel. */
function instance(defs: FunctionDef[]) {
  const memory = new WebAssembly.Memory({ initial: 2 });
  const exports = new WebAssembly.Instance(new WebAssembly.Module(encodeModule(defs, { shared: false })), { env: { memory } })
    .exports as Record<string, Raw>;
  const f = new Float32Array(memory.buffer);
  const ids = new Int32Array(memory.buffer);
  f.fill(SENTINEL);
  let top = 5;
  let seed = 1;
  const value = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return fr((seed / 2147483648) * 4 - 2);
  };
  return {
    x: exports,
    f,
    ids,
    /** Element offset of n random floats, with at least 3 sentinels before it. */
    alloc(n: number): number {
      const o = top + 3;
      for (let i = 0; i < n; i++) f[o + i] = value();
      top = o + n;
      return o;
    },
    allocIds(values: readonly number[]): number {
      const o = top + 3;
      ids.set(values, o);
      top = o + values.length;
      return o;
    },
    snapshot: () => f.slice(0, top + 8),
    /** Asserts that nothing outside [o, o + n) changed since `before`. */
    untouchedOutside(before: Float32Array, o: number, n: number): void {
      for (let i = 0; i < before.length; i++) {
        if (i >= o && i < o + n) continue;
        if (!Object.is(before[i], f[i])) throw new Error(`element ${i} outside [${o}, ${o + n}) changed`);
      }
    },
  };
}

function expectBits(got: Float32Array, expected: ArrayLike<number>): void {
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(got[i], expected[i])) throw new Error(`element ${i}: ${got[i]}, expected ${expected[i]}`);
  }
  expect(got.length).toBe(expected.length);
}

describe.skipIf(!simd)('bias kernels on a block, bit for bit', () => {
  it('addBias: out[i, j] += bias[j], every width, 1–3 rows', () => {
    for (const N of WIDTHS) {
      for (const M of [1, 2, 3]) {
        const h = instance([addBiasKernel()]);
        const bias = h.alloc(N), out = h.alloc(M * N);
        h.alloc(4);
        const before = h.snapshot();
        h.x.addBias!(4 * out, 4 * bias, M, N);
        const expected = Array.from({ length: M * N }, (_, e) => fr(before[out + e]! + before[bias + (e % N)]!));
        expectBits(h.f.slice(out, out + M * N), expected);
        h.untouchedOutside(before, out, M * N);
      }
    }
  });

  it('addBiasBackward: dbias[j] += Σ_i dout[i, j] in row order, every width, 0–5 rows', () => {
    for (const N of WIDTHS) {
      for (const M of [0, 1, 2, 5]) {
        const h = instance([addBiasBackwardKernel()]);
        const dbias = h.alloc(N), dout = h.alloc(M * N);
        h.alloc(2 * N); // a next row that must not be summed
        const before = h.snapshot();
        h.x.addBiasBackward!(4 * dbias, 4 * dout, M, N);
        const expected = Array.from({ length: N }, (_, j) => {
          let s = before[dbias + j]!;
          for (let i = 0; i < M; i++) s = fr(s + before[dout + i * N + j]!);
          return s;
        });
        expectBits(h.f.slice(dbias, dbias + N), expected);
        h.untouchedOutside(before, dbias, N);
      }
    }
  });
});

describe.skipIf(!simd)('mul on a block, bit for bit', () => {
  it('out[k] = a[k]·b[k] for every length, and in place', () => {
    for (const n of [0, ...WIDTHS, 17]) {
      const h = instance([mulKernel()]);
      const a = h.alloc(n), b = h.alloc(n), out = h.alloc(n);
      h.alloc(4);
      const before = h.snapshot();
      const expected = Array.from({ length: n }, (_, k) => fr(before[a + k]! * before[b + k]!));
      h.x.mul!(4 * out, 4 * a, 4 * b, n);
      expectBits(h.f.slice(out, out + n), expected);
      h.untouchedOutside(before, out, n);
      h.x.mul!(4 * b, 4 * a, 4 * b, n);
      expectBits(h.f.slice(b, b + n), expected);
    }
  });
});

describe.skipIf(!simd)('one-hot kernels on a block, bit for bit', () => {
  // ids at a stride of 2, the other slot an id that would be wrong (another valid row).
  const V = 5;
  const idList = [3, 0, 4, 3, 1];
  const strided = (stride: number): number[] => idList.flatMap((id) => (stride === 1 ? [id] : [id, (id + 2) % V]));

  for (const accumulate of [0, 1]) {
    it(`gatherRows, ${accumulate ? 'accumulating' : 'overwriting'}: out[i, :] ${accumulate ? '+' : ''}= w[ids[i·stride], :]`, () => {
      for (const N of WIDTHS) {
        for (const stride of [1, 2]) {
          const M = idList.length;
          const h = instance([gatherRowsKernel()]);
          const w = h.alloc(V * N), out = h.alloc(M * N);
          h.alloc(N);
          const ids = h.allocIds(strided(stride));
          const before = h.snapshot();
          h.x.gatherRows!(4 * out, 4 * w, 4 * ids, stride, M, N, accumulate);
          const expected = Array.from({ length: M * N }, (_, e) => {
            const row = before[w + idList[Math.floor(e / N)]! * N + (e % N)]!;
            return accumulate ? fr(before[out + e]! + row) : row;
          });
          expectBits(h.f.slice(out, out + M * N), expected);
          h.untouchedOutside(before, out, M * N);
        }
      }
    });
  }

  it('scatterAddRows: dw[ids[i·stride], :] += dout[i, :], repeated ids in row order', () => {
    for (const N of WIDTHS) {
      for (const stride of [1, 2]) {
        const M = idList.length;
        const h = instance([scatterAddRowsKernel()]);
        const dw = h.alloc(V * N), dout = h.alloc(M * N);
        h.alloc(N);
        const ids = h.allocIds(strided(stride));
        const before = h.snapshot();
        h.x.scatterAddRows!(4 * dw, 4 * dout, 4 * ids, stride, M, N);
        const expected = Array.from(before.subarray(dw, dw + V * N));
        for (let i = 0; i < M; i++) {
          for (let j = 0; j < N; j++) expected[idList[i]! * N + j] = fr(expected[idList[i]! * N + j]! + before[dout + i * N + j]!);
        }
        expectBits(h.f.slice(dw, dw + V * N), expected);
        h.untouchedOutside(before, dw, V * N);
      }
    }
  });
});

describe.skipIf(!simd)('softmaxCrossEntropy on a block, bit for bit with its float64 algorithm', () => {
  /** The kernel's computation, row by row, in the same order (float64, its own exp and log). */
  function model(logits: Float32Array, targets: readonly number[], M: number, V: number, scale: number) {
    const d = new Float32Array(M * V);
    let loss = 0;
    for (let i = 0; i < M; i++) {
      const row = logits.subarray(i * V, (i + 1) * V);
      let max = -Infinity;
      for (let j = 0; j < V; j++) max = row[j]! > max ? row[j]! : max;
      let sum = 0;
      for (let j = 0; j < V; j++) sum += exp64(row[j]! - max);
      const logSum = log64(sum);
      const y = targets[i]!;
      loss += logSum - (row[y]! - max);
      for (let j = 0; j < V; j++) d[i * V + j] = exp64(row[j]! - max - logSum) * scale;
      d[i * V + y] = d[i * V + y]! - scale;
    }
    return { loss, d };
  }

  const CASES: [number, number, number][] = [[1, 1, 1], [1, 4, 3], [3, 5, 2], [4, 7, 30], [2, 28, 1], [5, 3, 200]];
  for (const [M, V, spread] of CASES) {
    for (const alias of [false, true]) {
      it(`M=${M} V=${V} logits·${spread}${alias ? ', in place' : ''}`, () => {
        const h = instance([softmaxCrossEntropyKernel()]);
        const logits = h.alloc(M * V);
        for (let e = 0; e < M * V; e++) h.f[logits + e] = fr(h.f[logits + e]! * spread - 3);
        const dlogits = alias ? logits : h.alloc(M * V);
        h.alloc(V);
        const targets = Array.from({ length: M }, (_, i) => (i * 3 + 1) % V);
        // Stride 3: the slots between the targets hold ids out of range.
        const ids = h.allocIds(targets.flatMap((y) => [y, 1000 + y, -1]));
        const before = h.snapshot();
        const scale = 1 / (M + 0.5);
        const expected = model(before.slice(logits, logits + M * V), targets, M, V, scale);
        const loss = h.x.softmaxCrossEntropy!(4 * dlogits, 4 * logits, 4 * ids, 3, M, V, scale);
        expect(Object.is(loss, expected.loss)).toBe(true);
        expectBits(h.f.slice(dlogits, dlogits + M * V), expected.d);
        h.untouchedOutside(before, dlogits, M * V);
        // The algorithm is right: the loss against Math, the gradient sums to 0 per row.
        let reference = 0;
        for (let i = 0; i < M; i++) {
          const row = [...before.subarray(logits + i * V, logits + (i + 1) * V)];
          const max = Math.max(...row);
          reference += Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0)) - (row[targets[i]!]! - max);
        }
        expect(Math.abs(loss - reference)).toBeLessThanOrEqual(1e-12 * Math.max(1, reference));
      });
    }
  }

  it('a NaN logit reaches the loss and its own row only', () => {
    const h = instance([softmaxCrossEntropyKernel()]);
    const logits = h.alloc(8);
    h.f.set([NaN, 1, 2, -1, 0.5, 0.25, -4, 3], logits);
    const dlogits = h.alloc(8);
    const ids = h.allocIds([1, 3]);
    const before = h.snapshot();
    const expected = model(before.slice(logits, logits + 8), [1, 3], 2, 4, 0.5);
    const loss = h.x.softmaxCrossEntropy!(4 * dlogits, 4 * logits, 4 * ids, 1, 2, 4, 0.5);
    expect(loss).toBeNaN();
    expect(expected.loss).toBeNaN();
    expectBits(h.f.slice(dlogits, dlogits + 8), expected.d);
    expect([...h.f.slice(dlogits, dlogits + 4)]).toEqual([NaN, NaN, NaN, NaN]);
    expect(h.f.slice(dlogits + 4, dlogits + 8).every(Number.isFinite)).toBe(true);
  });

  it('returns 0 for no rows and writes nothing', () => {
    const h = instance([softmaxCrossEntropyKernel()]);
    const logits = h.alloc(4), dlogits = h.alloc(4), ids = h.allocIds([0]);
    const before = h.snapshot();
    expect(h.x.softmaxCrossEntropy!(4 * dlogits, 4 * logits, 4 * ids, 1, 0, 4, 1)).toBe(0);
    h.untouchedOutside(before, 0, 0);
  });
});
