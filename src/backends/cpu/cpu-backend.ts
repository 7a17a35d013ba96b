// `--device cpu`: DSL kernels rendered to C, compiled with the system compiler, run with OpenMP.
import { DeviceBackend } from '../device/device-backend.js';
import { CpuDevice } from './cpu-device.js';
import { findCompiler } from './c-compiler.js';

export class NoCompilerError extends Error {
  constructor() {
    super('no C compiler with OpenMP support found (tried $CC, cc, gcc, clang)');
    this.name = 'NoCompilerError';
  }
}

export function createCpuBackend(threads?: number): DeviceBackend {
  const cc = findCompiler();
  if (!cc) throw new NoCompilerError();
  return new DeviceBackend('cpu', new CpuDevice(cc, threads));
}
