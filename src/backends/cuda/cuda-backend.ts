// `--device cuda`: the device backend on an NVIDIA GPU through the CUDA driver API.
import { DeviceBackend } from '../device/device-backend.js';
import { CudaRenderer } from '../../dsl/render-cuda.js';
import { CudaApi } from './cuda-api.js';
import { GpuUnavailableError } from './gpu-api.js';
import { GpuDevice } from './gpu-device.js';
import { cudaIncludeDirs, nvccOptions, nvrtcCompiler, toolCompiler } from './kernel-compiler.js';
import type { KernelCompiler } from './kernel-compiler.js';

/** NVRTC, else nvcc (TESSERA_CUDA_BINARY=cubin: nvcc -cubin, no driver JIT); null: neither. */
export function cudaCompiler(cc: number): KernelCompiler | null {
  const cubin = process.env['TESSERA_CUDA_BINARY'] === 'cubin';
  const nvcc = () => toolCompiler(process.env['TESSERA_NVCC'] ?? 'nvcc', cubin ? 'cubin' : 'ptx', nvccOptions(cc, cubin ? 'cubin' : 'ptx'));
  return (cubin ? null : nvrtcCompiler(cc, cudaIncludeDirs())) ?? nvcc();
}

export function createCudaDevice(): GpuDevice {
  const api = new CudaApi();
  const compiler = cudaCompiler(api.cc);
  if (!compiler) {
    api.close();
    throw new GpuUnavailableError('cuda: neither libnvrtc.so nor nvcc found (install the CUDA toolkit, or put nvcc on PATH)');
  }
  return new GpuDevice('cuda', api, compiler, new CudaRenderer());
}

export function createCudaBackend(): DeviceBackend {
  return new DeviceBackend('cuda', createCudaDevice());
}
