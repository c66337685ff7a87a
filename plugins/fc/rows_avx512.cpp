// rows_avx512.cpp: fc's row kernels for AVX-512F (rows_block.inc), built with -mavx512f: 4 x 4
// sums, 8 weight vectors and 2 of inputs (26 of 32 registers).
#include "rows_block.hpp"

#include <immintrin.h>

#define ROWS_NS avx512
#define ROWS_ENTRY rows_avx512
#define ROWS_R 4
#define V __m512
#define VL 16
#define V_ZERO() _mm512_setzero_ps()
#define V_LOAD(p) _mm512_loadu_ps(p)
#define V_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define V_SUM(v) _mm512_reduce_add_ps(v)
#define V_LOADI(p) _mm512_loadu_si512(p)
#define V_LO(v) _mm512_castsi512_ps(_mm512_slli_epi32(v, 16))
#define V_HI(v) _mm512_castsi512_ps(_mm512_and_si512(v, _mm512_set1_epi32(static_cast<int>(0xffff0000u))))
#include "rows_block.inc"
