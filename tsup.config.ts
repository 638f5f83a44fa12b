import { defineConfig } from 'tsup';

export default defineConfig({
  // `lstm-lm` (runs anywhere), `lstm-lm/kernels` (the low-level kernels) and `lstm-lm/node`
  // (Node-only helpers).
  entry: { index: 'src/index.ts', kernels: 'src/kernels.ts', node: 'node/index.ts' },
  format: ['esm', 'cjs'],
  dts: { compilerOptions: { ignoreDeprecations: '6.0' } },
  // No source maps in the package: the output is unminified (names and structure as in src/),
  // so stack traces read as they are, and maps pointing at src/ files that the tarball does
  // not ship make bundlers warn (Vite: "points to missing source files"); with the sources
  // embedded they were 545 kB, 64 % of the tarball. For local debugging: `npx tsup --sourcemap`.
  sourcemap: false,
  clean: true,
  target: 'es2022',
  external: ['lstm-lm'],
  // node/index.ts imports the library from ../src/index.js (so that tests and tsx run it from
  // source); in the package it must import `lstm-lm` itself, or the CommonJS build of
  // `lstm-lm/node` would carry a second copy of the library whose classes fail `instanceof`
  // against the user's (a model from require('lstm-lm') refused by writeCheckpoint).
  esbuildPlugins: [{
    name: 'node-entry-imports-the-package',
    setup(build) {
      build.onResolve({ filter: /\/src\/index\.js$/ }, (args) =>
        args.importer.includes('/node/') ? { path: 'lstm-lm', external: true } : undefined);
    },
  }],
});
