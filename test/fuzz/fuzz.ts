// Shared by the property/fuzz tests (issue 13). Runs are seeded, so CI replays the same cases;
// FUZZ_SEED=<n> explores others, FUZZ_RUNS=<n> scales the number of runs. fast-check prints
// the seed and the shrunk counterexample of a failure.
import fc from 'fast-check';

const envSeed = Number(process.env.FUZZ_SEED);
const envRuns = Number(process.env.FUZZ_RUNS);

/** fast-check parameters: a fixed seed unless FUZZ_SEED is set, `runs` runs, at most `ms` of running. */
export function params(runs: number, ms: number): fc.Parameters<unknown> {
  return {
    seed: Number.isInteger(envSeed) ? envSeed : 0x13,
    numRuns: Number.isInteger(envRuns) && envRuns > 0 ? envRuns : runs,
    interruptAfterTimeLimit: ms,
    markInterruptAsFailure: false,
  };
}

/** Values that break naive checks: wrong types, edge numbers, huge sizes, odd objects. */
export const hostile = fc.oneof(
  fc.constantFrom(undefined, null, NaN, Infinity, -Infinity, -0, 0, -1, 0.5, 1.5, 2 ** 32, 2 ** 53, 1e9, 1e12, -1e300, 1e39),
  fc.constantFrom('', '1', '3', 'auto', 'js', 'wasm', 'float64', true, false, [], [1], {}, { length: -1 }, () => 1),
  fc.integer({ min: -3, max: 70 }),
  fc.double({ noNaN: false }),
  fc.string({ maxLength: 4 }),
);

/** Whether `error` is one of the two error types the library promises for bad arguments. */
export function isArgumentError(error: unknown): boolean {
  return error instanceof TypeError || error instanceof RangeError;
}

/** Model configs the backend fuzzers draw from: one layer, two layers, an embedding. */
export const CONFIGS = [
  { vocabSize: 5, numHiddens: 4, seed: 1, initScale: 0.5 },
  { vocabSize: 9, numHiddens: 7, numLayers: 2, seed: 2, initScale: 0.4 },
  { vocabSize: 6, numHiddens: 5, embeddingSize: 3, seed: 3, init: 'pytorch' as const },
];

/** A case: a config, B, T, and ids/state values drawn for them. */
export const caseArb = fc
  .record({ c: fc.integer({ min: 0, max: CONFIGS.length - 1 }), B: fc.integer({ min: 1, max: 5 }), T: fc.integer({ min: 1, max: 9 }), seed: fc.nat() })
  .map(({ c, B, T, seed }) => {
    const config = CONFIGS[c]!;
    let s = seed + 1;
    const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const ids = () => Array.from({ length: B }, () => Array.from({ length: T }, () => Math.floor(next() * config.vocabSize)));
    const L = config.numLayers ?? 1;
    const state = () => Float32Array.from({ length: L * B * config.numHiddens }, () => next() - 0.5);
    return { c, B, T, X: ids(), Y: ids(), h: state(), cell: state() };
  });

/** A drawn case. */
export type Case = typeof caseArb extends fc.Arbitrary<infer C> ? C : never;
