// Compiles rendered C kernels at run time with the system compiler and caches the shared objects
// on disk by a hash of (source, compiler version, flags, CPU), so a second start compiles nothing.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, devNull, homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectIsa } from './cpu-isa.js';
import type { CpuIsa } from './cpu-isa.js';

export interface CCompiler {
  readonly path: string;
  readonly version: string;
  readonly flags: readonly string[];
  /** the CPU that -march=native targets (a cache shared between machines must not mix them) */
  readonly cpu: string;
  /** the instruction set kernels are rendered and compiled for */
  readonly isa: CpuIsa;
}

// -z nodelete: libgomp's worker threads outlive any unloading of the kernels at process exit.
const FLAGS = ['-O3', '-fopenmp', '-fPIC', '-shared', '-std=gnu11', '-fno-math-errno', '-Wl,-z,nodelete'];

/**
 * $TESSERA_CC names the one compiler to use (tests set it to a missing path to force the fallback);
 * `isa` defaults to the machine's own (or $TESSERA_CPU_ISA's, cpu-isa.ts).
 */
export function findCompiler(isa: CpuIsa = detectIsa()): CCompiler | null {
  const forced = process.env['TESSERA_CC'];
  const candidates = forced ? [forced] : [process.env['CC'], 'cc', 'gcc', 'clang'].filter((c): c is string => !!c);
  for (const path of candidates) {
    const r = spawnSync(path, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) {
      // OpenMP is required: check that the compiler accepts -fopenmp and links against its runtime.
      const probe = spawnSync(path, ['-fopenmp', '-x', 'c', '-', '-o', devNull], { input: '#include <omp.h>\nint main(void){return omp_get_max_threads();}', encoding: 'utf8' });
      if (probe.status !== 0) continue;
      return { path, version: r.stdout.split('\n')[0] ?? '', flags: [...FLAGS, ...isa.march, ...vectorMath(path)], cpu: cpuIdentity(), isa };
    }
  }
  return null;
}

/**
 * glibc's vector math library where the compiler links it (x86-64 Linux): the C prelude then gives
 * expf a vector variant, so loops of exponentials (SiLU, softmax) vectorize.
 */
function vectorMath(cc: string): string[] {
  if (process.platform !== 'linux' || process.arch !== 'x64') return [];
  const probe = spawnSync(cc, ['-x', 'c', '-', '-o', devNull, '-lmvec'], { input: 'int main(void){return 0;}', encoding: 'utf8' });
  return probe.status === 0 ? ['-DTESSERA_LIBMVEC=1', '-lmvec'] : [];
}

/** CPU model and feature flags (Linux /proc/cpuinfo; elsewhere the model name). */
function cpuIdentity(): string {
  const model = cpus()[0]?.model ?? 'unknown';
  try {
    const flags = /^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
    return `${model}\n${flags}`;
  } catch {
    return model;
  }
}

export function cacheDir(): string {
  const base = process.env['TESSERA_CACHE_DIR'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir() || tmpdir(), '.cache'), 'tessera');
  const dir = join(base, 'kernels');
  mkdirSync(dir, { recursive: true });
  return dir;
}

export class CompileError extends Error {
  constructor(
    message: string,
    readonly source: string,
  ) {
    super(message);
    this.name = 'CompileError';
  }
}

/** Path of a shared object built from `source` (compiled now unless cached). */
export function compileShared(cc: CCompiler, name: string, source: string): string {
  const hash = createHash('sha256').update(cc.version).update('\0').update(cc.flags.join(' ')).update('\0').update(cc.cpu).update('\0').update(cc.isa.level).update('\0').update(source).digest('hex').slice(0, 24);
  const dir = cacheDir();
  const so = join(dir, `${name}-${hash}.so`);
  if (existsSync(so)) return so;
  const src = join(dir, `${name}-${hash}.${process.pid}.c`);
  const tmp = `${so}.${process.pid}.tmp`;
  writeFileSync(src, source);
  // libraries after the source, which needs them
  const libs = cc.flags.filter((f) => f.startsWith('-l'));
  const r = spawnSync(cc.path, [...cc.flags.filter((f) => !f.startsWith('-l')), '-o', tmp, src, ...libs, '-lm'], { encoding: 'utf8' });
  if (r.status !== 0) throw new CompileError(`compiling kernel ${name} with ${cc.path} failed (source kept in ${src}):\n${r.stderr}`, source);
  renameSync(tmp, so); // atomic: concurrent processes never load a half-written file
  rmSync(src);
  return so;
}
