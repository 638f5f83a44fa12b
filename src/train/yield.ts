// Handing control back to the event loop between minibatches, so that timers (an
// AbortSignal.timeout, a UI update) and messages run while training goes on.

type Immediate = (callback: () => void) => unknown;

let channel: MessageChannel | undefined;
const waiting: (() => void)[] = [];

/**
 * Resolves in a new macrotask: after whatever timers, I/O and messages are due have run.
 * Node: `setImmediate` (timers that are due run first in the loop's next turn). Browsers and
 * workers: a `MessageChannel` message, which browsers do not clamp as they clamp nested
 * `setTimeout(0)` to 4 ms. Elsewhere: `setTimeout(0)`. A microtask (`await null`) would not
 * do: it runs before any timer.
 *
 * @example
 * for (const batch of loader) {
 *   step(batch);
 *   await nextMacrotask(); // AbortSignal.timeout and UI timers fire here
 * }
 */
export function nextMacrotask(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: Immediate }).setImmediate;
  if (typeof immediate === 'function') return new Promise((resolve) => void immediate(resolve));
  if (typeof MessageChannel === 'function') {
    if (channel === undefined) {
      channel = new MessageChannel();
      channel.port1.onmessage = () => waiting.shift()?.();
    }
    return new Promise((resolve) => {
      waiting.push(resolve);
      channel!.port2.postMessage(null);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}
