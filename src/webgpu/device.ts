import { show } from '../checks.js';

/**
 * A GPUDevice for the webgpu backend, from `gpu` — `navigator.gpu` in browsers (the default),
 * or in Node an implementation you install, such as the `webgpu` package's
 * `create([...])` (Dawn). Asks the adapter for its largest storage buffers, since a model's
 * numbers live in one. Throws a clear Error where there is no WebGPU or no adapter.
 *
 * @example
 * // Browser
 * const gpuDevice = await requestGpuDevice();
 * const model = new LSTMLanguageModel({ vocabSize: 65, numHiddens: 256, backend: 'webgpu', gpuDevice });
 *
 * @example
 * // Node, with `npm i webgpu`
 * import { create } from 'webgpu';
 * const gpuDevice = await requestGpuDevice(create([]));
 */
export async function requestGpuDevice(
  gpu?: GPU, options: { powerPreference?: GPUPowerPreference } = {},
): Promise<GPUDevice> {
  const source = gpu ?? (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (source === undefined || source === null || typeof (source as GPU).requestAdapter !== 'function') {
    throw new TypeError(
      `Expected \`gpu\` to be a WebGPU entry point (navigator.gpu, or in Node the \`webgpu\` package's create([])), got ${show(gpu)}` +
        (gpu === undefined ? ': this engine has no navigator.gpu.' : '.'),
    );
  }
  const adapter = await (source as GPU).requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (adapter === null) {
    throw new Error('WebGPU found no adapter (no usable GPU or driver here, or WebGPU disabled in this browser).');
  }
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
    },
  });
  // Dawn in Node (the `webgpu` package) tears the GPU down when the object `create` returned
  // is collected, even while its devices work: the device keeps it alive.
  ENTRY_POINTS.set(device, source as GPU);
  return device;
}

const ENTRY_POINTS = new WeakMap<GPUDevice, GPU>();

/** Whether `value` looks like a GPUDevice (what the `gpuDevice` option takes). */
export function isGpuDevice(value: unknown): value is GPUDevice {
  const d = value as GPUDevice | null;
  return typeof d === 'object' && d !== null && typeof d.createComputePipeline === 'function' &&
    typeof d.queue?.submit === 'function';
}
