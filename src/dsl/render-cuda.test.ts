// CUDA and HIP renderings of every kernel, compiled where the toolchain exists. No GPU is needed to
// compile. TESSERA_REQUIRE_HIPCC=1 / TESSERA_REQUIRE_NVCC=1 turn a missing tool into a failure (CI
// installs hipcc and requires it; nvcc is checked where the machine has it).
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

/** Skips the test when `tool` is missing, unless TESSERA_REQUIRE_<TOOL> demands it. */
function requireOrSkip(t: { skip(message: string): void }, tool: string, hint: string): boolean {
  if (available(tool)) return true;
  assert.ok(!process.env[`TESSERA_REQUIRE_${tool.toUpperCase()}`], `${tool} is required here (TESSERA_REQUIRE_${tool.toUpperCase()}) but not installed`);
  t.skip(hint);
  return false;
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
  if (!requireOrSkip(t, 'nvcc', 'nvcc not installed')) return;
  const r = compile('nvcc', ['-arch=sm_90', '-diag-suppress', '177', '-Werror', 'all-warnings'], source, 'cu');
  assert.equal(r.status, 0, r.stderr);
});

test(`HIP: all ${kernels.length} kernels render${available('hipcc') ? ' and compile for gfx906 (Hygon DCU family) and gfx90a with hipcc' : ''}`, (t) => {
  const source = new HipRenderer().renderModule(kernels);
  assert.match(source, /#include <hip\/hip_runtime.h>/);
  if (!requireOrSkip(t, 'hipcc', 'hipcc not installed (Debian package hipcc)')) return;
  // HIP_PLATFORM=amd: with nvcc also installed, hipcc would otherwise target NVIDIA
  const r = compile('hipcc', ['--offload-arch=gfx906', '--offload-arch=gfx90a', '-Wno-parentheses-equality', '-Werror'], source, 'hip', { HIP_PLATFORM: 'amd' });
  assert.equal(r.status, 0, r.stderr);
});
