// gemm_test.cpp: the CPU backend's own SGEMM micro-kernels (every ISA this CPU runs) against a
// double-precision reference: odd and edge sizes, K across the K-block boundary, leading
// dimensions wider than the matrix, alpha and beta as callers use them, and bit-identical
// results however rows and columns are tiled.
#include "backends/cpu/gemm.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

using namespace cnnkit::kernel;

namespace {

std::vector<gemm::isa> isas() {
    std::vector<gemm::isa> v;
    for (gemm::isa i : {gemm::isa::avx2, gemm::isa::avx512})
        if (i <= gemm::detected()) v.push_back(i);
    return v;
}

std::vector<float> random(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> v(n);
    for (float& x : v) x = u(rng);
    return v;
}

}  // namespace

TEST_CASE("gemm: own SGEMM matches a double reference on odd sizes, strides, alpha and beta",
          "[gemm]") {
    if (gemm::detected() == gemm::isa::none) {
        WARN("no AVX2/AVX-512 on this CPU: nothing to test");
        return;
    }
    struct dims { std::int64_t m, n, k; };
    const dims cases[] = {{1, 1, 1},   {4, 7, 3},    {12, 32, 256}, {13, 33, 257}, {5, 17, 300},
                          {25, 49, 513}, {11, 15, 16}, {36, 64, 64}, {7, 100, 1},  {64, 3, 600}};
    const struct { float alpha, beta; } scales[] = {{1, 0}, {1, 1}, {2.5f, 0}, {0.5f, -1.5f}};
    for (gemm::isa isa : isas())
        for (const dims& d : cases)
            for (const auto& s : scales) {
                const std::int64_t lda = d.k + 3, ldb = d.n + 5, ldc = d.n + 2;
                const auto a = random(d.m * lda, 1), b = random(d.k * ldb, 2);
                std::vector<float> c = random(d.m * ldc, 3);
                // beta == 0 must ignore C entirely, NaN included.
                if (s.beta == 0)
                    for (float& x : c) x = std::numeric_limits<float>::quiet_NaN();
                const std::vector<float> c0 = c;
                REQUIRE(gemm::sgemm_nn(isa, d.m, d.n, d.k, s.alpha, a.data(), lda, b.data(), ldb,
                                       s.beta, c.data(), ldc));
                for (std::int64_t i = 0; i < d.m; ++i)
                    for (std::int64_t j = 0; j < ldc; ++j) {
                        const float got = c[i * ldc + j];
                        if (j >= d.n) {  // outside the matrix: untouched (NaN stays NaN)
                            REQUIRE((got == c0[i * ldc + j] || std::isnan(c0[i * ldc + j])));
                            continue;
                        }
                        double want = 0, mag = 0;
                        for (std::int64_t p = 0; p < d.k; ++p) {
                            want += double(a[i * lda + p]) * b[p * ldb + j];
                            mag += std::abs(double(a[i * lda + p]) * b[p * ldb + j]);
                        }
                        want *= s.alpha;
                        if (s.beta != 0) want += double(s.beta) * c0[i * ldc + j];
                        INFO("isa " << int(isa) << " m " << d.m << " n " << d.n << " k " << d.k
                                    << " alpha " << s.alpha << " beta " << s.beta << " at " << i
                                    << "," << j);
                        REQUIRE(std::abs(got - want) <= 1e-5 * (std::abs(s.alpha) * mag + 2) );
                    }
            }
}

TEST_CASE("gemm: results are bit-identical however rows and columns are tiled", "[gemm]") {
    if (gemm::detected() == gemm::isa::none) {
        WARN("no AVX2/AVX-512 on this CPU: nothing to test");
        return;
    }
    const std::int64_t m = 29, n = 75, k = 530;
    const auto a = random(m * k, 4), b = random(k * n, 5);
    for (gemm::isa isa : isas()) {
        std::vector<float> whole(m * n), tiled(m * n);
        REQUIRE(gemm::sgemm_nn(isa, m, n, k, 1, a.data(), k, b.data(), n, 0, whole.data(), n));
        for (std::int64_t i0 = 0; i0 < m; i0 += 10)
            for (std::int64_t j0 = 0; j0 < n; j0 += 17)
                REQUIRE(gemm::sgemm_nn(isa, std::min<std::int64_t>(10, m - i0),
                                       std::min<std::int64_t>(17, n - j0), k, 1, a.data() + i0 * k,
                                       k, b.data() + j0, n, 0, tiled.data() + i0 * n + j0, n));
        REQUIRE(whole == tiled);
    }
}

TEST_CASE("gemm: declines when asked for no kernel or one this CPU lacks", "[gemm]") {
    float a = 1, b = 1, c = 5;
    REQUIRE_FALSE(gemm::sgemm_nn(gemm::isa::none, 1, 1, 1, 1, &a, 1, &b, 1, 0, &c, 1));
    REQUIRE(c == 5);
    if (gemm::detected() != gemm::isa::avx512)
        REQUIRE_FALSE(gemm::sgemm_nn(gemm::isa::avx512, 1, 1, 1, 1, &a, 1, &b, 1, 0, &c, 1));
}
