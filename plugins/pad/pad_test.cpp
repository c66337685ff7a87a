// pad_test.cpp: pad shapes and errors, and the CPU kernel against numpy.pad-style references
// for constant, reflect and edge.
#include "testing.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

using namespace cnnkit;

namespace {
// numpy.pad: constant fills, reflect mirrors without repeating the edge, edge repeats it.
std::vector<float> reference(const kernel::host_tensor& x, const std::string& mode,
                             const std::array<int, 4>& pad, float value) {
    const auto n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
    const std::int64_t oh = h + pad[0] + pad[2], ow = w + pad[1] + pad[3];
    std::vector<float> y;
    for (std::int64_t p = 0; p < n * c; ++p)
        for (std::int64_t oy = 0; oy < oh; ++oy)
            for (std::int64_t ox = 0; ox < ow; ++ox) {
                std::int64_t iy = oy - pad[0], ix = ox - pad[1];
                const bool inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
                if (mode == "constant" && !inside) {
                    y.push_back(value);
                    continue;
                }
                if (mode == "reflect") {
                    iy = iy < 0 ? -iy : (iy >= h ? 2 * h - 2 - iy : iy);
                    ix = ix < 0 ? -ix : (ix >= w ? 2 * w - 2 - ix : ix);
                } else {
                    iy = std::clamp<std::int64_t>(iy, 0, h - 1);
                    ix = std::clamp<std::int64_t>(ix, 0, w - 1);
                }
                y.push_back(x.f32()[(p * h + iy) * w + ix]);
            }
    return y;
}
}  // namespace

TEST_CASE("pad: {1, 2, 3, 4} on 5x6 gives 9x12", "[pad][shape]") {
    CHECK(testing::infer_layer("pad", "{pad: [1, 2, 3, 4]}", {{2, 3, 5, 6}})[0] ==
          sdk::shape{2, 3, 9, 12});
    CHECK(testing::infer_layer("pad", "{pad: 1, mode: edge}", {{1, 1, 1, 1}})[0] ==
          sdk::shape{1, 1, 3, 3});
}

TEST_CASE("pad: reflect pads as large as the dim are refused", "[pad][shape]") {
    REQUIRE_THROWS_WITH(
        testing::infer_layer("pad", "{mode: reflect, pad: [0, 3, 0, 0]}", {{1, 1, 4, 3}}),
        Catch::Contains("reflect pads {0, 3, 0, 0} must be smaller than the padded dims of "
                        "input {1, 1, 4, 3}"));
}

TEST_CASE("pad: negative pads and non-NCHW inputs are refused", "[pad][shape]") {
    REQUIRE_THROWS_WITH(testing::infer_layer("pad", "{pad: [1, -1, 0, 0]}", {{1, 1, 4, 4}}),
                        Catch::Contains("pads must be >= 0, got {1, -1, 0, 0}"));
    REQUIRE_THROWS_WITH(testing::infer_layer("pad", "{pad: 1}", {{1, 4, 4}}),
                        Catch::Contains("pad takes an NCHW input, got {1, 4, 4}"));
}

TEST_CASE("pad: CPU matches numpy.pad for constant, reflect and edge", "[pad][cpu]") {
    std::mt19937 rng(47);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    const char* modes[] = {"constant", "reflect", "edge"};
    for (int trial = 0; trial < 15; ++trial) {
        const std::string mode = modes[trial % 3];
        const int n = pick(1, 2), c = pick(1, 3), h = pick(1, 7), w = pick(1, 7);
        std::array<int, 4> pad{};
        for (int k = 0; k < 4; ++k)
            pad[k] = pick(0, mode == "reflect" ? (k % 2 ? w : h) - 1 : 4);
        const float value = trial % 2 ? 0.0f : 2.5f;
        const std::string params =
            cnnkit::cat("{mode: ", mode, ", pad: [", pad[0], ", ", pad[1], ", ", pad[2], ", ",
                        pad[3], "], value: ", value, "}");
        INFO(params << " on " << n << "x" << c << "x" << h << "x" << w);
        const auto x = testing::random_tensor({n, c, h, w}, 1000 + trial);
        const auto r = testing::run_layer("pad", params, {x});
        testing::check_close(r.outputs[0], {n, c, h + pad[0] + pad[2], w + pad[1] + pad[3]},
                             reference(x, mode, pad, value), 0.0f, 0.0f);
    }
}
