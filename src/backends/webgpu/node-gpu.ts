// WebGPU in Node through Dawn (npm `webgpu`). Dawn's Vulkan loader needs XDG_RUNTIME_DIR; without
// a GPU, Mesa's lavapipe (a Vulkan driver on the CPU) provides the adapter.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openWebGpuContext } from './gpu-context.js';
import type { WebGpuContext } from './gpu-context.js';

/** Dawn's instance, created once per process (it outlives every device it creates). */
let dawn: GPU | null | undefined;

async function dawnInstance(): Promise<GPU | null> {
  if (dawn !== undefined) return dawn;
  if (!process.env['XDG_RUNTIME_DIR']) {
    const dir = join(tmpdir(), `tessera-xdg-${process.getuid?.() ?? 0}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env['XDG_RUNTIME_DIR'] = dir;
  }
  try {
    const mod = await import('webgpu');
    dawn = mod.create([]);
  } catch {
    dawn = null;
  }
  return dawn;
}

/** A WebGPU device on this machine, or null when Dawn or an adapter is missing. */
export async function openNodeWebGpu(): Promise<WebGpuContext | null> {
  const gpu = await dawnInstance();
  return gpu ? openWebGpuContext(gpu, { powerPreference: 'high-performance' }) : null;
}
