// What the examples share at their command line: the repository's data/ folder, and errors
// that are one line on stderr and exit status 1, never a stack trace.
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** The repository's data/ folder (see data/README.md): the examples' default texts. */
export const DATA_DIR = fileURLToPath(new URL('../../data/', import.meta.url));

/** The path of a text in data/, e.g. `dataFile('timemachine.txt')`. */
export function dataFile(name: string): string {
  return resolve(DATA_DIR, name);
}

const program = basename(process.argv[1] ?? 'example');

/** Prints `<program>: <message>` to stderr and exits with status 1. */
export function fail(message: string): never {
  console.error(`${program}: ${message}`);
  process.exit(1);
}

/** `parseArgs`, with an unknown or malformed option reported by `fail`. */
export function parseCommandLine<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    return fail((error as Error).message);
  }
}

/** The file as UTF-8 text; a missing or unreadable file is reported by `fail` in one line. */
export function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a file'
      : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    return fail(`cannot read ${path}: ${why}`);
  }
}

/** The option as an integer, or `fail` naming it. */
export function integer(name: string, value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || value.trim() === '' || !Number.isInteger(n)) fail(`--${name} must be an integer, got ${JSON.stringify(value)}`);
  return n;
}

/** The option as a positive integer, or `fail` naming it. */
export function positiveInteger(name: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}
