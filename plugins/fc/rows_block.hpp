// rows_block.hpp: what rows.cpp and its per-ISA kernel files share. rows_avx512.cpp and
// rows_avx2.cpp each compile rows_block.inc with their ISA's flags; everything defined here is
// internal to each file that includes it, so no function built for a wider ISA can be picked by
// the linker for another file's callers.
#pragma once

#include "bf16.hpp"

#include <cstdint>

namespace cnnkit::plugins::fc {

using block_fn = void (*)(std::int64_t k, const void* w, std::int64_t r0, const float* x,
                          std::int64_t ldx, const float* bias, float* y, std::int64_t ldy);

// One ISA's kernels: many[B - 1] multiplies `rows` weight rows into B input rows; one[B - 1] a
// single weight row (the last rows % `rows`).
struct kernels {
    int rows;
    block_fn many[4], one[4];
};

const kernels& rows_avx512(bool bf16);  // call only where the CPU has AVX-512F
const kernels& rows_avx2(bool bf16);    // call only where the CPU has AVX2 and FMA

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

template <template <bool, int, int> class K, bool BF, int R>
constexpr kernels table() {
    return {R,
            {K<BF, R, 1>::f, K<BF, R, 2>::f, K<BF, R, 3>::f, K<BF, R, 4>::f},
            {K<BF, 1, 1>::f, K<BF, 1, 2>::f, K<BF, 1, 3>::f, K<BF, 1, 4>::f}};
}

}  // namespace
}  // namespace cnnkit::plugins::fc
