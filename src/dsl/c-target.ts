// What the C renderer may assume about the CPU it renders for: vector width and the dot-product
// instructions it may emit. The CPU backend derives it from the ISA it detected (cpu-isa.ts); the
// renderer never probes the machine itself.
export interface CTarget {
  /** f32 lanes per vector accumulator: 4 (SSE/NEON, portable), 8 (AVX2), 16 (AVX-512) */
  readonly lanes: 4 | 8 | 16;
  /**
   * AVX512-BF16 vdpbf16ps for bf16 weights against float32 inputs: x is split into bf16 high and
   * low parts (x = hi + lo + O(2^-17 x)), both meet the weight pair, products are exact in f32.
   */
  readonly bf16Dot: boolean;
}

/** Eight lanes, no dot instructions: what any x86-64 with AVX2 (or a compiler lowering vectors) runs. */
export const DEFAULT_C_TARGET: CTarget = Object.freeze({ lanes: 8, bf16Dot: false });
