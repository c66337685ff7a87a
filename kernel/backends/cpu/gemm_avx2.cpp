// gemm_avx2.cpp: the SGEMM micro-kernels for AVX2 + FMA (6 x 16 tiles), built with -mavx2 -mfma.
#include <immintrin.h>

#include <cstdint>

#define GEMM_NS avx2
#define VEC __m256
#define W 8
#define MR 6
#define GEMM_ROWS_TABLE table<0, 1, 2, 3, 4, 5>
#define V_ZERO() _mm256_setzero_ps()
#define V_LOAD(p) _mm256_loadu_ps(p)
#define V_STORE(p, v) _mm256_storeu_ps(p, v)
#define V_SET1(x) _mm256_set1_ps(x)
#define V_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define V_MUL(a, b) _mm256_mul_ps(a, b)
#define V_ADD(a, b) _mm256_add_ps(a, b)
#include "backends/cpu/gemm_kernel.inc"
