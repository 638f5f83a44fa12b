// Mutation testing (issue 13): `npm run test:mutation` mutates every file under src/;
// `npm run test:mutation -- --mutate src/optim/sgd.ts` mutates one. Not run in CI (minutes per
// file). Scores and the survivors judged equivalent are in docs/mutation.md.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  // Only the test files that import the mutated file run (vitest's `related`), and for each
  // mutant only the tests that covered it.
  vitest: { configFile: 'vitest.mutation.config.ts', related: true },
  coverageAnalysis: 'perTest',
  mutate: ['src/**/*.ts', '!src/index.ts', '!src/kernels.ts', '!src/node.ts', '!src/version.ts'],
  // The machine is shared: one test process, and never two Stryker runs at a time.
  concurrency: 1,
  timeoutMS: 20_000,
  timeoutFactor: 2,
  // The sandbox is a copy of the project: leave out what no test reads. The tests read
  // data/timemachine.txt (and check its sha1), so that one file is kept.
  ignorePatterns: [
    '/data/*',
    '!/data/timemachine.txt',
    '/dist',
    '/bench',
    '/examples',
    '/test-browser',
    '/docs',
    '/reports',
    '/coverage',
    '/out',
    '/*.log',
    '/node_modules/.cache',
    '/node_modules/.vite',
    '/node_modules/.vitest',
    // A second run's sandbox, when two run side by side (each with its own tempDirName).
    '/.stryker-tmp-*',
  ],
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  thresholds: { high: 90, low: 80, break: null },
};
