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
//   Q4_K (144 B): f16 d, f16 dmin, 12 B of 6-bit scale/min pairs for 8 sub-blocks of 32, 128 B of
//                 nibbles (bytes 32j..32j+31: low = elements 64j+l, high = 64j+32+l)
//                                                        value = d·sc·q - dmin·m
//   Q6_K (210 B): 128 B low nibbles, 64 B high bit pairs, int8 scales[16] (one per 16), f16 d
//                                                        value = d·sc·(q - 32)
// Activations: int8 q with a float scale per block (Q8_0: 32 values, Q8_K: 256) and, for Q8_K,
// the sums of each 16 values (bsums), which carry the weights' offsets (dmin·m, the -32 of Q6_K).

/**
 * The activation side, value for value as src/formats/gguf-act-quant.ts defines it: one block of
 * float32 x to int8 quants (and Q8_K's sums of 16); returns the block's scale.
 */
export const INT8_QUANT_C = `
/* Q8_0: d = fp16(amax / 127), q = round-half-even(x · (127 / amax)) */
static inline float tessera_quant_q8_0(const float* x, int8_t* q) {
  float amax = 0.0f;
  for (int i = 0; i < 32; i++) amax = fabsf(x[i]) > amax ? fabsf(x[i]) : amax;
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  for (int i = 0; i < 32; i++) q[i] = (int8_t)rintf(x[i] * id);
  return (float)(_Float16)(amax / 127.0f);
}
/* Q8_K: max = the value of largest |x| (the first on ties), iscale = -127 / max,
   q = min(127, round-half-even(iscale · x)), d = 1 / iscale; bs: the sums of each 16 quants */
static inline float tessera_quant_q8_K(const float* x, int8_t* q, int32_t* bs) {
  float amax = 0.0f, max = 0.0f;
  for (int i = 0; i < 256; i++) {
    const float a = fabsf(x[i]);
    if (a > amax) { amax = a; max = x[i]; }
  }
  if (amax == 0.0f) {
    memset(q, 0, 256);
    memset(bs, 0, 16 * sizeof(int32_t));
    return 0.0f;
  }
  const float iscale = -127.0f / max;
  for (int i = 0; i < 256; i++) {
    const float r = rintf(iscale * x[i]);
    q[i] = (int8_t)(r < 127.0f ? r : 127.0f);
  }
  for (int g = 0; g < 16; g++) {
    int32_t s = 0;
    for (int i = 0; i < 16; i++) s += q[16 * g + i];
    bs[g] = s;
  }
  return 1.0f / iscale;
}
`;

export const INT8_DOT_C = `
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
      isum = _mm256_add_epi32(isum, _mm256_add_epi32(_mm256_madd_epi16(pl, sl), _mm256_madd_epi16(ph, sh)));
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
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, s));
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
    const float d = tq_half(blk);
    for (int r = 0; r < 4; r++) {
      const __m256i a = _mm256_loadu_si256((const __m256i*)(x + (size_t)rows[r] * xs + 32 * b));
      const __m256i s = tq_dot_u8s8(_mm256_setzero_si256(), aq, _mm256_sign_epi8(a, q));
      acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d * xd[(size_t)rows[r] * ds + b]), _mm256_cvtepi32_ps(s), acc[r]);
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
        isum[r] = _mm256_add_epi32(isum[r], _mm256_add_epi32(_mm256_madd_epi16(pl, sl), _mm256_madd_epi16(ph, sh)));
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
          isum[r] = _mm256_add_epi32(isum[r], _mm256_madd_epi16(p, s));
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
