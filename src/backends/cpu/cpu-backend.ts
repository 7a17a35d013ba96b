// `--device cpu`: DSL kernels rendered to C, compiled with the system compiler, run with OpenMP.
import { KernelBackend } from '../kernel/kernel-backend.js';
import { CpuDevice } from './cpu-device.js';
import { findCompiler } from './c-compiler.js';

export class NoCompilerError extends Error {
  constructor() {
    super('no C compiler with OpenMP support found (tried $CC, cc, gcc, clang)');
    this.name = 'NoCompilerError';
  }
}

export function createCpuBackend(threads?: number): KernelBackend {
  const cc = findCompiler();
  if (!cc) throw new NoCompilerError();
  return new KernelBackend('cpu', new CpuDevice(cc, threads));
}
