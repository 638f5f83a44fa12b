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
});
