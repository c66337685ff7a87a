// gemm_avx512.cpp: the SGEMM micro-kernels for AVX-512 (12 x 32 tiles), built with -mavx512f.
#include <immintrin.h>

#include <cstdint>

#define GEMM_NS avx512
#define VEC __m512
#define W 16
#define MR 12
#define GEMM_ROWS_TABLE table<0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11>
#define V_ZERO() _mm512_setzero_ps()
#define V_LOAD(p) _mm512_loadu_ps(p)
#define V_STORE(p, v) _mm512_storeu_ps(p, v)
#define V_SET1(x) _mm512_set1_ps(x)
#define V_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define V_MUL(a, b) _mm512_mul_ps(a, b)
#define V_ADD(a, b) _mm512_add_ps(a, b)
#include "backends/cpu/gemm_kernel.inc"
