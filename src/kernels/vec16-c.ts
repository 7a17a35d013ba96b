// Vectors of 16 floats for the C micro-kernels, as GCC vector extensions: one AVX-512 register,
// two AVX2, four SSE / NEON, so one spelling runs at every ISA level.
export const VEC16_C = `
typedef float tq_v16 __attribute__((vector_size(64)));
static inline tq_v16 tq_ld16(const float* p) { tq_v16 v; memcpy(&v, p, 64); return v; }
static inline void tq_st16(float* p, tq_v16 v) { memcpy(p, &v, 64); }
`;
