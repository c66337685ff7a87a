// bf16.cpp: bfloat16 fc weights (`--precision bf16`). Batch-1 fully connected layers stream
// every weight once from memory for one multiply-add, so halving the bytes halves their time; the
// weights are widened back to float32 in registers (a shift or a mask: bf16 is the top half of a
// float32) and everything else stays float32.
#include "bf16.hpp"

#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>

namespace cnnkit::plugins::fc {

std::uint16_t to_bf16(float x) {
    std::uint32_t u = std::bit_cast<std::uint32_t>(x);
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);  // to nearest, ties to even; a carry may reach inf
    return static_cast<std::uint16_t>(u >> 16);
}

float from_bf16(std::uint16_t h) { return std::bit_cast<float>(std::uint32_t{h} << 16); }

std::vector<std::uint16_t> pack_bf16_rows(const float* w, std::int64_t rows, std::int64_t k) {
    std::vector<std::uint16_t> out(static_cast<std::size_t>(rows * k));
    const std::int64_t full = k / 32 * 32;
    for (std::int64_t r = 0; r < rows; ++r) {
        const float* src = w + r * k;
        std::uint16_t* dst = out.data() + r * k;
        for (std::int64_t t = 0; t < full; t += 32)
            for (int i = 0; i < 16; ++i) {
                dst[t + 2 * i] = to_bf16(src[t + i]);
                dst[t + 2 * i + 1] = to_bf16(src[t + 16 + i]);
            }
        for (std::int64_t j = full; j < k; ++j) dst[j] = to_bf16(src[j]);
    }
    return out;
}

float packed_bf16_at(const std::uint16_t* row, std::int64_t k, std::int64_t j) {
    const std::int64_t full = k / 32 * 32;
    if (j >= full) return from_bf16(row[j]);
    const std::int64_t t = j / 32 * 32, o = j - t;
    return from_bf16(row[t + (o < 16 ? 2 * o : 2 * (o - 16) + 1)]);
}

namespace {

// The tail of a row (elements [full, k), in order) and the bias, added to a vector sum.
float finish(float sum, const std::uint16_t* row, std::int64_t full, std::int64_t k,
             const float* x, const float* bias, std::int64_t r) {
    float tail = 0.0f;
    for (std::int64_t j = full; j < k; ++j) tail += from_bf16(row[j]) * x[j];
    return sum + tail + (bias ? bias[r] : 0.0f);
}

void gemv_generic(std::int64_t rows, std::int64_t k, const std::uint16_t* w, const float* x,
                  const float* bias, float* y) {
    const std::int64_t full = k / 32 * 32;
    for (std::int64_t r = 0; r < rows; ++r) {
        const std::uint16_t* row = w + r * k;
        float lo[16] = {}, hi[16] = {};
        for (std::int64_t t = 0; t < full; t += 32)
            for (int i = 0; i < 16; ++i) {
                lo[i] += from_bf16(row[t + 2 * i]) * x[t + i];
                hi[i] += from_bf16(row[t + 2 * i + 1]) * x[t + 16 + i];
            }
        float sum = 0.0f;
        for (int i = 0; i < 16; ++i) sum += lo[i] + hi[i];
        y[r] = finish(sum, row, full, k, x, bias, r);
    }
}

// R rows at a time: per block of 32, one 64-byte load per row gives elements t..t+15 (the low
// half-words, shifted up) and t+16..t+31 (the high ones, masked), each with its own sum.
template <int R>
__attribute__((target("avx512f"))) void rows_avx512(std::int64_t k, const std::uint16_t* w,
                                                    const float* x, const float* bias,
                                                    float* y, std::int64_t r0) {
    const std::int64_t full = k / 32 * 32;
    const __m512i high = _mm512_set1_epi32(static_cast<int>(0xffff0000u));
    __m512 lo[R], hi[R];
    for (int j = 0; j < R; ++j) lo[j] = hi[j] = _mm512_setzero_ps();
    for (std::int64_t t = 0; t < full; t += 32) {
        const __m512 x0 = _mm512_loadu_ps(x + t), x1 = _mm512_loadu_ps(x + t + 16);
        for (int j = 0; j < R; ++j) {
            const __m512i v = _mm512_loadu_si512(w + (r0 + j) * k + t);
            lo[j] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(v, 16)), x0, lo[j]);
            hi[j] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(v, high)), x1, hi[j]);
        }
    }
    for (int j = 0; j < R; ++j)
        y[r0 + j] = finish(_mm512_reduce_add_ps(_mm512_add_ps(lo[j], hi[j])), w + (r0 + j) * k,
                           full, k, x, bias, r0 + j);
}

// The same with 8-float vectors: half a block's half-words per 32-byte load, so a block takes
// two loads per row (pairs 0-7, then 8-15).
template <int R>
__attribute__((target("avx2,fma"))) void rows_avx2(std::int64_t k, const std::uint16_t* w,
                                                   const float* x, const float* bias, float* y,
                                                   std::int64_t r0) {
    const std::int64_t full = k / 32 * 32;
    const __m256i high = _mm256_set1_epi32(static_cast<int>(0xffff0000u));
    __m256 lo[R], hi[R];
    for (int j = 0; j < R; ++j) lo[j] = hi[j] = _mm256_setzero_ps();
    for (std::int64_t t = 0; t < full; t += 32)
        for (int h = 0; h < 2; ++h) {
            const __m256 x0 = _mm256_loadu_ps(x + t + 8 * h);
            const __m256 x1 = _mm256_loadu_ps(x + t + 16 + 8 * h);
            for (int j = 0; j < R; ++j) {
                const __m256i v = _mm256_loadu_si256(
                    reinterpret_cast<const __m256i*>(w + (r0 + j) * k + t + 16 * h));
                lo[j] = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(v, 16)), x0, lo[j]);
                hi[j] = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(v, high)), x1, hi[j]);
            }
        }
    for (int j = 0; j < R; ++j) {
        alignas(32) float l[8];
        _mm256_store_ps(l, _mm256_add_ps(lo[j], hi[j]));
        float sum = 0.0f;
        for (float v : l) sum += v;
        y[r0 + j] = finish(sum, w + (r0 + j) * k, full, k, x, bias, r0 + j);
    }
}

// Four rows per call of a vector kernel, then the rest one at a time.
using rows_fn = void (*)(std::int64_t, const std::uint16_t*, const float*, const float*, float*,
                         std::int64_t);
template <rows_fn Four, rows_fn One>
void gemv_rows(std::int64_t rows, std::int64_t k, const std::uint16_t* w, const float* x,
               const float* bias, float* y) {
    std::int64_t r = 0;
    for (; r + 4 <= rows; r += 4) Four(k, w, x, bias, y, r);
    for (; r < rows; ++r) One(k, w, x, bias, y, r);
}
constexpr gemv_bf16_fn gemv_avx512 = gemv_rows<rows_avx512<4>, rows_avx512<1>>;
constexpr gemv_bf16_fn gemv_avx2 = gemv_rows<rows_avx2<4>, rows_avx2<1>>;

}  // namespace

gemv_bf16_fn gemv_bf16_for_cpu() {
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const bool avx512 = avx2 && __builtin_cpu_supports("avx512f");
    const char* v = std::getenv("CNNKIT_FC_ISA");
    if (v && std::strcmp(v, "generic") == 0) return gemv_generic;
    if (v && std::strcmp(v, "avx2") == 0) return avx2 ? gemv_avx2 : gemv_generic;
    return avx512 ? gemv_avx512 : avx2 ? gemv_avx2 : gemv_generic;
}

}  // namespace cnnkit::plugins::fc
