// rows.cpp: fc's own kernels for a few rows of inputs (rows.hpp). Weights are read once per four
// inputs: each 32-element block of R weight rows is loaded (float32: two vectors; bf16: one
// 64-byte load of pack_bf16_rows's layout, split by a shift and a mask) and multiplied into
// R x B sums, one per weight row and input row. The vector kernels are rows_block.inc, built per
// ISA (rows_avx512.cpp, rows_avx2.cpp); the plain C++ one and the choice between them are here.
#include "rows.hpp"

#include "rows_block.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace cnnkit::plugins::fc {
namespace {

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
struct generic_k {
    static constexpr block_fn f = block_generic<BF, R, B>;
};

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
    if (avx512 && !only_avx2) return rows_avx512(bf16);
    return rows_avx2(bf16);
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
