// The vitest configuration Stryker runs (stryker.config.mjs). The same as vitest.config.ts,
// except that MUTATION_TESTS (comma-separated globs) can narrow the test files, so that a
// file's mutants can be scored while tests elsewhere are red (Stryker refuses to start when
// any related test fails in its first run):
//   MUTATION_TESTS='test/data/**' npm run test:mutation -- --mutate src/data/vocab.ts
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// Stryker's vitest runner runs the tests in worker threads, whose process.env is a copy: the
// Vulkan loader (Dawn, for the WebGPU tests) reads the real environment, so what
// test/webgpu/device.ts sets there is not seen. Set it here, in the main thread, before any
// worker starts.
const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (process.env.VK_ICD_FILENAMES === undefined && existsSync(ICD)) process.env.VK_ICD_FILENAMES = ICD;
process.env.XDG_RUNTIME_DIR ??= tmpdir();

const only = process.env.MUTATION_TESTS?.split(',').map((glob) => glob.trim()).filter((glob) => glob !== '');

export default defineConfig({
  ...base,
  test: { ...base.test, ...(only === undefined || only.length === 0 ? {} : { include: only }) },
});
