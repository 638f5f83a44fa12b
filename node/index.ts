// The Node entry, `lstm-lm/node`: what only Node can provide. The library itself (src/)
// imports nothing from Node, so that it runs in browsers too.
import { Worker } from 'node:worker_threads';
import type { WorkerFactory } from '../src/index.js';

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
