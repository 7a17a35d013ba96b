// GPU kernel binaries built at run time and cached on disk next to the CPU's shared objects
// (~/.cache/tessera/kernels), keyed by a hash of (compiler, its version, target, options, source):
// a second start compiles nothing. CUDA: NVRTC (libnvrtc by name) when present, else `nvcc -ptx`
// (or -cubin); HIP: hiprtc (inside libamdhip64), else `hipcc --genco`.
import type { LibraryHandle } from 'koffi';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '../cpu/c-compiler.js';
import { GpuError } from './gpu-api.js';
import { loadLibrary } from './cuda-api.js';

export interface KernelCompiler {
  /** e.g. 'nvrtc 13.0', 'nvcc 13.0.88', 'hiprtc', 'hipcc' */
  readonly identity: string;
  /** file extension of what it makes (ptx, cubin, hsaco) */
  readonly ext: string;
  readonly options: readonly string[];
  compile(name: string, source: string): Uint8Array;
}

/** The disk cache key of a kernel binary. */
export function kernelCacheKey(c: Pick<KernelCompiler, 'identity' | 'options'>, source: string): string {
  return createHash('sha256').update(c.identity).update('\0').update(c.options.join(' ')).update('\0').update(source).digest('hex').slice(0, 24);
}

/** The binary of `source` (compiled now unless cached). */
export function cachedBinary(c: KernelCompiler, name: string, source: string, dir = cacheDir()): Uint8Array {
  const file = join(dir, `${name}-${kernelCacheKey(c, source)}.${c.ext}`);
  if (existsSync(file)) return new Uint8Array(readFileSync(file));
  const bin = c.compile(name, source);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, bin);
  renameSync(tmp, file); // atomic: concurrent processes never read a half-written file
  return bin;
}

function toolVersion(tool: string): string | null {
  const r = spawnSync(tool, ['--version'], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  return r.stdout.trim().split('\n').pop() ?? tool;
}

/** A subprocess compiler (nvcc, hipcc): source file in, binary out. */
export function toolCompiler(tool: string, ext: string, options: readonly string[], env: Record<string, string> = {}): KernelCompiler | null {
  const version = toolVersion(tool);
  if (!version) return null;
  return {
    identity: `${tool} ${version}`,
    ext,
    options,
    compile(name, source) {
      const dir = cacheDir();
      const src = join(dir, `${name}.${process.pid}.${ext === 'hsaco' ? 'hip' : 'cu'}`);
      const out = `${src}.${ext}`;
      writeFileSync(src, source);
      const r = spawnSync(tool, [...options, src, '-o', out], { encoding: 'utf8', env: { ...process.env, ...env } });
      if (r.status !== 0) throw new GpuError(`compiling kernel ${name} with ${tool} failed (source kept in ${src}):\n${r.stderr}`);
      const bin = new Uint8Array(readFileSync(out));
      rmSync(src);
      rmSync(out);
      return ext === 'ptx' ? withNul(bin) : bin;
    },
  };
}

/** cuModuleLoadData reads PTX as a NUL-terminated string. */
function withNul(b: Uint8Array): Uint8Array {
  if (b[b.length - 1] === 0) return b;
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/** nvcc options for a target: PTX for the device's virtual architecture (the driver JITs it), or a cubin. */
export function nvccOptions(cc: number, binary: 'ptx' | 'cubin'): string[] {
  return binary === 'ptx' ? ['-ptx', `-arch=compute_${cc}`] : ['-cubin', `-arch=sm_${cc}`];
}

type Fn = (...args: unknown[]) => number;

/**
 * NVRTC or hiprtc: the same six calls under two prefixes. `lib` null: not installed.
 * `getCode`: nvrtcGetPTX / hiprtcGetCode.
 */
export function rtcCompiler(lib: LibraryHandle | null, prefix: 'nvrtc' | 'hiprtc', identity: string, ext: string, options: readonly string[], preprocess: (s: string) => string = (s) => s): KernelCompiler | null {
  if (!lib) return null;
  const code = prefix === 'nvrtc' ? 'PTX' : 'Code';
  let f: Record<string, Fn>;
  try {
    f = {
      create: lib.func(`int ${prefix}CreateProgram(_Out_ uintptr_t*, const char*, const char*, int, uintptr_t, uintptr_t)`) as Fn,
      compile: lib.func(`int ${prefix}CompileProgram(uintptr_t, int, const char**)`) as Fn,
      size: lib.func(`int ${prefix}Get${code}Size(uintptr_t, _Out_ size_t*)`) as Fn,
      get: lib.func(`int ${prefix}Get${code}(uintptr_t, _Out_ uint8_t*)`) as Fn,
      logSize: lib.func(`int ${prefix}GetProgramLogSize(uintptr_t, _Out_ size_t*)`) as Fn,
      log: lib.func(`int ${prefix}GetProgramLog(uintptr_t, _Out_ uint8_t*)`) as Fn,
      destroy: lib.func(`int ${prefix}DestroyProgram(_Inout_ uintptr_t*)`) as Fn,
    };
  } catch {
    return null;
  }
  return {
    identity,
    ext,
    options,
    compile(name, source) {
      const prog = [0];
      if (f['create']!(prog, preprocess(source), `${name}.cu`, 0, 0, 0) !== 0) throw new GpuError(`${prefix}: cannot create a program for ${name}`);
      try {
        if (f['compile']!(prog[0], options.length, [...options]) !== 0) {
          const n = [0];
          f['logSize']!(prog[0], n);
          const log = new Uint8Array(n[0]!);
          f['log']!(prog[0], log);
          throw new GpuError(`compiling kernel ${name} with ${prefix} failed:\n${new TextDecoder().decode(log)}`);
        }
        const n = [0];
        f['size']!(prog[0], n);
        const bin = new Uint8Array(n[0]!);
        f['get']!(prog[0], bin);
        return bin;
      } finally {
        f['destroy']!(prog);
      }
    },
  };
}

/** NVRTC by name (libnvrtc.so.13, .12, ...), for compute capability `cc`. */
export function nvrtcCompiler(cc: number, includeDirs: readonly string[]): KernelCompiler | null {
  const lib = loadLibrary(['libnvrtc.so', 'libnvrtc.so.13', 'libnvrtc.so.12', 'libnvrtc.so.11.2']);
  if (!lib) return null;
  let version = 'nvrtc';
  try {
    const v = lib.func('int nvrtcVersion(_Out_ int*, _Out_ int*)') as Fn;
    const a = [0];
    const b = [0];
    v(a, b);
    version = `nvrtc ${a[0]}.${b[0]}`;
  } catch {
    // identity stays generic
  }
  return rtcCompiler(lib, 'nvrtc', version, 'ptx', [`--gpu-architecture=compute_${cc}`, '--std=c++17', ...includeDirs.map((d) => `-I${d}`)]);
}

/** Where the CUDA headers are (NVRTC needs cuda_fp16.h). */
export function cudaIncludeDirs(): string[] {
  const roots = [process.env['CUDA_HOME'], process.env['CUDA_PATH'], '/usr/local/cuda', '/usr/local/cuda-13.0', '/usr/local/cuda-12'].filter((r): r is string => !!r);
  return roots.map((r) => join(r, 'include')).filter((d) => existsSync(join(d, 'cuda_fp16.h'))).slice(0, 1);
}
