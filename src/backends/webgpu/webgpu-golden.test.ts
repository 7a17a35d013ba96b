import { runGoldenSuite } from '../../../test/helpers/golden-suite.js';
import { sharedWebGpu } from '../../../test/helpers/webgpu-context.js';

const gpu = await sharedWebGpu('DeepSeek fixture goldens');
if (gpu) runGoldenSuite('webgpu', () => gpu.backend());
