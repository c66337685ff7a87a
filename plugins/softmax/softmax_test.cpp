// softmax_test.cpp: softmax and log_softmax shapes, axis checks, stability on large inputs, and
// the CPU kernels against a per-row reference on random shapes and axes.
#include "testing.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>

using namespace cnnkit;
using testing::run_layer;

namespace {

// Softmax (or log-softmax) along `axis` of x, one row at a time, in double.
std::vector<float> reference(const kernel::host_tensor& x, int axis, bool log) {
    const auto& s = x.shape;
    const int r = static_cast<int>(s.rank());
    const auto a = static_cast<std::uint32_t>(axis < 0 ? axis + r : axis);
    const std::int64_t outer = s.prod(0, a), len = s[a], inner = s.prod(a + 1, s.rank());
    std::vector<float> y(static_cast<std::size_t>(s.numel()));
    for (std::int64_t o = 0; o < outer; ++o)
        for (std::int64_t i = 0; i < inner; ++i) {
            auto at = [&](std::int64_t l) { return (o * len + l) * inner + i; };
            double mx = -INFINITY, sum = 0;
            for (std::int64_t l = 0; l < len; ++l) mx = std::max(mx, double(x.f32()[at(l)]));
            for (std::int64_t l = 0; l < len; ++l) sum += std::exp(x.f32()[at(l)] - mx);
            for (std::int64_t l = 0; l < len; ++l) {
                const double z = x.f32()[at(l)] - mx;
                y[static_cast<std::size_t>(at(l))] =
                    static_cast<float>(log ? z - std::log(sum) : std::exp(z) / sum);
            }
        }
    return y;
}

}  // namespace

TEST_CASE("softmax: output shape equals input shape", "[softmax][shape]") {
    CHECK(testing::infer_layer("softmax", "{}", {{2, 10}})[0] == sdk::shape{2, 10});
    CHECK(testing::infer_layer("log_softmax", "{axis: -1}", {{2, 3, 4}})[0] ==
          sdk::shape{2, 3, 4});
}

TEST_CASE("softmax: an axis outside [-rank, rank - 1] is refused", "[softmax][shape]") {
    REQUIRE_THROWS_WITH(testing::infer_layer("softmax", "{axis: 4}", {{2, 3, 4, 5}}),
                        Catch::Contains("softmax axis 4 is outside [-4, 3] for input "
                                        "{2, 3, 4, 5}"));
    REQUIRE_THROWS_WITH(testing::infer_layer("log_softmax", "{axis: -3}", {{2, 3}}),
                        Catch::Contains("log_softmax axis -3 is outside [-2, 1]"));
}

TEST_CASE("softmax: large logits stay finite (the max is subtracted)", "[softmax][cpu]") {
    const auto x = testing::make_tensor({1, 3}, {1000.0f, 1001.0f, 1002.0f});
    const double e1 = std::exp(-1.0), e2 = std::exp(-2.0), z = 1 + e1 + e2;
    const auto s = run_layer("softmax", "{}", {x});
    testing::check_close(s.outputs[0], {1, 3},
                         {float(e2 / z), float(e1 / z), float(1 / z)});
    const auto l = run_layer("log_softmax", "{}", {x});
    testing::check_close(l.outputs[0], {1, 3},
                         {float(-2 - std::log(z)), float(-1 - std::log(z)), float(-std::log(z))});
}

TEST_CASE("softmax: CPU matches the reference on random shapes and axes", "[softmax][cpu]") {
    std::mt19937 rng(5);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    for (int trial = 0; trial < 24; ++trial) {
        const int rank = pick(1, 5);
        sdk::shape s = sdk::shape::of_rank(static_cast<std::uint32_t>(rank));
        for (int d = 0; d < rank; ++d) s[d] = pick(1, rank <= 2 ? 300 : 9);
        const int axis = pick(-rank, rank - 1);
        const bool log = trial % 2;
        const auto x = testing::random_tensor(s, 700 + trial, -8.0f, 8.0f);
        INFO((log ? "log_softmax" : "softmax") << " axis " << axis << " on " << s);
        const auto r = run_layer(log ? "log_softmax" : "softmax", cat("{axis: ", axis, "}"), {x});
        testing::check_close(r.outputs[0], s, reference(x, axis, log), 1e-4f, 1e-5f);
    }
}
