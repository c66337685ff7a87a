// rows.cpp: fc's own kernels for a few rows of inputs (rows.hpp). Weights are read once per four
// inputs: each 32-element block of R weight rows is loaded (float32: two vectors; bf16: one
// 64-byte load of pack_bf16_rows's layout, split by a shift and a mask) and multiplied into
// R x B sums, one per weight row and input row.
#include "rows.hpp"

#include "bf16.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace cnnkit::plugins::fc {
namespace {

// Weight j of row `row` (either type), for the last k % 32 elements, which stay in order.
template <bool BF>
float weight_at(const void* w, std::int64_t k, std::int64_t row, std::int64_t j) {
    if constexpr (BF)
        return from_bf16(static_cast<const std::uint16_t*>(w)[row * k + j]);
    else
        return static_cast<const float*>(w)[row * k + j];
}

// The sums' tails and the bias, stored: out[b][j] = sum[j][b] + tail + bias[r0 + j].
template <bool BF, int R, int B>
void finish(const float (&sum)[R][B], std::int64_t k, const void* w, std::int64_t r0,
            const float* x, std::int64_t ldx, const float* bias, float* y, std::int64_t ldy) {
    const std::int64_t full = k / 32 * 32;
    for (int j = 0; j < R; ++j)
        for (int b = 0; b < B; ++b) {
            float tail = 0.0f;
            for (std::int64_t u = full; u < k; ++u)
                tail += weight_at<BF>(w, k, r0 + j, u) * x[b * ldx + u];
            y[b * ldy + r0 + j] = sum[j][b] + tail + (bias ? bias[r0 + j] : 0.0f);
        }
}

template <bool BF, int R, int B>
void block_generic(std::int64_t k, const void* w, std::int64_t r0, const float* x,
                   std::int64_t ldx, const float* bias, float* y, std::int64_t ldy) {
    const std::int64_t full = k / 32 * 32;
    float sum[R][B] = {};
    for (int j = 0; j < R; ++j)
        for (int b = 0; b < B; ++b) {
            float lanes[16] = {};
            for (std::int64_t t = 0; t < full; t += 32)
                for (int i = 0; i < 16; ++i) {
                    float lo, hi;
                    if constexpr (BF) {
                        const std::uint16_t* row = static_cast<const std::uint16_t*>(w) + (r0 + j) * k;
                        lo = from_bf16(row[t + 2 * i]), hi = from_bf16(row[t + 2 * i + 1]);
                    } else {
                        const float* row = static_cast<const float*>(w) + (r0 + j) * k;
                        lo = row[t + i], hi = row[t + 16 + i];
                    }
                    lanes[i] += lo * x[b * ldx + t + i] + hi * x[b * ldx + t + 16 + i];
                }
            for (float v : lanes) sum[j][b] += v;
        }
    finish<BF, R, B>(sum, k, w, r0, x, ldx, bias, y, ldy);
}

template <bool BF, int R, int B>
__attribute__((target("avx512f"))) void block_avx512(std::int64_t k, const void* w,
                                                     std::int64_t r0, const float* x,
                                                     std::int64_t ldx, const float* bias,
                                                     float* y, std::int64_t ldy) {
    const std::int64_t full = k / 32 * 32;
    const __m512i high = _mm512_set1_epi32(static_cast<int>(0xffff0000u));
    __m512 acc[R][B];
    for (int j = 0; j < R; ++j)
        for (int b = 0; b < B; ++b) acc[j][b] = _mm512_setzero_ps();
    for (std::int64_t t = 0; t < full; t += 32) {
        __m512 lo[R], hi[R];
        for (int j = 0; j < R; ++j) {
            if constexpr (BF) {
                const __m512i v = _mm512_loadu_si512(static_cast<const std::uint16_t*>(w) +
                                                     (r0 + j) * k + t);
                lo[j] = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
                hi[j] = _mm512_castsi512_ps(_mm512_and_si512(v, high));
            } else {
                const float* row = static_cast<const float*>(w) + (r0 + j) * k + t;
                lo[j] = _mm512_loadu_ps(row), hi[j] = _mm512_loadu_ps(row + 16);
            }
        }
        for (int b = 0; b < B; ++b) {
            const __m512 x0 = _mm512_loadu_ps(x + b * ldx + t);
            const __m512 x1 = _mm512_loadu_ps(x + b * ldx + t + 16);
            for (int j = 0; j < R; ++j)
                acc[j][b] = _mm512_fmadd_ps(hi[j], x1, _mm512_fmadd_ps(lo[j], x0, acc[j][b]));
        }
    }
    float sum[R][B];
    for (int j = 0; j < R; ++j)
        for (int b = 0; b < B; ++b) sum[j][b] = _mm512_reduce_add_ps(acc[j][b]);
    finish<BF, R, B>(sum, k, w, r0, x, ldx, bias, y, ldy);
}

// 8-float vectors: a 32-element block in two halves (bf16: one 32-byte load per row and half
// gives elements t + 8h.. and t + 16 + 8h..; float32: two loads).
template <bool BF, int R, int B>
__attribute__((target("avx2,fma"))) void block_avx2(std::int64_t k, const void* w,
                                                    std::int64_t r0, const float* x,
                                                    std::int64_t ldx, const float* bias,
                                                    float* y, std::int64_t ldy) {
    const std::int64_t full = k / 32 * 32;
    const __m256i high = _mm256_set1_epi32(static_cast<int>(0xffff0000u));
    __m256 acc[R][B];
    for (int j = 0; j < R; ++j)
        for (int b = 0; b < B; ++b) acc[j][b] = _mm256_setzero_ps();
    for (std::int64_t t = 0; t < full; t += 32)
        for (int h = 0; h < 2; ++h) {
            __m256 lo[R], hi[R];
            for (int j = 0; j < R; ++j) {
                if constexpr (BF) {
                    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(
                        static_cast<const std::uint16_t*>(w) + (r0 + j) * k + t + 16 * h));
                    lo[j] = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
                    hi[j] = _mm256_castsi256_ps(_mm256_and_si256(v, high));
                } else {
                    const float* row = static_cast<const float*>(w) + (r0 + j) * k + t + 8 * h;
                    lo[j] = _mm256_loadu_ps(row), hi[j] = _mm256_loadu_ps(row + 16);
                }
            }
            for (int b = 0; b < B; ++b) {
                const __m256 x0 = _mm256_loadu_ps(x + b * ldx + t + 8 * h);
                const __m256 x1 = _mm256_loadu_ps(x + b * ldx + t + 16 + 8 * h);
                for (int j = 0; j < R; ++j)
                    acc[j][b] = _mm256_fmadd_ps(hi[j], x1, _mm256_fmadd_ps(lo[j], x0, acc[j][b]));
            }
        }
    float sum[R][B];
    for (int j = 0; j < R; ++j)
        for (int b = 0; b < B; ++b) {
            alignas(32) float l[8];
            _mm256_store_ps(l, acc[j][b]);
            sum[j][b] = 0.0f;
            for (float v : l) sum[j][b] += v;
        }
    finish<BF, R, B>(sum, k, w, r0, x, ldx, bias, y, ldy);
}

using block_fn = void (*)(std::int64_t, const void*, std::int64_t, const float*, std::int64_t,
                          const float*, float*, std::int64_t);

// One ISA's kernels: [R == 1][B - 1] blocks; the R of the many-rows ones.
struct kernels {
    int rows;
    block_fn many[4], one[4];
};

template <template <bool, int, int> class K, bool BF, int R>
constexpr kernels table() {
    return {R,
            {K<BF, R, 1>::f, K<BF, R, 2>::f, K<BF, R, 3>::f, K<BF, R, 4>::f},
            {K<BF, 1, 1>::f, K<BF, 1, 2>::f, K<BF, 1, 3>::f, K<BF, 1, 4>::f}};
}
template <bool BF, int R, int B>
struct avx512_k {
    static constexpr block_fn f = block_avx512<BF, R, B>;
};
template <bool BF, int R, int B>
struct avx2_k {
    static constexpr block_fn f = block_avx2<BF, R, B>;
};
template <bool BF, int R, int B>
struct generic_k {
    static constexpr block_fn f = block_generic<BF, R, B>;
};

// AVX-512: 4 x 4 sums, 8 weight vectors and 2 of inputs (26 of 32 registers); AVX2: 2 x 4 sums
// (8 + 4 + 2 of 16).
constexpr kernels avx512_f32 = table<avx512_k, false, 4>(), avx512_bf16 = table<avx512_k, true, 4>();
constexpr kernels avx2_f32 = table<avx2_k, false, 2>(), avx2_bf16 = table<avx2_k, true, 2>();
constexpr kernels generic_f32 = table<generic_k, false, 4>(),
                  generic_bf16 = table<generic_k, true, 4>();

const kernels& kernels_for_cpu(bool bf16) {
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const bool avx512 = avx2 && __builtin_cpu_supports("avx512f");
    const char* v = std::getenv("CNNKIT_FC_ISA");
    const bool generic = (v && std::strcmp(v, "generic") == 0) || !avx2;
    const bool only_avx2 = v && std::strcmp(v, "avx2") == 0;
    if (generic) return bf16 ? generic_bf16 : generic_f32;
    if (avx512 && !only_avx2) return bf16 ? avx512_bf16 : avx512_f32;
    return bf16 ? avx2_bf16 : avx2_f32;
}

}  // namespace

void fc_rows::operator()(std::int64_t rows, std::int64_t batch, std::int64_t k, const void* w,
                         const float* x, std::int64_t ldx, const float* bias, float* y,
                         std::int64_t ldy) const {
    const kernels& ks = *static_cast<const kernels*>(table_);
    for (std::int64_t b0 = 0; b0 < batch; b0 += 4) {
        const int bn = static_cast<int>(std::min<std::int64_t>(4, batch - b0));
        const float* xb = x + b0 * ldx;
        float* yb = y + b0 * ldy;
        std::int64_t r = 0;
        for (; r + ks.rows <= rows; r += ks.rows) ks.many[bn - 1](k, w, r, xb, ldx, bias, yb, ldy);
        for (; r < rows; ++r) ks.one[bn - 1](k, w, r, xb, ldx, bias, yb, ldy);
    }
}

fc_rows fc_rows_for_cpu(bool bf16) { return fc_rows{&kernels_for_cpu(bf16)}; }

}  // namespace cnnkit::plugins::fc
