// Exact resume through a checkpoint file: N steps → saveCheckpoint → loadCheckpoint (a fresh
// model, optimiser and schedule; here, and in a fresh process) → M steps gives the weights of
// N + M uninterrupted steps, bit for bit.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeWorkerFactory, readCheckpoint, writeCheckpoint } from '../../node/index.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/checkpoint/checkpoint.js';
import type { LSTMLanguageModel } from '../../src/lstm/model.js';
import { fit } from '../../src/train/fit.js';
import { fitOptions, makeLoader, makeRun, vocab, type RunSpec } from './fixtures/resume-setup.js';

const models: LSTMLanguageModel[] = [];
afterAll(() => { for (const m of models) m.dispose(); });
const bits = (a: ArrayBufferView): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');
const N = 7, M = 9; // epochs are 6 or 7 batches: both parts cross epoch ends

/** The uninterrupted run, and the first N steps of another, saved. */
async function wholeAndSaved(spec: RunSpec) {
  const a = makeRun(spec);
  models.push(a.model);
  const whole = await fit(a.model, a.loader, a.optimizer, { ...fitOptions(a.schedule), maxSteps: N + M });
  const b = makeRun(spec);
  models.push(b.model);
  const first = await fit(b.model, b.loader, b.optimizer, { ...fitOptions(b.schedule), maxSteps: N });
  expect(first.steps).toBe(N);
  return { a, whole, b, first };
}

describe('exact resume through a checkpoint', () => {
  const cases: RunSpec[] = [
    { opt: 'sgd', random: false, backend: 'js', threads: 1 },
    { opt: 'adam', random: true, backend: 'js', threads: 1 },
    { opt: 'rmsprop', random: false, backend: 'js', threads: 1 },
    { opt: 'sgd', random: true, backend: 'wasm', threads: 1 },
    { opt: 'adam', random: false, backend: 'wasm', threads: 1 },
    { opt: 'rmsprop', random: true, backend: 'wasm', threads: 2 },
    { opt: 'adam', random: false, backend: 'wasm', threads: 2 },
  ];
  it.each(cases)('%o: N steps → save → load → M steps = N + M steps, bit for bit', async (spec) => {
    const { a, whole, b, first } = await wholeAndSaved(spec);
    const bytes = saveCheckpoint(b.model, { vocab, optimizer: b.optimizer, schedule: b.schedule, training: first.state });
    b.model.dispose();

    const c = loadCheckpoint(bytes, { backend: spec.backend, threads: spec.threads, createWorker: nodeWorkerFactory });
    models.push(c.model);
    expect(c.model.threads).toBe(spec.threads);
    expect(c.training).toEqual(first.state);
    const rest = await fit(c.model, makeLoader(spec), c.optimizer!, { ...fitOptions(c.schedule!), maxSteps: N + M, resumeFrom: c.training });
    expect(rest.steps).toBe(N + M);
    expect(bits(c.model.flatParameters)).toBe(bits(a.model.flatParameters));
    expect(c.optimizer!.stateDict()).toEqual(a.optimizer.stateDict());
    expect(rest.state.modelGenerator).toEqual(whole.state.modelGenerator);
    expect(rest.state.loaderGenerator).toEqual(whole.state.loaderGenerator);
    expect(rest.best?.loss).toBe(whole.best?.loss);
  });

  it('in a fresh process (node --import tsx), through files written by writeCheckpoint', async () => {
    const spec: RunSpec = { opt: 'rmsprop', random: true, backend: 'wasm', threads: 2 };
    const { a, b, first } = await wholeAndSaved(spec);
    const dir = mkdtempSync(join(tmpdir(), 'lstm-lm-resume-'));
    try {
      const input = join(dir, 'step7.safetensors'), output = join(dir, 'step16.safetensors');
      await writeCheckpoint(input, b.model, { vocab, optimizer: b.optimizer, schedule: b.schedule, training: first.state });
      const child = spawnSync(process.execPath, ['--import', 'tsx', new URL('./fixtures/resume-child.ts', import.meta.url).pathname,
        input, output, JSON.stringify(spec), String(N + M)], { encoding: 'utf8', timeout: 120_000 });
      expect(child.stderr).toBe('');
      expect(child.status).toBe(0);
      const done = await readCheckpoint(output, { backend: 'js' });
      models.push(done.model);
      expect(bits(done.model.flatParameters)).toBe(bits(a.model.flatParameters));
      expect(done.optimizer!.stateDict()).toEqual(a.optimizer.stateDict());
      expect((done.training as { step: number }).step).toBe(N + M);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
