// A GPUDevice for the tests: Dawn (the `webgpu` dev dependency) on SwiftShader, the software
// Vulkan that Debian's chromium package ships (.ci/run installs it with libvulkan1). Never a
// skip: without it these tests fail, saying what is missing.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { requestGpuDevice } from '../../src/webgpu/device.js';

const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
let device: Promise<GPUDevice> | undefined;

/** The device the tests share. */
export function testDevice(): Promise<GPUDevice> {
  device ??= freshDevice();
  return device;
}

/** A device of its own (for a test that destroys it). */
export async function freshDevice(): Promise<GPUDevice> {
  if (process.env.VK_ICD_FILENAMES === undefined) {
    if (!existsSync(ICD)) throw new Error(`WebGPU tests need SwiftShader: ${ICD} is missing (apt-get install -y chromium libvulkan1).`);
    process.env.VK_ICD_FILENAMES = ICD;
  }
  process.env.XDG_RUNTIME_DIR ??= tmpdir(); // the Vulkan loader complains without one
  const { create } = await import('webgpu');
  return requestGpuDevice(create(['backend=vulkan']));
}
