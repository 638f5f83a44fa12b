// The protocol between a model's thread and its kernel workers, shared by both sides.
//
// Each worker owns a SharedArrayBuffer: an Int32 control block, a Float64 result slot, then
// the command list. A command is COMMAND_SIZE doubles: the kernel's index in KERNEL_NAMES
// and up to 8 arguments (byte pointers and sizes are integers, exact in a double; extra
// arguments are ignored by a wasm function).

/** Int32 slots of the control block. */
export const SEQ = 0; //     bumped by the model to start a batch of commands
export const DONE = 1; //    set by the worker to SEQ when the batch is done
export const READY = 2; //   1 once the worker has instantiated the kernels
export const STOP = 3; //    1 asks the worker to exit its loop
export const COUNT = 4; //   the number of commands in the batch
export const FAILED = 5; //  1 if a kernel threw (a trap): the batch is abandoned, DONE still set
export const CONTROL_BYTES = 32;
/** Byte offset of the Float64 result: the sum of the batch's kernel return values. */
export const RESULT_BYTE = CONTROL_BYTES;
/** Byte offset of the command list. */
export const COMMANDS_BYTE = CONTROL_BYTES + 8;
export const COMMAND_SIZE = 9;

/**
 * The worker's whole program, as source text: it needs nothing from the library — it
 * instantiates the kernel module it is sent on the shared memory and runs command lists.
 * Works as a Node `worker_threads` eval worker (CommonJS: `require` exists) and as a web
 * worker (`self`).
 */
export const WORKER_SOURCE = `'use strict';
const onFirstMessage = (handle) => {
  if (typeof require === 'function') require('worker_threads').parentPort.once('message', handle);
  else self.onmessage = (event) => { self.onmessage = null; handle(event.data); };
};
onFirstMessage(({ module, memory, buffer, names }) => {
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const kernels = names.map((name) => exports[name]);
  const control = new Int32Array(buffer, 0, ${CONTROL_BYTES / 4});
  const result = new Float64Array(buffer, ${RESULT_BYTE}, 1);
  const c = new Float64Array(buffer, ${COMMANDS_BYTE});
  Atomics.store(control, ${READY}, 1);
  Atomics.notify(control, ${READY});
  let seen = 0;
  for (;;) {
    Atomics.wait(control, ${SEQ}, seen);
    seen = Atomics.load(control, ${SEQ});
    if (Atomics.load(control, ${STOP}) === 1) break;
    const end = Atomics.load(control, ${COUNT}) * ${COMMAND_SIZE};
    let sum = 0;
    try {
      for (let i = 0; i < end; i += ${COMMAND_SIZE}) {
        const value = kernels[c[i]](c[i + 1], c[i + 2], c[i + 3], c[i + 4], c[i + 5], c[i + 6], c[i + 7], c[i + 8]);
        if (typeof value === 'number') sum += value;
      }
    } catch (error) {
      Atomics.store(control, ${FAILED}, 1);
    }
    result[0] = sum;
    Atomics.store(control, ${DONE}, seen);
    Atomics.notify(control, ${DONE});
  }
  if (typeof close === 'function') close();
});
`;
