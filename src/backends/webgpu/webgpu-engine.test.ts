// LLMEngine on real DeepSeek models over WebGPU: batch invariance, preemption, prefix caching,
// aborts. Minutes on a software GPU, so only with TESSERA_WEBGPU_ENGINE=1 (not in CI).
import { test } from 'node:test';
import { runEngineModelSuite } from '../../../test/helpers/engine-model-suite.js';
import { sharedWebGpu } from '../../../test/helpers/webgpu-context.js';

if (process.env['TESSERA_WEBGPU_ENGINE']) {
  const gpu = await sharedWebGpu('engine suite');
  if (gpu) runEngineModelSuite('webgpu', () => gpu.backend());
} else {
  test('LLMEngine on DeepSeek models (webgpu)', { skip: 'several minutes on lavapipe: set TESSERA_WEBGPU_ENGINE=1' }, () => undefined);
}
