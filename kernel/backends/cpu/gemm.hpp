// gemm.hpp: the CPU backend's own SGEMM for C = alpha * A * B + beta * C, row-major, neither
// operand transposed: register-blocked FMA micro-kernels (AVX-512 16x... or AVX2), chosen at run
// time by CPU features. Tuned for the shapes convolutions produce (many rows of weights, a few
// hundred output pixels, deep K); the host's sgemm falls back to OpenBLAS for everything else.
#pragma once

#include <cstdint>

namespace cnnkit::kernel::gemm {

enum class isa : std::uint8_t { none, avx2, avx512 };

// The best micro-kernel this CPU runs (cpuid, once).
isa detected();

// C = alpha * A(m x k, lda) * B(k x n, ldb) + beta * C(m x n, ldc), single-threaded, no heap
// allocation. Each element's reduction order depends only on k (never on m, n or the thread), so
// results are bit-identical however a caller tiles rows and columns. Returns false (C untouched)
// when `use` is none or not supported by this CPU.
bool sgemm_nn(isa use, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
              std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
              std::int64_t ldc);

// y[i] = alpha * dot(row i of w (ldw apart), x) + beta * y[i] for i < n (beta 0: y is not read),
// single-threaded: a batch-1 fully connected layer. A row's reduction order depends only on k.
// Returns false (y untouched) when `use` is none or not supported by this CPU.
bool sgemv_rows(isa use, std::int64_t n, std::int64_t k, float alpha, const float* w,
                std::int64_t ldw, const float* x, float beta, float* y);

}  // namespace cnnkit::kernel::gemm
