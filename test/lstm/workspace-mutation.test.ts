// The workspace's blocks and the output layer's phase exactly (issue 13: Stryker survivors in
// src/lstm/workspace.ts and output.ts): a workspace holds what its shape needs and no more (no
// dropout blocks without dropout, one block set per layer), and outputForward computes the
// logits, the loss, dY and the gradient reaching the top layer against a plain reference —
// the loss-only mode leaving that gradient's block untouched.
import { describe, expect, it } from 'vitest';
import { alignedLength } from '../../src/backend/storage.js';
import { jsKernels } from '../../src/backend/table.js';
import { resolveConfig, type ModelConfigOptions } from '../../src/lstm/config.js';
import { outputForward, outputWeightGradients } from '../../src/lstm/output.js';
import { parameterLayout } from '../../src/lstm/parameters.js';
import type { Pass } from '../../src/lstm/pass.js';
import { workspaceFactory } from '../../src/lstm/workspace.js';

const f64 = (n: number): Float64Array => new Float64Array(n);
const i32 = (n: number): Int32Array => new Int32Array(n);

/** The floats a (B, T) workspace needs, summed block by block from the layout in workspace.ts. */
function expectedFloats(o: ModelConfigOptions, B: number, T: number): number {
  const c = resolveConfig(o);
  const H = c.numHiddens, V = c.vocabSize, L = c.numLayers, n = B * H, N = T * B, a = alignedLength;
  const emb = c.embeddingSize === null ? 0 : 2 * a(N * c.embeddingSize);
  const perLayer = 2 * a(4 * T * n) + 2 * a((T + 1) * n) + 2 * a(T * n) + (c.dropout > 0 ? 2 * a(T * n) : 0);
  return emb + 2 * a(L * n) + L * perLayer + a(N * V);
}

describe('workspaceFactory', () => {
  const shapes: [string, ModelConfigOptions][] = [
    ['one layer', { vocabSize: 5, numHiddens: 3 }],
    ['three layers', { vocabSize: 5, numHiddens: 3, numLayers: 3 }],
    ['dropout', { vocabSize: 7, numHiddens: 4, numLayers: 2, dropout: 0.5 }],
    ['an embedding', { vocabSize: 7, numHiddens: 4, numLayers: 2, embeddingSize: 3 }],
  ];
  for (const [what, o] of shapes) {
    it(`sizes exactly the blocks it carves (${what})`, () => {
      const f = workspaceFactory(resolveConfig(o));
      for (const [B, T] of [[1, 1], [2, 3], [5, 7]] as const) {
        expect(f.size(B, T)).toEqual({ floats: expectedFloats(o, B, T), ids: 2 * alignedLength(T * B) });
        let floats = 0, ids = 0;
        const ws = f.create(B, T, (n) => ((floats += alignedLength(n)), f64(n)), (n) => ((ids += alignedLength(n)), i32(n)));
        expect({ floats, ids }).toEqual(f.size(B, T));
        const c = resolveConfig(o), n = B * c.numHiddens;
        expect(ws.layers).toHaveLength(c.numLayers);
        expect(ws.B).toBe(B);
        expect(ws.T).toBe(T);
        expect(ws.logits).toHaveLength(T * B * c.vocabSize);
        expect(ws.emb === null).toBe(c.embeddingSize === null);
        expect(ws.dEmb === null).toBe(c.embeddingSize === null);
        ws.layers.forEach((lw, l) => {
          expect(lw.mask === null).toBe(c.dropout === 0);
          expect(lw.out === null).toBe(c.dropout === 0);
          expect(lw.hs).toHaveLength((T + 1) * n);
          expect(lw.gates).toHaveLength(4 * T * n);
          // Each layer's dh0/dc0 is its block of the workspace's (L, B, H) arrays.
          lw.dh0.fill(l + 1);
          lw.dc0.fill(-(l + 1));
        });
        expect(Array.from(ws.dh0)).toEqual(Array.from({ length: c.numLayers * n }, (_, i) => Math.floor(i / n) + 1));
        expect(Array.from(ws.dc0)).toEqual(Array.from({ length: c.numLayers * n }, (_, i) => -(Math.floor(i / n) + 1)));
      }
    });
  }
});

/** A deterministic fill in (−1, 1). */
function fill(a: Float64Array, seed: number): void {
  for (let i = 0; i < a.length; i++) a[i] = Math.sin(seed * 7.31 + i * 1.97) * 0.9;
}

describe('outputForward and outputWeightGradients', () => {
  const B = 2, T = 3, V = 5, H = 4, N = T * B;

  function setup(dropout: number, mode: 0 | 1 | 2, applyDropout: boolean) {
    const config = resolveConfig({ vocabSize: V, numHiddens: H, dropout, dtype: 'float64' });
    const layout = parameterLayout(config);
    const ws = workspaceFactory(config).create(B, T, f64, i32);
    const W = f64(layout.count), dW = f64(layout.count);
    fill(W, 1);
    const top = ws.layers[0]!;
    fill(top.hs as Float64Array, 2);
    if (top.mask !== null) for (let i = 0; i < top.mask.length; i++) top.mask[i] = i % 3 === 0 ? 0 : 2;
    for (let r = 0; r < N; r++) ws.yT[r] = (r * 3 + 1) % V;
    top.dHs.fill(Number.NaN); // a sentinel: only mode 2 writes the top layer's gradient
    const pass: Pass = { config, layout, ws, W, dW, mode, dropout: applyDropout, parts: 1, byUnits: false, recurrenceParts: 1 };
    return { pass, ws, W, dW, layout, top };
  }

  /** The reference: X (the top layer's output rows, masked when the pass drops), Y = X W_hq + b_q, the loss, dY, dX. */
  function reference(s: ReturnType<typeof setup>) {
    const { ws, W, layout, top, pass } = s;
    const X = Array.from({ length: N }, (_, r) => Array.from({ length: H }, (_, j) =>
      top.hs[(r + B) * H + j]! * (pass.dropout ? top.mask![r * H + j]! : 1)));
    const Y = X.map((x) => Array.from({ length: V }, (_, v) =>
      W[layout.output.b_q + v]! + x.reduce((s, xi, j) => s + xi * W[layout.output.W_hq + j * V + v]!, 0)));
    let loss = 0;
    const dY = Y.map((y, r) => {
      const max = Math.max(...y), z = y.reduce((s, yv) => s + Math.exp(yv - max), 0);
      loss -= y[ws.yT[r]!]! - max - Math.log(z);
      return y.map((yv, v) => (Math.exp(yv - max) / z - (v === ws.yT[r] ? 1 : 0)) / N);
    });
    const dX = dY.map((d, r) => Array.from({ length: H }, (_, j) =>
      d.reduce((s, dv, v) => s + dv * W[layout.output.W_hq + j * V + v]!, 0) * (pass.dropout ? top.mask![r * H + j]! : 1)));
    return { X, Y, loss, dY, dX };
  }

  const close = (actual: ArrayLike<number>, expected: number[]) => {
    expect(actual.length).toBe(expected.length);
    for (let i = 0; i < expected.length; i++) expect(actual[i]).toBeCloseTo(expected[i]!, 12);
  };

  for (const [what, dropout, applyDropout] of [['no dropout', 0, false], ['dropout applied', 0.5, true], ['dropout not applied (evaluation)', 0.5, false]] as const) {
    it(`mode 0: the logits only, nothing else written (${what})`, () => {
      const s = setup(dropout, 0, applyDropout);
      const ref = reference(s);
      expect(outputForward(jsKernels, s.pass, 0, 1)).toBe(0);
      close(s.ws.logits, ref.Y.flat());
      expect(Array.from(s.top.dHs).every(Number.isNaN)).toBe(true);
    });

    it(`mode 1: the summed loss and dY in place of the logits; the top layer's gradient untouched (${what})`, () => {
      const s = setup(dropout, 1, applyDropout);
      const ref = reference(s);
      expect(outputForward(jsKernels, s.pass, 0, 1)).toBeCloseTo(ref.loss, 12);
      close(s.ws.logits, ref.dY.flat());
      expect(Array.from(s.top.dHs).every(Number.isNaN)).toBe(true);
    });

    it(`mode 2, in 1, 2 and 4 parts: the loss, dY and dX = dY W_hqᵀ (masked as the output was) (${what})`, () => {
      for (const parts of [1, 2, 4]) {
        const s = setup(dropout, 2, applyDropout);
        const ref = reference(s);
        let loss = 0;
        for (let part = 0; part < parts; part++) loss += outputForward(jsKernels, s.pass, part, parts);
        expect(loss).toBeCloseTo(ref.loss, 12);
        close(s.ws.logits, ref.dY.flat());
        close(s.top.dHs, ref.dX.flat());
        // dW_hq += Xᵀ dY, db_q += Σ_rows dY, added to what is there.
        s.dW.fill(0.25);
        outputWeightGradients(jsKernels, s.pass);
        const dWhq = Array.from({ length: H * V }, (_, i) =>
          0.25 + ref.X.reduce((acc, x, r) => acc + x[Math.floor(i / V)]! * ref.dY[r]![i % V]!, 0));
        const dbq = Array.from({ length: V }, (_, v) => 0.25 + ref.dY.reduce((acc, d) => acc + d[v]!, 0));
        close(s.dW.subarray(s.layout.output.W_hq, s.layout.output.W_hq + H * V), dWhq);
        close(s.dW.subarray(s.layout.output.b_q, s.layout.output.b_q + V), dbq);
        expect(Array.from(s.dW.subarray(0, s.layout.output.W_hq)).every((g) => g === 0.25)).toBe(true);
      }
    });
  }
});
