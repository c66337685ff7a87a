// batch_norm_test.cpp: batch_norm shapes, and the CPU kernel against the formula per element.
#include "testing.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>

using namespace cnnkit;

namespace {
// The definition, element by element; w = {weight, bias, running_mean, running_var}.
std::vector<float> reference(const kernel::host_tensor& x, const std::vector<std::vector<float>>& w,
                             double eps) {
    const sdk::shape s = x.shape;
    const std::int64_t c = s[1], inner = s.prod(2, s.rank());
    std::vector<float> y(static_cast<std::size_t>(s.numel()));
    for (std::int64_t n = 0; n < s[0]; ++n)
        for (std::int64_t ch = 0; ch < c; ++ch)
            for (std::int64_t i = 0; i < inner; ++i) {
                const std::int64_t k = (n * c + ch) * inner + i;
                const double norm = (x.f32()[k] - w[2][ch]) / std::sqrt(w[3][ch] + eps);
                y[k] = static_cast<float>(norm * w[0][ch] + w[1][ch]);
            }
    return y;
}
}  // namespace

TEST_CASE("batch_norm: output shape equals the input shape", "[batch_norm][shape]") {
    CHECK(testing::infer_layer("batch_norm", "{}", {{2, 8, 5, 5}})[0] == sdk::shape{2, 8, 5, 5});
    CHECK(testing::infer_layer("batch_norm", "{}", {{3, 7}})[0] == sdk::shape{3, 7});
}

TEST_CASE("batch_norm: declares four [C] weights with PyTorch names", "[batch_norm][shape]") {
    const auto r = testing::run_layer("batch_norm", "{}", {testing::random_tensor({1, 6, 2}, 1)});
    REQUIRE(r.weight_shapes.size() == 4);
    for (const auto& s : r.weight_shapes) CHECK(s == sdk::shape{6});
    for (float v : r.weights[3]) CHECK(v > 0.0f);  // running_var is positive
}

TEST_CASE("batch_norm: a rank-1 input is refused", "[batch_norm][shape]") {
    REQUIRE_THROWS_WITH(testing::infer_layer("batch_norm", "{}", {{16}}),
                        Catch::Contains("rank >= 2 (N, C, ...), got {16}"));
}

TEST_CASE("batch_norm: CPU matches the formula on random shapes", "[batch_norm][cpu]") {
    std::mt19937 rng(17);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    for (int trial = 0; trial < 8; ++trial) {
        const int rank = pick(2, 5);
        sdk::shape s = sdk::shape::of_rank(static_cast<std::uint32_t>(rank));
        for (int d = 0; d < rank; ++d) s[d] = pick(1, d < 2 ? 6 : 9);
        const double eps = trial % 2 ? 1e-5 : 0.1;
        const std::string params = cnnkit::cat("{epsilon: ", eps, "}");
        INFO(params << " on " << s);
        const auto x = testing::random_tensor(s, 200 + trial, -3.0f, 3.0f);
        const auto r = testing::run_layer("batch_norm", params, {x}, 30 + trial);
        testing::check_close(r.outputs[0], s, reference(x, r.weights, eps));
    }
}
