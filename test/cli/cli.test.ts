// The CLI as a user runs it: each case starts `lstm-lm` in a subprocess and reads its output,
// exit status and files. It runs cli/main.ts through `node --import tsx`, the same code the
// bin is built from: the built dist/cli.js differs only in importing `lstm-lm` and
// `lstm-lm/node` instead of ../src/index.js and ../node/index.js (tsup.config.ts), which
// `npm run check:package` checks by running the packed bin (--help, train, sample, info).
// Tiny models (1×32) and short runs keep the file at ~30 s on two shared cores.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/index.js';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const text = join(root, 'data', 'timemachine.txt');
// tsx's loader by URL: the children run in a scratch folder, where `--import tsx` would not resolve.
const tsx = pathToFileURL(createRequire(join(root, 'package.json')).resolve('tsx')).href;
let dir: string;

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Runs `lstm-lm …args`; `onStdout` sees the output as it comes (and may signal the child). */
function lstmLm(args: string[], onStdout?: (soFar: string, child: ReturnType<typeof spawn>) => void): Promise<Run> {
  return new Promise((done, failed) => {
    const child = spawn(process.execPath, ['--import', tsx, join(root, 'cli', 'main.ts'), ...args], {
      cwd: dir, env: { ...process.env, NO_COLOR: '1', LSTM_LM_DEBUG: '' },
    });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      onStdout?.(stdout, child);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', failed);
    child.on('close', (code, signal) => done({ code, signal, stdout, stderr }));
  });
}

const tiny = ['--hidden', '32', '--layers', '1', '--threads', '1'];
const weights = (path: string): Float32Array => {
  const { model } = loadCheckpoint(new Uint8Array(readFileSync(path)), { backend: 'js' });
  return Float32Array.from(model.flatParameters);
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lstm-lm-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lstm-lm', () => {
  it('prints help for itself and every command', async () => {
    const runs = await Promise.all([[], ['--help'], ['train', '--help'], ['sample', '-h'], ['eval', '--help'], ['info', '--help']].map((a) => lstmLm(a)));
    for (const r of runs) {
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Usage: lstm-lm /);
    }
    expect(runs[2]!.stdout).toMatch(/--time-limit <s>/);
    expect(runs[3]!.stdout).toMatch(/--top-p <p>/);
  });

  it('reports a bad flag, a missing file or a bad checkpoint in one line and exits non-zero', async () => {
    writeFileSync(join(dir, 'not-a-checkpoint.safetensors'), 'hello');
    const cases: [string[], number, RegExp][] = [
      [['fly'], 2, /^lstm-lm: unknown command "fly"; expected train, sample, eval or info/],
      [['train', text, '-o', 'x.safetensors', '--nope'], 2, /^lstm-lm: Unknown option '--nope' \(see `lstm-lm train --help`\)$/],
      [['train', text, '-o', 'x.safetensors', '--hidden', '0'], 2, /^lstm-lm: --hidden must be a positive integer, got "0"/],
      [['train', text, '-o', 'x.safetensors', '--dropout', '1'], 2, /^lstm-lm: --dropout must be a number in \[0, 1\), got "1"/],
      [['train', text, '-o', 'x.safetensors', '--optimizer', 'lbfgs'], 2, /^lstm-lm: --optimizer must be sgd, adam, adamw or rmsprop, got "lbfgs"/],
      [['train', text], 2, /^lstm-lm: missing -o <checkpoint>/],
      [['train', 'missing.txt', '-o', 'x.safetensors'], 1, /^lstm-lm: cannot read text file missing.txt: no such file$/],
      [['sample', 'missing.safetensors'], 1, /^lstm-lm: cannot read checkpoint missing.safetensors: no such file$/],
      [['info', 'not-a-checkpoint.safetensors'], 1, /^lstm-lm: cannot read checkpoint not-a-checkpoint.safetensors: .+/],
      [['sample', 'not-a-checkpoint.safetensors', '--threads', '0'], 2, /^lstm-lm: --threads must be an integer in \[1, 64\], got "0"/],
      [['sample', 'not-a-checkpoint.safetensors', '--temperature=-1'], 2, /^lstm-lm: --temperature must be a number ≥ 0, got "-1"/],
      [['sample', 'm.safetensors', '--temperature', '-1'], 2, /^lstm-lm: Option '--temperature' argument is ambiguous\. .*'--temperature=-XYZ' \(see/],
      [['eval', 'not-a-checkpoint.safetensors'], 2, /^lstm-lm: expected <checkpoint> <text-file>/],
    ];
    const runs = await Promise.all(cases.map(([args]) => lstmLm(args)));
    runs.forEach((r, i) => {
      const [, code, message] = cases[i]!;
      expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr.trimEnd()).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.code).toBe(code);
    });
    expect(existsSync(join(dir, 'x.safetensors'))).toBe(false);
  });

  it('trains (to a step limit; to a time limit), then samples, evaluates and describes the model', async () => {
    // The step limit makes the learning checkable on a loaded machine (a time limit of 3 s once
    // gave only two evaluations, at the same loss); the time limit is checked on its own run.
    const [t, timed] = await Promise.all([
      lstmLm(['train', text, '-o', 'm.safetensors', '--max-steps', '80', ...tiny, '--eval-every', '20']),
      lstmLm(['train', text, '-o', 'timed.safetensors', '--time-limit', '1', ...tiny, '--eval-every', '1000000']),
    ]);
    expect(t.stderr).toBe('');
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/timemachine\.txt: 178,979 chars, vocabulary of 71/);
    expect(t.stdout).toMatch(/^step 20: validation loss \d\.\d{4} \(perplexity [\d.]+, [\d.]+ bits\/char\), best so far → m\.safetensors/m);
    expect(t.stdout).toMatch(/^ {2}sample: .+/m);
    expect(t.stdout).toMatch(/stopped \(step limit reached\) at step 80 /);
    const losses = [...t.stdout.matchAll(/^step \d+: validation loss (\d\.\d+)/gm)].map((m) => Number(m[1]));
    expect(losses).toHaveLength(7); // every 20 steps and at each epoch's end (25 steps): 20, 25, 40, 50, 60, 75, 80
    expect(Math.min(...losses)).toBeLessThan(losses[0]!);
    expect(losses[0]!).toBeLessThan(Math.log(71) + 0.2);
    expect([timed.code, timed.stderr]).toEqual([0, '']);
    expect(timed.stdout).toMatch(/stopped \(time limit reached\) at step \d+ .*after \d/);
    expect(timed.stdout).toMatch(/^best model: timed\.safetensors/m);
    expect(existsSync(join(dir, 'timed.safetensors')) && existsSync(join(dir, 'timed.last.safetensors'))).toBe(true);

    const [s1, s2, s3, e, best, last] = await Promise.all([
      lstmLm(['sample', 'm.safetensors', '--prompt', 'The Time ', '--length', '80', '--seed', '7', '--temperature', '0.5', '--top-k', '10']),
      lstmLm(['sample', 'm.safetensors', '--prompt', 'The Time ', '--length', '80', '--seed', '7', '--temperature', '0.5', '--top-k', '10', '--threads', '2']),
      lstmLm(['sample', 'm.safetensors', '--prompt', 'a', '--length', '400', '--stop', ' ', '--top-p', '0.9']),
      lstmLm(['eval', 'm.safetensors', text]),
      lstmLm(['info', 'm.safetensors']),
      lstmLm(['info', 'm.last.safetensors']),
    ]);
    for (const r of [s1, s2, s3, e, best, last]) expect([r.code, r.stderr]).toEqual([0, '']);
    expect(s1.stdout).toMatch(/^The Time /);
    expect([...s1.stdout.trimEnd()].length).toBe('The Time '.length + 80);
    expect(s2.stdout).toBe(s1.stdout); // the same seed, the same text, on 2 threads as on the default
    expect(s3.stdout).not.toMatch(/^a.* /); // stopped at the first space, which is not printed
    const loss = Number(/loss +(\d\.\d+) nats\/char/.exec(e.stdout)![1]);
    expect(Number(/perplexity +([\d.]+)/.exec(e.stdout)![1])).toBeCloseTo(Math.exp(loss), 2);
    expect(Number(/bits\/char +([\d.]+)/.exec(e.stdout)![1])).toBeCloseTo(loss / Math.LN2, 3);
    expect(best.stdout).toMatch(/^model +LSTM 1×32, dropout 0\.3, one-hot input/m);
    expect(best.stdout).toMatch(/^parameters +15,655$/m);
    expect(best.stdout).toMatch(/^vocabulary +71 chars/m);
    expect(best.stdout).toMatch(/^training +the best model of `lstm-lm train .*timemachine\.txt`: step \d+/m);
    expect(last.stdout).toMatch(/^optimizer +adam, \d+ steps/m);
    expect(last.stdout).toMatch(/^training +resumable: step \d+/m);
  });

  it('Ctrl-C writes a resumable checkpoint; --resume continues exactly as an uninterrupted run', async () => {
    const flags = [...tiny, '--batch', '16', '--seq', '32', '--eval-every', '10', '--log-every', '5'];
    const stopped = await lstmLm(['train', text, '-o', 'c.safetensors', '--time-limit', '60', ...flags], (out, child) => {
      if (/^step 5 /m.test(out) && !child.killed) child.kill('SIGINT');
    });
    expect(stopped.stdout).toMatch(/interrupted: stopping after this minibatch/);
    expect(stopped.stdout).toMatch(/stopped \(interrupted\) at step (\d+)/);
    expect(stopped.code).toBe(130);
    const k = Number(/stopped \(interrupted\) at step (\d+)/.exec(stopped.stdout)![1]);
    const info = await lstmLm(['info', 'c.last.safetensors']);
    expect(info.stdout).toMatch(new RegExp(`^training +resumable: step ${k},`, 'm'));

    const n = k + 12;
    const [resumed, straight, refused] = await Promise.all([
      lstmLm(['train', text, '--resume', 'c.last.safetensors', '--max-steps', String(n)]),
      lstmLm(['train', text, '-o', 'u.safetensors', '--time-limit', '60', '--max-steps', String(n), ...flags]),
      lstmLm(['train', text, '--resume', 'c.last.safetensors', '--hidden', '64']),
    ]);
    expect([resumed.code, resumed.stderr]).toEqual([0, '']);
    expect(resumed.stdout).toMatch(new RegExp(`resuming at step ${k} `));
    expect(resumed.stdout).toMatch(new RegExp(`stopped \\(step limit reached\\) at step ${n} `));
    expect(straight.code).toBe(0);
    expect(weights(join(dir, 'c.last.safetensors'))).toEqual(weights(join(dir, 'u.last.safetensors')));
    expect(weights(join(dir, 'c.safetensors'))).toEqual(weights(join(dir, 'u.safetensors')));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^lstm-lm: --hidden 64 differs from the resumed run's 32; a resumed run keeps its settings/);
  });
});
