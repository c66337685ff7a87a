// conv_test.cpp: conv params, shapes and CPU kernel against a plain direct convolution.
#include "testing.hpp"

#include <catch2/catch.hpp>

#include <functional>
#include <random>
#include <string_view>

using namespace cnnkit;
using testing::run_layer;

namespace {
// Direct convolution, the definition itself. pads {top, left, bottom, right}.
std::vector<float> reference(const kernel::host_tensor& x, const std::vector<float>& w,
                             const std::vector<float>* b, int oc, int kh, int kw, int sh, int sw,
                             int pt, int pl, int oh, int ow, int dh, int dw, int groups) {
    const auto n = x.shape[0], c = x.shape[1], h = x.shape[2], wd = x.shape[3];
    const std::int64_t cg = c / groups, og = oc / groups;
    std::vector<float> y(static_cast<std::size_t>(n * oc * oh * ow));
    for (std::int64_t i = 0; i < n; ++i)
        for (int o = 0; o < oc; ++o)
            for (int yy = 0; yy < oh; ++yy)
                for (int xx = 0; xx < ow; ++xx) {
                    double acc = b ? (*b)[o] : 0.0;
                    const int g = o / og;
                    for (std::int64_t ci = 0; ci < cg; ++ci)
                        for (int ky = 0; ky < kh; ++ky)
                            for (int kx = 0; kx < kw; ++kx) {
                                const std::int64_t iy = yy * sh - pt + ky * dh, ix = xx * sw - pl + kx * dw;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                                acc += double(x.f32()[((i * c + g * cg + ci) * h + iy) * wd + ix]) *
                                       w[((o * cg + ci) * kh + ky) * kw + kx];
                            }
                    y[((i * oc + o) * oh + yy) * ow + xx] = static_cast<float>(acc);
                }
    return y;
}

// Winograd F(4x4, 3x3) rounds differently from the direct sum: its transforms scale terms by up
// to 8x25 and cancel them again, so the error grows with the filter's fan-in. Measured against
// the GEMM path on inputs in [-1, 1] with fan-in 576 to 4608 (outputs up to 1.7): at most
// 1.7e-5 absolute, 1.2e-4 relative where |y| > 0.1; this bound covers those too
// (and F(2x2, 3x3), whose transforms scale by at most 4).
constexpr float winograd_rtol = 1e-4f, winograd_atol = 3e-5f;

}  // namespace

TEST_CASE("conv: 3x3 stride 2 pad 1 on 32x32 gives 16x16", "[conv][shape]") {
    const auto s = testing::infer_layer("conv", "{out_channels: 8, kernel: 3, stride: 2, pad: 1}",
                                        {{1, 3, 32, 32}});
    REQUIRE(s.size() == 1);
    CHECK(s[0] == sdk::shape{1, 8, 16, 16});
}

TEST_CASE("conv: AlexNet conv1 11x11 stride 4 on 227x227 gives 55x55", "[conv][shape]") {
    const auto s = testing::infer_layer("conv", "{out_channels: 96, kernel: 11, stride: 4}",
                                        {{1, 3, 227, 227}});
    CHECK(s[0] == sdk::shape{1, 96, 55, 55});
}

TEST_CASE("conv: same_upper keeps ceil(in/stride)", "[conv][shape]") {
    const auto s = testing::infer_layer("conv", "{out_channels: 4, kernel: 4, stride: 3, auto_pad: same_upper}",
                                        {{1, 2, 10, 11}});
    CHECK(s[0] == sdk::shape{1, 4, 4, 4});
}

TEST_CASE("conv: a kernel larger than the padded input is refused", "[conv][shape]") {
    REQUIRE_THROWS_WITH(testing::infer_layer("conv", "{out_channels: 4, kernel: 5}", {{1, 1, 3, 3}}),
                        Catch::Contains("does not fit input {1, 1, 3, 3}"));
}

TEST_CASE("conv: groups must divide the channels", "[conv][shape]") {
    REQUIRE_THROWS_WITH(testing::infer_layer("conv", "{out_channels: 4, groups: 3}", {{1, 4, 8, 8}}),
                        Catch::Contains("groups 3 must divide"));
}

TEST_CASE("conv: CPU matches direct convolution on random shapes", "[conv][cpu]") {
    std::mt19937 rng(42);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    for (int trial = 0; trial < 12; ++trial) {
        const int groups = pick(1, 3), cg = pick(1, 4), og = pick(1, 5);
        const int kh = pick(1, 4), kw = pick(1, 4), sh = pick(1, 3), sw = pick(1, 3);
        const int dh = pick(1, 2), dw = pick(1, 2);
        const int pt = pick(0, 2), pl = pick(0, 2), pb = pick(0, 2), pr = pick(0, 2);
        const int h = pick(kh * dh, 20), w = pick(kw * dw, 20), n = pick(1, 2);
        const bool bias = pick(0, 1);
        const int oh = (h + pt + pb - (dh * (kh - 1) + 1)) / sh + 1;
        const int ow = (w + pl + pr - (dw * (kw - 1) + 1)) / sw + 1;
        const std::string params = cnnkit::cat(
            "{out_channels: ", og * groups, ", kernel: [", kh, ", ", kw, "], stride: [", sh, ", ",
            sw, "], pad: [", pt, ", ", pl, ", ", pb, ", ", pr, "], dilation: [", dh, ", ", dw,
            "], groups: ", groups, ", bias: ", bias ? "true" : "false", "}");
        INFO(params << " on " << n << "x" << cg * groups << "x" << h << "x" << w);
        const auto x = testing::random_tensor({n, cg * groups, h, w}, 100 + trial);
        const auto r = run_layer("conv", params, {x}, 5 + trial);
        const auto want = reference(x, r.weights[0], bias ? &r.weights[1] : nullptr, og * groups,
                                    kh, kw, sh, sw, pt, pl, oh, ow, dh, dw, groups);
        testing::check_close(r.outputs[0], {n, og * groups, oh, ow}, want);
    }
}

TEST_CASE("conv: 1x1 fast path and fused relu match the reference", "[conv][cpu]") {
    const auto x = testing::random_tensor({2, 16, 9, 7}, 3);
    const auto r = run_layer("conv", "{out_channels: 24, kernel: 1, activation: relu}", {x}, 9);
    auto want = reference(x, r.weights[0], &r.weights[1], 24, 1, 1, 1, 1, 0, 0, 9, 7, 1, 1, 1);
    for (auto& v : want) v = v > 0 ? v : 0;
    testing::check_close(r.outputs[0], {2, 24, 9, 7}, want);
}

TEST_CASE("conv: column tiles that split output rows match the reference", "[conv][cpu]") {
    // 64 channels x 3x3 gives 576-row im2col tiles of 448 columns: rows of 25 and 13 split.
    const struct { int h, w, s, pad, dil; } cases[] = {{30, 25, 1, 1, 1}, {27, 25, 2, 2, 1},
                                                       {26, 25, 1, 0, 2}, {40, 26, 3, 1, 1}};
    for (const auto& k : cases) {
        const int oh = (k.h + 2 * k.pad - 2 * k.dil - 1) / k.s + 1;
        const int ow = (k.w + 2 * k.pad - 2 * k.dil - 1) / k.s + 1;
        INFO(k.h << "x" << k.w << " stride " << k.s << " pad " << k.pad << " dilation " << k.dil);
        const auto x = testing::random_tensor({1, 64, k.h, k.w}, 11);
        const auto r = run_layer("conv", cnnkit::cat("{out_channels: 5, kernel: 3, stride: ", k.s,
                                                     ", pad: ", k.pad, ", dilation: ", k.dil, "}"),
                                 {x}, 4);
        const auto want = reference(x, r.weights[0], &r.weights[1], 5, 3, 3, k.s, k.s, k.pad,
                                    k.pad, oh, ow, k.dil, k.dil, 1);
        testing::check_close(r.outputs[0], {1, 5, oh, ow}, want);
    }
}

TEST_CASE("conv: 1x1 over more than one 1024-column tile matches the reference", "[conv][cpu]") {
    const auto x = testing::random_tensor({1, 8, 40, 37}, 12);
    const auto r = run_layer("conv", "{out_channels: 6, kernel: 1, activation: relu6}", {x}, 2);
    auto want = reference(x, r.weights[0], &r.weights[1], 6, 1, 1, 1, 1, 0, 0, 40, 37, 1, 1, 1);
    for (auto& v : want) v = std::min(std::max(v, 0.0f), 6.0f);
    testing::check_close(r.outputs[0], {1, 6, 40, 37}, want);
}

TEST_CASE("conv: few pixels split the output channels into blocks of 12 (40 on 3x3)",
          "[conv][cpu]") {
    for (int groups = 1; groups <= 2; ++groups) {
        const auto x = testing::random_tensor({1, 8, 3, 3}, 13);
        const auto r = run_layer(
            "conv", cnnkit::cat("{out_channels: 40, kernel: 3, pad: 1, groups: ", groups, "}"),
            {x}, 3);
        const auto want = reference(x, r.weights[0], &r.weights[1], 40, 3, 3, 1, 1, 1, 1, 3, 3,
                                    1, 1, groups);
        testing::check_close(r.outputs[0], {1, 40, 3, 3}, want);
    }
}

TEST_CASE("conv: a residual input is added after the bias and before the activation",
          "[conv][cpu]") {
    // {n, c, k, h, w}: the second, 4 images of 7x7 (64 tiles of 2x2), takes Winograd F(2x2)
    // on AVX-512 (the direct path elsewhere), its 40 output channels ending in a short block.
    const struct { int n, c, k, h, w; } cases[] = {{2, 3, 5, 7, 6}, {4, 48, 40, 7, 7}};
    for (const auto& k : cases) {
        INFO(k.n << "x" << k.c << "x" << k.h << "x" << k.w << " to " << k.k);
        const auto x = testing::random_tensor({k.n, k.c, k.h, k.w}, 14);
        const auto res = testing::random_tensor({k.n, k.k, k.h, k.w}, 15, -2, 2);
        const auto r = run_layer("conv", cnnkit::cat("{out_channels: ", k.k, ", kernel: 3, pad: 1, "
                                                     "residual: true, activation: relu}"),
                                 {x, res}, 6);
        auto want =
            reference(x, r.weights[0], &r.weights[1], k.k, 3, 3, 1, 1, 1, 1, k.h, k.w, 1, 1, 1);
        for (std::size_t i = 0; i < want.size(); ++i)
            want[i] = std::max(want[i] + res.f32()[i], 0.0f);
        testing::check_close(r.outputs[0], {k.n, k.k, k.h, k.w}, want, winograd_rtol,
                             winograd_atol);
    }
    REQUIRE_THROWS_WITH(testing::infer_layer("conv", "{out_channels: 5, residual: true}",
                                             {{1, 3, 7, 6}, {1, 4, 5, 4}}),
                        Catch::Contains("(conv): residual 'x1' {1, 4, 5, 4} must have the "
                                        "output's shape {1, 5, 5, 4} (of 'x0' {1, 3, 7, 6})"));
}

namespace {
using testing::scoped_env;

// Runs one conv layer with CNNKIT_CONV_ALGO set to `algo` while it loads.
testing::layer_result run_with(const char* algo, const std::string& params,
                               const kernel::host_tensor& x, int seed) {
    const scoped_env env("CNNKIT_CONV_ALGO", algo);
    return run_layer("conv", params, {x}, seed);
}
}  // namespace

TEST_CASE("conv: Winograd matches direct convolution on odd sizes, pads 0-2 and edge tiles",
          "[conv][cpu][winograd]") {
    // F(4x4, 3x3) (winograd) and F(2x2, 3x3) (winograd2), each forced on every conv.
    const std::string which = GENERATE("winograd", "winograd2");
    const scoped_env algo("CNNKIT_CONV_ALGO", which.c_str());
    // {n, c, k, h, w, top, left, bottom, right}: outputs not multiples of 4 (partial edge tiles),
    // C and K not multiples of 16, more tiles than one block (56x56), asymmetric pads; few
    // tiles with output channels split over jobs, which share one input transform made first
    // in chunks of 32 channels (two images, 40 channels: a chunk of 32 and one of 8).
    const struct { int n, c, k, h, w, pt, pl, pb, pr; } cases[] = {
        {1, 3, 5, 3, 3, 0, 0, 0, 0},     {2, 17, 19, 9, 7, 1, 1, 1, 1},
        {1, 33, 20, 13, 11, 2, 2, 2, 2}, {1, 16, 48, 6, 10, 0, 1, 2, 0},
        {1, 24, 40, 56, 57, 1, 1, 1, 1}, {1, 70, 35, 5, 21, 2, 0, 1, 2},
        {2, 40, 70, 14, 14, 1, 1, 1, 1}};
    for (const char* isa : {"generic", "avx2", "best"}) {
        const scoped_env target("CNNKIT_CONV_ISA", isa);
        for (const auto& k : cases) {
            const int oh = k.h + k.pt + k.pb - 2, ow = k.w + k.pl + k.pr - 2;
            const std::string params = cnnkit::cat("{out_channels: ", k.k, ", kernel: 3, pad: [",
                                                   k.pt, ", ", k.pl, ", ", k.pb, ", ", k.pr, "]}");
            INFO(isa << " " << params << " on " << k.n << "x" << k.c << "x" << k.h << "x" << k.w);
            const auto x = testing::random_tensor({k.n, k.c, k.h, k.w}, 21 + k.c);
            const auto r = run_layer("conv", params, {x}, 8 + k.k);
            const auto want = reference(x, r.weights[0], &r.weights[1], k.k, 3, 3, 1, 1, k.pt,
                                        k.pl, oh, ow, 1, 1, 1);
            testing::check_close(r.outputs[0], {k.n, k.k, oh, ow}, want, winograd_rtol,
                                 winograd_atol);
        }
    }
}

TEST_CASE("conv: Winograd adds bias, then the residual, then applies relu",
          "[conv][cpu][winograd]") {
    const std::string which = GENERATE("winograd", "winograd2");
    const scoped_env algo("CNNKIT_CONV_ALGO", which.c_str());
    const auto x = testing::random_tensor({2, 20, 11, 14}, 31);
    const auto res = testing::random_tensor({2, 18, 11, 14}, 32, -2, 2);
    for (const char* act : {"relu", "relu6", "sigmoid"}) {
        INFO(act);
        const auto r = run_layer("conv", cnnkit::cat("{out_channels: 18, kernel: 3, pad: 1, "
                                                     "residual: true, activation: ", act, "}"),
                                 {x, res}, 6);
        auto want =
            reference(x, r.weights[0], &r.weights[1], 18, 3, 3, 1, 1, 1, 1, 11, 14, 1, 1, 1);
        for (std::size_t i = 0; i < want.size(); ++i) {
            const float v = want[i] + res.f32()[i];
            want[i] = act[4] == '6'   ? std::min(std::max(v, 0.0f), 6.0f)
                      : act[0] == 'r' ? std::max(v, 0.0f)
                                      : 1.0f / (1.0f + std::exp(-v));
        }
        testing::check_close(r.outputs[0], {2, 18, 11, 14}, want, winograd_rtol, winograd_atol);
    }
}

TEST_CASE("conv: Winograd and the GEMM path agree, and a bad CNNKIT_CONV_ALGO is refused",
          "[conv][cpu][winograd]") {
    const auto x = testing::random_tensor({1, 64, 28, 28}, 41);
    const std::string params = "{out_channels: 32, kernel: 3, pad: 1, activation: relu}";
    const auto gemm = run_with("gemm", params, x, 3), wino = run_with("winograd", params, x, 3);
    const float* g = gemm.outputs[0].f32();
    testing::check_close(wino.outputs[0], {1, 32, 28, 28},
                         std::vector<float>(g, g + 32 * 28 * 28), winograd_rtol, winograd_atol);
    const scoped_env bad("CNNKIT_CONV_ALGO", "fast");
    std::string chain;  // the error and what it was nested in, as the host prints them
    try {
        run_layer("conv", params, {x}, 3);
    } catch (const std::exception& e) {
        std::function<void(const std::exception&)> walk = [&](const std::exception& ex) {
            chain += cnnkit::cat(ex.what(), "\n");
            try {
                std::rethrow_if_nested(ex);
            } catch (const std::exception& inner) {
                walk(inner);
            }
        };
        walk(e);
    }
    CHECK_THAT(chain, Catch::Contains("layer 'layer' (conv)") &&
                          Catch::Contains("libcnnkit_conv.so: CNNKIT_CONV_ALGO must be auto, "
                                          "winograd, winograd2, gemm or im2col, got 'fast'"));
}

TEST_CASE("conv: the packed GEMM path matches direct convolution on every ISA",
          "[conv][cpu][packed]") {
    // At least 16 output channels per group takes the packed path. {n, c, k, groups, h, w,
    // kernel, stride, pad, dilation, residual+relu}: channels not multiples of 32 (padded
    // panels), K past one 256-row block (3x3 on 40 and 70 channels), few pixels (panel ranges
    // split, A shared), many pixels (several chunks), 1x1 without im2col, pads wider than a
    // block's row, two images and two groups; direct kernels for strides 1, 2 and 4 (7x7
    // outputs in two-row blocks, with an odd row left), packed A for stride 3; pointwise 1x1
    // over >= 128 pixels (stride 2, groups, three K blocks, a partial last pixel panel, 23
    // panels in jobs of 8, 8 and 7, 7 channel blocks split 2, 2, 2, 1 over one chunk); on
    // AVX-512, B read in place from the input (stride 1 with few output channels: 24 channels
    // over 156 pixels; 28x28-sized planes with two images of two groups and a partial panel,
    // and with two K blocks and no partial panel); a 1x1 over 7x7 with 42 panels in one chunk
    // (panels split 11, 11, 11, 9); last panels of 15, 9, 12 and (over two K blocks) 4 pixels
    // through the AVX-512 half-width kernels; 14x14 1x1s that reduce channels (300 to 96, and
    // two groups of 128 to 64), which take the direct path on AVX-512.
    const struct { int n, c, k, groups, h, w, kern, s, pad, dil; bool res; } cases[] = {
        {1, 40, 48, 1, 7, 7, 3, 1, 1, 1, false},   {1, 70, 100, 1, 5, 6, 3, 2, 1, 1, true},
        {2, 16, 17, 1, 30, 31, 3, 1, 1, 1, false}, {1, 3, 64, 1, 45, 47, 7, 2, 3, 1, true},
        {1, 64, 40, 1, 13, 11, 1, 1, 0, 1, true},  {2, 32, 64, 2, 9, 10, 3, 1, 2, 2, false},
        {1, 300, 33, 1, 4, 3, 1, 1, 0, 1, false},  {1, 24, 20, 1, 26, 25, 5, 3, 2, 1, false},
        {1, 24, 40, 1, 14, 13, 3, 2, 1, 1, true},  {2, 33, 70, 1, 7, 7, 1, 1, 0, 1, false},
        {1, 8, 36, 1, 30, 29, 11, 4, 2, 1, false},  {2, 300, 40, 2, 31, 31, 1, 2, 0, 1, true},
        {1, 520, 24, 1, 12, 13, 1, 1, 0, 1, false}, {1, 24, 48, 1, 23, 31, 1, 1, 0, 1, true},
        {1, 40, 90, 1, 12, 13, 1, 1, 0, 1, false}, {2, 40, 96, 2, 28, 29, 1, 1, 0, 1, true},
        {1, 300, 100, 1, 28, 28, 1, 1, 0, 1, false}, {1, 16, 1344, 1, 7, 7, 1, 1, 0, 1, true},
        {1, 300, 40, 1, 14, 14, 1, 1, 0, 1, true}, {1, 300, 96, 1, 14, 14, 1, 1, 0, 1, true},
        {2, 256, 128, 2, 14, 14, 1, 1, 0, 1, false}};
    for (const char* isa : {"generic", "avx2", "best"}) {
        const scoped_env target("CNNKIT_CONV_ISA", isa);
        const scoped_env algo("CNNKIT_CONV_ALGO", "gemm");
        for (const auto& k : cases) {
            const int span = k.dil * (k.kern - 1) + 1;
            const int oh = (k.h + 2 * k.pad - span) / k.s + 1, ow = (k.w + 2 * k.pad - span) / k.s + 1;
            const std::string params = cnnkit::cat(
                "{out_channels: ", k.k, ", kernel: ", k.kern, ", stride: ", k.s, ", pad: ", k.pad,
                ", dilation: ", k.dil, ", groups: ", k.groups,
                k.res ? ", residual: true, activation: relu}" : "}");
            INFO(isa << " " << params << " on " << k.n << "x" << k.c << "x" << k.h << "x" << k.w);
            const auto x = testing::random_tensor({k.n, k.c, k.h, k.w}, 50 + k.c);
            const auto res = testing::random_tensor({k.n, k.k, oh, ow}, 51, -2, 2);
            const auto r = k.res ? run_layer("conv", params, {x, res}, 7 + k.k)
                                 : run_layer("conv", params, {x}, 7 + k.k);
            auto want = reference(x, r.weights[0], &r.weights[1], k.k, k.kern, k.kern, k.s, k.s,
                                  k.pad, k.pad, oh, ow, k.dil, k.dil, k.groups);
            if (k.res)
                for (std::size_t i = 0; i < want.size(); ++i)
                    want[i] = std::max(want[i] + res.f32()[i], 0.0f);
            testing::check_close(r.outputs[0], {k.n, k.k, oh, ow}, want);
        }
    }
}

TEST_CASE("conv: depthwise convs (one input channel per group) match direct convolution",
          "[conv][cpu][depthwise]") {
    // Groups of one input channel take the depthwise path on every ISA: channel multipliers 1-3
    // (a fill shared by the planes of one channel), strides 1-3 (flat chunks that cross rows
    // over the stride's sub-planes, 7x7 planes among them), dilations, asymmetric pads wider
    // than the kernel's reach, rows of 5 to 150 pixels (one to three 64-pixel chunks, partial
    // vectors), 5x5 and 3x1 kernels, two images, and bias, residual and each activation. On
    // AVX2 and AVX-512 the multiplier-1 cases take depthwise_lanes.cpp (8 or 16 channels in the
    // lanes): channels not a multiple of 16 or 8 (a part-filled last block), rows not a
    // multiple of 16 or of 8 pixels, and planes of more than 2048 output pixels (bands of rows,
    // each reading its halo rows); the baseline and the other multipliers, depthwise.cpp.
    const struct {
        int n, c, mult, h, w, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw;
        bool bias, res;
        const char* act;
    } cases[] = {
        {1, 8, 1, 12, 13, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, true, false, "relu6"},
        {2, 5, 1, 17, 150, 3, 3, 2, 2, 1, 0, 2, 1, 1, 1, true, true, "relu"},
        {1, 6, 2, 9, 70, 5, 5, 1, 1, 4, 4, 4, 4, 2, 2, false, false, "none"},
        {1, 24, 1, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, true, true, "relu6"},
        {1, 4, 3, 11, 20, 3, 3, 1, 3, 0, 3, 1, 4, 2, 2, true, true, "sigmoid"},
        {2, 3, 1, 5, 5, 3, 1, 3, 1, 4, 0, 3, 0, 1, 1, true, false, "tanh"},
        {1, 16, 1, 64, 64, 3, 3, 2, 2, 0, 0, 1, 1, 1, 1, true, true, "relu6"},
        {1, 40, 1, 90, 30, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, true, false, "relu"},
        {2, 20, 1, 200, 60, 5, 5, 2, 2, 4, 4, 4, 4, 2, 2, false, true, "relu6"}};
    for (const char* isa : {"generic", "avx2", "best"}) {
        const scoped_env target("CNNKIT_CONV_ISA", isa);
        for (const auto& k : cases) {
            const int oh = (k.h + k.pt + k.pb - (k.dh * (k.kh - 1) + 1)) / k.sh + 1;
            const int ow = (k.w + k.pl + k.pr - (k.dw * (k.kw - 1) + 1)) / k.sw + 1;
            const int oc = k.c * k.mult;
            const std::string params = cnnkit::cat(
                "{out_channels: ", oc, ", groups: ", k.c, ", kernel: [", k.kh, ", ", k.kw,
                "], stride: [", k.sh, ", ", k.sw, "], pad: [", k.pt, ", ", k.pl, ", ", k.pb, ", ",
                k.pr, "], dilation: [", k.dh, ", ", k.dw, "], bias: ", k.bias ? "true" : "false",
                ", residual: ", k.res ? "true" : "false", ", activation: ", k.act, "}");
            INFO(isa << " " << params << " on " << k.n << "x" << k.c << "x" << k.h << "x" << k.w);
            const auto x = testing::random_tensor({k.n, k.c, k.h, k.w}, 60 + k.c);
            const auto res = testing::random_tensor({k.n, oc, oh, ow}, 61, -2, 2);
            const auto r = k.res ? run_layer("conv", params, {x, res}, 3 + oc)
                                 : run_layer("conv", params, {x}, 3 + oc);
            auto want = reference(x, r.weights[0], k.bias ? &r.weights[1] : nullptr, oc, k.kh,
                                  k.kw, k.sh, k.sw, k.pt, k.pl, oh, ow, k.dh, k.dw, k.c);
            for (std::size_t i = 0; i < want.size(); ++i) {
                const float v = want[i] + (k.res ? res.f32()[i] : 0.0f);
                const std::string_view a = k.act;
                want[i] = a == "relu"    ? std::max(v, 0.0f)
                          : a == "relu6" ? std::min(std::max(v, 0.0f), 6.0f)
                          : a == "tanh"  ? std::tanh(v)
                          : a == "sigmoid" ? 1.0f / (1.0f + std::exp(-v))
                                           : v;
            }
            testing::check_close(r.outputs[0], {k.n, oc, oh, ow}, want);
        }
    }
}

TEST_CASE("conv: few input channels (the rows path on AVX-512) match direct convolution",
          "[conv][cpu][rows]") {
    // 1-4 input channels, one group, horizontal stride 1 or 2 and 16+ output pixels a row take
    // the rows path on AVX-512 (elsewhere the others, checked the same). Rows of 24, 19, 16, 50
    // and 112 pixels (vectors with 8, 3 and 2 pixels masked; 50 = 4 vectors, so tiles take the
    // next row's first), channels not a multiple of 8, asymmetric pads wider than a phase,
    // vertical strides and dilations that differ from the horizontal ones, two images, more
    // rows than one job's 6, and bias, residual and each activation applied in the stores.
    const struct {
        int n, c, k, h, w, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw;
        const char* act;
        bool res;
    } cases[] = {
        {2, 3, 64, 45, 47, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, "relu", true},
        {1, 1, 10, 28, 28, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, "tanh", false},
        {1, 4, 17, 20, 40, 3, 3, 2, 2, 1, 1, 1, 1, 2, 2, "relu6", true},
        {1, 3, 9, 13, 20, 3, 5, 3, 1, 0, 2, 1, 2, 1, 2, "sigmoid", true},
        {2, 2, 16, 9, 100, 4, 3, 1, 2, 2, 3, 0, 0, 2, 1, "none", false},
        {1, 3, 24, 30, 224, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, "none", true}};
    for (const auto& k : cases) {
        const int oh = (k.h + k.pt + k.pb - (k.dh * (k.kh - 1) + 1)) / k.sh + 1;
        const int ow = (k.w + k.pl + k.pr - (k.dw * (k.kw - 1) + 1)) / k.sw + 1;
        const std::string params = cnnkit::cat(
            "{out_channels: ", k.k, ", kernel: [", k.kh, ", ", k.kw, "], stride: [", k.sh, ", ",
            k.sw, "], pad: [", k.pt, ", ", k.pl, ", ", k.pb, ", ", k.pr, "], dilation: [", k.dh,
            ", ", k.dw, "], activation: ", k.act, k.res ? ", residual: true}" : "}");
        INFO(params << " on " << k.n << "x" << k.c << "x" << k.h << "x" << k.w);
        const auto x = testing::random_tensor({k.n, k.c, k.h, k.w}, 80 + k.k);
        const auto res = testing::random_tensor({k.n, k.k, oh, ow}, 81, -2, 2);
        const auto r = k.res ? run_layer("conv", params, {x, res}, 3 + k.k)
                             : run_layer("conv", params, {x}, 3 + k.k);
        auto want = reference(x, r.weights[0], &r.weights[1], k.k, k.kh, k.kw, k.sh, k.sw, k.pt,
                              k.pl, oh, ow, k.dh, k.dw, 1);
        const std::string act = k.act;
        for (std::size_t i = 0; i < want.size(); ++i) {
            const float v = want[i] + (k.res ? res.f32()[i] : 0.0f);
            want[i] = act == "relu"    ? std::max(v, 0.0f)
                      : act == "relu6" ? std::min(std::max(v, 0.0f), 6.0f)
                      : act == "tanh"  ? std::tanh(v)
                      : act == "sigmoid" ? 1.0f / (1.0f + std::exp(-v))
                                         : v;
        }
        testing::check_close(r.outputs[0], {k.n, k.k, oh, ow}, want);
    }
}

TEST_CASE("conv: pointwise applies bias, residual, then relu6 or sigmoid in its kernels' "
          "stores, on every ISA", "[conv][cpu][packed]") {
    // 1x1 over 150 pixels: four full 32-pixel panels take the fused store, the fifth (22
    // pixels) the tile path; 300 channels are two K blocks, so only the last applies it.
    const auto x = testing::random_tensor({1, 300, 10, 15}, 71);
    const auto res = testing::random_tensor({1, 20, 10, 15}, 72, -4, 4);
    for (const char* isa : {"generic", "avx2", "best"})
        for (const char* act : {"relu6", "sigmoid"}) {
            const scoped_env target("CNNKIT_CONV_ISA", isa);
            INFO(isa << " " << act);
            const auto r = run_layer(
                "conv", cnnkit::cat("{out_channels: 20, kernel: 1, residual: true, activation: ", act, "}"),
                {x, res}, 9);
            auto want = reference(x, r.weights[0], &r.weights[1], 20, 1, 1, 1, 1, 0, 0, 10, 15,
                                  1, 1, 1);
            for (std::size_t i = 0; i < want.size(); ++i) {
                const float v = want[i] + res.f32()[i];
                want[i] = act[0] == 'r' ? std::min(std::max(v, 0.0f), 6.0f) : 1.0f / (1.0f + std::exp(-v));
            }
            testing::check_close(r.outputs[0], {1, 20, 10, 15}, want);
        }
}

TEST_CASE("conv: the packed and im2col paths agree to rounding on a ResNet layer shape",
          "[conv][cpu][packed]") {
    const auto x = testing::random_tensor({1, 256, 7, 7}, 61);
    const std::string params = "{out_channels: 96, kernel: 3, stride: 1, pad: 1}";
    const auto packed = run_with("gemm", params, x, 5), im2col = run_with("im2col", params, x, 5);
    const float* g = im2col.outputs[0].f32();
    testing::check_close(packed.outputs[0], {1, 96, 7, 7}, std::vector<float>(g, g + 96 * 49));
}
