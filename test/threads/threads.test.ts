import { describe, expect, it } from 'vitest';
import { LSTMLanguageModel } from '../../src/lstm/model.js';
import { clipGradNorm } from '../../src/optim/clip.js';
import { SGD } from '../../src/optim/sgd.js';
import { Random } from '../../src/tensor/random.js';
import { WASM_SCRATCH_BYTES, wasmSimdSupported } from '../../src/backend/wasm.js';
import { nodeWorkerFactory } from '../../node/index.js';

// Threads split every phase into parts that never write the same memory; each part runs the
// same kernel calls whichever thread runs it, so a threaded model computes exactly what a
// one-thread model with the same split would. Against threads: 1 only the order in which
// the parts' losses are summed differs: agreement to 1e-6 relative.

const simd = wasmSimdSupported();
const V = 13, H = 20, B = 7, T = 6; // B odd: uneven parts

function train(threads: number, steps = 8) {
  const rng = new Random(4);
  const model = new LSTMLanguageModel({ vocabSize: V, numHiddens: H, seed: 2, initScale: 0.3, threads, createWorker: nodeWorkerFactory });
  const sgd = new SGD(model.parameters(), { lr: 1 });
  const state = model.initState(B);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const X = { data: Int32Array.from({ length: B * T }, () => rng.int(V)), batchSize: B, numSteps: T };
    model.zeroGrad();
    losses.push(model.forwardBackward(X, X, state).loss);
    clipGradNorm(model.parameters(), 1);
    sgd.step();
  }
  const result = { losses, params: model.flatParameters.slice(), h: state.h.slice(), threads: model.threads };
  return { model, ...result };
}

async function waitForWorkers(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 300));
}

describe.skipIf(!simd)('threads', () => {
  it('two threads train the same model as one', async () => {
    const one = train(1);
    const warm = new LSTMLanguageModel({ vocabSize: V, numHiddens: H, threads: 2, createWorker: nodeWorkerFactory });
    await waitForWorkers(); // workers compile nothing: the module is cached and posted
    warm.dispose();
    const { model, ...two } = train(2);
    try {
      expect(two.threads).toBe(2);
      two.losses.forEach((l, i) => expect(Math.abs(l - one.losses[i]!)).toBeLessThan(1e-6 * l));
      const scale = Math.max(...Array.from(one.params, Math.abs));
      for (let i = 0; i < one.params.length; i++) {
        if (Math.abs(two.params[i]! - one.params[i]!) > 1e-6 * scale) expect.fail(`parameter ${i}: ${two.params[i]} vs ${one.params[i]}`);
      }
    } finally {
      model.dispose();
    }
  });

  it('H = 512: the products pack their operands, each thread in its own scratch; two threads still train as one', async () => {
    // Rows of W_h and dZ are 2 KiB apart from H = 512: the products copy panels of them to
    // the thread's scratch (after the gradients; WASM_SCRATCH_BYTES a thread).
    const run = (model: LSTMLanguageModel): number[] => {
      const rng = new Random(9);
      const sgd = new SGD(model.parameters(), { lr: 0.5 });
      const state = model.initState(4);
      const losses: number[] = [];
      for (let s = 0; s < 2; s++) {
        const X = { data: Int32Array.from({ length: 4 * 3 }, () => rng.int(5)), batchSize: 4, numSteps: 3 };
        model.zeroGrad();
        losses.push(model.forwardBackward(X, X, state).loss);
        sgd.step();
      }
      return losses;
    };
    const make = (threads: number) => new LSTMLanguageModel({ vocabSize: 5, numHiddens: 512, seed: 3, threads, createWorker: nodeWorkerFactory });
    const one = make(1), two = make(2);
    try {
      await waitForWorkers();
      const expected = run(one);
      const losses = run(two);
      losses.forEach((l, i) => expect(Math.abs(l - expected[i]!)).toBeLessThan(1e-6 * l));
      const p1 = one.flatParameters, p2 = two.flatParameters;
      let scale = 0;
      for (const x of p1) scale = Math.max(scale, Math.abs(x));
      for (let i = 0; i < p1.length; i++) if (Math.abs(p2[i]! - p1[i]!) > 1e-6 * scale) expect.fail(`parameter ${i}: ${p2[i]} vs ${p1[i]}`);
      const scratch = (model: LSTMLanguageModel, lane: number): Uint8Array =>
        new Uint8Array(model.flatParameters.buffer, 8 * Math.ceil(model.flatParameters.length / 4) * 4 + lane * WASM_SCRATCH_BYTES, WASM_SCRATCH_BYTES);
      expect(scratch(one, 0).some((x) => x !== 0)).toBe(true);
      expect(scratch(two, 0).some((x) => x !== 0)).toBe(true);
      expect(scratch(two, 1).some((x) => x !== 0)).toBe(true); // the worker's own
    } finally {
      one.dispose();
      two.dispose();
    }
  });

  it('results do not depend on whether the workers have started: bit-identical', async () => {
    const early = train(2); // the first steps run before the workers are ready
    await waitForWorkers();
    const late = new LSTMLanguageModel({ vocabSize: V, numHiddens: H, seed: 2, initScale: 0.3, threads: 2, createWorker: nodeWorkerFactory });
    await waitForWorkers();
    // Re-run the same training on the model whose workers are surely running.
    const rng = new Random(4);
    const sgd = new SGD(late.parameters(), { lr: 1 });
    const state = late.initState(B);
    const losses: number[] = [];
    for (let s = 0; s < 8; s++) {
      const X = { data: Int32Array.from({ length: B * T }, () => rng.int(V)), batchSize: B, numSteps: T };
      late.zeroGrad();
      losses.push(late.forwardBackward(X, X, state).loss);
      clipGradNorm(late.parameters(), 1);
      sgd.step();
    }
    expect(losses).toEqual(early.losses);
    expect(Buffer.from(late.flatParameters.slice().buffer).equals(Buffer.from(early.params.buffer))).toBe(true);
    late.dispose();
    early.model.dispose();
  });

  it('after dispose the model keeps working on one thread', async () => {
    const model = new LSTMLanguageModel({ vocabSize: V, numHiddens: H, seed: 2, threads: 2, createWorker: nodeWorkerFactory });
    await waitForWorkers();
    const X = [[1, 2, 3], [4, 5, 6]];
    const before = model.loss(X, X);
    model.dispose();
    expect(model.loss(X, X)).toBe(before);
  });

  it('falls back to one thread on the js backend; validates its options', () => {
    expect(new LSTMLanguageModel({ vocabSize: 3, numHiddens: 2, threads: 2, backend: 'js' }).threads).toBe(1);
    expect(() => new LSTMLanguageModel({ vocabSize: 3, numHiddens: 2, threads: 0 })).toThrow(
      /Expected `threads` to be .*an integer in \[1, \d+\], got 0\./,
    );
    // issue 13: threads: 1000 started 1,011 OS threads; now refused before any is started.
    expect(() => new LSTMLanguageModel({ vocabSize: 3, numHiddens: 2, threads: 1000, createWorker: nodeWorkerFactory })).toThrow(
      /Expected `threads` to be .*an integer in \[1, \d+\], got 1000\./,
    );
    expect(() => new LSTMLanguageModel({ vocabSize: 3, numHiddens: 2, threads: 2 })).toThrow(
      /Expected `createWorker` for 2 threads: this engine has no web Worker.*lstm-lm\/node/,
    );
    expect(() => new LSTMLanguageModel({ vocabSize: 3, numHiddens: 2, threads: 2, createWorker: 5 as never })).toThrow(
      /Expected `createWorker` to be a function, got 5/,
    );
  });
});

describe.skipIf(!simd)('thread protocol', () => {
  it('the command indices name the module exports in order', async () => {
    const { KERNEL_NAMES } = await import('../../src/backend/table.js');
    const { kernelModule } = await import('../../src/backend/wasm.js');
    expect(WebAssembly.Module.exports(kernelModule(true)).map((e) => e.name)).toEqual([...KERNEL_NAMES, 'scratch']);
  });
});
