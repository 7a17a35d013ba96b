import { runConformanceSuite } from '../../../test/helpers/conformance.js';
import { sharedWebGpu } from '../../../test/helpers/webgpu-context.js';

const gpu = await sharedWebGpu('conformance suite');
if (gpu) runConformanceSuite('webgpu', () => gpu.backend());
