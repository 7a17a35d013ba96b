// CUDA and HIP renderings of every kernel, compiled where the toolchain exists (nvcc is on the
// development and CI machines; hipcc only where installed). No GPU is needed to compile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelCatalog } from '../kernels/catalog.js';
import { CudaRenderer } from './render-cuda.js';
import { HipRenderer } from './render-hip.js';

const kernels = kernelCatalog();

function available(tool: string): boolean {
  return spawnSync(tool, ['--version'], { encoding: 'utf8' }).status === 0;
}

function compile(tool: string, args: string[], source: string, ext: string, env: Record<string, string> = {}): { status: number | null; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-gpu-'));
  try {
    const src = join(dir, `all.${ext}`);
    writeFileSync(src, source);
    const r = spawnSync(tool, [...args, '-c', src, '-o', join(dir, 'all.o')], { encoding: 'utf8', env: { ...process.env, ...env } });
    return { status: r.status, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true });
  }
}

test(`CUDA: all ${kernels.length} kernels render${available('nvcc') ? ' and compile for sm_90 with nvcc' : ''}`, (t) => {
  const source = new CudaRenderer().renderModule(kernels);
  for (const k of kernels) assert.ok(source.includes(`void __launch_bounds__(${k.threads}) ${k.name}(`), k.name);
  if (!available('nvcc')) {
    t.skip('nvcc not installed');
    return;
  }
  const r = compile('nvcc', ['-arch=sm_90', '-diag-suppress', '177', '-Werror', 'all-warnings'], source, 'cu');
  assert.equal(r.status, 0, r.stderr);
});

test(`HIP: all ${kernels.length} kernels render${available('hipcc') ? ' and compile for gfx906 (Hygon DCU family) and gfx90a with hipcc' : ''}`, (t) => {
  const source = new HipRenderer().renderModule(kernels);
  assert.match(source, /#include <hip\/hip_runtime.h>/);
  if (!available('hipcc')) {
    t.skip('hipcc not installed (Debian package hipcc)');
    return;
  }
  // HIP_PLATFORM=amd: with nvcc also installed, hipcc would otherwise target NVIDIA
  const r = compile('hipcc', ['--offload-arch=gfx906', '--offload-arch=gfx90a', '-Wno-parentheses-equality', '-Werror'], source, 'hip', { HIP_PLATFORM: 'amd' });
  assert.equal(r.status, 0, r.stderr);
});
