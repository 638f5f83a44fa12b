// The vitest configuration Stryker runs (stryker.config.mjs). The same as vitest.config.ts,
// except that MUTATION_TESTS (comma-separated globs) can narrow the test files, so that a
// file's mutants can be scored while tests elsewhere are red (Stryker refuses to start when
// any related test fails in its first run):
//   MUTATION_TESTS='test/data/**' npm run test:mutation -- --mutate src/data/vocab.ts
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

const only = process.env.MUTATION_TESTS?.split(',').map((glob) => glob.trim()).filter((glob) => glob !== '');

export default defineConfig({
  ...base,
  test: { ...base.test, ...(only === undefined || only.length === 0 ? {} : { include: only }) },
});
