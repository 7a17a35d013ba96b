// HIP C for AMD GPUs and Hygon DCUs: the CUDA lowering with HIP's headers. Shared-memory
// reductions do not depend on the wavefront width (64 on GCN/CDNA and the DCU family).
import { CudaRenderer, GPU_C_HELPERS } from './render-cuda.js';
import type { Target } from './ir.js';

const HIP_PRELUDE = `#include <hip/hip_runtime.h>
#include <hip/hip_fp16.h>
${GPU_C_HELPERS}`;

export class HipRenderer extends CudaRenderer {
  override readonly target: Target = 'hip';
  protected override prelude(): string {
    return HIP_PRELUDE;
  }
}
