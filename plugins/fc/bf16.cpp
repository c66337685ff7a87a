// bf16.cpp: bfloat16 fc weights (`--precision bf16`): rounding and the packed layout. Batch-1
// fully connected layers stream every weight once from memory for one multiply-add, so halving
// the bytes halves their time; rows.cpp widens the weights back to float32 in registers (a shift
// or a mask: bf16 is the top half of a float32) and everything else stays float32.
#include "bf16.hpp"

#include <bit>

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

}  // namespace cnnkit::plugins::fc
