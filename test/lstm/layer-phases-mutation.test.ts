// The layer phases' contracts that results cannot show (issue 13: Stryker survivors in
// src/lstm/layer.ts). Every split gives the same numbers by design (test/lstm/split.test.ts),
// so these check the work itself: the parts of a phase tile its rows (or its hidden units, on
// multiples of 8) exactly once; the recurrence drivers run one phase by batch rows or one per
// step by units (T forward, T + 1 backward, t in order), and hand the webgpu backend its fused
// dispatches instead; embeddingBackward is one task, and a no-op without an embedding.
import { describe, expect, it, vi } from 'vitest';
import { jsKernels, type Kernels } from '../../src/backend/table.js';
import { resolveConfig } from '../../src/lstm/config.js';
import {
  embeddingBackward, layerInputBackward, layerInputForward, layerRecurrenceBackward, layerRecurrenceForward,
  layerStepBackward, layerStepForward, recurrenceBackward, recurrenceForward,
} from '../../src/lstm/layer.js';
import { parameterLayout } from '../../src/lstm/parameters.js';
import type { LayerContext, Pass } from '../../src/lstm/pass.js';
import type { Runner } from '../../src/lstm/runner.js';
import { workspaceFactory } from '../../src/lstm/workspace.js';

const gpuCalls: string[] = [];
vi.mock('../../src/webgpu/recurrence.js', async (original) => ({
  ...(await original<object>()),
  gpuRecurrenceForward: (_gpu: unknown, c: LayerContext) => gpuCalls.push(`forward l${c.l}`),
  gpuRecurrenceBackward: (_gpu: unknown, c: LayerContext) => gpuCalls.push(`backward l${c.l}`),
}));

/** jsKernels that log every call's name and arguments (arrays by their role, numbers as they are). */
function recording(names: Map<unknown, string>): { k: Kernels; calls: [string, unknown[]][] } {
  const calls: [string, unknown[]][] = [];
  const k = Object.fromEntries(Object.entries(jsKernels).map(([name, f]) => [name, (...args: unknown[]) => {
    calls.push([name, args.map((a) => (typeof a === 'number' ? a : names.get(a) ?? '?'))]);
    return (f as (...a: unknown[]) => number)(...args);
  }])) as unknown as Kernels;
  return { k, calls };
}

function setup(o: { H: number; L?: number; E?: number; dropout?: number; B?: number; T?: number }) {
  const B = o.B ?? 3, T = o.T ?? 4, V = 6;
  const config = resolveConfig({ vocabSize: V, numHiddens: o.H, numLayers: o.L ?? 1, embeddingSize: o.E, dropout: o.dropout ?? 0, dtype: 'float64' });
  const layout = parameterLayout(config);
  const ws = workspaceFactory(config).create(B, T, (n) => new Float64Array(n), (n) => new Int32Array(n));
  const W = new Float64Array(layout.count).map((_, i) => Math.sin(i) * 0.3), dW = new Float64Array(layout.count);
  for (let r = 0; r < T * B; r++) ws.xT[r] = r % V;
  const names = new Map<unknown, string>([[W, 'W'], [dW, 'dW'], [ws.logits, 'logits']]);
  if (ws.emb !== null) names.set(ws.emb, 'emb');
  ws.layers.forEach((lw, l) => {
    for (const [key, a] of Object.entries(lw)) if (a !== null) names.set(a, `${key}${l}`);
  });
  const pass: Pass = { config, layout, ws, W, dW, mode: 2, dropout: (o.dropout ?? 0) > 0, parts: 1, byUnits: false, recurrenceParts: 1 };
  return { pass, names, B, T, H: o.H, N: T * B };
}

/** Sorted [start, end) intervals tile [0, total) exactly once. */
function expectTiles(intervals: [number, number][], total: number): void {
  const sorted = intervals.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  let at = 0;
  for (const [a, b] of sorted) {
    expect(a).toBe(at);
    at = b;
  }
  expect(at).toBe(total);
}

/**
 * Layer l's weight-gradient calls, sorted out by what they write (their out offset against the
 * layout): per gate the rows of dW_hg and of dW_xg made by matmulTN (whole) or matmulTNStrided
 * (a block of rows), dW_xg made whole (matmulTN over I rows, or a one-hot scatter), db_g; and the
 * output layer's.
 */
function weightCalls(calls: [string, unknown[]][], s: ReturnType<typeof setup>, l: number) {
  const { layout } = s.pass, H = s.H, I = layout.layers[l]!.inputSize;
  const gates = layout.layers[l]!.gates.map((gp) => {
    // Blocks of rows of the weight at `base`, `size` floats (H·H, or I·H for dW_xg).
    const rows = (base: number, size: number): [number, number][] => calls
      .filter(([name, a]) => (name === 'matmulTN' || name === 'matmulTNStrided') && a[0] === 'dW' &&
        (a[1] as number) >= base && (a[1] as number) < base + size && (name === 'matmulTNStrided' || a[6] === H))
      .map(([, a]): [number, number] => [((a[1] as number) - base) / H, ((a[1] as number) - base) / H + (a[6] as number)]);
    return {
      h: rows(gp.W_h, H * H),
      x: I === H ? rows(gp.W_x, I * H) : [],
      xWhole: calls.filter(([name, a]) => a[1] === gp.W_x && (name === 'scatterAddRows' || (name === 'matmulTN' && a[6] !== H))).length,
      bias: calls.filter(([name, a]) => name === 'addBiasBackward' && a[1] === gp.b).length,
    };
  });
  const output = calls.filter(([name, a]) => (name === 'matmulTN' || name === 'addBiasBackward') &&
    (a[1] === layout.output.W_hq || a[1] === layout.output.b_q)).length;
  return { gates, output };
}

/** Flops a recorded call costs, as weightGradientShare counts them (products 2·M·K·N, sums 16 a term). */
function flops([name, a]: [string, unknown[]]): number {
  const n = a as number[];
  if (name === 'matmulTN' || name === 'matmulTNStrided') return 2 * n[6]! * n[7]! * n[8]!;
  if (name === 'addBiasBackward') return 16 * n[4]! * n[5]!;
  if (name === 'scatterAddRows') return 16 * n[7]! * n[8]!;
  return 0;
}

describe('the weight gradients, shared out by their cost', () => {
  const cases = [
    [{ H: 40 }, 0, 'one-hot: a scatter per gate'],
    [{ H: 40, L: 2 }, 1, 'X rows H long: dW_xg in rows with dW_hg'],
    [{ H: 44, E: 3 }, 0, 'an embedding: dW_xg whole'],
    [{ H: 12, L: 2, E: 5 }, 1, 'not the top layer: no output layer'],
    [{ H: 11, L: 2 }, 1, 'H = 11: the rows past the last multiple of 4 go to the last part'],
  ] as const;
  for (const [o, l, what] of cases) {
    it(`every row once, cut at multiples of 4; each head and the output layer once, whole (${what})`, () => {
      for (const parts of [1, 2, 3, 4, 5, 9, 16, 40]) {
        const s = setup(o);
        const { k, calls } = recording(s.names);
        const byPart: [string, unknown[]][][] = [];
        for (let part = 0; part < parts; part++) {
          const before = calls.length;
          layerInputBackward(k, { pass: s.pass, l, t: 0 }, part, parts);
          byPart.push(calls.slice(before));
        }
        const I = s.pass.layout.layers[l]!.inputSize, oneHot = l === 0 && !('E' in o), sliceX = !oneHot && I === s.H;
        const { gates, output } = weightCalls(calls, s, l);
        expect(output, `${parts} parts`).toBe(l === s.pass.config.numLayers - 1 ? 2 : 0); // dW_hq and db_q
        for (const gate of gates) {
          expectTiles(gate.h, s.H);
          for (const [a, b] of gate.h) for (const cut of [a, b]) if (cut !== s.H) expect(cut % 4).toBe(0);
          if (sliceX) expect(gate.x).toEqual(gate.h); // the same rows, in the same calls' parts
          else expect(gate.x).toEqual([]);
          expect(gate.xWhole).toBe(sliceX ? 0 : 1);
          expect(gate.bias).toBe(1);
        }
        // Each part's share of a head (db_g and a whole dW_xg) or of the output layer is all or nothing.
        for (const mine of byPart) {
          const w = weightCalls(mine, s, l);
          for (const gate of w.gates) expect(gate.xWhole).toBe(sliceX ? 0 : gate.bias);
          expect([0, 2]).toContain(w.output);
        }
      }
    });
  }

  // The benchmark's shape (H 256, V 28, N 1120) with a one-hot input, an embedding (E 64: each
  // gate's dW_xg whole, 2·N·E·H flops) and as the layer above another (dW_xg in rows).
  const shapes = [[{ H: 256, B: 32, T: 35 }, 0], [{ H: 256, B: 32, T: 35, E: 64 }, 0], [{ H: 256, B: 32, T: 35, L: 2 }, 1]] as const;
  for (const [o, l] of shapes) it(`even shares: no part has much more than 1/parts of the work (${JSON.stringify(o)}, layer ${l})`, () => {
    const s = setup(o);
    Object.assign(s.pass, { config: { ...s.pass.config, vocabSize: 28 } }); // the output layer's V: only its flops are counted
    const calls: [string, unknown[]][] = [];
    const k = Object.fromEntries(Object.keys(jsKernels).map((name) => [name, (...args: unknown[]) => {
      calls.push([name, args]);
      return 0;
    }])) as unknown as Kernels; // records only: the products are not computed
    for (const parts of [2, 3, 4, 8, 16]) {
      const work: number[] = [];
      for (let part = 0; part < parts; part++) {
        calls.length = 0;
        layerInputBackward(k, { pass: s.pass, l, t: 0 }, part, parts);
        work.push(calls.reduce((sum, c) => sum + flops(c), 0));
      }
      const total = work.reduce((a, b) => a + b, 0);
      // Up to a block of 4 rows over the share (1.03 at 16 parts); with the embedding's heads
      // (db_g and dW_xg whole: 41 Mflop, the share at 16 parts 48) the parts are filled in order,
      // and a head that does not fit in what is left of a part begins the next: 1.19.
      expect(Math.max(...work) / (total / parts), `${parts} parts`).toBeLessThan('E' in o && parts === 16 ? 1.2 : 1.04);
    }
  });

  it('the capacity is worked out once per part count and kept in the layer\'s context', () => {
    const s = setup({ H: 40 });
    const c: LayerContext = { pass: s.pass, l: 0, t: 0 };
    const count = (part: number, parts: number): number => {
      const { k, calls } = recording(s.names);
      layerInputBackward(k, c, part, parts);
      return calls.filter(([name]) => name !== 'matmulNT').length;
    };
    count(0, 3);
    expect(c.shareParts).toBe(3);
    const capacity = c.shareCapacity!;
    expect(capacity).toBeGreaterThan(0);
    c.shareCapacity = Infinity; // kept: part 0 now takes everything
    expect([count(0, 3), count(1, 3), count(2, 3)]).toEqual([2 + 4 * 2 + 4, 0, 0]); // output (2), heads (scatter, bias), gates
    count(0, 2); // another count: worked out again
    expect(c.shareParts).toBe(2);
    expect(c.shareCapacity).toBeLessThan(Infinity);
  });

  it('every weight-gradient product adds into the gradient, and one part makes whole gates by matmulTN', () => {
    for (const [o, l] of [[{ H: 40 }, 0], [{ H: 40, L: 2 }, 1], [{ H: 44, E: 3 }, 0]] as const) {
      for (const parts of [1, 2, 3, 9]) {
        const s = setup(o);
        s.pass.ws.layers[l]!.dGates.forEach((_, i, a) => (a[i] = Math.sin(0.7 * i)));
        const { k, calls } = recording(s.names);
        const run = (start: number): number[] => {
          s.pass.dW.fill(start);
          for (let part = 0; part < parts; part++) layerInputBackward(k, { pass: s.pass, l, t: 0 }, part, parts);
          return Array.from(s.pass.dW, (g) => g - start);
        };
        const fromZero = run(0), fromThousand = run(1000); // a product that overwrote would lose the 1000
        fromThousand.forEach((g, i) => expect(g, `${parts} parts, [${i}]`).toBeCloseTo(fromZero[i]!, 8));
        if (parts === 1) expect(calls.filter(([name]) => name === 'matmulTNStrided')).toEqual([]);
      }
    }
  });
});

describe('the parts of a phase tile its work', () => {
  for (const parts of [2, 3, 5]) {
    it(`layerInputForward: each gate's rows, in ${parts} parts (one-hot, embedding, a layer above dropout)`, () => {
      for (const [o, l] of [[{ H: 4 }, 0], [{ H: 4, E: 3 }, 0], [{ H: 4, L: 2, dropout: 0.5 }, 1], [{ H: 4, L: 2 }, 1]] as const) {
        const s = setup(o);
        const { k, calls } = recording(s.names);
        for (let part = 0; part < parts; part++) layerInputForward(k, { pass: s.pass, l, t: 0 }, part, parts);
        const Tn = s.T * s.B * s.H;
        // addBias(gates, z, W, b, R, H): one call per gate per part, z = g·Tn + r0·H.
        const bias = calls.filter(([name]) => name === 'addBias').map(([, a]) => a as number[]);
        expect(bias).toHaveLength(4 * parts);
        for (let g = 0; g < 4; g++) {
          const rows = bias.filter((a) => Math.floor(a[1]! / Tn) === g).map((a): [number, number] => {
            const r0 = (a[1]! - g * Tn) / s.H;
            return [r0, r0 + a[4]!];
          });
          expectTiles(rows, s.N);
        }
        // The masked rows of the layer below (with dropout) and the embedded rows tile N too.
        const mul = calls.filter(([name]) => name === 'mul').map(([, a]): [number, number] => [(a[1] as number) / s.H, ((a[1] as number) + (a[6] as number)) / s.H]);
        if (s.pass.dropout) expectTiles(mul, s.N);
        else expect(mul).toEqual([]);
        const gathers = calls.filter(([name, a]) => name === 'gatherRows' && a[0] === 'emb').map(([, a]): [number, number] => [a[5] as number, (a[5] as number) + (a[7] as number)]);
        if ('E' in o) expectTiles(gathers, s.N);
        else expect(gathers).toEqual([]);
      }
    });

    it(`layerInputBackward: dX's rows in ${parts} parts, each gate's weight gradients once (+ the output layer's once)`, () => {
      // (H 6 one-hot: the input's width V = 6 is H's, yet a one-hot input has no rows to slice.)
      for (const [o, l] of [[{ H: 4, E: 3 }, 0], [{ H: 4, L: 2, dropout: 0.5 }, 1], [{ H: 4, L: 2, E: 3 }, 0], [{ H: 6 }, 0]] as const) {
        const s = setup(o);
        const { k, calls } = recording(s.names);
        for (let part = 0; part < parts; part++) layerInputBackward(k, { pass: s.pass, l, t: 0 }, part, parts);
        const Tn = s.T * s.B * s.H, I = s.pass.layout.layers[l]!.inputSize;
        // matmulNT(dx, r0·I, dGates, g·Tn + r0·H, W, W_x, R, H, I, g > 0)
        const dx = calls.filter(([name, a]) => name === 'matmulNT').map(([, a]) => a as number[]);
        const oneHot = !('E' in o) && l === 0; // no dX: a one-hot input has no gradient
        if (oneHot) expect(dx).toEqual([]);
        for (let g = 0; g < 4 && !oneHot; g++) {
          const rows = dx.filter((a) => Math.floor(a[3]! / Tn) === g).map((a): [number, number] => [a[1]! / I, a[1]! / I + a[6]!]);
          expectTiles(rows, s.N);
        }
        const last = l === s.pass.config.numLayers - 1;
        expect(calls.filter(([name]) => name === 'addBiasBackward')).toHaveLength(last ? 5 : 4);
        // The weight gradients: each row once, by matmulTN (a whole gate) or matmulTNStrided;
        // dW_xg in rows where X's rows are H long (I = H: a layer above the first), else whole.
        const sliceX = I === s.H && !oneHot;
        const w = weightCalls(calls, s, l);
        expect(w.output).toBe(last ? 2 : 0);
        for (const gate of w.gates) {
          expectTiles(gate.h, s.H);
          if (sliceX) expectTiles(gate.x, s.H);
          expect(gate.xWhole).toBe(sliceX ? 0 : 1);
        }
        expect(calls.filter(([name]) => name === 'scatterAddRows')).toHaveLength(oneHot ? 4 : 0);
      }
    });

    it(`layerStepForward/Backward: the hidden units in blocks of 8, in ${parts} parts`, () => {
      for (const H of [5, 8, 20, 33]) {
        const s = setup({ H });
        const c: LayerContext = { pass: s.pass, l: 0, t: 1 };
        const blocks = Math.ceil(H / 8);
        const expected: [number, number][] = [];
        for (let part = 0; part < parts; part++) {
          const a = Math.min(H, 8 * Math.floor((part * blocks) / parts)), b = Math.min(H, 8 * Math.floor(((part + 1) * blocks) / parts));
          if (b > a) expected.push([a, b]);
        }
        for (const [phase, kernel] of [[layerStepForward, 'matmulStrided'], [layerStepBackward, 'matmulNTStrided']] as const) {
          const { k, calls } = recording(s.names);
          const seen: [number, number][] = [];
          for (let part = 0; part < parts; part++) {
            const before = calls.length;
            phase(k, c, part, parts);
            // (out, outOffset, …, rows B, inner, J, …): gate i's columns j0…j0+J of step t.
            const mine = calls.slice(before).filter(([name]) => name === kernel).map(([, a]) => a as number[]);
            if (mine.length === 0) continue;
            expect(mine).toHaveLength(4);
            const j0 = mine[0]![1]! - c.t * s.B * H; // step t's row block starts at t·B·H in both
            seen.push([j0, j0 + mine[0]![8]!]);
          }
          expect(seen).toEqual(expected);
          expectTiles(seen, H);
          // A part with no units makes no kernel call at all.
          expect(calls.filter(([name]) => name === kernel)).toHaveLength(4 * expected.length);
        }
      }
    });

    it(`layerRecurrenceForward/Backward: the batch rows, in ${parts} parts`, () => {
      const s = setup({ H: 4, B: 4 });
      for (const phase of [layerRecurrenceForward, layerRecurrenceBackward]) {
        const { k, calls } = recording(s.names);
        for (let part = 0; part < parts; part++) phase(k, { pass: s.pass, l: 0, t: 0 }, part, parts);
        const cell = phase === layerRecurrenceForward ? 'lstmCellForward' : 'lstmCellBackward';
        for (let t = 0; t < s.T; t++) {
          const rows = calls.filter(([name, a]) => name === cell && Math.floor((a[1] as number) / (s.B * s.H)) === t)
            .map(([, a]): [number, number] => {
              const b0 = ((a[1] as number) - t * s.B * s.H) / s.H;
              return [b0, b0 + (a[a.length - 1] as number) / s.H];
            });
          expectTiles(rows, s.B);
        }
      }
    });
  }
});

describe('the recurrence drivers', () => {
  function fakeRunner(gpu: unknown) {
    const runs: string[] = [];
    const runner = {
      gpu,
      run: (phase: { name: string }, c: LayerContext, parts: number) => {
        runs.push(`${phase.name} l${c.l} t${c.t} ×${parts}`);
        return 0;
      },
    } as unknown as Runner<unknown>;
    return { runner, runs };
  }

  it('by batch rows: one phase each way; by hidden units: T steps forward, T + 1 back (t = T−1 … −1)', () => {
    const s = setup({ H: 4, T: 3 });
    const c: LayerContext = { pass: s.pass, l: 1, t: 99 };
    s.pass.recurrenceParts = 2;
    s.pass.byUnits = false;
    let f = fakeRunner(undefined);
    recurrenceForward(f.runner, c);
    recurrenceBackward(f.runner, c);
    expect(f.runs).toEqual(['layerRecurrenceForward l1 t99 ×2', 'layerRecurrenceBackward l1 t99 ×2']);
    s.pass.byUnits = true;
    s.pass.recurrenceParts = 3;
    f = fakeRunner(undefined);
    recurrenceForward(f.runner, c);
    recurrenceBackward(f.runner, c);
    expect(f.runs).toEqual([
      'layerStepForward l1 t0 ×3', 'layerStepForward l1 t1 ×3', 'layerStepForward l1 t2 ×3',
      'layerStepBackward l1 t2 ×3', 'layerStepBackward l1 t1 ×3', 'layerStepBackward l1 t0 ×3', 'layerStepBackward l1 t-1 ×3',
    ]);
  });

  it('on the webgpu backend: the fused dispatches, and no phase', () => {
    const s = setup({ H: 4 });
    for (const byUnits of [false, true]) {
      s.pass.byUnits = byUnits;
      gpuCalls.length = 0;
      const f = fakeRunner({});
      recurrenceForward(f.runner, { pass: s.pass, l: 2, t: 0 });
      recurrenceBackward(f.runner, { pass: s.pass, l: 2, t: 0 });
      expect(gpuCalls).toEqual(['forward l2', 'backward l2']);
      expect(f.runs).toEqual([]);
    }
  });
});

describe('embeddingBackward', () => {
  it('part 0 adds dEmb\'s rows into dW_embed by token; other parts, and a model without an embedding, do nothing', () => {
    const s = setup({ H: 4, E: 3 });
    const { ws, layout, dW } = s.pass;
    const E = 3, V = 6;
    ws.dEmb!.forEach((_, i, a) => (a[i] = Math.cos(i)));
    dW.fill(0.5);
    expect(embeddingBackward(jsKernels, s.pass, 1)).toBe(0);
    expect(embeddingBackward(jsKernels, s.pass, 2)).toBe(0);
    expect(Array.from(dW).every((g) => g === 0.5)).toBe(true);
    expect(embeddingBackward(jsKernels, s.pass, 0)).toBe(0);
    const expected = new Float64Array(layout.count).fill(0.5);
    for (let r = 0; r < s.N; r++) for (let e = 0; e < E; e++) expected[layout.embed + ws.xT[r]! * E + e]! += ws.dEmb![r * E + e]!;
    expect(Array.from(dW)).toEqual(Array.from(expected));
    expect(layout.embed + V * E).toBeLessThanOrEqual(layout.count);

    const one = setup({ H: 4 });
    one.pass.dW.fill(0.5);
    expect(embeddingBackward(jsKernels, one.pass, 0)).toBe(0);
    expect(Array.from(one.pass.dW).every((g) => g === 0.5)).toBe(true);
  });
});
