// rows_avx2.cpp: fc's row kernels for AVX2 + FMA (rows_block.inc), built with -mavx2 -mfma:
// 2 x 4 sums (8 + 4 + 2 of 16 registers).
#include "rows_block.hpp"

#include <immintrin.h>

namespace {
inline float sum8(__m256 v) {  // in lane order, as every build of these kernels has summed
    alignas(32) float l[8];
    _mm256_store_ps(l, v);
    float s = 0.0f;
    for (float x : l) s += x;
    return s;
}
}  // namespace

#define ROWS_NS avx2
#define ROWS_ENTRY rows_avx2
#define ROWS_R 2
#define V __m256
#define VL 8
#define V_ZERO() _mm256_setzero_ps()
#define V_LOAD(p) _mm256_loadu_ps(p)
#define V_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define V_SUM(v) sum8(v)
#define V_LOADI(p) _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))
#define V_LO(v) _mm256_castsi256_ps(_mm256_slli_epi32(v, 16))
#define V_HI(v) _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32(static_cast<int>(0xffff0000u))))
#include "rows_block.inc"
