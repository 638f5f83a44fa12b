// What every command shares: its errors (one line on stderr, never a stack trace), reading
// files and checkpoints, and turning flag strings into checked numbers.
import { readFile } from 'node:fs/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  CheckpointFormatError, requestGpuDevice, resolveThreads, type LoadCheckpointOptions, type LoadedCheckpoint,
} from '../src/index.js';
import { readCheckpoint } from '../node/index.js';

/** A mistake of the user's (a bad flag, a missing file): printed as one line, exit status `code`. */
export class CliError extends Error {
  constructor(message: string, readonly code = 1) {
    super(message);
    this.name = 'CliError';
  }
}

/** A usage mistake (exit status 2, as getopt programs do), with a pointer to the command's help. */
export function usageError(command: string, message: string): CliError {
  return new CliError(`${message} (see \`lstm-lm ${command} --help\`)`, 2);
}

/** `parseArgs`, strict, with the parser's errors turned into usage errors. */
export function parseCommand<T extends ParseArgsConfig>(command: string, args: string[], config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs({ ...config, args, strict: true }) as ReturnType<typeof parseArgs<T>>;
  } catch (error) {
    const lines = (error as Error).message.split('\n').map((line) => line.trim()).filter((line) => line !== '');
    throw usageError(command, lines.join(' ').replace(/\.? To specify a positional.*$/, '').replace(/\.$/, ''));
  }
}

function describeFsError(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'is a folder, not a file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return message;
}

/** The file as bytes, or a CliError naming it. */
export async function readBytes(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new CliError(`cannot read ${what} ${path}: ${describeFsError(error)}`);
  }
}

/** The file as UTF-8 text (a byte-order mark dropped), or a CliError naming it. */
export async function readText(path: string): Promise<{ text: string; bytes: Buffer }> {
  const bytes = await readBytes(path, 'text file');
  const text = bytes.toString('utf8');
  if (text.length === 0) throw new CliError(`text file ${path} is empty`);
  return { text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, bytes };
}

/** Reads a checkpoint; a missing file or a bad one is a CliError that says which and why. */
export async function openCheckpoint(path: string, options: LoadCheckpointOptions = {}): Promise<LoadedCheckpoint> {
  await readBytes(path, 'checkpoint'); // a missing file is reported as such, before any parsing
  try {
    return await readCheckpoint(path, options);
  } catch (error) {
    if (error instanceof CheckpointFormatError) throw new CliError(`cannot read checkpoint ${path}: ${error.message}`);
    throw error;
  }
}

/** Flag parsing: the flag's string as a checked number, or a usage error naming it. */
export class Flags {
  constructor(readonly command: string) {}

  fail(message: string): never {
    throw usageError(this.command, message);
  }

  integer(name: string, value: string, min = -Infinity, max = Infinity): number {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      const range = min === 1 && max === Infinity ? 'a positive integer' : min === 0 && max === Infinity ? 'an integer ≥ 0'
        : max === Infinity ? `an integer ≥ ${min}` : `an integer in [${min}, ${max}]`;
      this.fail(`--${name} must be ${range}, got ${JSON.stringify(value)}`);
    }
    return n;
  }

  number(name: string, value: string, test: (n: number) => boolean, describe: string): number {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || !test(n)) this.fail(`--${name} must be ${describe}, got ${JSON.stringify(value)}`);
    return n;
  }

  choice<T extends string>(name: string, value: string, choices: readonly T[]): T {
    if (!(choices as readonly string[]).includes(value)) {
      this.fail(`--${name} must be ${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}, got ${JSON.stringify(value)}`);
    }
    return value as T;
  }

  /** `--backend`: one of {@link BACKENDS}. */
  backend(value: string): CliBackend {
    return this.choice('backend', value, BACKENDS);
  }

  /** `--threads`: a count in [1, 64], or 'auto' resolved as the model resolves it (the cores, up to 8). */
  threads(value: string): number {
    return resolveThreads(value === 'auto' ? 'auto' : this.integer('threads', value, 1, 64));
  }
}

/** The `--backend` choices: the model's backends ('auto' never picks webgpu). */
export const BACKENDS = ['auto', 'wasm', 'js', 'webgpu'] as const;
export type CliBackend = (typeof BACKENDS)[number];

/** What `--backend` adds to the model's (or loadCheckpoint's) options. */
export interface BackendOptions {
  backend: CliBackend;
  gpuDevice?: GPUDevice;
}

/**
 * The model options for `--backend`. For webgpu: Node has no WebGPU, so the optional `webgpu`
 * package (Dawn) is imported here, and only here — lstm-lm does not depend on it — and asked for
 * a device; a missing package or no adapter is a CliError saying what to do.
 */
export async function backendOptions(backend: CliBackend): Promise<BackendOptions> {
  if (backend !== 'webgpu') return { backend };
  let create: (flags: string[]) => GPU;
  try {
    ({ create } = await import('webgpu'));
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    if (code === 'ERR_MODULE_NOT_FOUND' && /'webgpu'/.test(message)) {
      throw new CliError('--backend webgpu needs the `webgpu` package (Dawn, WebGPU for Node), which lstm-lm does not install: run `npm i webgpu`');
    }
    throw new CliError(`--backend webgpu: cannot load the \`webgpu\` package: ${message.split('\n')[0]}`);
  }
  try {
    return { backend, gpuDevice: await requestGpuDevice(create([])) };
  } catch (error) {
    throw new CliError(`--backend webgpu: ${(error as Error).message.replace(/\.$/, '')}; ` +
      'Dawn needs a Vulkan, Metal or D3D12 driver (without a GPU on Linux, VK_ICD_FILENAMES can point at SwiftShader\'s vk_swiftshader_icd.json)');
  }
}

/** 1234567 → '1,234,567'. */
export const count = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Milliseconds as '42s', '3m05s', '1h02m'. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** What a token is called in messages: 'char' or 'word'. */
export const unit = (level: string | undefined): string => (level === 'word' ? 'word' : 'char');
