// The second half of `npm test`: the relaxed-SIMD kernels (f32x4.relaxed_madd), which Node 20
// cannot run. It runs test/wasm/relaxed.test.ts and the PyTorch golden tests — on the relaxed
// module, the default wherever the engine has it — under Node ≥ 22: this Node if it is one,
// else a Node 22 from the npm registry's `node` package, installed once into .cache/node22
// (git-ignored). LSTM_LM_RELAXED=1 makes the relaxed tests fail, not skip, if the engine lacks
// relaxed SIMD, so that path is tested on every run, never silently skipped.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cache = join(root, '.cache', 'node22');
const cached = join(cache, 'node_modules', '.bin', 'node');

function node22() {
  if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath;
  if (!existsSync(cached)) {
    console.log('test-relaxed: installing Node 22 from the npm registry into .cache/node22 (once)');
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const r = spawnSync(npm, ['install', '--prefix', cache, '--no-save', '--no-audit', '--no-fund', 'node@22'], { stdio: 'inherit' });
    if (r.status !== 0 || !existsSync(cached)) {
      console.error('test-relaxed: could not install node@22 (is the npm registry reachable?)');
      process.exit(1);
    }
  }
  return cached;
}

const node = node22();
const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
console.log(`test-relaxed: relaxed-SIMD kernels and PyTorch golden values under Node ${version}`);
const files = ['test/wasm/relaxed.test.ts', 'test/lstm/golden.test.ts', 'test/lstm/deep-golden.test.ts', 'test/wasm/kernels/matmul.test.ts'];
const r = spawnSync(node, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, LSTM_LM_RELAXED: '1' },
});
process.exit(r.status ?? 1);
