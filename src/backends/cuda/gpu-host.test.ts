// Host-side pieces of the cuda / hip devices, tested without a GPU: argument packing against every
// catalog kernel's parameter list, grids, the kernel cache key and cache, PTX from nvcc, and the no-driver error through the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelCatalog } from '../../kernels/catalog.js';
import { CudaRenderer } from '../../dsl/render-cuda.js';
import { argLayout, gridFor, writeArgTable, writeArgs } from './launch.js';
import { cachedBinary, kernelCacheKey, nvccOptions, toolCompiler } from './kernel-compiler.js';
import type { KernelCompiler } from './kernel-compiler.js';
import { sizeClass } from './gpu-device.js';
import { loadLibrary } from './cuda-api.js';

const kernels = kernelCatalog();
const root = new URL('../../../../', import.meta.url).pathname;

test(`launch parameters of all ${kernels.length} catalog kernels pack into the void** layout`, () => {
  const base = 0x7f00_0000_1000;
  for (const k of kernels) {
    const l = argLayout(k.params);
    const view = new DataView(new ArrayBuffer(l.totalBytes));
    writeArgTable(view, l, base);
    const values = k.params.map((p, i) => (p.kind === 'scalar' ? (p.t === 'f32' ? 0.5 + i : p.t === 'u32' ? 0x8000_0000 + i : -i - 1) : 0x7e00_0000_0000 + 256 * i));
    writeArgs(view, l, values);
    k.params.forEach((p, i) => {
      // entry i of the pointer table points at slot i, which holds the argument in its C type
      const slot = Number(view.getBigUint64(l.slotBytes + 8 * i, true)) - base;
      assert.equal(slot, 8 * i, `${k.name}.${p.name}`);
      const got = p.kind !== 'scalar' ? Number(view.getBigUint64(slot, true)) : p.t === 'f32' ? view.getFloat32(slot, true) : p.t === 'u32' ? view.getUint32(slot, true) : view.getInt32(slot, true);
      assert.equal(got, values[i], `${k.name}.${p.name}`);
    });
  }
});

test('grids cover every program and stay within the device limits', () => {
  assert.deepEqual(gridFor(0), { x: 0, y: 0 });
  assert.deepEqual(gridFor(1), { x: 1, y: 1 });
  assert.deepEqual(gridFor(100, 32, 65535), { x: 32, y: 4 });
  for (const n of [1, 7, 65535, 65536, 1e6]) {
    const g = gridFor(n, 65535, 65535);
    assert.ok(g.x * g.y >= n && g.x * (g.y - 1) < n && g.x <= 65535, `${n}`);
  }
  assert.throws(() => gridFor(65536 * 65536, 65535, 65535), /exceed/);
  assert.equal(sizeClass(1), 256);
  assert.equal(sizeClass(1000), 1024);
  assert.equal(sizeClass((1 << 20) + 1), 2 << 20);
});

test('the kernel cache key changes with the compiler, its options and the source; a cached binary is not rebuilt', () => {
  const c = { identity: 'nvcc 13.0', options: ['-ptx', '-arch=compute_90'] };
  const k = kernelCacheKey(c, 'src');
  assert.equal(k, kernelCacheKey({ ...c }, 'src'));
  assert.notEqual(k, kernelCacheKey({ ...c, identity: 'nvrtc 13.0' }, 'src'));
  assert.notEqual(k, kernelCacheKey({ ...c, options: ['-ptx', '-arch=compute_80'] }, 'src'));
  assert.notEqual(k, kernelCacheKey(c, 'src2'));
  const dir = mkdtempSync(join(tmpdir(), 'tessera-gpu-cache-'));
  try {
    let builds = 0;
    const fake: KernelCompiler = { ...c, ext: 'ptx', compile: () => (builds++, new Uint8Array([1, 2, 3])) };
    assert.deepEqual([...cachedBinary(fake, 'k', 'src', dir)], [1, 2, 3]);
    assert.deepEqual([...cachedBinary(fake, 'k', 'src', dir)], [1, 2, 3]);
    assert.equal(builds, 1);
    assert.deepEqual(readdirSync(dir), [`k-${k}.ptx`]);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

// all kernels take ~30 s of nvcc: a spread of 12 by default, every one with TESSERA_FULL_PTX=1
const ptxKernels = process.env['TESSERA_FULL_PTX'] ? kernels : kernels.filter((_, i) => i % Math.ceil(kernels.length / 12) === 0);

test(`nvcc -ptx makes an entry point for ${ptxKernels.length} of the ${kernels.length} catalog kernels`, (t) => {
  const nvcc = toolCompiler('nvcc', 'ptx', [...nvccOptions(90, 'ptx'), '-diag-suppress', '177']);
  if (!nvcc) return t.skip('nvcc not installed');
  const ptx = new TextDecoder().decode(nvcc.compile('catalog', new CudaRenderer().renderModule(ptxKernels)));
  assert.match(ptx, /\.target sm_90/);
  for (const k of ptxKernels) assert.match(ptx, new RegExp(`\\.entry ${k.name}\\(`), k.name);
  assert.equal(ptx.endsWith('\0'), true, 'PTX is NUL-terminated for cuModuleLoadData');
});

for (const device of ['cuda', 'hip']) {
  test(`--device ${device} without its driver or GPU: one line naming what is missing, exit 1`, (t) => {
    if (device === 'cuda' && loadLibrary(['libcuda.so.1'])) return t.skip('an NVIDIA driver is installed here');
    const r = spawnSync(process.execPath, [join(root, 'dist/src/cli/main.js'), 'run', '--device', device, '--prompt', 'hi', '--max-tokens', '1'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.includes('no --model given'));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, device === 'cuda' ? /^tessera run: cuda: libcuda\.so\.1 not found \(no NVIDIA driver\)$/ : /^tessera run: hip: (libamdhip64\.so not found|hipInit failed)/);
  });
}

test('the device launches catalog kernels with the packed arguments, grid and block a driver would get', async () => {
  const { GpuDevice } = await import('./gpu-device.js');
  const { programCount } = await import('../webgpu/program-count.js');
  const { default: koffi } = await import('koffi');
  const launches: Array<{ fn: number; gx: number; gy: number; block: number; slots: DataView; table: DataView }> = [];
  let next = 0x1000_0000;
  const copies: number[] = [];
  const api = {
    name: 'fake', deviceName: 'fake', arch: 'sm_90', driverVersion: '0', maxGridX: 65535, maxGridY: 65535,
    malloc: (bytes: number) => ((next += Math.max(bytes, 256)), next - Math.max(bytes, 256)),
    free: () => undefined,
    copyIn: (dst: number) => void copies.push(dst),
    copyOut: () => undefined,
    loadModule: (image: Uint8Array) => image.length,
    getFunction: (m: number) => m + 1,
    launch: (fn: number, gx: number, gy: number, block: number, params: number) => {
      launches.push({ fn, gx, gy, block, slots: new DataView(koffi.view(params - 8 * kParams, 8 * kParams).slice(0)), table: new DataView(koffi.view(params, 8 * kParams).slice(0)) });
    },
    synchronize: () => undefined,
    close: () => undefined,
  };
  let kParams = 0;
  const compiler: KernelCompiler = { identity: 'fake', options: [], ext: 'ptx', compile: () => new Uint8Array(7) };
  const dir = mkdtempSync(join(tmpdir(), 'tessera-gpu-dev-'));
  process.env['TESSERA_CACHE_DIR'] = dir;
  const dev = new GpuDevice('fake', api, compiler, new CudaRenderer());
  try {
    for (const k of kernels.filter((k, i) => i < 40 || k.params.some((p) => p.kind === 'list'))) {
      kParams = k.params.length;
      const args: Record<string, number | ReturnType<typeof dev.alloc> | Array<ReturnType<typeof dev.alloc>>> = {};
      const scalars: Record<string, number> = {};
      for (const p of k.params) {
        if (p.kind === 'scalar') args[p.name] = scalars[p.name] = p.t === 'f32' ? 0.25 : 3;
        else if (p.kind === 'list') args[p.name] = [dev.alloc(64), dev.alloc(64)];
        else args[p.name] = dev.alloc(100);
      }
      const programs = programCount(k.programs, scalars);
      const before = launches.length;
      dev.run(k, args);
      if (programs === 0) {
        assert.equal(launches.length, before, k.name);
        continue;
      }
      const l = launches[launches.length - 1]!;
      assert.equal(l.block, k.threads, k.name);
      assert.ok(l.gx * l.gy >= programs && l.gx * (l.gy - 1) < programs, k.name);
      k.params.forEach((p, i) => {
        const a = args[p.name]!;
        if (p.kind === 'scalar') assert.equal(p.t === 'f32' ? l.slots.getFloat32(8 * i, true) : l.slots.getInt32(8 * i, true), a, `${k.name}.${p.name}`);
        else if (p.kind === 'buf') assert.equal(Number(l.slots.getBigUint64(8 * i, true)), (a as { ptr: number }).ptr, `${k.name}.${p.name}`);
        else assert.ok(copies.includes(Number(l.slots.getBigUint64(8 * i, true))), `${k.name}.${p.name}: a pointer table uploaded to the device`);
      });
    }
    // released buffers come back from the pool
    const a = dev.alloc(1000);
    dev.release(a);
    assert.equal(dev.alloc(900).ptr, a.ptr);
  } finally {
    dev.dispose();
    delete process.env['TESSERA_CACHE_DIR'];
    rmSync(dir, { recursive: true });
  }
});

test('every CUDA driver and HIP prototype parses in koffi (no driver needed)', async () => {
  const { default: koffi } = await import('koffi');
  const { CUDA_DECLS } = await import('./cuda-api.js');
  const { HIP_DECLS } = await import('../hip/hip-api.js');
  for (const sig of [...Object.values(CUDA_DECLS), ...Object.values(HIP_DECLS), 'int cuGetErrorName(int, _Out_ const char**)']) assert.doesNotThrow(() => koffi.proto(sig), sig);
});
