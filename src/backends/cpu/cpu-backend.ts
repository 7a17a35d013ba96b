// `--device cpu`: DSL kernels rendered to C, compiled with the system compiler, run with OpenMP.
import { DeviceBackend } from '../device/device-backend.js';
import { CpuDevice } from './cpu-device.js';
import { findCompiler } from './c-compiler.js';
import type { CpuIsa } from './cpu-isa.js';

export class NoCompilerError extends Error {
  constructor() {
    super('no C compiler with OpenMP support found (tried $CC, cc, gcc, clang)');
    this.name = 'NoCompilerError';
  }
}

/** `isa`: the instruction set to render for (default: the machine's own, or $TESSERA_CPU_ISA). */
export function createCpuBackend(threads?: number, isa?: CpuIsa): DeviceBackend {
  const cc = findCompiler(isa);
  if (!cc) throw new NoCompilerError();
  return new DeviceBackend('cpu', new CpuDevice(cc, threads));
}
