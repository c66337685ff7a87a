// gemm.cpp: picks the SGEMM micro-kernel (gemm_avx512.cpp, gemm_avx2.cpp) by CPU features.
#include "backends/cpu/gemm.hpp"

namespace cnnkit::kernel::gemm {
namespace avx512 {
void sgemm_nn(std::int64_t, std::int64_t, std::int64_t, float, const float*, std::int64_t,
              const float*, std::int64_t, float, float*, std::int64_t);
void sgemv_rows(std::int64_t, std::int64_t, float, const float*, std::int64_t, const float*, float,
                float*);
}
namespace avx2 {
void sgemm_nn(std::int64_t, std::int64_t, std::int64_t, float, const float*, std::int64_t,
              const float*, std::int64_t, float, float*, std::int64_t);
void sgemv_rows(std::int64_t, std::int64_t, float, const float*, std::int64_t, const float*, float,
                float*);
}

isa detected() {
    static const isa best = [] {
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f")) return isa::avx512;
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return isa::avx2;
        return isa::none;
    }();
    return best;
}

bool sgemm_nn(isa use, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
              std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
              std::int64_t ldc) {
    if (use == isa::none || use > detected() || m <= 0 || n <= 0 || k <= 0) return false;
    (use == isa::avx512 ? avx512::sgemm_nn : avx2::sgemm_nn)(m, n, k, alpha, a, lda, b, ldb, beta,
                                                             c, ldc);
    return true;
}

bool sgemv_rows(isa use, std::int64_t n, std::int64_t k, float alpha, const float* w,
                std::int64_t ldw, const float* x, float beta, float* y) {
    if (use == isa::none || use > detected() || n <= 0 || k <= 0) return false;
    (use == isa::avx512 ? avx512::sgemv_rows : avx2::sgemv_rows)(n, k, alpha, w, ldw, x, beta, y);
    return true;
}

}  // namespace cnnkit::kernel::gemm
