// The f32x4 multiply-add peak of one core, as WebAssembly SIMD reaches it: a loop of
// independent accumulators on registers only (acc += x·y, as f32x4.mul then f32x4.add — the
// plain kernels' instructions — and, where the engine has relaxed SIMD, as one
// f32x4.relaxed_madd), against which the products' GFLOP/s are a fraction (issue 14).
//
//   node --import tsx bench/peak.ts
//   .cache/node22/node_modules/.bin/node --import tsx bench/peak.ts   # with relaxed SIMD
//
// 12 accumulators hide the add latency (≈ 3–4 cycles) on two or more FP pipes; a multiply-add
// is 8 flops (4 lanes × mul + add). Best of 7 runs of ≈ 0.1 s.
import os from 'node:os';
import { FunctionBuilder, ValType } from '../src/wasm/builder.js';
import { encodeModule } from '../src/wasm/encoder.js';
import { Op, Simd } from '../src/wasm/ops.js';
import { wasmRelaxedSimdSupported, wasmSimdSupported } from '../src/backend/wasm.js';

if (!wasmSimdSupported()) throw new Error('WebAssembly SIMD is not supported by this engine.');
const ACCUMULATORS = 12;

function peakKernel(relaxed: boolean): Uint8Array<ArrayBuffer> {
  const { i32, v128 } = ValType;
  const f = new FunctionBuilder('peak', { n: i32 });
  const acc = Array.from({ length: ACCUMULATORS }, () => f.local(v128));
  const { x, y } = f.locals(v128, ['x', 'y']);
  f.f32x4(1.0000001).set(x).f32x4(0.9999999).set(y);
  acc.forEach((a, i) => f.f32x4(i).set(a));
  f.loop(() => {
    for (const a of acc) {
      if (relaxed) f.get(x).get(y).get(a).simd(Simd.f32x4_relaxed_madd).set(a);
      else f.get(a).get(x).get(y).simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(a);
    }
    f.get(f.p.n).i32(1).op(Op.i32_sub).tee(f.p.n).brIf(0);
  });
  acc.forEach((a, i) => f.i32(16 * i).get(a).v128Store()); // keep the sums alive
  return encodeModule([f.build()], { shared: false });
}

function measure(relaxed: boolean): number {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const { peak } = new WebAssembly.Instance(new WebAssembly.Module(peakKernel(relaxed)), { env: { memory } }).exports as {
    peak: (n: number) => void;
  };
  const n = 2_000_000;
  peak(n); // warm up: the optimising tier
  let best = Infinity;
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    peak(n);
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return (n * ACCUMULATORS * 8) / best / 1e9;
}

console.log(`f32x4 multiply-add peak, one thread, node ${process.version}, ${os.cpus()[0]?.model ?? '?'}, ` +
  `load ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
console.log(`plain (f32x4.mul + f32x4.add): ${measure(false).toFixed(1)} GFLOP/s`);
if (wasmRelaxedSimdSupported()) console.log(`relaxed (f32x4.relaxed_madd): ${measure(true).toFixed(1)} GFLOP/s`);
else console.log('relaxed: this engine lacks relaxed SIMD (run under Node ≥ 22)');
