// nextMacrotask's three ways back to the event loop (issue 13: src/train/yield.ts): setImmediate
// where there is one (Node), else one MessageChannel made once (browsers, workers), else
// setTimeout(0). Each test loads a fresh copy of the module with the globals it should see.
import { afterEach, describe, expect, it, vi } from 'vitest';

async function freshYield(): Promise<typeof import('../../src/train/yield.js')> {
  vi.resetModules();
  return import('../../src/train/yield.js');
}

afterEach(() => {
  vi.unstubAllGlobals();
});

const realTimeout = setTimeout;
/** 'resolved' when `p` resolves within 200 ms, else 'pending' (a mutant that never resolves fails, not hangs). */
const settles = (p: Promise<unknown>): Promise<string> =>
  Promise.race([p.then(() => 'resolved'), new Promise<string>((r) => realTimeout(() => r('pending'), 200))]);
/** Lets the promise callbacks that are due run. */
const microtasks = async (): Promise<void> => { for (let i = 0; i < 5; i++) await null; };

/** A MessageChannel stand-in: a message is delivered when `deliver()` says so. */
function fakeChannels() {
  const made: FakeChannel[] = [];
  const queue: FakeChannel[] = [];
  class FakeChannel {
    readonly port1: { onmessage: (() => void) | null } = { onmessage: null };
    readonly port2 = { postMessage: (data: unknown) => { expect(data).toBeNull(); queue.push(this); } };
    constructor() { made.push(this); }
  }
  const deliver = (): void => { queue.shift()!.port1.onmessage!(); };
  return { FakeChannel, made, queue, deliver };
}

describe('nextMacrotask', () => {
  it('uses setImmediate when there is one', async () => {
    const real = setImmediate;
    const calls: unknown[] = [];
    vi.stubGlobal('setImmediate', (callback: () => void) => { calls.push(callback); return real(callback); });
    const { nextMacrotask } = await freshYield();
    expect(await settles(nextMacrotask())).toBe('resolved');
    expect(calls).toHaveLength(1);
    expect(typeof calls[0]).toBe('function');
  });

  it('without setImmediate: one MessageChannel for every call, resolving in call order, each on its message', async () => {
    const { FakeChannel, made, queue, deliver } = fakeChannels();
    vi.stubGlobal('setImmediate', undefined);
    vi.stubGlobal('MessageChannel', FakeChannel);
    const { nextMacrotask } = await freshYield();
    const order: string[] = [];
    const a = nextMacrotask().then(() => order.push('a'));
    const b = nextMacrotask().then(() => order.push('b'));
    expect(made).toHaveLength(1);
    expect(queue).toHaveLength(2);
    await null;
    expect(order).toEqual([]); // nothing before a message
    deliver();
    await microtasks();
    expect(order).toEqual(['a']);
    deliver();
    await microtasks();
    expect(order).toEqual(['a', 'b']);
    void nextMacrotask().then(() => order.push('c'));
    expect(made).toHaveLength(1); // made once
    deliver();
    await microtasks();
    expect(order).toEqual(['a', 'b', 'c']);
    await Promise.all([a, b]);
    // A stray message with nobody waiting is ignored.
    made[0]!.port1.onmessage!();
  });

  it('with a real MessageChannel: a due timer runs first', async () => {
    const channels: MessageChannel[] = [];
    class Tracked extends MessageChannel {
      constructor() { super(); channels.push(this); }
    }
    vi.stubGlobal('setImmediate', undefined);
    vi.stubGlobal('MessageChannel', Tracked);
    const { nextMacrotask } = await freshYield();
    let fired = false;
    setTimeout(() => { fired = true; }, 0);
    const until = performance.now() + 5;
    while (performance.now() < until) { /* the timer is now due */ }
    for (let i = 0; i < 20 && !fired; i++) expect(await settles(nextMacrotask())).toBe('resolved');
    expect(fired).toBe(true);
    expect(channels).toHaveLength(1);
    channels[0]!.port1.close(); // or it keeps the test process alive
  });

  it('with neither: setTimeout(…, 0)', async () => {
    const real = setTimeout;
    const calls: unknown[][] = [];
    vi.stubGlobal('setImmediate', undefined);
    vi.stubGlobal('MessageChannel', undefined);
    vi.stubGlobal('setTimeout', (...args: [() => void, number]) => { calls.push(args); return real(...args); });
    const { nextMacrotask } = await freshYield();
    expect(await settles(nextMacrotask())).toBe('resolved');
    expect(calls.filter((c) => c[1] === 0)).toHaveLength(1); // (settles' own 200 ms timer is the real one)
    expect(typeof calls[0]![0]).toBe('function');
    expect(calls[0]![1]).toBe(0);
  });
});
