// The instruction sets the CPU backend renders and compiles for. Detected once from the CPU's
// feature flags; $TESSERA_CPU_ISA picks a lower level (tests run every level the machine can
// execute against ref). A level fixes the compiler's -march flags and the renderer's CTarget.
import { readFileSync } from 'node:fs';
import { arch } from 'node:os';
import type { CTarget } from '../../dsl/c-target.js';

export type IsaLevel = 'portable' | 'avx2' | 'avx512' | 'neon';

export interface CpuIsa {
  readonly level: IsaLevel;
  /** feature names seen on the machine that matter here (for docs and the bench report) */
  readonly features: readonly string[];
  readonly target: CTarget;
  /** compiler flags selecting the level (-march=native for the machine's own, highest level) */
  readonly march: readonly string[];
}

/** x86 levels from lowest to highest; each needs the flags listed (Linux /proc/cpuinfo names). */
const X86_LEVELS: ReadonlyArray<{ level: IsaLevel; needs: readonly string[]; target: CTarget; march: readonly string[] }> = [
  { level: 'portable', needs: [], target: { lanes: 4 }, march: ['-march=x86-64', '-mtune=native'] },
  { level: 'avx2', needs: ['avx2', 'fma', 'f16c'], target: { lanes: 8 }, march: ['-march=x86-64-v3', '-mtune=native'] },
  { level: 'avx512', needs: ['avx2', 'fma', 'f16c', 'avx512f', 'avx512bw', 'avx512vl', 'avx512dq'], target: { lanes: 16 }, march: ['-march=x86-64-v4', '-mtune=native'] },
];

/** Features reported beside the level (BF16 and int8 dots, AMX: what later paths would use). */
const REPORTED = ['avx2', 'fma', 'f16c', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_bf16', 'avx512_vnni', 'avx_vnni', 'amx_bf16', 'amx_int8', 'asimd', 'asimddp', 'bf16', 'sve'];

function cpuFlags(): Set<string> {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const line = /^(?:flags|Features)\s*:\s*(.*)$/m.exec(info)?.[1] ?? '';
    return new Set(line.split(/\s+/).filter(Boolean));
  } catch {
    return new Set();
  }
}

export class IsaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IsaError';
  }
}

/** Every level this machine can execute, lowest first. */
export function availableIsas(flags: ReadonlySet<string> = cpuFlags()): CpuIsa[] {
  const features = REPORTED.filter((f) => flags.has(f));
  if (arch() === 'arm64') {
    // NEON is part of AArch64; wider paths (dotprod, SVE) are not rendered yet
    return [{ level: 'neon', features, target: { lanes: 4 }, march: ['-mcpu=native'] }];
  }
  if (arch() !== 'x64') return [{ level: 'portable', features, target: { lanes: 4 }, march: [] }];
  return X86_LEVELS.filter((l) => l.needs.every((f) => flags.has(f))).map((l) => ({ level: l.level, features, target: l.target, march: l.march }));
}

/** The level to compile for: the machine's highest, or $TESSERA_CPU_ISA when it names one it has. */
export function detectIsa(forced: string | undefined = process.env['TESSERA_CPU_ISA']): CpuIsa {
  const levels = availableIsas();
  // the machine's own level compiles with -march=native (its tuning and every extension it has)
  if (!forced) return { ...levels[levels.length - 1]!, march: ['-march=native'] };
  const pick = levels.find((l) => l.level === forced);
  if (!pick) throw new IsaError(`TESSERA_CPU_ISA=${forced}: this CPU runs ${levels.map((l) => l.level).join(', ')}`);
  return pick;
}
