// HIP C for AMD GPUs and Hygon DCUs: the CUDA lowering with HIP's headers. Shared-memory
// reductions do not depend on the wavefront width (64 on GCN/CDNA and the DCU family).
import { CudaRenderer } from './render-cuda.js';

const HIP_PRELUDE = `#include <hip/hip_runtime.h>
#include <hip/hip_fp16.h>
#define TESSERA_DEVICE __device__ __forceinline__
TESSERA_DEVICE float tessera_bf16(unsigned int h) { return __uint_as_float(h << 16); }
TESSERA_DEVICE float tessera_f16(unsigned int h) { return __half2float(__ushort_as_half((unsigned short)h)); }
TESSERA_DEVICE float tessera_e4m3(unsigned int c) { return __uint_as_float(((c & 0x7Fu) << 20) | ((c & 0x80u) << 24)) * 0x1p120f; }
TESSERA_DEVICE int tessera_imax(int a, int b) { return a > b ? a : b; }
TESSERA_DEVICE int tessera_imin(int a, int b) { return a < b ? a : b; }
TESSERA_DEVICE unsigned int tessera_umax(unsigned int a, unsigned int b) { return a > b ? a : b; }
TESSERA_DEVICE unsigned int tessera_umin(unsigned int a, unsigned int b) { return a < b ? a : b; }
`;

export class HipRenderer extends CudaRenderer {
  override readonly target: string = 'hip';
  protected override prelude(): string {
    return HIP_PRELUDE;
  }
}
