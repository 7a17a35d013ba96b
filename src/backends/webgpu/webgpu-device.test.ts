// The WebGPU device's own contract: one submission per forward step, queue writes ordered after
// the encoded work that reads the buffer, in-place launches, bindings merged or rejected under an
// adapter's limits, programs spread over two dispatch dimensions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KernelBuilder } from '../../dsl/builder.js';
import type { Kernel } from '../../dsl/ir.js';
import { addKernel } from '../../kernels/elementwise.js';
import { DeviceBackend } from '../device/device-backend.js';
import { openModel } from '../../models/open-model.js';
import { loadModel } from '../../models/registry.js';
import { SingleSequence } from '../../engine/single-sequence.js';
import { fixturePath } from '../../../test/helpers/fixtures.js';
import { runConformanceSuite } from '../../../test/helpers/conformance.js';
import { OP_CASES } from '../../conformance/op-cases.js';
import { WebGpuDevice } from './webgpu-device.js';
import { WebGpuBackend } from './webgpu-backend.js';
import { WebGpuError } from './gpu-context.js';
import { sharedWebGpu, withLimits } from '../../../test/helpers/webgpu-context.js';

const gpu = await sharedWebGpu('device contract');

async function readF32(d: WebGpuDevice, b: Parameters<WebGpuDevice['download']>[0]): Promise<number[]> {
  return Array.from(new Float32Array(await d.download(b)));
}

function f32Buffer(d: WebGpuDevice, values: number[]) {
  const b = d.alloc(values.length * 4);
  d.upload(b, Float32Array.from(values));
  return b;
}

/** y = x + a·b + c over i32 a, b, c: five storage buffers. */
function fiveBuffers(): Kernel {
  const k = new KernelBuilder('five_buffers', 64);
  const a = k.buf('a', 'i32');
  const x = k.buf('x', 'f32');
  const b = k.buf('b', 'i32');
  const c = k.buf('c', 'i32');
  const y = k.buf('y', 'f32', true);
  const n = k.scalar('n');
  k.programs(n.add(63).div(64));
  k.parallel(n.sub(k.pid.mul(64)).min(64), (j) => {
    const i = k.let(k.pid.mul(64).add(j), 'i');
    y.set(i, x.at(i).add(a.at(i).mul(b.at(i)).add(c.at(i)).f32()));
  });
  return k.build();
}

if (gpu) {
  test('webgpu: a decode step is one submission whose only readback is the logits', async () => {
    const device = gpu.device();
    const model = loadModel(openModel(fixturePath('v32-tiny-bf16')), new DeviceBackend('webgpu', device), { fp8Activations: 'quant' });
    try {
      const seq = new SingleSequence(model, { maxTokens: 16 });
      await seq.prefill([0, 5, 9, 13]);
      for (const token of [21, 34]) {
        const before = { ...device.stats };
        await seq.decode(token);
        assert.equal(device.stats.submits - before.submits, 1, 'submissions per decode step');
        assert.equal(device.stats.downloadedBytes - before.downloadedBytes, model.info.vocabSize * 4, 'bytes read back per decode step');
        assert.ok(device.stats.dispatches - before.dispatches > 20, 'every layer is encoded in the step');
      }
    } finally {
      model.dispose();
    }
  });

  test('webgpu: an upload waits for encoded work that reads the buffer', async () => {
    const d = gpu.device();
    try {
      const a = f32Buffer(d, [1, 2, 3, 4]);
      const b = f32Buffer(d, [10, 20, 30, 40]);
      const y = d.alloc(16);
      d.run(addKernel(), { a, b, y, n: 4 });
      d.upload(a, Float32Array.of(100, 200, 300, 400));
      assert.deepEqual(await readF32(d, y), [11, 22, 33, 44]);
      d.run(addKernel(), { a, b, y, n: 4 });
      assert.deepEqual(await readF32(d, y), [110, 220, 330, 440]);
    } finally {
      d.dispose();
    }
  });

  test('webgpu: a launch that writes one of its inputs reads a snapshot of it', async () => {
    const d = gpu.device();
    try {
      const a = f32Buffer(d, [1, 2, 3, 4]);
      d.run(addKernel(), { a, b: a, y: a, n: 4 });
      assert.deepEqual(await readF32(d, a), [2, 4, 6, 8]);
    } finally {
      d.dispose();
    }
  });

  test('webgpu: read-only buffers share one binding over the storage-buffer limit', async () => {
    const d = new WebGpuDevice(withLimits(gpu.ctx, { maxStorageBuffersPerShaderStage: 3 }), { ownsContext: false });
    try {
      const ints = (v: number[]) => {
        const b = d.alloc(v.length * 4);
        d.upload(b, Int32Array.from(v));
        return b;
      };
      const n = 70; // two programs
      const idx = Array.from({ length: n }, (_, i) => i);
      const y = d.alloc(n * 4);
      d.run(fiveBuffers(), { a: ints(idx), x: f32Buffer(d, idx.map((i) => i / 2)), b: ints(idx.map((i) => 3 - i)), c: ints(idx.map((i) => 7 * i)), y, n });
      assert.deepEqual(await readF32(d, y), idx.map((i) => i / 2 + i * (3 - i) + 7 * i));
    } finally {
      d.dispose();
    }
  });

  test('webgpu: programs beyond one dispatch dimension spill into the second', async () => {
    const d = new WebGpuDevice(withLimits(gpu.ctx, { maxComputeWorkgroupsPerDimension: 4 }), { ownsContext: false });
    try {
      const n = 4096 * 9 + 5; // 10 programs of the add kernel: 4 x 3 workgroups
      const a = f32Buffer(d, Array.from({ length: n }, (_, i) => i));
      const y = d.alloc(n * 4);
      d.run(addKernel(), { a, b: a, y, n });
      const got = await readF32(d, y);
      assert.equal(got.length, n);
      assert.ok(got.every((v, i) => v === 2 * i));
    } finally {
      d.dispose();
    }
  });

  test('webgpu: a binding over the adapter limit fails with a clear error', () => {
    const d = new WebGpuDevice(withLimits(gpu.ctx, { maxStorageBufferBindingSize: 1024 }), { ownsContext: false });
    try {
      const a = d.alloc(4096);
      assert.throws(() => d.run(addKernel(), { a, b: a, y: d.alloc(4096), n: 1024 }), (e: unknown) => e instanceof WebGpuError && /maxStorageBufferBindingSize \(1024\)/.test(e.message));
    } finally {
      d.dispose();
    }
  });

  const limitedBackend = (limits: Parameters<typeof withLimits>[1]) => {
    const ctx = withLimits(gpu.ctx, limits);
    return () => new WebGpuBackend(new WebGpuDevice(ctx, { ownsContext: false }));
  };
  // Attention, indexer and MoE kernels bind up to 12 buffers; browsers often allow 8 or 10.
  runConformanceSuite('webgpu (8 storage buffers)', limitedBackend({ maxStorageBuffersPerShaderStage: 8 }), { only: /attention|moe/ });
  // Weights over the binding limit run as row blocks: the test matrices (141 x 160) in 128-row
  // blocks for FP8, 32-row blocks for F32, the F32 embedding table in two blocks.
  runConformanceSuite('webgpu (20 KiB bindings)', limitedBackend({ maxStorageBufferBindingSize: 20480 }), {
    only: /^(linear|embed)/,
    skip: {
      'linear F32 accumulation precision K=4096': 'its 3 x 4096 float32 input alone is over 20 KiB (activations are never split)',
      ...Object.fromEntries(Object.keys(OP_CASES).filter((n) => /^linear Q\w+ (plain|ggml) T=9$/.test(n)).map((n) => [n, 'its 9 x 512 float32 input is over 16 KiB, a 32 KiB pooled buffer (activations are never split)'])),
    },
  });
  // Expert lists over the binding limit run in groups of experts: 40 KiB holds 1 F32 expert
  // (25.6 KB per matrix), 3 BF16/F16 and 6 FP8 of the 8.
  runConformanceSuite('webgpu (40 KiB bindings)', limitedBackend({ maxStorageBufferBindingSize: 40960 }), { only: /^moe (F32|BF16|F16|F8_E4M3)/ });
  // GGUF experts are at least 256 x 256 (whole K-type blocks per row): 160 KiB holds 2 Q8_0
  // experts (68 KB each) up to 7 Q2_K ones (21 KB) of the 8.
  runConformanceSuite('webgpu (160 KiB bindings)', limitedBackend({ maxStorageBufferBindingSize: 163840 }), { only: /^moe Q/ });
}
