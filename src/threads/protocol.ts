// The protocol between a model's thread and its kernel workers, shared by both sides.
//
// Each worker owns two SharedArrayBuffers: the control block (Int32 slots, then a Float64
// result slot) and the command list. A command is COMMAND_SIZE doubles: the kernel's index in
// KERNEL_NAMES and up to 8 arguments (byte pointers and sizes are integers, exact in a double;
// extra arguments are ignored by a wasm function). Where the engine has growable
// SharedArrayBuffers the model's thread grows the list, and the worker re-makes its view of it
// when a batch is longer than the view. (Views have fixed lengths: in V8 an element access
// through a length-tracking view costs ≈ 10× one through a fixed view.)
//
// One batch: the model writes COUNT, the running sum into the result slot, FAILED = 0,
// CLAIM = OPEN, then bumps SEQ. The worker wakes, claims the batch (CLAIM: OPEN → CLAIMED),
// runs it, adds the kernels' return values to the sum, and sets DONE = SEQ. A model that has
// waited too long for the claim revokes the batch (CLAIM: OPEN → REVOKED) and runs it itself;
// the worker, if it ever wakes, sees the revocation and only sets DONE (its "still alive").

/** Int32 slots of the control block. */
export const SEQ = 0; //     bumped by the model to post a batch of commands
export const DONE = 1; //    set by the worker to SEQ when the batch is done (or was revoked)
export const READY = 2; //   1 once the worker has instantiated the kernels
export const STOP = 3; //    1 asks the worker to exit its loop
export const COUNT = 4; //   the number of commands in the batch
export const FAILED = 5; //  1 if a kernel threw (a trap): the batch is abandoned, DONE still set
export const CLAIM = 6; //   OPEN, CLAIMED or REVOKED: who runs the posted batch (compareExchange)
export const DEAD = 7; //    1 once the worker is known to be gone: set by its own last words or by the model
export const CONTROL_SLOTS = 8;
/** Byte offset of the Float64 result: the running sum of a part's kernel return values. */
export const RESULT_BYTE = 4 * CONTROL_SLOTS;
/** Bytes of the control block. */
export const CONTROL_BYTES = RESULT_BYTE + 8;
/** Doubles per command: the kernel's index and 8 arguments. */
export const COMMAND_SIZE = 9;

/** Values of the CLAIM slot. */
export const OPEN = 0;
export const CLAIMED = 1;
export const REVOKED = 2;

/**
 * The worker's whole program, as source text: it needs nothing from the library — it
 * instantiates the kernel module it is sent on the shared memory and runs command lists.
 * Works as a Node `worker_threads` eval worker (CommonJS: `require` exists) and as a web
 * worker (`self`). Whatever ends it while JavaScript can still run (an error outside a kernel,
 * `process.exit` in Node) first sets DEAD, so that the model never waits for it.
 */
export const WORKER_SOURCE = `'use strict';
const onFirstMessage = (handle) => {
  if (typeof require === 'function') require('worker_threads').parentPort.once('message', handle);
  else self.onmessage = (event) => { self.onmessage = null; handle(event.data); };
};
onFirstMessage(({ module, memory, controlBuffer, commandBuffer, names, scratch, spin }) => {
  const control = new Int32Array(controlBuffer, 0, ${CONTROL_SLOTS});
  const die = () => {
    Atomics.store(control, ${DEAD}, 1);
    Atomics.notify(control, ${DONE});
    Atomics.notify(control, ${READY});
  };
  if (typeof process === 'object' && process !== null && typeof process.on === 'function') process.on('exit', die);
  try {
    const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
    if (scratch !== undefined) exports.scratch.value = scratch; // this thread's room for packed products
    const kernels = names.map((name) => exports[name]);
    const result = new Float64Array(controlBuffer, ${RESULT_BYTE}, 1);
    let c = new Float64Array(commandBuffer, 0, commandBuffer.byteLength / 8);
    Atomics.store(control, ${READY}, 1);
    Atomics.notify(control, ${READY});
    let seen = 0;
    for (;;) {
      // Polls first (phases come microseconds apart), then sleeps: a wake from Atomics.wait
      // costs tens of microseconds.
      for (let n = spin; n > 0 && Atomics.load(control, ${SEQ}) === seen; n--);
      Atomics.wait(control, ${SEQ}, seen);
      seen = Atomics.load(control, ${SEQ});
      if (Atomics.load(control, ${STOP}) === 1) break;
      if (Atomics.compareExchange(control, ${CLAIM}, ${OPEN}, ${CLAIMED}) === ${OPEN}) {
        const end = Atomics.load(control, ${COUNT}) * ${COMMAND_SIZE};
        if (end > c.length) c = new Float64Array(commandBuffer, 0, commandBuffer.byteLength / 8);
        let sum = result[0];
        try {
          for (let i = 0; i < end; i += ${COMMAND_SIZE}) {
            const value = kernels[c[i]](c[i + 1], c[i + 2], c[i + 3], c[i + 4], c[i + 5], c[i + 6], c[i + 7], c[i + 8]);
            if (typeof value === 'number') sum += value;
          }
        } catch (error) {
          Atomics.store(control, ${FAILED}, 1);
        }
        result[0] = sum;
      }
      Atomics.store(control, ${DONE}, seen);
      Atomics.notify(control, ${DONE});
    }
  } catch (error) {
    die();
    throw error;
  }
  if (typeof close === 'function') close();
});
`;
