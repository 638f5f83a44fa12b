import { defineConfig } from 'tsup';

export default defineConfig({
  // `lstm-lm` (runs anywhere) and `lstm-lm/node` (Node-only helpers).
  entry: { index: 'src/index.ts', node: 'node/index.ts' },
  format: ['esm', 'cjs'],
  dts: { compilerOptions: { ignoreDeprecations: '6.0' } },
  sourcemap: true,
  clean: true,
  target: 'es2022',
  external: ['lstm-lm'],
});
