// `lstm-lm sample|eval|train --backend webgpu` in a subprocess, as a user runs it: the CLI
// imports the optional `webgpu` package (Dawn) itself and runs here on SwiftShader
// (VK_ICD_FILENAMES in the child's environment). Outputs are compared with `--backend js`
// on the same checkpoint. Small model and texts: SwiftShader is slow.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { loadCorpus } from '../../src/data/index.js';
import { LSTMLanguageModel } from '../../src/lstm/model.js';
import { Adam } from '../../src/optim/adam.js';
import { Random } from '../../src/tensor/random.js';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const tsx = pathToFileURL(createRequire(join(root, 'package.json')).resolve('tsx')).href;
const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
let dir: string;
const TEXT = readFileSync(join(root, 'data', 'timemachine.txt'), 'utf8').slice(0, 1200);

interface Run { code: number | null; stdout: string; stderr: string }

function lstmLm(args: string[], env: Record<string, string> = {}, imports: string[] = []): Promise<Run> {
  return new Promise((done, failed) => {
    const child = spawn(process.execPath, [...imports.flatMap((i) => ['--import', i]), '--import', tsx, join(root, 'cli', 'main.ts'), ...args], {
      cwd: dir, env: { ...process.env, NO_COLOR: '1', LSTM_LM_DEBUG: '', VK_ICD_FILENAMES: ICD, ...env },
    });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', failed);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** stderr without the Vulkan loader's complaint about XDG_RUNTIME_DIR (a sandbox's, not ours). */
const errors = (r: Run): string => r.stderr.split('\n').filter((l) => l !== '' && !/XDG_RUNTIME_DIR/.test(l)).join('\n');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lstm-lm-cli-webgpu-'));
  writeFileSync(join(dir, 'text.txt'), TEXT);
  // A checkpoint of a char model trained a little on the text (confident enough for greedy margins).
  const { corpus, vocab } = loadCorpus([TEXT], { token: 'char' });
  const model = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: 24, init: 'pytorch', seed: 1, backend: 'js' });
  const adam = new Adam(model.parameters(), { lr: 0.02 });
  const rng = new Random(1);
  const ids = Array.from(corpus);
  for (let step = 0; step < 120; step++) {
    const at = Array.from({ length: 8 }, () => rng.int(ids.length - 21));
    model.zeroGrad();
    model.forwardBackward(at.map((a) => ids.slice(a, a + 20)), at.map((a) => ids.slice(a + 1, a + 21)));
    adam.step();
  }
  writeFileSync(join(dir, 'model.safetensors'), saveCheckpoint(model, { vocab }));
  // A resolve hook that makes `import('webgpu')` fail as it does where the package is not installed.
  writeFileSync(join(dir, 'hooks.mjs'), `export async function resolve(specifier, context, next) {
  if (specifier === 'webgpu') throw Object.assign(new Error("Cannot find package 'webgpu' imported from " + context.parentURL), { code: 'ERR_MODULE_NOT_FOUND' });
  return next(specifier, context);
}\n`);
  writeFileSync(join(dir, 'no-webgpu.mjs'), "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lstm-lm --backend webgpu (Dawn + SwiftShader, in a subprocess)', () => {
  it('sample: the same text as --backend js, greedy and sampled', async () => {
    for (const flags of [['--temperature', '0'], ['--temperature', '0.8', '--top-k', '5', '--seed', '3']]) {
      const args = ['sample', 'model.safetensors', '--prompt', 'The ', '--length', '40', ...flags];
      const gpu = await lstmLm([...args, '--backend', 'webgpu']);
      expect(errors(gpu)).toBe('');
      expect(gpu.code).toBe(0);
      const js = await lstmLm([...args, '--backend', 'js']);
      expect(js.code).toBe(0);
      expect(gpu.stdout).toBe(js.stdout);
      expect(gpu.stdout.length).toBeGreaterThan('The '.length + 20);
    }
  }, 120_000);

  it('eval: the loss of --backend js within float32 rounding, the same tokens', async () => {
    const args = ['eval', 'model.safetensors', 'text.txt', '--batch', '2', '--seq', '50'];
    const gpu = await lstmLm([...args, '--backend', 'webgpu']);
    expect(errors(gpu)).toBe('');
    expect(gpu.code).toBe(0);
    const js = await lstmLm([...args, '--backend', 'js']);
    const loss = (r: Run): number => Number(/loss\s+([\d.]+) nats\/char/.exec(r.stdout)![1]);
    const predicted = (r: Run): string => /([\d,]+) predicted \(B 2 × T 50\)/.exec(r.stdout)![1]!;
    expect(predicted(gpu)).toBe(predicted(js));
    expect(Math.abs(loss(gpu) - loss(js))).toBeLessThanOrEqual(1e-4);
    expect(loss(js)).toBeLessThan(Math.log(40)); // trained: below the uniform loss
  }, 120_000);

  it('train: a short run on the GPU writes checkpoints that load and match its report', async () => {
    const r = await lstmLm(['train', 'text.txt', '-o', 'gpu.safetensors', '--hidden', '16', '--layers', '1', '--batch', '4',
      '--seq', '10', '--max-steps', '4', '--eval-every', '2', '--val-fraction', '0.1', '--backend', 'webgpu']);
    expect(errors(r)).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/parameters, webgpu × 1 thread;/);
    const best = /best validation loss ([\d.]+) at step 4/.exec(r.stdout);
    expect(best).not.toBeNull();
    const { model, training } = loadCheckpoint(new Uint8Array(readFileSync(join(dir, 'gpu.safetensors'))), { backend: 'js' });
    expect((training as unknown as { validationLoss: number }).validationLoss.toFixed(4)).toBe(best![1]);
    expect(model.config.numHiddens).toBe(16);
  }, 180_000);

  it('without the webgpu package: one line telling the user to install it, exit 1', async () => {
    const r = await lstmLm(['sample', 'model.safetensors', '--backend', 'webgpu', '--length', '5'], {}, [pathToFileURL(join(dir, 'no-webgpu.mjs')).href]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(errors(r)).toBe('lstm-lm: --backend webgpu needs the `webgpu` package (Dawn, WebGPU for Node), which lstm-lm does not install: run `npm i webgpu`');
  }, 60_000);

  it('without a GPU (no Vulkan driver): our one line saying so, after Dawn\'s warnings, exit 1', async () => {
    const r = await lstmLm(['eval', 'model.safetensors', 'text.txt', '--backend', 'webgpu'], { VK_ICD_FILENAMES: join(dir, 'missing_icd.json') });
    expect(r.code).toBe(1);
    // Dawn and the Vulkan loader print their own warnings first; ours is the last line, and the only one of ours.
    const lines = errors(r).split('\n');
    expect(lines.filter((l) => l.startsWith('lstm-lm:'))).toHaveLength(1);
    expect(lines.at(-1)).toMatch(/^lstm-lm: --backend webgpu: WebGPU found no adapter .*; Dawn needs a Vulkan, Metal or D3D12 driver \(without a GPU on Linux, VK_ICD_FILENAMES can point at SwiftShader's vk_swiftshader_icd\.json\)$/);
  }, 60_000);

  it('a backend that does not exist is a usage error (exit 2)', async () => {
    const r = await lstmLm(['sample', 'model.safetensors', '--backend', 'cuda']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^lstm-lm: --backend must be auto, wasm, js or webgpu, got "cuda" \(see `lstm-lm sample --help`\)$/m);
  }, 60_000);
});
