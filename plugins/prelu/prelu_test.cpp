// prelu_test.cpp: prelu shapes and errors, and the CPU kernel against per-element references
// for the learned [C] slope and for a broadcast slope input.
#include "testing.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace cnnkit;

namespace {
float prelu(float x, float slope) { return x >= 0 ? x : slope * x; }

// Slope index of x's element `flat`, the slope right-aligned onto x (numpy broadcasting).
std::int64_t slope_index(const sdk::shape& s, const sdk::shape& x, std::int64_t flat) {
    std::int64_t idx = 0, step = 1;
    for (std::uint32_t k = 0; k < s.rank(); ++k) {
        std::int64_t rest = flat;
        for (std::uint32_t d = 0; d < k; ++d) rest /= x[x.rank() - 1 - d];
        idx += (s[s.rank() - 1 - k] == 1 ? 0 : rest % x[x.rank() - 1 - k]) * step;
        step *= s[s.rank() - 1 - k];
    }
    return idx;
}
}  // namespace

TEST_CASE("prelu: output shape equals input 0's shape", "[prelu][shape]") {
    CHECK(testing::infer_layer("prelu", "{}", {{2, 8, 5, 5}})[0] == sdk::shape{2, 8, 5, 5});
    CHECK(testing::infer_layer("prelu", "{}", {{2, 8, 5, 5}, {8, 1, 1}})[0] ==
          sdk::shape{2, 8, 5, 5});
}

TEST_CASE("prelu: one input declares a [C] weight", "[prelu][shape]") {
    const auto r = testing::run_layer("prelu", "{}", {testing::random_tensor({1, 6, 2, 2}, 1)});
    REQUIRE(r.weight_shapes.size() == 1);
    CHECK(r.weight_shapes[0] == sdk::shape{6});
}

TEST_CASE("prelu: a slope that does not broadcast to the input is refused", "[prelu][shape]") {
    REQUIRE_THROWS_WITH(testing::infer_layer("prelu", "{}", {{2, 8, 5, 5}, {8}}),
                        Catch::Contains("slope 'x1' {8} does not broadcast to 'x0' {2, 8, 5, 5}"));
    REQUIRE_THROWS_WITH(testing::infer_layer("prelu", "{}", {{8, 5}, {2, 8, 5}}),
                        Catch::Contains("slope 'x1' {2, 8, 5} does not broadcast to 'x0' {8, 5}"));
}

TEST_CASE("prelu: CPU with a learned slope matches the reference", "[prelu][cpu]") {
    std::mt19937 rng(37);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    for (int trial = 0; trial < 6; ++trial) {
        const int rank = pick(2, 5);
        sdk::shape s = sdk::shape::of_rank(static_cast<std::uint32_t>(rank));
        for (int d = 0; d < rank; ++d) s[d] = pick(1, 6);
        INFO("input " << s);
        const auto x = testing::random_tensor(s, 600 + trial);
        const auto r = testing::run_layer("prelu", "{}", {x}, 40 + trial);
        const std::int64_t c = s[1], inner = s.prod(2, s.rank());
        std::vector<float> want(static_cast<std::size_t>(s.numel()));
        for (std::int64_t i = 0; i < s.numel(); ++i)
            want[i] = prelu(x.f32()[i], r.weights[0][(i / inner) % c]);
        testing::check_close(r.outputs[0], s, want, 1e-6f, 1e-7f);
    }
}

TEST_CASE("prelu: CPU with a slope input broadcasts it onto x", "[prelu][cpu]") {
    std::mt19937 rng(41);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    for (int trial = 0; trial < 10; ++trial) {
        const int rank = pick(1, 5), srank = pick(1, rank);
        sdk::shape s = sdk::shape::of_rank(static_cast<std::uint32_t>(rank));
        for (int d = 0; d < rank; ++d) s[d] = pick(1, 6);
        sdk::shape ss = sdk::shape::of_rank(static_cast<std::uint32_t>(srank));
        for (int d = 0; d < srank; ++d) ss[d] = pick(0, 1) ? s[rank - srank + d] : 1;
        INFO("input " << s << ", slope " << ss);
        const auto x = testing::random_tensor(s, 700 + trial);
        const auto slope = testing::random_tensor(ss, 800 + trial, 0.0f, 0.5f);
        const auto r = testing::run_layer("prelu", "{}", {x, slope});
        CHECK(r.weights.empty());
        std::vector<float> want(static_cast<std::size_t>(s.numel()));
        for (std::int64_t i = 0; i < s.numel(); ++i)
            want[i] = prelu(x.f32()[i], slope.f32()[slope_index(ss, s, i)]);
        testing::check_close(r.outputs[0], s, want, 1e-6f, 1e-7f);
    }
}
