// lrn_test.cpp: lrn shapes, and the CPU kernel against the ONNX LRN definition.
#include "testing.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>

using namespace cnnkit;

namespace {
// ONNX LRN: window [c - floor((size-1)/2), c + ceil((size-1)/2)], clipped to the channels.
std::vector<float> reference(const kernel::host_tensor& x, int size, double alpha, double beta,
                             double bias) {
    const sdk::shape s = x.shape;
    const std::int64_t c = s[1], inner = s.prod(2, s.rank());
    std::vector<float> y(static_cast<std::size_t>(s.numel()));
    for (std::int64_t n = 0; n < s[0]; ++n)
        for (std::int64_t ch = 0; ch < c; ++ch)
            for (std::int64_t i = 0; i < inner; ++i) {
                double sq = 0;
                for (std::int64_t k = ch - (size - 1) / 2; k <= ch + size / 2; ++k)
                    if (k >= 0 && k < c) {
                        const double v = x.f32()[(n * c + k) * inner + i];
                        sq += v * v;
                    }
                const double v = x.f32()[(n * c + ch) * inner + i];
                y[(n * c + ch) * inner + i] =
                    static_cast<float>(v / std::pow(bias + alpha / size * sq, beta));
            }
    return y;
}
}  // namespace

TEST_CASE("lrn: output shape equals the input shape", "[lrn][shape]") {
    CHECK(testing::infer_layer("lrn", "{}", {{1, 96, 55, 55}})[0] == sdk::shape{1, 96, 55, 55});
}

TEST_CASE("lrn: size 0 is refused", "[lrn][shape]") {
    REQUIRE_THROWS_WITH(testing::infer_layer("lrn", "{size: 0}", {{1, 4, 3, 3}}),
                        Catch::Contains("size must be >= 1, got 0"));
}

TEST_CASE("lrn: a rank-1 input is refused", "[lrn][shape]") {
    REQUIRE_THROWS_WITH(testing::infer_layer("lrn", "{}", {{7}}),
                        Catch::Contains("rank >= 2 (N, C, ...), got {7}"));
}

TEST_CASE("lrn: CPU matches the ONNX definition for odd and even sizes", "[lrn][cpu]") {
    std::mt19937 rng(23);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    for (int trial = 0; trial < 10; ++trial) {
        const int size = pick(1, 7), n = pick(1, 2), c = pick(1, 12), h = pick(1, 9),
                  w = pick(1, 9);
        const double alpha = trial % 2 ? 1e-4 : 0.5, beta = trial % 3 ? 0.75 : 1.3;
        const double bias = trial % 2 ? 1.0 : 2.5;
        const std::string params = cnnkit::cat("{size: ", size, ", alpha: ", alpha, ", beta: ",
                                               beta, ", bias: ", bias, "}");
        INFO(params << " on " << n << "x" << c << "x" << h << "x" << w);
        const auto x = testing::random_tensor({n, c, h, w}, 300 + trial, -3.0f, 3.0f);
        const auto r = testing::run_layer("lrn", params, {x});
        testing::check_close(r.outputs[0], {n, c, h, w}, reference(x, size, alpha, beta, bias));
    }
}
