// WebGPU in a browser: navigator.gpu (Chrome/Edge 113+, Safari 26, Firefox 141 on Windows).
import { WebGpuError, openWebGpuContext } from '../backends/webgpu/gpu-context.js';
import type { WebGpuContext } from '../backends/webgpu/gpu-context.js';

export async function openBrowserWebGpu(): Promise<WebGpuContext> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) {
    throw new WebGpuError('this browser exposes no WebGPU (navigator.gpu): use Chrome or Edge 113+ on a secure (https or localhost) page, or start Chromium with --enable-unsafe-webgpu');
  }
  const ctx = await openWebGpuContext(gpu, { powerPreference: 'high-performance' });
  if (!ctx) throw new WebGpuError('the browser found no WebGPU adapter (is hardware acceleration disabled?)');
  return ctx;
}
