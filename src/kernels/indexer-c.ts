// The DSA indexer's scores on the CPU as a register-blocked product (indexer.ts holds the DSL
// kernel every other target runs, and its semantics): a program scores 256 keys of one query row
// for all heads at once. The e4m3 key codes are exact in bfloat16 and so are the Hadamard-FP8
// query values, so where the CPU has AVX512-BF16 the products run on vdpbf16ps (pairs of bf16 ->
// float32 accumulators; every product exact, only the order of the float32 sums differs from the
// DSL kernel). Elsewhere float32 FMAs on vec16-c.ts's vectors: Qᵀ [128, H] against one decoded key
// at a time. The ReLU, the head weights and the key scale follow as in indexer.ts.
import { KernelBuilder } from '../dsl/builder.js';
import type { Kernel } from '../dsl/ir.js';
import { VEC16_C } from './vec16-c.js';

/** Keys scored by one program. */
export const INDEX_C_KEYS = 256;

/** Whether the C kernel takes this many index heads. */
export function indexerCFits(heads: number): boolean {
  return heads % 16 === 0 && heads <= 128;
}

const INDEX_SCORES_C = `
#if defined(__AVX512BF16__)
#include <immintrin.h>
/* bf16 bits of a float by round-to-nearest-even (exact for the e4m3 values it is given) */
static inline uint32_t tq_bf16_bits(float x) { const uint32_t u = tessera_f2u(x); return (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16; }
/* keys kb..kb+KB of the tile against HB blocks of 16 heads; qp: [64 pairs][H] bf16 pairs */
static inline __attribute__((always_inline)) void tq_index_bf16(const uint32_t* qp, const __m512* hwv, const uint32_t (*kp)[64],
                                                                const float* ks, int nk, int H, int HB, int KB, float* out) {
  __m512 acc[8][8];
  #pragma GCC unroll 8
  for (int k = 0; k < KB; k++) {
    #pragma GCC unroll 8
    for (int b = 0; b < HB; b++) acc[k][b] = _mm512_setzero_ps();
  }
  for (int p = 0; p < 64; p++) {
    __m512bh qv[8];
    #pragma GCC unroll 8
    for (int b = 0; b < HB; b++) qv[b] = (__m512bh)_mm512_loadu_si512(qp + p * H + b * 16);
    #pragma GCC unroll 8
    for (int k = 0; k < KB; k++) {
      const __m512bh kv = (__m512bh)_mm512_set1_epi32((int)kp[k][p]);
      #pragma GCC unroll 8
      for (int b = 0; b < HB; b++) acc[k][b] = _mm512_dpbf16_ps(acc[k][b], qv[b], kv);
    }
  }
  #pragma GCC unroll 8
  for (int k = 0; k < KB; k++) {
    if (k >= nk) break;
    __m512 s = _mm512_setzero_ps();
    #pragma GCC unroll 8
    for (int b = 0; b < HB; b++) s = _mm512_fmadd_ps(_mm512_max_ps(acc[k][b], _mm512_setzero_ps()), hwv[b], s);
    out[k] = _mm512_reduce_add_ps(s) * ks[k];
  }
}
#endif
/*
 * out[j] for keys s0 + j, j < n, of one query row: q [H, 128] (e4m3 values), w·w_scale·qs [H] the
 * head weights; keys at positions past the row's (j >= live) score -inf. codes [slots, 128],
 * kscales [slots]; table: the sequence's block table, bs slots per block.
 */
static void tessera_index_scores(const float* q, const float* w, const float* qs, float wscale, const uint8_t* codes,
                                 const float* kscales, const int32_t* table, int32_t bs, int32_t s0, int32_t live,
                                 int32_t n, int32_t H, float* out) {
  float hw[128];
  for (int h = 0; h < H; h++) hw[h] = w[h] * wscale * qs[h];
  int32_t slot[${INDEX_C_KEYS}];
  for (int j = 0; j < live; j++) { const int32_t s = s0 + j; slot[j] = table[s / bs] * bs + s % bs; }
#if defined(__AVX512BF16__)
  const int HB = H / 16;
  uint32_t qp[64 * 128];
  for (int p = 0; p < 64; p++)
    for (int h = 0; h < H; h++) qp[p * H + h] = tq_bf16_bits(q[h * 128 + 2 * p]) | (tq_bf16_bits(q[h * 128 + 2 * p + 1]) << 16);
  __m512 hwv[8];
  for (int b = 0; b < HB; b++) hwv[b] = _mm512_loadu_ps(hw + b * 16);
  const int KB = HB == 1 ? 8 : HB == 2 ? 8 : HB == 4 ? 6 : 3;
  uint32_t kp[8][64];
  float ks[8];
  for (int j0 = 0; j0 < live; j0 += KB) {
    const int nk = live - j0 < KB ? live - j0 : KB;
    for (int k = 0; k < KB; k++) {
      const int32_t sl = slot[j0 + (k < nk ? k : 0)];
      const uint8_t* c = codes + (size_t)sl * 128;
      #pragma omp simd
      for (int p = 0; p < 64; p++) kp[k][p] = (tessera_f2u(tessera_e4m3(c[2 * p])) >> 16) | (tessera_f2u(tessera_e4m3(c[2 * p + 1])) & 0xFFFF0000u);
      ks[k] = kscales[sl];
    }
    switch (HB) {
      case 1: tq_index_bf16(qp, hwv, kp, ks, nk, H, 1, 8, out + j0); break;
      case 2: tq_index_bf16(qp, hwv, kp, ks, nk, H, 2, 8, out + j0); break;
      case 4: tq_index_bf16(qp, hwv, kp, ks, nk, H, 4, 6, out + j0); break;
      default: tq_index_bf16(qp, hwv, kp, ks, nk, H, 8, 3, out + j0); break;
    }
  }
#else
  const int HB = H / 16;
  float qt[128 * 128];
  for (int h = 0; h < H; h++)
    for (int d = 0; d < 128; d++) qt[d * H + h] = q[h * 128 + d];
  float kd[128];
  for (int j = 0; j < live; j++) {
    const uint8_t* c = codes + (size_t)slot[j] * 128;
    #pragma omp simd
    for (int d = 0; d < 128; d++) kd[d] = tessera_e4m3(c[d]);
    tq_v16 acc[8];
    for (int b = 0; b < HB; b++) acc[b] = (tq_v16){0};
    for (int d = 0; d < 128; d++) {
      const float x = kd[d];
      for (int b = 0; b < HB; b++) acc[b] += x * tq_ld16(qt + d * H + b * 16);
    }
    float total = 0.0f;
    for (int b = 0; b < HB; b++)
      for (int i = 0; i < 16; i++) total += (acc[b][i] > 0.0f ? acc[b][i] : 0.0f) * hw[b * 16 + i];
    out[j] = total * kscales[slot[j]];
  }
#endif
  for (int j = live; j < n; j++) out[j] = -INFINITY;
}
`;

/**
 * indexer.ts's scores (same parameters) for heads a multiple of 16: programs rows x
 * ceil(keys / 256).
 */
export function indexerScoresCKernel(): Kernel {
  const k = new KernelBuilder('indexer_scores_c', 1, 'dynamic');
  k.helpers('c', VEC16_C + INDEX_SCORES_C);
  k.buf('q', 'f32');
  k.buf('q_scales', 'f32');
  k.buf('w', 'f32');
  k.buf('codes', 'u8');
  k.buf('k_scales', 'f32');
  const rowSeq = k.buf('row_seq', 'i32');
  const rowPos = k.buf('row_pos', 'i32');
  k.buf('tables', 'i32');
  k.buf('scores', 'f32', true);
  const rows = k.scalar('rows');
  const keys = k.scalar('keys');
  k.scalar('w_scale', 'f32');
  const heads = k.scalar('heads');
  const blockSize = k.scalar('block_size');
  const maxBlocks = k.scalar('max_blocks');
  const kblocks = k.let(keys.add(INDEX_C_KEYS - 1).div(INDEX_C_KEYS), 'kblocks');
  k.programs(rows.mul(kblocks));
  k.work(rows, keys, heads.mul(128));
  const t = k.let(k.pid.div(kblocks), 't');
  const s0 = k.let(k.pid.sub(t.mul(kblocks)).mul(INDEX_C_KEYS), 's0');
  const n = k.let(keys.sub(s0).min(INDEX_C_KEYS), 'n');
  const live = k.let(rowPos.at(t).add(1).sub(s0).max(0).min(n), 'live');
  // $0 the row's first head, $1 the sequence's table offset, $2 s0, $3 live, $4 n, $5 heads,
  // $6 block size, $7 the row's first score
  k.call(
    { c: 'tessera_index_scores(q + (size_t)$0 * 128, w + (size_t)$0, q_scales + (size_t)$0, w_scale, codes, k_scales, tables + (size_t)$1, $6, $2, $3, $4, $5, scores + (size_t)$7)' },
    t.mul(heads),
    rowSeq.at(t).mul(maxBlocks),
    s0,
    live,
    n,
    heads,
    blockSize,
    t.mul(keys).add(s0),
  );
  return k.build();
}
