import { describe, expect, it } from 'vitest';
import { LSTMLanguageModel } from '../../src/lstm/model.js';
import { clipGradNorm } from '../../src/optim/clip.js';
import { SGD } from '../../src/optim/sgd.js';
import { Random } from '../../src/tensor/random.js';
import { wasmSimdSupported } from '../../src/backend/wasm.js';

// The wasm and js backends must compute the same model. The kernels agree to float32
// rounding (test/wasm); over a whole training run the differences compound through the
// recurrence and 20 SGD steps, so the comparison is on the trajectory with a tolerance of
// 1e-4 relative — orders of magnitude below what a wrong kernel produces (the losses move
// by ~1e-1 over the run), and orders above float32 noise.

const simd = wasmSimdSupported();
if (!simd) console.warn('WebAssembly SIMD is unavailable: the wasm backend tests are skipped.');

function run(backend: 'js' | 'wasm', steps: number) {
  const V = 11, H = 24, B = 6, T = 9;
  const rng = new Random(9);
  const model = new LSTMLanguageModel({ vocabSize: V, numHiddens: H, seed: 3, initScale: 0.2, backend });
  const sgd = new SGD(model.parameters(), { lr: 1 });
  const state = model.initState(B);
  const losses: number[] = [], norms: number[] = [];
  for (let s = 0; s < steps; s++) {
    const X = { data: Int32Array.from({ length: B * T }, () => rng.int(V)), batchSize: B, numSteps: T };
    const Y = { data: X.data.map((x) => (x * 3 + 1) % V), batchSize: B, numSteps: T }; // learnable
    model.zeroGrad();
    losses.push(model.forwardBackward(X, Y, state).loss);
    norms.push(clipGradNorm(model.parameters(), 1));
    sgd.step();
  }
  return { model, losses, norms, state };
}

describe.skipIf(!simd)('wasm and js backends', () => {
  it('pick wasm automatically where SIMD is supported', () => {
    expect(new LSTMLanguageModel({ vocabSize: 3, numHiddens: 2 }).backend).toBe('wasm');
    expect(new LSTMLanguageModel({ vocabSize: 3, numHiddens: 2, dtype: 'float64' }).backend).toBe('js');
  });

  it('train the same model: losses, gradient norms, parameters and carried state agree', () => {
    const js = run('js', 20), wasm = run('wasm', 20);
    expect(js.losses[19]!).toBeLessThan(js.losses[0]! - 0.1); // it does learn
    const close = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
      const scale = Math.max(...Array.from(a, Math.abs));
      for (let i = 0; i < a.length; i++) {
        if (Math.abs(a[i]! - b[i]!) > 1e-4 * scale) expect.fail(`${what}[${i}]: js ${a[i]}, wasm ${b[i]}`);
      }
    };
    close(js.losses, wasm.losses, 'loss');
    close(js.norms, wasm.norms, 'gradient norm');
    close(js.model.flatParameters, wasm.model.flatParameters, 'parameter');
    close(js.state.h, wasm.state.h, 'state h');
  });

  for (const backend of ['js', 'wasm'] as const) {
    it(`${backend}: the same seed gives bit-identical results run to run`, () => {
      const a = run(backend, 5), b = run(backend, 5);
      expect(a.losses).toEqual(b.losses);
      expect(Buffer.from(a.model.flatParameters.slice().buffer).equals(Buffer.from(b.model.flatParameters.slice().buffer))).toBe(true);
    });
  }

  it('wasm: memory stays put over a long run; parameters survive the growth a bigger batch forces', () => {
    const { model } = run('wasm', 1);
    const params = model.parameters();
    const before = model.flatParameters.slice();
    const view = params[1]!.data;
    // Same shape again and again: no growth, the views stay valid.
    run('wasm', 1);
    const rng = new Random(1);
    const state = model.initState(6);
    const heapBefore = process.memoryUsage().heapUsed;
    for (let s = 0; s < 200; s++) {
      const X = Array.from({ length: 6 }, () => Array.from({ length: 9 }, () => rng.int(11)));
      model.forwardBackward(X, X, state);
    }
    expect(params[1]!.data).toBe(view);
    expect(view.length).toBe(24 * 24);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(8 << 20);
    // A batch far bigger than the reserved room (64 MiB) grows the memory: older views are
    // detached, the parameter objects and flat arrays re-fetch theirs, and no value is lost.
    model.zeroGrad();
    const big = { data: new Int32Array(2000 * 400).fill(1), batchSize: 2000, numSteps: 400 };
    expect(Number.isFinite(model.forwardBackward(big, big).loss)).toBe(true);
    expect(view.length).toBe(0); // detached by the growth
    expect(params[1]!.data.length).toBe(24 * 24);
    expect(model.flatParameters).toEqual(before);
    expect(params[1]!.grad.some((g) => g !== 0)).toBe(true);
  });
});
