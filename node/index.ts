// The Node entry, `lstm-lm/node`: what only Node can provide. The library itself (src/)
// imports nothing from Node, so that it runs in browsers too.
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import {
  loadCheckpoint, saveCheckpoint, type LoadCheckpointOptions, type LoadedCheckpoint, type LSTMLanguageModel,
  type SaveCheckpointOptions, type WorkerFactory,
} from '../src/index.js';

/**
 * Makes the model's kernel workers as Node worker threads. They do not keep the process
 * alive (`unref`), so a script ends when its own work does; `model.dispose()` stops them.
 *
 * @example
 * import { LSTMLanguageModel } from 'lstm-lm';
 * import { nodeWorkerFactory } from 'lstm-lm/node';
 * const model = new LSTMLanguageModel({ vocabSize: 28, numHiddens: 256, threads: 2, createWorker: nodeWorkerFactory });
 */
export const nodeWorkerFactory: WorkerFactory = (source) => {
  const worker = new Worker(source, { eval: true });
  worker.unref();
  return worker;
};

/**
 * Writes `saveCheckpoint(model, options)` to `path`, atomically: into a temporary file beside
 * it, then renamed over it, so that a crash while writing never leaves a half-written
 * checkpoint where the last good one was.
 *
 * @example
 * import { writeCheckpoint } from 'lstm-lm/node';
 * await writeCheckpoint('model.safetensors', model, { vocab, optimizer, training: result.state });
 */
export async function writeCheckpoint(path: string, model: LSTMLanguageModel, options: SaveCheckpointOptions): Promise<void> {
  const bytes = saveCheckpoint(model, options);
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, bytes);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * Reads a checkpoint file with `loadCheckpoint` (the same checks: a bad file throws a
 * CheckpointFormatError; a missing one, the file system's error). With `createWorker`
 * defaulting to {@link nodeWorkerFactory}, so `threads` works in Node.
 *
 * @example
 * import { readCheckpoint } from 'lstm-lm/node';
 * const { model, vocab } = await readCheckpoint('model.safetensors', { backend: 'wasm', threads: 2 });
 */
export async function readCheckpoint(path: string, options: LoadCheckpointOptions = {}): Promise<LoadedCheckpoint> {
  const bytes = await readFile(path);
  return loadCheckpoint(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), { ...options, createWorker: options.createWorker ?? nodeWorkerFactory });
}
