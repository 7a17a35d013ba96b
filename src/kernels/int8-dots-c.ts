// C micro-kernels for the CPU's integer dot products: one weight row of GGUF blocks against one
// row of 8-bit activations (llama.cpp's vec_dot_type, packed as int8 by int8-linear.ts), the inner
// loop of int8-linear.ts. Each has three spellings selected by the compiler's target flags:
//   AVX-512 VNNI / AVX-VNNI: vpdpbusd (u8 x s8 -> s32, four products per lane, accumulating);
//   AVX2: vpmaddubsw (u8 x s8 -> s16 pairs) then vpmaddwd (-> s32, with the block scales);
//   anything else: the same integer sums in plain C (gcc vectorizes what it can).
// The integer sums are exact in every spelling; only the float accumulation of the blocks'
// contributions differs in order (8 lanes summed at the end vs one running sum).
//
// Block layouts (src/formats/gguf-dequant.ts):
//   Q8_0 (34 B): f16 d, int8 q[32]                      value = d·q
//   Q4_0 (18 B): f16 d, 16 B of nibbles (element j: low nibble of byte j, j+16: high)
//                                                        value = d·(q - 8)
//   Q4_1 (20 B): f16 d, f16 m, nibbles as Q4_0           value = d·q + m
//   Q5_0 (22 B): f16 d, u32 qh (bit j: 5th bit of element j), nibbles   value = d·(q - 16)
//   Q5_1 (24 B): f16 d, f16 m, qh, nibbles               value = d·q + m
//   Q2_K (84 B): 16 B of 4-bit scale/min pairs (one per 16), 64 B of 2-bit quants, f16 d, f16 dmin
//                                                        value = d·sc·q - dmin·m
//   Q3_K (110 B): 32 B of 3rd bits, 64 B of 2-bit quants, 12 B of 6-bit scales (offset 32), f16 d
//                                                        value = d·(sc - 32)·(q - 4)
//   Q4_K (144 B): f16 d, f16 dmin, 12 B of 6-bit scale/min pairs for 8 sub-blocks of 32, 128 B of
//                 nibbles (bytes 32j..32j+31: low = elements 64j+l, high = 64j+32+l)
//                                                        value = d·sc·q - dmin·m
//   Q5_K (176 B): as Q4_K with 32 B of 5th bits (bit i of byte l: element l of sub-block i) before
//                 the nibbles                            value = d·sc·q - dmin·m
//   Q6_K (210 B): 128 B low nibbles, 64 B high bit pairs, int8 scales[16] (one per 16), f16 d
//                                                        value = d·sc·(q - 32)
// Activations: int8 q with a float scale per block (Q8_0, Q8_1: 32 values, Q8_K: 256) and, for
// Q8_K, the sums of each 16 values (bsums), which carry the weights' offsets (dmin·m, the -32 of
// Q6_K, the -4 of Q3_K); for Q8_1, the block's s = d·Σq, which meets Q4_1 / Q5_1's m.

import type { ActQuantType } from '../formats/gguf-act-quant.js';

/**
 * The activation side, value for value as src/formats/gguf-act-quant.ts defines it: one block of
 * float32 x to int8 quants (and Q8_K's sums of 16); returns the block's scale.
 */
export const INT8_QUANT_C = `
/* 32 quants q = round-half-even(x · (127 / amax)); returns amax */
static inline float tq_quant32(const float* x, int8_t* q) {
  float amax = 0.0f;
  #pragma omp simd reduction(max:amax)
  for (int i = 0; i < 32; i++) amax = fabsf(x[i]) > amax ? fabsf(x[i]) : amax;
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  #pragma omp simd
  for (int i = 0; i < 32; i++) q[i] = (int8_t)rintf(x[i] * id);
  return amax;
}
/* Q8_0: d = fp16(amax / 127) */
static inline float tessera_quant_q8_0(const float* x, int8_t* q) {
  return (float)(_Float16)(tq_quant32(x, q) / 127.0f);
}
/* Q8_1: Q8_0's quants and d, and *s = fp16(amax / 127 · Σq) (with d before its fp16 rounding) */
static inline float tessera_quant_q8_1(const float* x, int8_t* q, float* s) {
  const float d = tq_quant32(x, q) / 127.0f;
  int32_t sum = 0;
  for (int i = 0; i < 32; i++) sum += q[i];
  *s = (float)(_Float16)(d * (float)sum);
  return (float)(_Float16)d;
}
/* Q8_K: max = the value of largest |x| (the first on ties), iscale = -127 / max,
   q = min(127, round-half-even(iscale · x)), d = 1 / iscale; bs: the sums of each 16 quants */
static inline float tessera_quant_q8_K(const float* x, int8_t* q, int32_t* bs) {
  /* the largest |x| as a vector reduction, then the first element that has it */
  float amax = 0.0f;
  #pragma omp simd reduction(max:amax)
  for (int i = 0; i < 256; i++) amax = fabsf(x[i]) > amax ? fabsf(x[i]) : amax;
  if (amax == 0.0f) {
    memset(q, 0, 256);
    memset(bs, 0, 16 * sizeof(int32_t));
    return 0.0f;
  }
  int first = 0;
  while (fabsf(x[first]) != amax) first++;
  const float iscale = -127.0f / x[first];
  #pragma omp simd
  for (int i = 0; i < 256; i++) {
    const float r = rintf(iscale * x[i]);
    q[i] = (int8_t)(r < 127.0f ? r : 127.0f);
  }
  for (int g = 0; g < 16; g++) {
    int32_t s = 0;
    #pragma omp simd reduction(+:s)
    for (int i = 0; i < 16; i++) s += q[16 * g + i];
    bs[g] = s;
  }
  return 1.0f / iscale;
}
`;

const DOTS_Q8_0_Q4_K_Q6_K = `
/* the fp16 value at p (little endian) */
static inline float tq_half(const uint8_t* p) { return tessera_f16((uint32_t)p[0] | ((uint32_t)p[1] << 8)); }
/* the 8 scales and 8 mins of a Q4_K / Q5_K block, a byte each, from its 12 packed bytes (4 at a time) */
static inline void tq_scales_mins_k4(const uint8_t* s, uint64_t* sc8, uint64_t* m8) {
  uint32_t u[3];
  memcpy(u, s, 12);
  *sc8 = (uint64_t)(u[0] & 0x3F3F3F3Fu) | ((uint64_t)((u[2] & 0x0F0F0F0Fu) | (((u[0] >> 6) & 0x03030303u) << 4)) << 32);
  *m8 = (uint64_t)(u[1] & 0x3F3F3F3Fu) | ((uint64_t)(((u[2] >> 4) & 0x0F0F0F0Fu) | (((u[1] >> 6) & 0x03030303u) << 4)) << 32);
}
#if defined(__AVX2__)
#include <immintrin.h>
static inline float tq_hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
/* 32 u8 x s8 products summed in fours into 8 int32 lanes, added to acc */
static inline __m256i tq_dot_u8s8(__m256i acc, __m256i u, __m256i s) {
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
  return _mm256_dpbusd_epi32(acc, u, s);
#elif defined(__AVXVNNI__)
  return _mm256_dpbusd_avx_epi32(acc, u, s);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
#endif
}
/* acc + the s16 pairs p·s summed into 8 int32 lanes (vpdpwssd where VNNI: one instruction) */
static inline __m256i tq_madd_acc(__m256i acc, __m256i p, __m256i s) {
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
  return _mm256_dpwssd_epi32(acc, p, s);
#elif defined(__AVXVNNI__)
  return _mm256_dpwssd_avx_epi32(acc, p, s);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(p, s));
#endif
}
#endif

/* Σ over nb blocks of Q8_0 weights · Q8_0 activations */
static inline float tessera_dot_q8_0(const uint8_t* w, const int8_t* x, const float* xd, int32_t nb) {
#if defined(__AVX2__)
  __m256 acc = _mm256_setzero_ps();
  for (int32_t b = 0; b < nb; b++) {
    const uint8_t* blk = w + 34 * b;
    const __m256i q = _mm256_loadu_si256((const __m256i*)(blk + 2));
    const __m256i a = _mm256_loadu_si256((const __m256i*)(x + 32 * b));
    /* signed x signed through u8 x s8: |q| times a with q's sign */
    const __m256i s = tq_dot_u8s8(_mm256_setzero_si256(), _mm256_sign_epi8(q, q), _mm256_sign_epi8(a, q));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(tq_half(blk) * xd[b]), _mm256_cvtepi32_ps(s), acc);
  }
  return tq_hsum8(acc);
#else
  float sum = 0.0f;
  for (int32_t b = 0; b < nb; b++) {
    const uint8_t* blk = w + 34 * b;
    int32_t s = 0;
    for (int i = 0; i < 32; i++) s += (int32_t)(int8_t)blk[2 + i] * (int32_t)x[32 * b + i];
    sum += tq_half(blk) * xd[b] * (float)s;
  }
  return sum;
#endif
}

/* scale and min of sub-block j of a Q4_K / Q5_K block from its 12 scale bytes */
static inline void tq_scale_min_k4(const uint8_t* s, int j, int32_t* sc, int32_t* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
    *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

/* Σ over nb blocks of Q4_K weights · Q8_K activations (bs: 16 sums per block) */
static inline float tessera_dot_q4_K(const uint8_t* w, const int8_t* x, const float* xd, const int32_t* bs, int32_t nb) {
#if defined(__AVX2__)
  __m256 acc = _mm256_setzero_ps();
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  for (int32_t b = 0; b < nb; b++) {
    const uint8_t* blk = w + 144 * b;
    const int8_t* a = x + 256 * b;
    const float d = tq_half(blk) * xd[b];
    const float dmin = tq_half(blk + 2) * xd[b];
    uint64_t sc8, m8;
    tq_scales_mins_k4(blk + 4, &sc8, &m8);
    /* mins: m_j times the activation sum of sub-block j (two sums of 16) */
    const __m256i pairs = _mm256_permute4x64_epi64(_mm256_hadd_epi32(_mm256_loadu_si256((const __m256i*)(bs + 16 * b)), _mm256_loadu_si256((const __m256i*)(bs + 16 * b + 8))), 0xD8);
    const __m256i mins = _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)m8)), pairs);
    /* scales as 16-bit lanes in both halves, one broadcast per sub-block by a byte shuffle */
    const __m256i sc = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc8)));
    const uint8_t* qs = blk + 16;
    __m256i isum = _mm256_setzero_si256();
    for (int j = 0; j < 4; j++) {
      const __m256i q = _mm256_loadu_si256((const __m256i*)(qs + 32 * j));
      const __m256i lo = _mm256_and_si256(q, low4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
      const __m256i pl = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i*)(a + 64 * j)));
      const __m256i ph = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i*)(a + 64 * j + 32)));
      const __m256i sl = _mm256_shuffle_epi8(sc, _mm256_set1_epi16((short)(0x0100 + 0x0202 * (2 * j))));
      const __m256i sh = _mm256_shuffle_epi8(sc, _mm256_set1_epi16((short)(0x0100 + 0x0202 * (2 * j + 1))));
      isum = tq_madd_acc(tq_madd_acc(isum, pl, sl), ph, sh);
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(isum), acc);
    acc = _mm256_fnmadd_ps(_mm256_set1_ps(dmin), _mm256_cvtepi32_ps(mins), acc);
  }
  return tq_hsum8(acc);
#else
  float sum = 0.0f;
  for (int32_t b = 0; b < nb; b++) {
    const uint8_t* blk = w + 144 * b;
    const int8_t* a = x + 256 * b;
    const int32_t* bsb = bs + 16 * b;
    const float d = tq_half(blk) * xd[b];
    const float dmin = tq_half(blk + 2) * xd[b];
    const uint8_t* qs = blk + 16;
    int32_t isum = 0, msum = 0;
    for (int j = 0; j < 4; j++) {
      int32_t sc0, m0, sc1, m1, sl = 0, sh = 0;
      tq_scale_min_k4(blk + 4, 2 * j, &sc0, &m0);
      tq_scale_min_k4(blk + 4, 2 * j + 1, &sc1, &m1);
      for (int l = 0; l < 32; l++) {
        sl += (qs[32 * j + l] & 0xF) * (int32_t)a[64 * j + l];
        sh += (qs[32 * j + l] >> 4) * (int32_t)a[64 * j + 32 + l];
      }
      isum += sc0 * sl + sc1 * sh;
      msum += m0 * (bsb[4 * j] + bsb[4 * j + 1]) + m1 * (bsb[4 * j + 2] + bsb[4 * j + 3]);
    }
    sum += d * (float)isum - dmin * (float)msum;
  }
  return sum;
#endif
}

/* Σ over nb blocks of Q6_K weights · Q8_K activations; the -32 of each quant meets the
   activation sums of 16 (32 · Σ_g sc_g · bs_g), folded into the block's integer sum */
static inline float tessera_dot_q6_K(const uint8_t* w, const int8_t* x, const float* xd, const int32_t* bs, int32_t nb) {
#if defined(__AVX2__)
  __m256 acc = _mm256_setzero_ps();
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const __m256i low2 = _mm256_set1_epi8(0x03);
  for (int32_t b = 0; b < nb; b++) {
    const uint8_t* blk = w + 210 * b;
    const int8_t* a = x + 256 * b;
    const int8_t* scb = (const int8_t*)(blk + 192);
    const float d = tq_half(blk + 208) * xd[b];
    const __m256i offs = _mm256_add_epi32(
      _mm256_mullo_epi32(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i*)scb)), _mm256_loadu_si256((const __m256i*)(bs + 16 * b))),
      _mm256_mullo_epi32(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i*)(scb + 8))), _mm256_loadu_si256((const __m256i*)(bs + 16 * b + 8))));
    __m256i isum = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(offs, 5));
    for (int n = 0; n < 2; n++) {
      const uint8_t* ql = blk + 64 * n;
      const __m256i qh = _mm256_loadu_si256((const __m256i*)(blk + 128 + 32 * n));
      const __m256i l0 = _mm256_loadu_si256((const __m256i*)ql);
      const __m256i l1 = _mm256_loadu_si256((const __m256i*)(ql + 32));
      /* this half's 8 scales as 16-bit lanes in both 128-bit halves */
      const __m256i sc = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i*)(scb + 8 * n))));
      __m256i q[4];
      q[0] = _mm256_or_si256(_mm256_and_si256(l0, low4), _mm256_slli_epi16(_mm256_and_si256(qh, low2), 4));
      q[1] = _mm256_or_si256(_mm256_and_si256(l1, low4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), low2), 4));
      q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), low2), 4));
      q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), low2), 4));
      for (int g = 0; g < 4; g++) {
        /* 32 values = two scale groups of 16 (the low and the high 128-bit lane): scales 2g, 2g+1 */
        const __m256i p = _mm256_maddubs_epi16(q[g], _mm256_loadu_si256((const __m256i*)(a + 128 * n + 32 * g)));
        const short lo = (short)(0x0100 + 0x0202 * (2 * g)), hi = (short)(0x0100 + 0x0202 * (2 * g + 1));
        const __m256i s = _mm256_shuffle_epi8(sc, _mm256_set_epi16(hi, hi, hi, hi, hi, hi, hi, hi, lo, lo, lo, lo, lo, lo, lo, lo));
        isum = tq_madd_acc(isum, p, s);
      }
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(isum), acc);
  }
  return tq_hsum8(acc);
#else
  float sum = 0.0f;
  for (int32_t b = 0; b < nb; b++) {
    const uint8_t* blk = w + 210 * b;
    const int8_t* a = x + 256 * b;
    const int32_t* bsb = bs + 16 * b;
    const int8_t* sc = (const int8_t*)(blk + 192);
    const float d = tq_half(blk + 208) * xd[b];
    int32_t isum = 0;
    for (int g = 0; g < 16; g++) isum -= 32 * (int32_t)sc[g] * bsb[g];
    for (int n = 0; n < 2; n++) {
      const uint8_t* ql = blk + 64 * n;
      const uint8_t* qh = blk + 128 + 32 * n;
      for (int l = 0; l < 32; l++) {
        const int32_t q0 = (ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4);
        const int32_t q1 = (ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4);
        const int32_t q2 = (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4);
        const int32_t q3 = (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4);
        const int g = 8 * n + l / 16;
        isum += sc[g] * q0 * a[128 * n + l] + sc[g + 2] * q1 * a[128 * n + 32 + l] + sc[g + 4] * q2 * a[128 * n + 64 + l] + sc[g + 6] * q3 * a[128 * n + 96 + l];
      }
    }
    sum += d * (float)isum;
  }
  return sum;
#endif
}

/* The same products for 4 input rows at once (prefill): each weight block is unpacked once and
   meets the activation rows i0..i3 (x, xd and bs of row i at x + i·xs, xd + i·ds, bs + i·xs/16);
   the results go to y[0], y[ys], y[2·ys], y[3·ys]. */
static inline void tessera_dot4_q8_0(const uint8_t* w, const int8_t* x, int32_t xs, int32_t i0, int32_t i1, int32_t i2, int32_t i3, const float* xd, int32_t ds, int32_t nb, float* y, int32_t ys) {
  const int32_t rows[4] = {i0, i1, i2, i3};
#if defined(__AVX2__)
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  for (int32_t b = 0; b < nb; b++) {
    const uint8_t* blk = w + 34 * b;
    const __m256i q = _mm256_loadu_si256((const __m256i*)(blk + 2));
    const __m256i aq = _mm256_sign_epi8(q, q);
    const __m256 d = _mm256_set1_ps(tq_half(blk));
    for (int r = 0; r < 4; r++) {
      const __m256i a = _mm256_loadu_si256((const __m256i*)(x + (size_t)rows[r] * xs + 32 * b));
      const __m256i s = tq_dot_u8s8(_mm256_setzero_si256(), aq, _mm256_sign_epi8(a, q));
      /* the input's scale broadcast from memory, the weight's shared by the four */
      acc[r] = _mm256_fmadd_ps(d, _mm256_mul_ps(_mm256_cvtepi32_ps(s), _mm256_broadcast_ss(xd + (size_t)rows[r] * ds + b)), acc[r]);
    }
  }
  for (int r = 0; r < 4; r++) y[(size_t)r * ys] = tq_hsum8(acc[r]);
#else
  for (int r = 0; r < 4; r++) y[(size_t)r * ys] = tessera_dot_q8_0(w, x + (size_t)rows[r] * xs, xd + (size_t)rows[r] * ds, nb);
#endif
}

static inline void tessera_dot4_q4_K(const uint8_t* w, const int8_t* x, int32_t xs, int32_t i0, int32_t i1, int32_t i2, int32_t i3, const float* xd, int32_t ds, const int32_t* bs, int32_t nb, float* y, int32_t ys) {
  const int32_t rows[4] = {i0, i1, i2, i3};
  const int32_t bss = xs / 16;
#if defined(__AVX2__)
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  for (int32_t b = 0; b < nb; b++) {
    const uint8_t* blk = w + 144 * b;
    const float d = tq_half(blk);
    const float dmin = tq_half(blk + 2);
    uint64_t sc8, m8;
    tq_scales_mins_k4(blk + 4, &sc8, &m8);
    const __m256i m = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)m8));
    const __m256i sc = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc8)));
    const uint8_t* qs = blk + 16;
    __m256i isum[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
    for (int j = 0; j < 4; j++) {
      const __m256i q = _mm256_loadu_si256((const __m256i*)(qs + 32 * j));
      const __m256i lo = _mm256_and_si256(q, low4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
      const __m256i sl = _mm256_shuffle_epi8(sc, _mm256_set1_epi16((short)(0x0100 + 0x0202 * (2 * j))));
      const __m256i sh = _mm256_shuffle_epi8(sc, _mm256_set1_epi16((short)(0x0100 + 0x0202 * (2 * j + 1))));
      for (int r = 0; r < 4; r++) {
        const int8_t* a = x + (size_t)rows[r] * xs + 256 * b + 64 * j;
        const __m256i pl = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i*)a));
        const __m256i ph = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i*)(a + 32)));
        isum[r] = tq_madd_acc(tq_madd_acc(isum[r], pl, sl), ph, sh);
      }
    }
    for (int r = 0; r < 4; r++) {
      const int32_t* bsr = bs + (size_t)rows[r] * bss + 16 * b;
      const __m256i pairs = _mm256_permute4x64_epi64(_mm256_hadd_epi32(_mm256_loadu_si256((const __m256i*)bsr), _mm256_loadu_si256((const __m256i*)(bsr + 8))), 0xD8);
      const float xdr = xd[(size_t)rows[r] * ds + b];
      acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d * xdr), _mm256_cvtepi32_ps(isum[r]), acc[r]);
      acc[r] = _mm256_fnmadd_ps(_mm256_set1_ps(dmin * xdr), _mm256_cvtepi32_ps(_mm256_mullo_epi32(m, pairs)), acc[r]);
    }
  }
  for (int r = 0; r < 4; r++) y[(size_t)r * ys] = tq_hsum8(acc[r]);
#else
  for (int r = 0; r < 4; r++) y[(size_t)r * ys] = tessera_dot_q4_K(w, x + (size_t)rows[r] * xs, xd + (size_t)rows[r] * ds, bs + (size_t)rows[r] * bss, nb);
#endif
}

static inline void tessera_dot4_q6_K(const uint8_t* w, const int8_t* x, int32_t xs, int32_t i0, int32_t i1, int32_t i2, int32_t i3, const float* xd, int32_t ds, const int32_t* bs, int32_t nb, float* y, int32_t ys) {
  const int32_t rows[4] = {i0, i1, i2, i3};
  const int32_t bss = xs / 16;
#if defined(__AVX2__)
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const __m256i low2 = _mm256_set1_epi8(0x03);
  for (int32_t b = 0; b < nb; b++) {
    const uint8_t* blk = w + 210 * b;
    const int8_t* scb = (const int8_t*)(blk + 192);
    const float d = tq_half(blk + 208);
    const __m256i sc0 = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i*)scb));
    const __m256i sc1 = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i*)(scb + 8)));
    __m256i isum[4];
    for (int r = 0; r < 4; r++) {
      const int32_t* bsr = bs + (size_t)rows[r] * bss + 16 * b;
      const __m256i offs = _mm256_add_epi32(_mm256_mullo_epi32(sc0, _mm256_loadu_si256((const __m256i*)bsr)), _mm256_mullo_epi32(sc1, _mm256_loadu_si256((const __m256i*)(bsr + 8))));
      isum[r] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(offs, 5));
    }
    for (int n = 0; n < 2; n++) {
      const uint8_t* ql = blk + 64 * n;
      const __m256i qh = _mm256_loadu_si256((const __m256i*)(blk + 128 + 32 * n));
      const __m256i l0 = _mm256_loadu_si256((const __m256i*)ql);
      const __m256i l1 = _mm256_loadu_si256((const __m256i*)(ql + 32));
      const __m256i sc = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i*)(scb + 8 * n))));
      for (int g = 0; g < 4; g++) {
        const __m256i lq = g == 0 ? _mm256_and_si256(l0, low4) : g == 1 ? _mm256_and_si256(l1, low4) : g == 2 ? _mm256_and_si256(_mm256_srli_epi16(l0, 4), low4) : _mm256_and_si256(_mm256_srli_epi16(l1, 4), low4);
        const __m256i q = _mm256_or_si256(lq, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * g), low2), 4));
        const short lo = (short)(0x0100 + 0x0202 * (2 * g)), hi = (short)(0x0100 + 0x0202 * (2 * g + 1));
        const __m256i s = _mm256_shuffle_epi8(sc, _mm256_set_epi16(hi, hi, hi, hi, hi, hi, hi, hi, lo, lo, lo, lo, lo, lo, lo, lo));
        for (int r = 0; r < 4; r++) {
          const __m256i p = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i*)(x + (size_t)rows[r] * xs + 256 * b + 128 * n + 32 * g)));
          isum[r] = tq_madd_acc(isum[r], p, s);
        }
      }
    }
    for (int r = 0; r < 4; r++) acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d * xd[(size_t)rows[r] * ds + b]), _mm256_cvtepi32_ps(isum[r]), acc[r]);
  }
  for (int r = 0; r < 4; r++) y[(size_t)r * ys] = tq_hsum8(acc[r]);
#else
  for (int r = 0; r < 4; r++) y[(size_t)r * ys] = tessera_dot_q6_K(w, x + (size_t)rows[r] * xs, xd + (size_t)rows[r] * ds, bs + (size_t)rows[r] * bss, nb);
#endif
}
`;

/**
 * The other block types share one shape: tq_rows_<type>(w, nb, a, nr, y, ys) sets y[r·ys] to the
 * product of one weight row (nb blocks) with each of the activation rows a[0..nr), nr ≤ 4, so a
 * weight block is unpacked once for all of them; the entry points (entryPoints) call it with one
 * row or four.
 */
const ROWS_C = `
/* one activation row: int8 quants, a scale per block, and Q8_K's sums of 16 (bs) or Q8_1's block
   sums (s) */
typedef struct { const int8_t* q; const float* d; const int32_t* bs; const float* s; } tq_act;

/* the 32-element types; Q4_1 and Q5_1 have an offset m (at byte 2), which meets Q8_1's s */
enum tq_type32 { TQ_Q4_0, TQ_Q4_1, TQ_Q5_0, TQ_Q5_1 };
static inline int tq_bytes32(enum tq_type32 t) { return t == TQ_Q4_0 ? 18 : t == TQ_Q4_1 ? 20 : t == TQ_Q5_0 ? 22 : 24; }
static inline int tq_has_min(enum tq_type32 t) { return t == TQ_Q4_1 || t == TQ_Q5_1; }

/* the 16 6-bit scales (before the offset of 32) of a Q3_K block from its 12 scale bytes: low
   nibbles from bytes 0..7 (low halves first), high bit pairs from bytes 8..11 */
static inline void tq_scales_q3_K(const uint8_t* s, uint8_t* sc) {
  uint32_t u[3], out[4];
  memcpy(u, s, 12);
  for (int w = 0; w < 4; w++) out[w] = ((u[w & 1] >> (4 * (w >> 1))) & 0x0F0F0F0Fu) | (((u[2] >> (2 * w)) & 0x03030303u) << 4);
  memcpy(sc, out, 16);
}

#if defined(__AVX2__)
/* 32 bytes: byte i is 0xFF where bit i of the little-endian word at p is set */
static inline __m256i tq_bit_bytes(const uint8_t* p) {
  uint32_t bits;
  memcpy(&bits, p, 4);
  const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), _mm256_set_epi64x(0x0303030303030303LL, 0x0202020202020202LL, 0x0101010101010101LL, 0));
  const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
  return _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
}
/* 16 bytes of nibbles as 32 bytes: the low nibbles (elements 0..15), then the high ones */
static inline __m256i tq_nibbles(const uint8_t* qs) {
  const __m128i q = _mm_loadu_si128((const __m128i*)qs);
  const __m128i low4 = _mm_set1_epi8(0x0F);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), low4), _mm_and_si128(q, low4));
}
/* the 16-bit entries lo and hi of sc in the low and the high 128-bit half */
static inline __m256i tq_scale_halves(__m256i sc, int lo, int hi) {
  const short l = (short)(0x0100 + 0x0202 * lo), h = (short)(0x0100 + 0x0202 * hi);
  return _mm256_shuffle_epi8(sc, _mm256_set_epi16(h, h, h, h, h, h, h, h, l, l, l, l, l, l, l, l));
}
/* bit s of each byte of v, moved to bit t */
static inline __m256i tq_bit_to(__m256i v, int s, int t) {
  return _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(v, s), _mm256_set1_epi8(1)), t);
}

/* a block's 32 quants: signed q - 8 / q - 16 (Q4_0, Q5_0) or q (Q4_1, Q5_1; 0..31) */
static inline __m256i tq_quants32(enum tq_type32 t, const uint8_t* blk) {
  const __m256i fifth = _mm256_set1_epi8(0x10);
  switch (t) {
    case TQ_Q4_0: return _mm256_sub_epi8(tq_nibbles(blk + 2), _mm256_set1_epi8(8));
    case TQ_Q4_1: return tq_nibbles(blk + 4);
    case TQ_Q5_0: return _mm256_sub_epi8(_mm256_or_si256(tq_nibbles(blk + 6), _mm256_and_si256(tq_bit_bytes(blk + 2), fifth)), fifth);
    default: return _mm256_or_si256(tq_nibbles(blk + 8), _mm256_and_si256(tq_bit_bytes(blk + 4), fifth));
  }
}
/* Σ over blocks of d·d_x·Σ q·q_x (+ m·s_x for the types with an offset) */
static inline __attribute__((always_inline)) void tq_rows32(enum tq_type32 t, const uint8_t* w, int32_t nb, const tq_act* a, int nr, float* y, int32_t ys) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  float mins[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (int32_t b = 0; b < nb; b++) {
    const uint8_t* blk = w + (size_t)tq_bytes32(t) * b;
    const __m256i q = tq_quants32(t, blk);
    const float d = tq_half(blk);
    /* signed quants meet the activations as |q| and the activations with q's sign */
    const __m256i u = tq_has_min(t) ? q : _mm256_sign_epi8(q, q);
    for (int r = 0; r < nr; r++) {
      const __m256i x = _mm256_loadu_si256((const __m256i*)(a[r].q + 32 * b));
      const __m256i s = tq_dot_u8s8(_mm256_setzero_si256(), u, tq_has_min(t) ? x : _mm256_sign_epi8(x, q));
      acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d * a[r].d[b]), _mm256_cvtepi32_ps(s), acc[r]);
      if (tq_has_min(t)) mins[r] += tq_half(blk + 2) * a[r].s[b];
    }
  }
  for (int r = 0; r < nr; r++) y[(size_t)r * ys] = tq_hsum8(acc[r]) + mins[r];
}

/* Q2_K: 8 groups of 32 (two scales of 16 each, one per 128-bit half); the mins meet bs */
static inline __attribute__((always_inline)) void tq_rows_q2_K(const uint8_t* w, int32_t nb, const tq_act* a, int nr, float* y, int32_t ys) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  const __m256i low2 = _mm256_set1_epi8(0x03);
  const __m128i low4 = _mm_set1_epi8(0x0F);
  for (int32_t b = 0; b < nb; b++) {
    const uint8_t* blk = w + 84 * b;
    const float d = tq_half(blk + 80), dmin = tq_half(blk + 82);
    const __m128i packed = _mm_loadu_si128((const __m128i*)blk);
    const __m128i scales = _mm_and_si128(packed, low4);
    const __m128i m = _mm_and_si128(_mm_srli_epi16(packed, 4), low4);
    const __m256i m0 = _mm256_cvtepu8_epi32(m), m1 = _mm256_cvtepu8_epi32(_mm_srli_si128(m, 8));
    __m256i isum[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
    for (int n = 0; n < 2; n++) {
      const __m256i qs = _mm256_loadu_si256((const __m256i*)(blk + 16 + 32 * n));
      /* this half's 8 scales as 16-bit lanes in both 128-bit halves */
      const __m256i sc = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(n ? _mm_srli_si128(scales, 8) : scales));
      for (int j = 0; j < 4; j++) {
        const __m256i q = _mm256_and_si256(_mm256_srli_epi16(qs, 2 * j), low2);
        const __m256i s = tq_scale_halves(sc, 2 * j, 2 * j + 1);
        for (int r = 0; r < nr; r++) {
          const __m256i p = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i*)(a[r].q + 256 * b + 128 * n + 32 * j)));
          isum[r] = tq_madd_acc(isum[r], p, s);
        }
      }
    }
    for (int r = 0; r < nr; r++) {
      const int32_t* bs = a[r].bs + 16 * b;
      const __m256i mins = _mm256_add_epi32(_mm256_mullo_epi32(m0, _mm256_loadu_si256((const __m256i*)bs)), _mm256_mullo_epi32(m1, _mm256_loadu_si256((const __m256i*)(bs + 8))));
      acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d * a[r].d[b]), _mm256_cvtepi32_ps(isum[r]), acc[r]);
      acc[r] = _mm256_fnmadd_ps(_mm256_set1_ps(dmin * a[r].d[b]), _mm256_cvtepi32_ps(mins), acc[r]);
    }
  }
  for (int r = 0; r < nr; r++) y[(size_t)r * ys] = tq_hsum8(acc[r]);
}

/* Q3_K: as Q2_K with the 3rd bit; the -4 of each quant meets bs (4 · Σ_g sc_g · bs_g), folded
   into the block's integer sum */
static inline __attribute__((always_inline)) void tq_rows_q3_K(const uint8_t* w, int32_t nb, const tq_act* a, int nr, float* y, int32_t ys) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  const __m256i low2 = _mm256_set1_epi8(0x03);
  for (int32_t b = 0; b < nb; b++) {
    const uint8_t* blk = w + 110 * b;
    const float d = tq_half(blk + 108);
    uint8_t sc6[16];
    tq_scales_q3_K(blk + 96, sc6);
    const __m128i scales = _mm_sub_epi8(_mm_loadu_si128((const __m128i*)sc6), _mm_set1_epi8(32));
    const __m256i s0 = _mm256_cvtepi8_epi32(scales), s1 = _mm256_cvtepi8_epi32(_mm_srli_si128(scales, 8));
    const __m256i hm = _mm256_loadu_si256((const __m256i*)blk);
    __m256i isum[4];
    for (int r = 0; r < nr; r++) {
      const int32_t* bs = a[r].bs + 16 * b;
      const __m256i offs = _mm256_add_epi32(_mm256_mullo_epi32(s0, _mm256_loadu_si256((const __m256i*)bs)), _mm256_mullo_epi32(s1, _mm256_loadu_si256((const __m256i*)(bs + 8))));
      isum[r] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(offs, 2));
    }
    for (int n = 0; n < 2; n++) {
      const __m256i qs = _mm256_loadu_si256((const __m256i*)(blk + 32 + 32 * n));
      const __m256i sc = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(n ? _mm_srli_si128(scales, 8) : scales));
      for (int j = 0; j < 4; j++) {
        const __m256i q = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qs, 2 * j), low2), tq_bit_to(hm, 4 * n + j, 2));
        const __m256i s = tq_scale_halves(sc, 2 * j, 2 * j + 1);
        for (int r = 0; r < nr; r++) {
          const __m256i p = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i*)(a[r].q + 256 * b + 128 * n + 32 * j)));
          isum[r] = tq_madd_acc(isum[r], p, s);
        }
      }
    }
    for (int r = 0; r < nr; r++) acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d * a[r].d[b]), _mm256_cvtepi32_ps(isum[r]), acc[r]);
  }
  for (int r = 0; r < nr; r++) y[(size_t)r * ys] = tq_hsum8(acc[r]);
}

/* Q5_K: Q4_K's nibbles with the 5th bit of sub-block i from bit i of qh */
static inline __attribute__((always_inline)) void tq_rows_q5_K(const uint8_t* w, int32_t nb, const tq_act* a, int nr, float* y, int32_t ys) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  for (int32_t b = 0; b < nb; b++) {
    const uint8_t* blk = w + 176 * b;
    const float d = tq_half(blk), dmin = tq_half(blk + 2);
    uint64_t sc8, m8;
    tq_scales_mins_k4(blk + 4, &sc8, &m8);
    const __m256i m = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)m8));
    const __m256i sc = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc8)));
    const __m256i qh = _mm256_loadu_si256((const __m256i*)(blk + 16));
    __m256i isum[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
    for (int j = 0; j < 4; j++) {
      const __m256i q = _mm256_loadu_si256((const __m256i*)(blk + 48 + 32 * j));
      const __m256i lo = _mm256_or_si256(_mm256_and_si256(q, low4), tq_bit_to(qh, 2 * j, 4));
      const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), low4), tq_bit_to(qh, 2 * j + 1, 4));
      const __m256i sl = tq_scale_halves(sc, 2 * j, 2 * j), sh = tq_scale_halves(sc, 2 * j + 1, 2 * j + 1);
      for (int r = 0; r < nr; r++) {
        const int8_t* x = a[r].q + 256 * b + 64 * j;
        const __m256i pl = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i*)x));
        const __m256i ph = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i*)(x + 32)));
        isum[r] = tq_madd_acc(tq_madd_acc(isum[r], pl, sl), ph, sh);
      }
    }
    for (int r = 0; r < nr; r++) {
      /* mins: m_j times the activation sum of sub-block j (two sums of 16) */
      const int32_t* bs = a[r].bs + 16 * b;
      const __m256i pairs = _mm256_permute4x64_epi64(_mm256_hadd_epi32(_mm256_loadu_si256((const __m256i*)bs), _mm256_loadu_si256((const __m256i*)(bs + 8))), 0xD8);
      acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d * a[r].d[b]), _mm256_cvtepi32_ps(isum[r]), acc[r]);
      acc[r] = _mm256_fnmadd_ps(_mm256_set1_ps(dmin * a[r].d[b]), _mm256_cvtepi32_ps(_mm256_mullo_epi32(m, pairs)), acc[r]);
    }
  }
  for (int r = 0; r < nr; r++) y[(size_t)r * ys] = tq_hsum8(acc[r]);
}
#else
/* a block's 32 quants as ints: q - 8 / q - 16 (Q4_0, Q5_0) or q (Q4_1, Q5_1) */
static inline void tq_quants32(enum tq_type32 t, const uint8_t* blk, int32_t* q) {
  const uint8_t* qs = blk + tq_bytes32(t) - 16;
  uint32_t qh = 0;
  if (t == TQ_Q5_0 || t == TQ_Q5_1) memcpy(&qh, blk + (t == TQ_Q5_0 ? 2 : 4), 4);
  const int32_t bias = t == TQ_Q4_0 ? 8 : t == TQ_Q5_0 ? 16 : 0;
  for (int j = 0; j < 16; j++) {
    q[j] = ((qs[j] & 0xF) | (((qh >> j) & 1) << 4)) - bias;
    q[j + 16] = ((qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - bias;
  }
}
static inline void tq_rows32(enum tq_type32 t, const uint8_t* w, int32_t nb, const tq_act* a, int nr, float* y, int32_t ys) {
  for (int r = 0; r < nr; r++) {
    float sum = 0.0f;
    for (int32_t b = 0; b < nb; b++) {
      const uint8_t* blk = w + (size_t)tq_bytes32(t) * b;
      int32_t q[32], s = 0;
      tq_quants32(t, blk, q);
      for (int i = 0; i < 32; i++) s += q[i] * (int32_t)a[r].q[32 * b + i];
      sum += tq_half(blk) * a[r].d[b] * (float)s;
      if (tq_has_min(t)) sum += tq_half(blk + 2) * a[r].s[b];
    }
    y[(size_t)r * ys] = sum;
  }
}

/* Q2_K / Q3_K sub-block i = 8n + 2j + h holds elements 16i..16i+15: bits 2j.. of the 2-bit
   quants' bytes 32n + 16h + l (and, Q3_K, bit 4n + j of 3rd-bit byte 16h + l) */
static inline void tq_rows_q2_K(const uint8_t* w, int32_t nb, const tq_act* a, int nr, float* y, int32_t ys) {
  for (int r = 0; r < nr; r++) {
    float sum = 0.0f;
    for (int32_t b = 0; b < nb; b++) {
      const uint8_t* blk = w + 84 * b;
      const int8_t* x = a[r].q + 256 * b;
      int32_t isum = 0, msum = 0;
      for (int i = 0; i < 16; i++) {
        const uint8_t* qs = blk + 16 + 32 * (i >> 3) + 16 * (i & 1);
        const int shift = 2 * ((i >> 1) & 3);
        int32_t s = 0;
        for (int l = 0; l < 16; l++) s += ((qs[l] >> shift) & 3) * (int32_t)x[16 * i + l];
        isum += (blk[i] & 0xF) * s;
        msum += (blk[i] >> 4) * a[r].bs[16 * b + i];
      }
      sum += tq_half(blk + 80) * a[r].d[b] * (float)isum - tq_half(blk + 82) * a[r].d[b] * (float)msum;
    }
    y[(size_t)r * ys] = sum;
  }
}
static inline void tq_rows_q3_K(const uint8_t* w, int32_t nb, const tq_act* a, int nr, float* y, int32_t ys) {
  for (int r = 0; r < nr; r++) {
    float sum = 0.0f;
    for (int32_t b = 0; b < nb; b++) {
      const uint8_t* blk = w + 110 * b;
      const int8_t* x = a[r].q + 256 * b;
      uint8_t sc[16];
      tq_scales_q3_K(blk + 96, sc);
      int32_t isum = 0;
      for (int i = 0; i < 16; i++) {
        const uint8_t* qs = blk + 32 + 32 * (i >> 3) + 16 * (i & 1);
        const uint8_t* hm = blk + 16 * (i & 1);
        const int shift = 2 * ((i >> 1) & 3), bit = 4 * (i >> 3) + ((i >> 1) & 3);
        int32_t s = 0;
        for (int l = 0; l < 16; l++) s += (((qs[l] >> shift) & 3) | (((hm[l] >> bit) & 1) << 2)) * (int32_t)x[16 * i + l];
        isum += ((int32_t)sc[i] - 32) * (s - 4 * a[r].bs[16 * b + i]);
      }
      sum += tq_half(blk + 108) * a[r].d[b] * (float)isum;
    }
    y[(size_t)r * ys] = sum;
  }
}
static inline void tq_rows_q5_K(const uint8_t* w, int32_t nb, const tq_act* a, int nr, float* y, int32_t ys) {
  for (int r = 0; r < nr; r++) {
    float sum = 0.0f;
    for (int32_t b = 0; b < nb; b++) {
      const uint8_t* blk = w + 176 * b;
      const int8_t* x = a[r].q + 256 * b;
      const int32_t* bs = a[r].bs + 16 * b;
      const uint8_t* qh = blk + 16;
      const uint8_t* qs = blk + 48;
      int32_t isum = 0, msum = 0;
      for (int j = 0; j < 4; j++) {
        int32_t sc0, m0, sc1, m1, sl = 0, sh = 0;
        tq_scale_min_k4(blk + 4, 2 * j, &sc0, &m0);
        tq_scale_min_k4(blk + 4, 2 * j + 1, &sc1, &m1);
        for (int l = 0; l < 32; l++) {
          sl += ((qs[32 * j + l] & 0xF) | (((qh[l] >> (2 * j)) & 1) << 4)) * (int32_t)x[64 * j + l];
          sh += ((qs[32 * j + l] >> 4) | (((qh[l] >> (2 * j + 1)) & 1) << 4)) * (int32_t)x[64 * j + 32 + l];
        }
        isum += sc0 * sl + sc1 * sh;
        msum += m0 * (bs[4 * j] + bs[4 * j + 1]) + m1 * (bs[4 * j + 2] + bs[4 * j + 3]);
      }
      sum += tq_half(blk) * a[r].d[b] * (float)isum - tq_half(blk + 2) * a[r].d[b] * (float)msum;
    }
    y[(size_t)r * ys] = sum;
  }
}
#endif
static inline void tq_rows_q4_0(const uint8_t* w, int32_t nb, const tq_act* a, int nr, float* y, int32_t ys) { tq_rows32(TQ_Q4_0, w, nb, a, nr, y, ys); }
static inline void tq_rows_q4_1(const uint8_t* w, int32_t nb, const tq_act* a, int nr, float* y, int32_t ys) { tq_rows32(TQ_Q4_1, w, nb, a, nr, y, ys); }
static inline void tq_rows_q5_0(const uint8_t* w, int32_t nb, const tq_act* a, int nr, float* y, int32_t ys) { tq_rows32(TQ_Q5_0, w, nb, a, nr, y, ys); }
static inline void tq_rows_q5_1(const uint8_t* w, int32_t nb, const tq_act* a, int nr, float* y, int32_t ys) { tq_rows32(TQ_Q5_1, w, nb, a, nr, y, ys); }
`;

/** The block types on tq_rows_<type>, by their micro-kernels' suffix. */
const ROWS_TYPES: ReadonlyArray<readonly [string, ActQuantType]> = [
  ['q4_0', 'Q8_0'],
  ['q4_1', 'Q8_1'],
  ['q5_0', 'Q8_0'],
  ['q5_1', 'Q8_1'],
  ['q2_K', 'Q8_K'],
  ['q3_K', 'Q8_K'],
  ['q5_K', 'Q8_K'],
];

/**
 * tessera_dot_<t> (one input row) and tessera_dot4_<t> (four, addressed as the Q8_0 / Q4_K ones
 * above) over tq_rows_<t>, with the sums of activation type `act`: none (Q8_0), s (Q8_1, one per
 * block, strided as the scales), bs (Q8_K, 16 per block).
 */
function entryPoints(t: string, act: ActQuantType): string {
  const param = act === 'Q8_K' ? 'const int32_t* bs, ' : act === 'Q8_1' ? 'const float* s, ' : '';
  const one = act === 'Q8_K' ? 'bs, NULL' : act === 'Q8_1' ? 'NULL, s' : 'NULL, NULL';
  const row = act === 'Q8_K' ? 'bs + (size_t)rows[r] * (xs / 16), NULL' : act === 'Q8_1' ? 'NULL, s + (size_t)rows[r] * ds' : 'NULL, NULL';
  return `
static inline float tessera_dot_${t}(const uint8_t* w, const int8_t* x, const float* xd, ${param}int32_t nb) {
  const tq_act a = {x, xd, ${one}};
  float y;
  tq_rows_${t}(w, nb, &a, 1, &y, 0);
  return y;
}
static inline void tessera_dot4_${t}(const uint8_t* w, const int8_t* x, int32_t xs, int32_t i0, int32_t i1, int32_t i2, int32_t i3, const float* xd, int32_t ds, ${param}int32_t nb, float* y, int32_t ys) {
  const int32_t rows[4] = {i0, i1, i2, i3};
  tq_act a[4];
  for (int r = 0; r < 4; r++) a[r] = (tq_act){x + (size_t)rows[r] * xs, xd + (size_t)rows[r] * ds, ${row}};
  tq_rows_${t}(w, nb, a, 4, y, ys);
}
`;
}

export const INT8_DOT_C = DOTS_Q8_0_Q4_K_Q6_K + ROWS_C + ROWS_TYPES.map(([t, act]) => entryPoints(t, act)).join('');
