import { defineConfig, type Options } from 'tsup';

// The library's entries and the CLI import the library from ../src/index.js (and the CLI the
// Node helpers from ../node/index.js), so that tests and tsx run them from source. In the
// package they must import `lstm-lm` (and `lstm-lm/node`) themselves, or the CommonJS build of
// `lstm-lm/node` and the bin would each carry a second copy of the library whose classes fail
// `instanceof` against the user's (a model from require('lstm-lm') refused by writeCheckpoint).
// The CLI may import nothing else from src/ or node/: anything it needs is public API.
const importThePackage: NonNullable<Options['esbuildPlugins']>[number] = {
  name: 'entries-import-the-package',
  setup(build) {
    build.onResolve({ filter: /^\.\.?\// }, (args) => {
      const fromNode = args.importer.includes('/node/'), fromCli = args.importer.includes('/cli/');
      if (!fromNode && !fromCli) return undefined;
      if (/\/src\/index\.js$/.test(args.path)) return { path: 'lstm-lm', external: true };
      if (fromCli && /\/node\/index\.js$/.test(args.path)) return { path: 'lstm-lm/node', external: true };
      if (fromCli && /^\.\.\/(src|node)\//.test(args.path)) {
        return { errors: [{ text: `cli/ must import the library only through ../src/index.js and ../node/index.js, not ${args.path}` }] };
      }
      return undefined;
    });
  },
};

export default defineConfig([
  {
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
    // Both builds run at once: this one's clean must leave the CLI's output alone.
    clean: ['!cli.js'],
    target: 'es2022',
    external: ['lstm-lm'],
    esbuildPlugins: [importThePackage],
  },
  {
    // The `lstm-lm` bin (package.json `bin`): ESM only (top-level await), no types; the
    // shebang of cli/main.ts makes tsup mark it executable.
    entry: { cli: 'cli/main.ts' },
    format: ['esm'],
    dts: false,
    sourcemap: false,
    clean: false,
    target: 'es2022',
    platform: 'node',
    // `webgpu` (Dawn, a native addon) is the user's optional install for --backend webgpu:
    // imported at run time, never bundled, never a dependency.
    external: ['lstm-lm', 'webgpu'],
    esbuildPlugins: [importThePackage],
  },
]);
