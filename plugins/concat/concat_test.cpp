// concat_test.cpp: concat shapes and errors, and the CPU kernel against index arithmetic.
#include "testing.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace cnnkit;

namespace {
// Output element by element: find which input owns the axis coordinate.
std::vector<float> reference(const std::vector<kernel::host_tensor>& xs, std::uint32_t axis,
                             const sdk::shape& out) {
    const std::int64_t outer = out.prod(0, axis), inner = out.prod(axis + 1, out.rank());
    std::vector<float> y;
    for (std::int64_t o = 0; o < outer; ++o)
        for (const auto& x : xs)
            for (std::int64_t a = 0; a < x.shape[axis]; ++a)
                for (std::int64_t i = 0; i < inner; ++i)
                    y.push_back(x.f32()[(o * x.shape[axis] + a) * inner + i]);
    return y;
}
}  // namespace

TEST_CASE("concat: channels add up along the default axis 1", "[concat][shape]") {
    const auto s = testing::infer_layer("concat", "{}", {{1, 64, 28, 28}, {1, 128, 28, 28},
                                                         {1, 32, 28, 28}});
    CHECK(s[0] == sdk::shape{1, 224, 28, 28});
}

TEST_CASE("concat: a negative axis counts from the end", "[concat][shape]") {
    CHECK(testing::infer_layer("concat", "{axis: -1}", {{2, 3, 4}, {2, 3, 5}})[0] ==
          sdk::shape{2, 3, 9});
}

TEST_CASE("concat: a single input passes through", "[concat][shape]") {
    CHECK(testing::infer_layer("concat", "{axis: 0}", {{2, 3}})[0] == sdk::shape{2, 3});
}

TEST_CASE("concat: a mismatch outside the axis names both shapes and the input",
          "[concat][shape]") {
    REQUIRE_THROWS_WITH(
        testing::infer_layer("concat", "{}", {{1, 2, 4, 4}, {1, 3, 4, 4}, {1, 2, 5, 4}}),
        Catch::Contains("shape mismatch in layer 'layer' (concat): 'x2' {1, 2, 5, 4} does not "
                        "match 'x0' {1, 2, 4, 4} outside axis 1: dim 2 is 5 vs 4"));
    REQUIRE_THROWS_WITH(testing::infer_layer("concat", "{}", {{1, 2, 4}, {1, 2}}),
                        Catch::Contains("'x1' {1, 2} cannot be concatenated with 'x0' {1, 2, 4}: "
                                        "rank or element type differs"));
}

TEST_CASE("concat: an axis outside the rank is refused", "[concat][shape]") {
    REQUIRE_THROWS_WITH(testing::infer_layer("concat", "{axis: 3}", {{1, 2, 4}}),
                        Catch::Contains("axis 3 is outside [-3, 3) for input {1, 2, 4}"));
}

TEST_CASE("concat: CPU matches the reference on random shapes and axes", "[concat][cpu]") {
    std::mt19937 rng(29);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    for (int trial = 0; trial < 12; ++trial) {
        const int rank = pick(1, 5), n_in = pick(1, 4);
        const int axis = pick(0, rank - 1);
        sdk::shape base = sdk::shape::of_rank(static_cast<std::uint32_t>(rank));
        for (int d = 0; d < rank; ++d) base[d] = pick(1, 5);
        std::vector<kernel::host_tensor> xs;
        sdk::shape out = base;
        out[axis] = 0;
        for (int i = 0; i < n_in; ++i) {
            sdk::shape s = base;
            s[axis] = pick(1, 6);
            out[axis] += s[axis];
            xs.push_back(testing::random_tensor(s, 400 + trial * 10 + i));
        }
        const int written = trial % 2 ? axis - rank : axis;  // negative half of the time
        INFO("axis " << written << ", " << n_in << " inputs, out " << out);
        const auto r = testing::run_layer("concat", cnnkit::cat("{axis: ", written, "}"), xs);
        const auto want = reference(xs, static_cast<std::uint32_t>(axis), out);
        testing::check_close(r.outputs[0], out, want, 0.0f, 0.0f);
    }
}
