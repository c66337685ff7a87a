// rows.hpp: fc's own kernels for a few rows of inputs at a time (rows.cpp): batch 1 under
// --precision bf16, and float32 batches too small for a GEMM to pay.
#pragma once

#include <cstdint>

namespace cnnkit::plugins::fc {

// y[b * ldy + r] = (weight row r) . (x + b * ldx) + (bias ? bias[r] : 0), for r < rows and
// b < batch. Weights are rows of k: float32 as stored, or bf16 packed by pack_bf16_rows. Each
// weight is loaded once per 4 input rows; sums are float32, in an order that depends only on k.
struct fc_rows {
    const void* table_;
    void operator()(std::int64_t rows, std::int64_t batch, std::int64_t k, const void* w,
                    const float* x, std::int64_t ldx, const float* bias, float* y,
                    std::int64_t ldy) const;
};

// The kernels for this CPU (AVX-512, AVX2+FMA or plain C++; CNNKIT_FC_ISA=avx2|generic picks a
// lesser one, for tests), for bf16 or float32 weights.
fc_rows fc_rows_for_cpu(bool bf16);

}  // namespace cnnkit::plugins::fc
