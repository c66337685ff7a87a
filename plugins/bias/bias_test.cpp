// bias_test.cpp: bias shapes and weight shape, and the CPU kernel against a per-sample sum.
#include "testing.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace cnnkit;

TEST_CASE("bias: AlphaGo's policy head [1,1,19,19] gets a [1,19,19] weight", "[bias][shape]") {
    CHECK(testing::infer_layer("bias", "{}", {{1, 1, 19, 19}})[0] == sdk::shape{1, 1, 19, 19});
    const auto r = testing::run_layer("bias", "{}", {testing::random_tensor({1, 1, 19, 19}, 1)});
    REQUIRE(r.weight_shapes.size() == 1);
    CHECK(r.weight_shapes[0] == sdk::shape{1, 19, 19});
}

TEST_CASE("bias: a rank-1 input is refused", "[bias][shape]") {
    REQUIRE_THROWS_WITH(testing::infer_layer("bias", "{}", {{361}}),
                        Catch::Contains("rank >= 2 (N, ...), got {361}"));
}

TEST_CASE("bias: CPU adds the same weight to every sample", "[bias][cpu]") {
    std::mt19937 rng(43);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    for (int trial = 0; trial < 8; ++trial) {
        const int rank = pick(2, 5);
        sdk::shape s = sdk::shape::of_rank(static_cast<std::uint32_t>(rank));
        for (int d = 0; d < rank; ++d) s[d] = pick(1, d == 0 ? 3 : 12);
        INFO("input " << s);
        const auto x = testing::random_tensor(s, 900 + trial);
        const auto r = testing::run_layer("bias", "{}", {x}, 50 + trial);
        const std::int64_t per = s.numel() / s[0];
        std::vector<float> want(static_cast<std::size_t>(s.numel()));
        for (std::int64_t n = 0; n < s[0]; ++n)
            for (std::int64_t i = 0; i < per; ++i)
                want[n * per + i] = x.f32()[n * per + i] + r.weights[0][i];
        testing::check_close(r.outputs[0], s, want);
    }
}
