// bf16.hpp: fc weights as bfloat16 (`--precision bf16`): rounding and the packed row layout
// that rows.cpp's kernels read (bf16.cpp).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace cnnkit::plugins::fc {

// bfloat16 of x: the top 16 bits of the float32, rounded to nearest even; NaN stays a (quiet)
// NaN, infinities stay infinite, and values that round past the largest finite bf16 become inf.
std::uint16_t to_bf16(float x);
float from_bf16(std::uint16_t h);

// Rows of k weights, each rounded to bf16 and packed: every full block of 32 holds element
// t + i in half-word 2i and element t + 16 + i in half-word 2i + 1 (i < 16), so one 64-byte load
// gives both halves with a shift and a mask; the last k % 32 elements stay in order. Row stride k.
std::vector<std::uint16_t> pack_bf16_rows(const float* w, std::int64_t rows, std::int64_t k);

}  // namespace cnnkit::plugins::fc
