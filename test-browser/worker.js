// A dedicated module worker: imports the built library and runs the mission on backend
// 'auto' (a worker may compile wasm synchronously) and on 'wasm' with 2 threads (workers
// made from this worker), then the webgpu backend against wasm, and posts the results to the page.
import * as lib from '/dist/index.js';
import { trainILoveCat, webgpuMatchesWasm, WEBGPU_CASES } from '/test-browser/cases.js';

async function attempt(fn) {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error: `${error?.name}: ${error?.message}` };
  }
}

const results = {
  crossOriginIsolated: globalThis.crossOriginIsolated,
  auto: await attempt(() => trainILoveCat(lib, { backend: 'auto' })),
  wasmThreads2: await attempt(() => trainILoveCat(lib, { backend: 'wasm', threads: 2, settleMs: 300 })),
  // WebGPU is in dedicated workers too (navigator.gpu): one of the page's cases.
  webgpu: await attempt(async () => {
    const gpuDevice = await lib.requestGpuDevice();
    const result = await webgpuMatchesWasm(lib, { gpuDevice, ...WEBGPU_CASES['1×32, one-hot (d2l)'] });
    gpuDevice.destroy();
    return result;
  }),
};
self.postMessage(results);
