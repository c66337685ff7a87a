// conv_transpose_test.cpp: conv_transpose shapes, refused params, and the CPU kernel against the
// direct scatter definition and an ONNX backend-test case.
#include "testing.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace cnnkit;
using testing::run_layer;

namespace {
struct config {
    int n, groups, icg, ocg, h, w, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, oph, opw;
    bool bias;
    int size_h = 0, size_w = 0;  // output_size; 0: the default extent

    int out_h() const { return size_h ? size_h : sh * (h - 1) + oph + (kh - 1) * dh + 1 - pt - pb; }
    int out_w() const { return size_w ? size_w : sw * (w - 1) + opw + (kw - 1) * dw + 1 - pl - pr; }
    std::string yaml() const {
        return cnnkit::cat("{out_channels: ", ocg * groups, ", kernel: [", kh, ", ", kw,
                           "], stride: [", sh, ", ", sw, "], pad: [", pt, ", ", pl, ", ", pb, ", ",
                           pr, "], output_padding: [", oph, ", ", opw, "], dilation: [", dh, ", ",
                           dw, "], groups: ", groups, ", bias: ", bias ? "true" : "false",
                           ", output_size: [", size_h, ", ", size_w, "]}");
    }
};

// The definition: every input pixel scatters its weighted kernel into the output,
// y[n, g*ocg+o, iy*s - pt + ky*d, ix*s - pl + kx*d] += x[n, g*icg+ci, iy, ix] * w[g*icg+ci, o,
// ky, kx], skipping outputs out of range.
std::vector<float> reference(const config& k, const kernel::host_tensor& x,
                             const std::vector<float>& w, const std::vector<float>* b) {
    const int oc = k.ocg * k.groups, c = k.icg * k.groups, oh = k.out_h(), ow = k.out_w();
    std::vector<double> y(static_cast<std::size_t>(k.n) * oc * oh * ow);
    for (std::size_t j = 0; j < y.size(); ++j) y[j] = b ? (*b)[j / (oh * ow) % oc] : 0.0;
    for (int i = 0; i < k.n; ++i)
        for (int cin = 0; cin < c; ++cin)
            for (int o = 0; o < k.ocg; ++o)
                for (int iy = 0; iy < k.h; ++iy)
                    for (int ix = 0; ix < k.w; ++ix)
                        for (int ky = 0; ky < k.kh; ++ky)
                            for (int kx = 0; kx < k.kw; ++kx) {
                                const int oy = iy * k.sh - k.pt + ky * k.dh;
                                const int ox = ix * k.sw - k.pl + kx * k.dw;
                                if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
                                const int out_c = cin / k.icg * k.ocg + o;
                                const double xv = x.f32()[((i * c + cin) * k.h + iy) * k.w + ix];
                                const double wv = w[((cin * k.ocg + o) * k.kh + ky) * k.kw + kx];
                                y[((std::size_t(i) * oc + out_c) * oh + oy) * ow + ox] += xv * wv;
                            }
    return {y.begin(), y.end()};
}

void check_against_reference(const config& k, std::uint64_t seed) {
    INFO(k.yaml() << " on " << k.n << "x" << k.icg * k.groups << "x" << k.h << "x" << k.w);
    const auto x = testing::random_tensor({k.n, k.icg * k.groups, k.h, k.w}, 100 + seed);
    const auto r = run_layer("conv_transpose", k.yaml(), {x}, 5 + seed);
    REQUIRE(r.weight_shapes[0] == sdk::shape{k.icg * k.groups, k.ocg, k.kh, k.kw});
    const auto want = reference(k, x, r.weights[0], k.bias ? &r.weights[1] : nullptr);
    testing::check_close(r.outputs[0], {k.n, k.ocg * k.groups, k.out_h(), k.out_w()}, want);
}
}  // namespace

TEST_CASE("conv_transpose: DCGAN 4x4 stride 2 pad 1 doubles 16x16 to 32x32",
          "[conv_transpose][shape]") {
    const auto s = testing::infer_layer(
        "conv_transpose", "{out_channels: 64, kernel: 4, stride: 2, pad: 1}", {{2, 128, 16, 16}});
    REQUIRE(s.size() == 1);
    CHECK(s[0] == sdk::shape{2, 64, 32, 32});
}

TEST_CASE("conv_transpose: 3x3 stride 2 pad 1 output_padding 1 doubles 8x7 to 16x14",
          "[conv_transpose][shape]") {
    const auto s = testing::infer_layer(
        "conv_transpose", "{out_channels: 4, stride: 2, pad: 1, output_padding: 1}",
        {{1, 3, 8, 7}});
    CHECK(s[0] == sdk::shape{1, 4, 16, 14});
}

TEST_CASE("conv_transpose: output_size sets the extent, asymmetric pads and dilation count",
          "[conv_transpose][shape]") {
    auto s = testing::infer_layer("conv_transpose",
                                  "{out_channels: 2, stride: 3, output_size: [10, 8]}",
                                  {{1, 1, 3, 3}});
    CHECK(s[0] == sdk::shape{1, 2, 10, 8});
    // h: 2*4 + (3-1)*2+1 - 1 - 0 = 12; w: 1*5 + 2*2+1 - 0 - 2 = 8
    s = testing::infer_layer("conv_transpose",
                             "{out_channels: 2, stride: [2, 1], dilation: 2, pad: [1, 0, 0, 2]}",
                             {{1, 1, 5, 6}});
    CHECK(s[0] == sdk::shape{1, 2, 12, 8});
}

TEST_CASE("conv_transpose: groups must divide the channels", "[conv_transpose][shape]") {
    REQUIRE_THROWS_WITH(
        testing::infer_layer("conv_transpose", "{out_channels: 4, groups: 3}", {{1, 6, 8, 8}}),
        Catch::Contains("groups 3 must divide input channels 6 and out_channels 4"));
}

TEST_CASE("conv_transpose: output_padding not below stride or dilation is refused",
          "[conv_transpose][shape]") {
    REQUIRE_THROWS_WITH(testing::infer_layer("conv_transpose",
                                             "{out_channels: 4, stride: 2, output_padding: 2}",
                                             {{1, 2, 8, 8}}),
                        Catch::Contains("output_padding {2, 2} must be >= 0 and smaller than "
                                        "stride {2, 2} or dilation {1, 1}"));
}

TEST_CASE("conv_transpose: pads that crop everything are refused", "[conv_transpose][shape]") {
    REQUIRE_THROWS_WITH(
        testing::infer_layer("conv_transpose", "{out_channels: 1, kernel: 1, pad: [1, 0, 0, 0]}",
                             {{1, 1, 1, 4}}),
        Catch::Contains("conv_transpose of input {1, 1, 1, 4}") &&
            Catch::Contains("gives an empty output"));
}

TEST_CASE("conv_transpose: CPU matches ONNX test_convtranspose_pads", "[conv_transpose][cpu]") {
    std::vector<float> xs(9);
    for (int i = 0; i < 9; ++i) xs[i] = float(i);
    const auto x = testing::make_tensor({1, 1, 3, 3}, xs);
    const auto r = run_layer("conv_transpose",
                             "{out_channels: 2, stride: [3, 2], pad: [1, 2, 1, 2], bias: false}",
                             {x}, 1, 2, {std::vector<float>(18, 1.0f)});
    const std::vector<float> plane{1, 1, 3, 1, 1, 3,  7, 4, 9,  7, 4,
                                   9, 7, 4, 9, 13, 7, 15, 13, 7, 15};
    std::vector<float> want(plane);
    want.insert(want.end(), plane.begin(), plane.end());
    testing::check_close(r.outputs[0], {1, 2, 7, 3}, want);
}

TEST_CASE("conv_transpose: CPU matches the scatter definition on chosen cases",
          "[conv_transpose][cpu]") {
    // n groups icg ocg h w kh kw sh sw dh dw pt pl pb pr oph opw bias [size_h size_w]
    const std::vector<config> cases{
        {2, 1, 3, 4, 5, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, true},        // stride 2, op 1
        {1, 2, 3, 2, 6, 5, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, true},        // groups 2
        {2, 1, 2, 3, 5, 5, 3, 2, 1, 2, 2, 2, 1, 0, 0, 1, 1, 0, false},       // dilation 2
        {1, 1, 2, 2, 4, 7, 4, 3, 2, 3, 1, 1, 2, 0, 1, 3, 0, 2, true},        // asymmetric pads
        {1, 1, 2, 3, 3, 3, 3, 3, 3, 2, 1, 1, 0, 0, 0, 0, 0, 0, true, 10, 8}, // output_size, grown
        {2, 2, 2, 2, 4, 5, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0, true, 6, 7},  // output_size, cropped
        {1, 1, 8, 40, 6, 6, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, 0, 0, true},       // batch 1, many tiles
        {3, 4, 1, 1, 5, 4, 3, 3, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1, true},        // depthwise
    };
    for (std::size_t i = 0; i < cases.size(); ++i) check_against_reference(cases[i], i);
}

TEST_CASE("conv_transpose: CPU matches the scatter definition on random shapes",
          "[conv_transpose][cpu]") {
    std::mt19937 rng(42);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    for (int trial = 0; trial < 16; ++trial) {
        config k{};
        k.n = pick(1, 2), k.groups = pick(1, 3), k.icg = pick(1, 4), k.ocg = pick(1, 5);
        k.h = pick(1, 9), k.w = pick(1, 9), k.kh = pick(1, 4), k.kw = pick(1, 4);
        k.sh = pick(1, 3), k.sw = pick(1, 3), k.dh = pick(1, 2), k.dw = pick(1, 2);
        k.oph = pick(0, std::max(k.sh, k.dh) - 1), k.opw = pick(0, std::max(k.sw, k.dw) - 1);
        k.pt = pick(0, 2), k.pl = pick(0, 2), k.pb = pick(0, 2), k.pr = pick(0, 2);
        k.bias = pick(0, 1);
        if (pick(0, 3) == 0) k.size_h = pick(1, 20), k.size_w = pick(1, 20);
        if (k.out_h() <= 0 || k.out_w() <= 0) k.pt = k.pl = k.pb = k.pr = 0;
        check_against_reference(k, 50 + trial);
    }
}
