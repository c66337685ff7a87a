// simd.hpp: small helpers the CPU plugins' AVX-512 code shares (header-only, no target needed to
// include it): lane masks, the even/odd permute indices, zero-padded row copies (with the plain
// C++ twin the other instruction sets use) and prefetch addresses.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

namespace cnnkit::plugins::simd {

// Lanes [0, n) of a 16-float vector, n clamped to [0, 16].
[[gnu::always_inline]] inline __mmask16 first_lanes(std::int64_t n) {
    return static_cast<__mmask16>(n >= 16 ? 0xffffu : n <= 0 ? 0u : (1u << n) - 1);
}

// Lanes [lo, hi), both clamped to [0, 16].
[[gnu::always_inline]] inline __mmask16 lane_range(std::int64_t lo, std::int64_t hi) {
    return static_cast<__mmask16>(first_lanes(hi) & ~first_lanes(lo));
}

// Indices for _mm512_permutex2var_ps(a, idx, b) (load them with _mm512_load_si512): the even
// floats of a's and b's 32, or the odd ones.
alignas(64) inline constexpr std::int32_t even_floats[16] = {0,  2,  4,  6,  8,  10, 12, 14,
                                                             16, 18, 20, 22, 24, 26, 28, 30};
alignas(64) inline constexpr std::int32_t odd_floats[16] = {1,  3,  5,  7,  9,  11, 13, 15,
                                                            17, 19, 21, 23, 25, 27, 29, 31};

// row[c0, c0 + 16) where 0 <= c0 + i < w, zeros elsewhere (masked lanes read nothing).
__attribute__((target("avx512f"))) inline __m512 columns(const float* row, std::int64_t w,
                                                       std::int64_t c0) {
    return _mm512_maskz_loadu_ps(lane_range(-c0, w - c0), row + c0);
}

// dst[i] = row[c0 + i] for i < n where 0 <= c0 + i < w, else zero (all zero when row is null):
// one row of a zero-padded copy, in masked vector loads and stores (per row, a std::copy and two
// fills were three calls).
__attribute__((target("avx512f"))) inline void padded_row(float* dst, std::int64_t n,
                                                        const float* row, std::int64_t w,
                                                        std::int64_t c0) {
    for (std::int64_t i = 0; i < n; i += 16)
        _mm512_mask_storeu_ps(dst + i, first_lanes(n - i),
                              row ? columns(row, w, c0 + i) : _mm512_setzero_ps());
}

// The same in plain C++, for the other instruction sets.
inline void padded_row_scalar(float* dst, std::int64_t n, const float* row, std::int64_t w,
                              std::int64_t c0) {
    if (!row) {
        std::fill(dst, dst + n, 0.0f);
        return;
    }
    const std::int64_t lo = std::clamp<std::int64_t>(-c0, 0, n);
    const std::int64_t hi = std::clamp<std::int64_t>(w - c0, lo, n);
    std::fill(dst, dst + lo, 0.0f);
    std::copy(row + c0 + lo, row + c0 + hi, dst + lo);
    std::fill(dst + hi, dst + n, 0.0f);
}

// The address `floats` past p, for a prefetch: an address, not a pointer, since near a tensor's
// end it points past it (a prefetch never faults).
[[gnu::always_inline]] inline const char* ahead(const float* p, std::int64_t floats) {
    return reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(p) +
                                         static_cast<std::uintptr_t>(floats) * sizeof(float));
}

}  // namespace cnnkit::plugins::simd
