// The published package, checked as a user would get it: `npm run check:package`.
//
//   1. builds dist/ (tsup), once: the packs below skip `prepack` (which builds too);
//   2. publint --strict: package.json fields, exports and files agree;
//   3. attw --pack: every entry has types under every TypeScript resolution mode (node10,
//      node16 from CJS and from ESM, bundler); node10 reads `typesVersions`, whose wildcard
//      maps any subpath `lstm-lm/<name>` to dist/<name>.d.ts, so a new entry needs only its
//      tsup entry and its `exports` key;
//   4. the tarball holds only LICENSE, README.md, package.json and dist/ (no source maps, no
//      data/), and its size is printed;
//   5. the tarball, unpacked into a scratch node_modules, loads: every `exports` subpath by
//      import() and by require();
//   6. its bin runs: `lstm-lm --help`, a one-second `train`, `sample` and `info`.
// Exits non-zero on the first failure.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

// After the build, every `npm pack` (publint's, attw's, ours) packs that dist/ as it is.
const packEnv = { ...process.env, npm_config_ignore_scripts: 'true' };

function run(what, command, args) {
  console.log(`\ncheck:package: ${what}\n$ ${[command, ...args].join(' ')}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: packEnv });
  if (result.status !== 0) fail(`${what} failed (exit ${result.status ?? result.signal})`);
  return result;
}

function fail(message) {
  console.error(`\ncheck:package: FAILED: ${message}`);
  process.exit(1);
}

console.log('\ncheck:package: build\n$ npm run build');
if (spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' }).status !== 0) fail('build failed');
run('publint', 'npx', ['--no-install', 'publint', '--strict']);
const plain = process.env.NO_COLOR !== undefined || !process.stdout.isTTY;
run('attw, all resolution modes', 'npx', ['--no-install', 'attw', '--pack', '.', ...(plain ? ['--no-color'] : [])]);

console.log('\ncheck:package: tarball contents');
const scratch = mkdtempSync(join(tmpdir(), 'lstm-lm-pack-'));
try {
  const packed = spawnSync('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: root, encoding: 'utf8', env: packEnv });
  if (packed.status !== 0) fail(`npm pack failed:\n${packed.stderr}`);
  const [info] = JSON.parse(packed.stdout);
  const allowed = (path) => ['LICENSE', 'README.md', 'package.json'].includes(path) || path.startsWith('dist/');
  const stray = info.files.map((f) => f.path).filter((p) => !allowed(p) || p.endsWith('.map'));
  if (stray.length > 0) fail(`unexpected files in the tarball: ${stray.join(', ')}`);
  console.log(`  ${info.entryCount} files, ${(info.size / 1000).toFixed(1)} kB packed, ${(info.unpackedSize / 1000).toFixed(1)} kB unpacked`);

  console.log('\ncheck:package: loading the unpacked tarball');
  const installed = join(scratch, 'node_modules', pkg.name);
  mkdirSync(installed, { recursive: true });
  const untar = spawnSync('tar', ['xzf', join(scratch, info.filename), '-C', installed, '--strip-components=1']);
  if (untar.status !== 0) fail(`tar failed:\n${untar.stderr}`);
  const specifiers = Object.keys(pkg.exports)
    .filter((key) => key !== './package.json')
    .map((key) => (key === '.' ? pkg.name : `${pkg.name}/${key.slice(2)}`));
  const probe = [
    "import { createRequire } from 'node:module';",
    'const require = createRequire(import.meta.url);',
    `for (const id of ${JSON.stringify(specifiers)}) {`,
    '  const esm = Object.keys(await import(id)).sort(), cjs = Object.keys(require(id)).sort();',
    "  if (esm.length === 0 || esm.join() !== cjs.join()) throw new Error(`${id}: import() gives [${esm}], require() gives [${cjs}]`);",
    '  console.log(`  ${id}: ${esm.length} exports, the same by import() and require()`);',
    '}',
    // One copy of the library per module system: lstm-lm/node must use the same classes as lstm-lm.
    'for (const [how, load] of [["import()", (id) => import(id)], ["require()", async (id) => require(id)]]) {',
    `  const lib = await load(${JSON.stringify(pkg.name)}), node = await load(${JSON.stringify(pkg.name + '/node')});`,
    "  const model = new lib.LSTMLanguageModel({ vocabSize: 3, numHiddens: 2, backend: 'js' });",
    "  const vocab = new lib.Vocab([['a', 'b']]);",
    "  const path = require('node:path').join(process.cwd(), `probe-${how.length}.safetensors`);",
    '  await node.writeCheckpoint(path, model, { vocab });',
    '  const back = await node.readCheckpoint(path);',
    '  if (!(back.model instanceof lib.LSTMLanguageModel)) throw new Error(`${how}: lstm-lm/node returned a model of another copy of the library`);',
    '  console.log(`  ${how}: lstm-lm/node writes and reads models of the same lstm-lm`);',
    '}',
  ].join('\n');
  writeFileSync(join(scratch, 'probe.mjs'), probe);
  const loaded = spawnSync(process.execPath, ['probe.mjs'], { cwd: scratch, stdio: 'inherit' });
  if (loaded.status !== 0) fail('the packed package does not load');

  // The bin, as installed: `lstm-lm --help`, then a one-second training run, a sample and
  // info through the packed dist/cli.js, which imports the packed `lstm-lm` (one copy).
  console.log('\ncheck:package: the packed bin');
  const bins = Object.entries(pkg.bin ?? {});
  if (bins.length !== 1 || bins[0][0] !== pkg.name) fail(`expected one bin named ${pkg.name}, got ${JSON.stringify(pkg.bin)}`);
  const binFile = join(installed, bins[0][1]);
  if (!readFileSync(binFile, 'utf8').startsWith('#!/usr/bin/env node\n')) fail(`${bins[0][1]} does not start with #!/usr/bin/env node`);
  const bin = (args) => {
    const r = spawnSync(process.execPath, [binFile, ...args], { cwd: scratch, encoding: 'utf8' });
    if (r.status !== 0) fail(`lstm-lm ${args.join(' ')} exited ${r.status ?? r.signal}:\n${r.stderr}`);
    return r.stdout;
  };
  const help = bin(['--help']);
  if (!help.includes('Usage: lstm-lm <command>')) fail(`lstm-lm --help printed:\n${help}`);
  console.log(`  lstm-lm --help: ${help.split('\n')[0]}`);
  writeFileSync(join(scratch, 'text.txt'), 'the time traveller smiled round at us. '.repeat(200));
  bin(['train', 'text.txt', '-o', 'bin.safetensors', '--time-limit', '1', '--hidden', '16', '--layers', '1',
    '--batch', '4', '--seq', '20', '--eval-every', '10', '--threads', '1']);
  const sampled = bin(['sample', 'bin.safetensors', '--prompt', 'the ', '--length', '20']);
  const shown = bin(['info', 'bin.last.safetensors']);
  if (!sampled.startsWith('the ') || !shown.includes('resumable: step')) fail(`sample/info printed:\n${sampled}\n${shown}`);
  console.log(`  lstm-lm train (1 s), sample, info: ${JSON.stringify(sampled.trim())}`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
console.log('\ncheck:package: all package checks passed');
