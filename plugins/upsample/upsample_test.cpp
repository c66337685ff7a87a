// upsample_test.cpp: upsample shapes, refused params, ONNX Resize backend-test values, and the
// CPU kernel against a per-pixel formula on random shapes and modes.
#include "testing.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>

using namespace cnnkit;
using testing::run_layer;

namespace {
const char* const coordinates[] = {"asymmetric", "half_pixel", "pytorch_half_pixel",
                                   "align_corners"};
const char* const roundings[] = {"floor", "round_prefer_floor", "round_prefer_ceil", "ceil"};

// ONNX Resize's x_original for output index x (coordinate as in `coordinates`).
float source(int coordinate, int x, int in, int out, float scale) {
    if (coordinate == 1 || (coordinate == 2 && out > 1)) return (x + 0.5f) / scale - 0.5f;
    if (coordinate == 2) return 0.0f;
    if (coordinate == 3) return out == 1 ? 0.0f : x * float(in - 1) / (in * scale - 1.0f);
    return x / scale;
}

int nearest_index(int rounding, float s, int in) {
    const float f = std::floor(s);
    float r = rounding == 0 ? f : rounding == 3 ? std::ceil(s) : std::round(s);
    if ((rounding == 1 || rounding == 2) && s - f == 0.5f) r = rounding == 1 ? f : f + 1;
    return std::clamp(int(r), 0, in - 1);
}

// Each output pixel from its source coordinates: nearest picks one pixel, bilinear weighs four.
std::vector<float> reference(const kernel::host_tensor& x, int oh, int ow, float sh, float sw,
                             bool bilinear, int coordinate, int rounding) {
    const int nc = int(x.shape[0] * x.shape[1]), h = int(x.shape[2]), w = int(x.shape[3]);
    std::vector<float> y;
    for (int pl = 0; pl < nc; ++pl)
        for (int oy = 0; oy < oh; ++oy)
            for (int ox = 0; ox < ow; ++ox) {
                const float* img = x.f32() + std::size_t(pl) * h * w;
                const float fy = source(coordinate, oy, h, oh, sh);
                const float fx = source(coordinate, ox, w, ow, sw);
                if (!bilinear) {
                    y.push_back(img[nearest_index(rounding, fy, h) * w +
                                    nearest_index(rounding, fx, w)]);
                    continue;
                }
                const double cy = std::clamp(fy, 0.0f, h - 1.0f);
                const double cx = std::clamp(fx, 0.0f, w - 1.0f);
                const int y0 = int(cy), x0 = int(cx);
                const int y1 = std::min(y0 + 1, h - 1), x1 = std::min(x0 + 1, w - 1);
                const double v = cy - y0, u = cx - x0;
                y.push_back(float((1 - v) * ((1 - u) * img[y0 * w + x0] + u * img[y0 * w + x1]) +
                                  v * ((1 - u) * img[y1 * w + x0] + u * img[y1 * w + x1])));
            }
    return y;
}

kernel::host_tensor one_to_four() { return testing::make_tensor({1, 1, 2, 2}, {1, 2, 3, 4}); }
}  // namespace

TEST_CASE("upsample: default nearest scale 2 doubles 5x7 to 10x14", "[upsample][shape]") {
    const auto s = testing::infer_layer("upsample", "{}", {{2, 3, 5, 7}});
    REQUIRE(s.size() == 1);
    CHECK(s[0] == sdk::shape{2, 3, 10, 14});
}

TEST_CASE("upsample: output is floor(in * scale), or size when given", "[upsample][shape]") {
    CHECK(testing::infer_layer("upsample", "{scale: [1.5, 0.5]}", {{1, 2, 5, 7}})[0] ==
          sdk::shape{1, 2, 7, 3});
    CHECK(testing::infer_layer("upsample", "{size: [9, 4], scale: 3}", {{1, 2, 5, 7}})[0] ==
          sdk::shape{1, 2, 9, 4});
}

TEST_CASE("upsample: a half-given size is refused", "[upsample][shape]") {
    REQUIRE_THROWS_WITH(testing::infer_layer("upsample", "{size: [0, 4]}", {{1, 2, 5, 7}}),
                        Catch::Contains("size {0, 4} must be {0, 0} (use scale) or positive"));
}

TEST_CASE("upsample: a scale that empties the output is refused", "[upsample][shape]") {
    REQUIRE_THROWS_WITH(testing::infer_layer("upsample", "{scale: 0.25}", {{1, 2, 3, 8}}),
                        Catch::Contains("upsample of {1, 2, 3, 8} by scale {0.25, 0.25} gives "
                                        "an empty output"));
}

TEST_CASE("upsample: non-NCHW input is refused", "[upsample][shape]") {
    REQUIRE_THROWS_WITH(testing::infer_layer("upsample", "{}", {{2, 5, 7}}),
                        Catch::Contains("upsample takes an NCHW input, got {2, 5, 7}"));
}

TEST_CASE("upsample: nearest asymmetric floor repeats pixels as nn.Upsample does",
          "[upsample][cpu]") {
    const auto r = run_layer("upsample", "{}", {one_to_four()});
    testing::check_close(r.outputs[0], {1, 1, 4, 4},
                         {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
}

TEST_CASE("upsample: CPU matches ONNX Resize backend tests", "[upsample][cpu]") {
    auto r = run_layer("upsample",
                       "{scale: [2, 3], coordinate: half_pixel, nearest_mode: round_prefer_floor}",
                       {one_to_four()});  // test_resize_upsample_scales_nearest
    testing::check_close(r.outputs[0], {1, 1, 4, 6},
                         {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4});
    r = run_layer("upsample", "{mode: bilinear, coordinate: half_pixel}",
                  {one_to_four()});  // test_resize_upsample_scales_linear
    testing::check_close(r.outputs[0], {1, 1, 4, 4},
                         {1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25,
                          3.75, 4});
    r = run_layer("upsample", "{mode: bilinear, coordinate: align_corners}",
                  {one_to_four()});  // test_resize_upsample_scales_linear_align_corners
    const float a = 1.0f / 3, b = 2.0f / 3;
    testing::check_close(r.outputs[0], {1, 1, 4, 4},
                         {1, 1 + a, 1 + b, 2, 1 + b, 2, 2 + a, 2 + b, 2 + a, 2 + b, 3, 3 + a, 3,
                          3 + a, 3 + b, 4});
    r = run_layer("upsample",
                  "{size: [1, 3], coordinate: half_pixel, nearest_mode: round_prefer_floor}",
                  {testing::make_tensor({1, 1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8})});
    testing::check_close(r.outputs[0], {1, 1, 1, 3}, {1, 2, 4});  // ..._downsample_sizes_nearest
}

TEST_CASE("upsample: CPU matches the per-pixel formula on random shapes and modes",
          "[upsample][cpu]") {
    std::mt19937 rng(7);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    for (int trial = 0; trial < 40; ++trial) {
        const int n = pick(1, 2), c = pick(1, 3), h = pick(1, 9), w = pick(1, 9);
        const bool bilinear = pick(0, 1), sized = pick(0, 1);
        const int coordinate = pick(0, 3), rounding = pick(0, 3);
        const float sh = pick(2, 12) / 4.0f, sw = pick(2, 12) / 4.0f;  // 0.5 .. 3 by 0.25
        int oh = int(std::floor(h * double(sh))), ow = int(std::floor(w * double(sw)));
        if (sized) oh = pick(1, 20), ow = pick(1, 20);
        if (oh < 1 || ow < 1) continue;
        const std::string params = cnnkit::cat(
            "{mode: ", bilinear ? "bilinear" : "nearest", ", scale: [", sh, ", ", sw,
            "], size: [", sized ? oh : 0, ", ", sized ? ow : 0, "], coordinate: ",
            coordinates[coordinate], ", nearest_mode: ", roundings[rounding], "}");
        INFO(params << " on " << n << "x" << c << "x" << h << "x" << w);
        const auto x = testing::random_tensor({n, c, h, w}, 200 + trial);
        const auto r = run_layer("upsample", params, {x});
        const float ush = sized ? float(oh) / float(h) : sh;  // ONNX: scale = size / input
        const float usw = sized ? float(ow) / float(w) : sw;
        testing::check_close(r.outputs[0], {n, c, oh, ow},
                             reference(x, oh, ow, ush, usw, bilinear, coordinate, rounding));
    }
}

TEST_CASE("upsample: align_corners by a scale divides by in * scale - 1, as ONNX's reference",
          "[upsample][onnx]") {
    // test_resize_downsample_scales_linear_align_corners: 2x4 by 0.6 gives 1x2 = {1, 3.142857}.
    const auto x = testing::make_tensor({1, 1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
    const auto r = run_layer("upsample", "{mode: bilinear, coordinate: align_corners, "
                                         "scale: [0.6, 0.6]}", {x});
    testing::check_close(r.outputs[0], {1, 1, 1, 2}, {1.0f, 3.142857f});
}

namespace {
// ONNX's reference for one axis of bicubic: the 4 points nearest to s in the edge-padded line
// (ties to the left), weights from the cubic kernel of each point's distance to s; with
// exclude_outside, points off the line weigh 0 and the rest are renormalised.
std::vector<std::pair<int, double>> cubic_taps(double s, int in, double a, bool exclude) {
    auto kernel = [a](double d) {
        d = std::fabs(d);
        if (d <= 1) return ((a + 2) * d - (a + 3)) * d * d + 1;
        if (d < 2) return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a;
        return 0.0;
    };
    std::vector<int> pts;
    for (int i = -2; i < in + 2; ++i) pts.push_back(i);
    std::stable_sort(pts.begin(), pts.end(), [s](int p, int q) {
        return std::fabs(s - p) < std::fabs(s - q);
    });
    pts.resize(4);
    std::vector<std::pair<int, double>> taps;
    double sum = 0;
    for (int p : pts) {
        const double w = exclude && (p < 0 || p >= in) ? 0 : kernel(s - p);
        taps.push_back({std::clamp(p, 0, in - 1), w});
        sum += w;
    }
    if (exclude)
        for (auto& t : taps) t.second /= sum;
    return taps;
}
}  // namespace

TEST_CASE("upsample: bicubic matches ONNX's 4-nearest-points formula on random shapes",
          "[upsample][cpu]") {
    std::mt19937 rng(11);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    for (int trial = 0; trial < 30; ++trial) {
        const int h = pick(1, 8), w = pick(1, 8), coordinate = pick(0, 3);
        const bool exclude = pick(0, 1);
        const float sh = pick(2, 12) / 4.0f, sw = pick(2, 12) / 4.0f, a = exclude ? -0.5f : -0.75f;
        const int oh = int(std::floor(h * double(sh))), ow = int(std::floor(w * double(sw)));
        if (oh < 1 || ow < 1) continue;
        const std::string params = cnnkit::cat(
            "{mode: bicubic, scale: [", sh, ", ", sw, "], coordinate: ", coordinates[coordinate],
            ", cubic_coeff_a: ", a, ", exclude_outside: ", exclude ? "true" : "false", "}");
        INFO(params << " on 1x2x" << h << "x" << w);
        const auto x = testing::random_tensor({1, 2, h, w}, 500 + trial);
        const auto r = run_layer("upsample", params, {x});
        std::vector<float> want;
        for (int pl = 0; pl < 2; ++pl)
            for (int oy = 0; oy < oh; ++oy)
                for (int ox = 0; ox < ow; ++ox) {
                    const float fy = source(coordinate, oy, h, oh, sh);
                    const float fx = source(coordinate, ox, w, ow, sw);
                    double v = 0;
                    for (const auto& [iy, wy] : cubic_taps(fy, h, a, exclude))
                        for (const auto& [ix, wx] : cubic_taps(fx, w, a, exclude))
                            v += wy * wx * x.f32()[(pl * h + iy) * w + ix];
                    want.push_back(float(v));
                }
        testing::check_close(r.outputs[0], {1, 2, oh, ow}, want, 1e-4f, 1e-4f);
    }
}
