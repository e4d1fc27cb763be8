/// <reference types="@webgpu/types" />
/**
 * A WebGPU adapter from Dawn for Node (`webgpu` package). Without a GPU this is SwiftShader, the
 * Vulkan-on-CPU driver shipped inside Debian's chromium.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export class NodeGpuError extends Error {
  override name = 'NodeGpuError';
}

/** Points Vulkan at SwiftShader when no driver was chosen; must run before the first adapter request. */
export function preferSwiftShaderWhenUnset(): void {
  if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
}

/** Installs the WebGPU globals (GPUBufferUsage, …) and navigator.gpu, and returns an adapter. */
export async function nodeGpuAdapter(): Promise<GPUAdapter> {
  preferSwiftShaderWhenUnset();
  // Loaded at run time, never bundled: the package finds its native dawn.node next to itself.
  const { create, globals } = createRequire(__filename)('webgpu') as typeof import('webgpu');
  Object.assign(globalThis, globals);
  // Dawn rounds timestamp queries to 65.5 µs unless told not to: a few percent of a millisecond kernel.
  const gpu = create(['disable-dawn-features=timestamp_quantization']);
  if (!('navigator' in globalThis) || !globalThis.navigator) {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  } else if (!('gpu' in globalThis.navigator)) {
    Object.defineProperty(globalThis.navigator, 'gpu', { value: gpu, configurable: true });
  }
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    throw new NodeGpuError(
      'Dawn found no WebGPU adapter. Without a GPU it needs the Vulkan loader (Debian package libvulkan1) and SwiftShader (VK_ICD_FILENAMES=' +
        SWIFTSHADER_ICD +
        ', shipped with chromium).',
    );
  }
  return adapter;
}
