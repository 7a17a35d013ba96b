// Every kernel of the catalog rendered to WGSL and validated by Dawn (npm `webgpu`, Mesa lavapipe
// in CI): a shader module without errors and a compute pipeline created for each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelCatalog } from '../kernels/catalog.js';
import { WgslRenderer, planBindings } from './render-wgsl.js';
import { openWebGpu } from '../../test/helpers/webgpu.js';

const renderer = new WgslRenderer();
const shaders = kernelCatalog().map((k) => ({ name: k.name, code: renderer.render(k) }));
// Kernels with more storage buffers than WebGPU's default limit of 8, with read-only ones merged.
for (const k of kernelCatalog()) {
  const plan = planBindings(k, 8);
  assert.ok(plan, `${k.name} fits 8 storage buffers with merged bindings`);
  if (plan.merged.length) shaders.push({ name: `${k.name} (8 storage buffers)`, code: renderer.renderWithPlan(k, plan) });
}

test(`WGSL: all ${shaders.length} kernels pass Dawn's validation`, async (t) => {
  const gpu = await openWebGpu();
  if (!gpu) {
    if (process.env['TESSERA_REQUIRE_WEBGPU']) assert.fail('WebGPU (Dawn on lavapipe) is required here but no adapter was found');
    t.skip('no WebGPU adapter (install Mesa lavapipe; CI sets TESSERA_REQUIRE_WEBGPU=1)');
    return;
  }
  const failures: string[] = [];
  try {
    for (const { name, code } of shaders) {
      gpu.device.pushErrorScope('validation');
      const module = gpu.device.createShaderModule({ code });
      const info = await module.getCompilationInfo();
      for (const m of info.messages) if (m.type === 'error') failures.push(`${name} ${m.lineNum}:${m.linePos} ${m.message}`);
      gpu.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
      const err = await gpu.device.popErrorScope();
      if (err) failures.push(`${name}: ${err.message}`);
    }
  } finally {
    gpu.close();
  }
  assert.deepEqual(failures, []);
});
