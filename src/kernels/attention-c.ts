// MLA absorbed decode attention on the CPU, as register-blocked products instead of one dot
// product per (key, head): a program takes 16 heads of one decode row and walks its keys (all of
// them, or the indexer's selection) in tiles of 16, with an online softmax:
//   1. the tile's latents are decoded once (e4m3 x block scale, or copied) into L [16, r + rope];
//   2. scores for all 16 heads at once: S[j] (a vector over heads) = Σ_c L[j, c] · Qᵀ[c], with Qᵀ
//      [r + rope, 16] transposed once per program, so no horizontal sums;
//   3. the running max, the rescale of earlier sums and exp, vector over heads;
//   4. o[h, :] += Σ_j p[j, h] · L[j, :r] in tiles of 4 heads x 32 columns.
// Vectors are vec16-c.ts's 16 floats, so the one spelling runs at every ISA level. The DSL kernel
// (attention.ts) computes the same attention for every other target and for shapes this one does
// not take (heads not a multiple of 16, latent width not a multiple of 32).
import { KernelBuilder } from '../dsl/builder.js';
import type { Kernel } from '../dsl/ir.js';
import type { LatentFormat } from './kv-cache.js';
import { VEC16_C } from './vec16-c.js';

/** Heads per program. */
export const MLA_C_HEADS = 16;

/** Whether the C kernel takes this shape. */
export function mlaDecodeCFits(heads: number, r: number): boolean {
  return heads % MLA_C_HEADS === 0 && r % 32 === 0;
}

const MLA_DECODE_C = `
/* keys per score group: accumulators that fit the vector registers */
#if defined(__AVX512F__)
#define TQ_MLA_G 8
#define TQ_MLA_VH 4
#else
#define TQ_MLA_G 4
#define TQ_MLA_VH 2
#endif
#define TQ_MLA_KT 16
/*
 * Absorbed attention of 16 heads of one row: ql [16, r], qp [16, rope] against nk keys (positions
 * sel[j], or j when sel is NULL; a negative position is no key). Latents: lat8 (e4m3 codes) with
 * lsc (one scale per 128) or latf (f32) [slots, r]; pe [slots, rope]. table: the sequence's block
 * table (bs slots per block). out [16, r] = softmax(scale · (ql·latᵀ + qp·peᵀ)) · lat.
 */
static void tessera_mla_decode16(const float* ql, const float* qp, const uint8_t* lat8, const float* lsc,
                                 const float* latf, const float* pe, const int32_t* table, int32_t bs,
                                 const int32_t* sel, int32_t nk, int32_t r, int32_t rope, float scale, float* out) {
  const int32_t w = r + rope, nsb = (r + 127) / 128;
  float qt[w * 16];              /* Qᵀ [w, 16] */
  float L[TQ_MLA_KT][w];         /* the tile's keys: latent then rope part */
  float o[16][r];                /* running Σ p · latent */
  float P[TQ_MLA_KT][16];        /* the tile's probabilities (unnormalized) */
  float m[16], l[16];
  for (int h = 0; h < 16; h++) {
    for (int c = 0; c < r; c++) qt[c * 16 + h] = ql[h * r + c];
    for (int d = 0; d < rope; d++) qt[(r + d) * 16 + h] = qp[h * rope + d];
    m[h] = -INFINITY;
    l[h] = 0.0f;
  }
  memset(o, 0, sizeof(o));
  for (int32_t j0 = 0; j0 < nk; j0 += TQ_MLA_KT) {
    const int32_t kt = nk - j0 < TQ_MLA_KT ? nk - j0 : TQ_MLA_KT;
    int valid[TQ_MLA_KT], any = 0;
    for (int j = 0; j < TQ_MLA_KT; j++) {
      const int32_t s = j < kt ? (sel ? sel[j0 + j] : j0 + j) : -1;
      valid[j] = s >= 0;
      if (!valid[j]) { memset(L[j], 0, sizeof(float) * w); continue; }
      any = 1;
      const int64_t slot = (int64_t)table[s / bs] * bs + s % bs;
      if (lat8) {
        const uint8_t* c8 = lat8 + slot * r;
        const float* sc = lsc + slot * nsb;
        #pragma omp simd
        for (int c = 0; c < r; c++) L[j][c] = tessera_e4m3(c8[c]) * sc[c >> 7];
      } else {
        memcpy(L[j], latf + slot * r, sizeof(float) * r);
      }
      memcpy(L[j] + r, pe + slot * rope, sizeof(float) * rope);
    }
    if (!any) continue;
    tq_v16 S[TQ_MLA_KT];
    for (int g0 = 0; g0 < TQ_MLA_KT; g0 += TQ_MLA_G) {
      tq_v16 acc[TQ_MLA_G];
      #pragma GCC unroll 8
      for (int g = 0; g < TQ_MLA_G; g++) acc[g] = (tq_v16){0};
      for (int c = 0; c < w; c++) {
        const tq_v16 q = tq_ld16(qt + c * 16);
        #pragma GCC unroll 8
        for (int g = 0; g < TQ_MLA_G; g++) acc[g] += L[g0 + g][c] * q;
      }
      #pragma GCC unroll 8
      for (int g = 0; g < TQ_MLA_G; g++) S[g0 + g] = acc[g] * scale;
    }
    float mn[16], alpha[16];
    for (int h = 0; h < 16; h++) {
      float t = m[h];
      for (int j = 0; j < TQ_MLA_KT; j++) if (valid[j] && S[j][h] > t) t = S[j][h];
      mn[h] = t;
    }
    #pragma omp simd
    for (int h = 0; h < 16; h++) alpha[h] = m[h] == -INFINITY ? 0.0f : expf(m[h] - mn[h]);
    for (int j = 0; j < TQ_MLA_KT; j++) {
      #pragma omp simd
      for (int h = 0; h < 16; h++) P[j][h] = valid[j] ? expf(S[j][h] - mn[h]) : 0.0f;
    }
    for (int h = 0; h < 16; h++) {
      float sum = 0.0f;
      for (int j = 0; j < TQ_MLA_KT; j++) sum += P[j][h];
      l[h] = l[h] * alpha[h] + sum;
      m[h] = mn[h];
      if (alpha[h] != 1.0f) {
        #pragma omp simd
        for (int c = 0; c < r; c++) o[h][c] *= alpha[h];
      }
    }
    for (int h0 = 0; h0 < 16; h0 += TQ_MLA_VH) {
      for (int c0 = 0; c0 < r; c0 += 32) {
        tq_v16 a0[TQ_MLA_VH], a1[TQ_MLA_VH];
        #pragma GCC unroll 4
        for (int i = 0; i < TQ_MLA_VH; i++) { a0[i] = tq_ld16(&o[h0 + i][c0]); a1[i] = tq_ld16(&o[h0 + i][c0 + 16]); }
        for (int j = 0; j < kt; j++) {
          const tq_v16 x0 = tq_ld16(L[j] + c0), x1 = tq_ld16(L[j] + c0 + 16);
          #pragma GCC unroll 4
          for (int i = 0; i < TQ_MLA_VH; i++) { a0[i] += P[j][h0 + i] * x0; a1[i] += P[j][h0 + i] * x1; }
        }
        #pragma GCC unroll 4
        for (int i = 0; i < TQ_MLA_VH; i++) { tq_st16(&o[h0 + i][c0], a0[i]); tq_st16(&o[h0 + i][c0 + 16], a1[i]); }
      }
    }
  }
  for (int h = 0; h < 16; h++) {
    const float inv = 1.0f / l[h];
    #pragma omp simd
    for (int c = 0; c < r; c++) out[h * r + c] = o[h][c] * inv;
  }
}
`;

/**
 * attention.ts's absorbed decode (same parameters but the scratch ones) for decode rows
 * [row_base, row_base + rows): qLat [rows, H*r], qPe [rows, H*rope] -> out [rows, H*r]; programs:
 * rows x H/16.
 */
export function attentionDecodeCKernel(format: LatentFormat, sparse: boolean): Kernel {
  const k = new KernelBuilder(`attn_decode_c_${format}_${sparse ? 'sparse' : 'dense'}`, 1);
  k.helpers('c', VEC16_C + MLA_DECODE_C);
  k.buf('q_lat', 'f32');
  k.buf('q_pe', 'f32');
  k.buf('cache_latent', format === 'fp8' ? 'u8' : 'f32');
  if (format === 'fp8') k.buf('cache_scales', 'f32');
  k.buf('cache_pe', 'f32');
  if (sparse) k.buf('sel', 'i32');
  const rowSeq = k.buf('row_seq', 'i32');
  const rowPos = k.buf('row_pos', 'i32');
  k.buf('tables', 'i32');
  k.buf('out', 'f32', true);
  const rows = k.scalar('rows');
  const heads = k.scalar('heads');
  const r = k.scalar('r');
  const rope = k.scalar('rope');
  const rowBase = k.scalar('row_base');
  const topk = k.scalar('topk');
  const maxKeys = k.scalar('max_keys');
  k.scalar('scale', 'f32');
  const blockSize = k.scalar('block_size');
  const maxBlocks = k.scalar('max_blocks');
  const hblocks = k.let(heads.div(MLA_C_HEADS), 'hblocks');
  k.programs(rows.mul(hblocks));
  k.work(rows, heads, maxKeys, r.add(rope));
  const t = k.let(k.pid.div(hblocks), 't');
  const h0 = k.let(k.pid.sub(t.mul(hblocks)).mul(MLA_C_HEADS), 'h0');
  const row = k.let(rowBase.add(t), 'row');
  const nk = k.let(sparse ? topk : rowPos.at(row).add(1), 'nk');
  const qo = k.let(t.mul(heads).add(h0), 'qo');
  // $0 q head offset, $1 the sequence's table offset, $2 this row's selection offset, $3 keys,
  // $4 r, $5 rope, $6 block size
  const lat = format === 'fp8' ? 'cache_latent, cache_scales, NULL' : 'NULL, NULL, cache_latent';
  const selArg = sparse ? 'sel + (size_t)$2' : 'NULL';
  k.call(
    { c: `tessera_mla_decode16(q_lat + (size_t)$0 * $4, q_pe + (size_t)$0 * $5, ${lat}, cache_pe, tables + (size_t)$1, $6, ${selArg}, $3, $4, $5, scale, out + (size_t)$0 * $4)` },
    qo,
    rowSeq.at(row).mul(maxBlocks),
    row.mul(topk),
    nk,
    r,
    rope,
    blockSize,
  );
  return k.build();
}
