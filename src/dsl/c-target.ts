// What the C renderer may assume about the CPU it renders for. The CPU backend derives it from the
// ISA it detected (cpu-isa.ts); the renderer never probes the machine itself. AVX512-BF16's
// vdpbf16ps is not used: with float32 inputs it needs x split into bf16 high and low parts to stay
// within the products' tolerance, two dot instructions per weight pair, and measured no faster
// than widening the weights and using FMAs (docs/benchmarks.md).
export interface CTarget {
  /** f32 lanes per vector accumulator: 4 (SSE/NEON, portable), 8 (AVX2), 16 (AVX-512) */
  readonly lanes: 4 | 8 | 16;
}

/** Eight lanes: what any x86-64 with AVX2 runs (elsewhere the compiler lowers the vectors). */
export const DEFAULT_C_TARGET: CTarget = Object.freeze({ lanes: 8 });
