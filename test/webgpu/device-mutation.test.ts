// requestGpuDevice and isGpuDevice (src/webgpu/device.ts) against stand-in WebGPU objects: no
// GPU needed (issue 13: mutation testing). The real device is made in device.ts's testDevice.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isGpuDevice, requestGpuDevice } from '../../src/webgpu/device.js';

/** A stand-in GPU whose adapter records what it was asked. */
function fakeGpu(adapter: 'none' | 'one' = 'one') {
  const asked: { adapter?: unknown; device?: unknown } = {};
  const device = { createComputePipeline() {}, queue: { submit() {} } };
  const gpu = {
    requestAdapter: async (options: unknown) => {
      asked.adapter = options;
      if (adapter === 'none') return null;
      return {
        limits: { maxStorageBufferBindingSize: 1234, maxBufferSize: 5678 },
        requestDevice: async (descriptor: unknown) => { asked.device = descriptor; return device; },
      };
    },
  };
  return { gpu: gpu as unknown as GPU, asked, device };
}

afterEach(() => { vi.unstubAllGlobals(); });

describe('requestGpuDevice', () => {
  it('asks the adapter for high performance (or the preference given) and its largest buffers', async () => {
    const { gpu, asked, device } = fakeGpu();
    expect(await requestGpuDevice(gpu)).toBe(device);
    expect(asked.adapter).toEqual({ powerPreference: 'high-performance' });
    expect(asked.device).toEqual({ requiredLimits: { maxStorageBufferBindingSize: 1234, maxBufferSize: 5678 } });
    await requestGpuDevice(gpu, { powerPreference: 'low-power' });
    expect(asked.adapter).toEqual({ powerPreference: 'low-power' });
  });

  it('uses navigator.gpu when no entry point is given', async () => {
    const { gpu, device } = fakeGpu();
    vi.stubGlobal('navigator', { gpu });
    expect(await requestGpuDevice()).toBe(device);
  });

  it('refuses what is not a WebGPU entry point, and says when there is no navigator.gpu', async () => {
    vi.stubGlobal('navigator', undefined);
    await expect(requestGpuDevice()).rejects.toThrow(new TypeError(
      "Expected `gpu` to be a WebGPU entry point (navigator.gpu, or in Node the `webgpu` package's create([])), got undefined: this engine has no navigator.gpu.",
    ));
    vi.stubGlobal('navigator', {});
    await expect(requestGpuDevice()).rejects.toThrow(/got undefined: this engine has no navigator\.gpu\.$/);
    vi.stubGlobal('navigator', { gpu: null });
    await expect(requestGpuDevice()).rejects.toThrow(/^Expected `gpu` to be a WebGPU entry point .*, got undefined: this engine has no navigator\.gpu\.$/);
    await expect(requestGpuDevice(null as unknown as GPU)).rejects.toThrow(/^Expected `gpu` to be a WebGPU entry point .*, got null\.$/);
    await expect(requestGpuDevice({} as GPU)).rejects.toThrow(/, got an object\.$/);
    await expect(requestGpuDevice({ requestAdapter: 1 } as unknown as GPU)).rejects.toThrow(TypeError);
  });

  it('an Error when there is no adapter', async () => {
    await expect(requestGpuDevice(fakeGpu('none').gpu)).rejects.toThrow(
      new Error('WebGPU found no adapter (no usable GPU or driver here, or WebGPU disabled in this browser).'),
    );
  });
});

describe('isGpuDevice', () => {
  it('an object with createComputePipeline and queue.submit functions', () => {
    expect(isGpuDevice(fakeGpu().device)).toBe(true);
    expect(isGpuDevice(null)).toBe(false);
    expect(isGpuDevice(undefined)).toBe(false);
    expect(isGpuDevice('device')).toBe(false);
    expect(isGpuDevice({ queue: { submit() {} } })).toBe(false);
    expect(isGpuDevice({ createComputePipeline: 1, queue: { submit() {} } })).toBe(false);
    expect(isGpuDevice({ createComputePipeline() {} })).toBe(false);
    expect(isGpuDevice({ createComputePipeline() {}, queue: {} })).toBe(false);
    expect(isGpuDevice(Object.assign(() => {}, { createComputePipeline() {}, queue: { submit() {} } }))).toBe(false);
  });
});
