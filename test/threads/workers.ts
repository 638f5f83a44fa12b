import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { WorkerFactory } from '../../src/threads/pool.js';

// Node workers for the thread tests, which the tests can reach (to terminate them, to see
// them exit) and make misbehave: `prefix` is code run in the worker before the pool's own.

/** A factory whose workers are listed in `made`; `exited[i]` resolves with worker i's exit code. */
export function workers(prefix = '', resourceLimits?: ResourceLimits) {
  const made: Worker[] = [];
  const exited: Promise<number>[] = [];
  const create: WorkerFactory = (source) => {
    const worker = new Worker(prefix + source, { eval: true, resourceLimits });
    worker.unref();
    made.push(worker);
    exited.push(new Promise((resolve) => worker.once('exit', resolve)));
    return worker;
  };
  return { create, made, exited };
}

/** Worker code that calls `action` at the worker's `n`-th kernel call (counted over its life). */
export const atKernelCall = (n: number, action: string): string => `{
  const Real = WebAssembly.Instance;
  let calls = 0;
  WebAssembly.Instance = function (module, imports) {
    const exports = {};
    for (const [name, f] of Object.entries(new Real(module, imports).exports)) {
      exports[name] = typeof f === 'function' ? (...args) => { if (++calls === ${n}) { ${action} } return f(...args); } : f;
    }
    return { exports };
  };
}
`;
/** Worker code that hides the pool's own `process.on('exit')` handler: a death only the probe or the deadline sees. */
export const silentExit = `process.on = () => process;\n`;

/** Polls `condition` every 10 ms (the event loop turns meanwhile), for at most `ms`. */
export const until = async (condition: () => boolean, ms = 3000): Promise<void> => {
  const end = Date.now() + ms;
  while (!condition() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 10));
};
