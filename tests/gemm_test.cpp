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

TEST_CASE("gemm: own GEMV matches a double reference on odd sizes, strides, alpha and beta",
          "[gemm]") {
    if (gemm::detected() == gemm::isa::none) {
        WARN("no AVX2/AVX-512 on this CPU: nothing to test");
        return;
    }
    // n around the 4-row blocks, k around the vector widths (8 and 16, 16 and 32) and the tails.
    const std::int64_t ns[] = {1, 3, 4, 5, 9, 130};
    const std::int64_t ks[] = {1, 7, 8, 15, 16, 17, 31, 32, 33, 47, 300, 9216};
    const struct { float alpha, beta; } scales[] = {{1, 0}, {1, 1}, {2.5f, 0}, {0.5f, -1.5f}};
    for (gemm::isa isa : isas())
        for (std::int64_t n : ns)
            for (std::int64_t k : ks)
                for (const auto& s : scales) {
                    const std::int64_t ldw = k + 3;
                    const auto w = random(n * ldw, 6), x = random(k, 7);
                    std::vector<float> y = random(n + 1, 8);
                    if (s.beta == 0)  // beta == 0 must ignore y entirely, NaN included
                        for (float& v : y) v = std::numeric_limits<float>::quiet_NaN();
                    const std::vector<float> y0 = y;
                    REQUIRE(gemm::sgemv_rows(isa, n, k, s.alpha, w.data(), ldw, x.data(), s.beta,
                                             y.data()));
                    for (std::int64_t i = 0; i < n; ++i) {
                        double want = 0, mag = 0;
                        for (std::int64_t p = 0; p < k; ++p) {
                            want += double(w[i * ldw + p]) * x[p];
                            mag += std::abs(double(w[i * ldw + p]) * x[p]);
                        }
                        want *= s.alpha;
                        if (s.beta != 0) want += double(s.beta) * y0[i];
                        INFO("isa " << int(isa) << " n " << n << " k " << k << " alpha "
                                    << s.alpha << " beta " << s.beta << " row " << i);
                        REQUIRE(std::abs(y[i] - want) <= 1e-5 * (std::abs(s.alpha) * mag + 2));
                    }
                    // The element past the last row is never written.
                    REQUIRE((y[n] == y0[n] || (std::isnan(y[n]) && std::isnan(y0[n]))));
                }
}

TEST_CASE("gemm: a GEMV row's result does not depend on which rows are computed with it",
          "[gemm]") {
    if (gemm::detected() == gemm::isa::none) {
        WARN("no AVX2/AVX-512 on this CPU: nothing to test");
        return;
    }
    const std::int64_t n = 37, k = 1001;
    const auto w = random(n * k, 9), x = random(k, 10);
    for (gemm::isa isa : isas()) {
        std::vector<float> whole(n), tiled(n);
        REQUIRE(gemm::sgemv_rows(isa, n, k, 1, w.data(), k, x.data(), 0, whole.data()));
        for (std::int64_t i0 = 0; i0 < n; i0 += 6)  // blocks of 6: 4 + 1 + 1 rows
            REQUIRE(gemm::sgemv_rows(isa, std::min<std::int64_t>(6, n - i0), k, 1,
                                     w.data() + i0 * k, k, x.data(), 0, tiled.data() + i0));
        REQUIRE(whole == tiled);
    }
    float w1 = 1, x1 = 1, y1 = 5;
    REQUIRE_FALSE(gemm::sgemv_rows(gemm::isa::none, 1, 1, 1, &w1, 1, &x1, 0, &y1));
    REQUIRE(y1 == 5);
}
