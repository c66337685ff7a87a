// pool_test.cpp: pool shapes (ONNX ceil rule, global, indices), refusals, and the CPU kernel
// against a plain loop reference on random shapes and params.
#include "testing.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>

using namespace cnnkit;
using testing::run_layer;

namespace {

const char* yes_no(bool b) { return b ? "true" : "false"; }

struct pool_case {
    std::string mode = "max";
    int kh = 2, kw = 2, sh = 2, sw = 2;
    int pads[4] = {0, 0, 0, 0};  // top, left, bottom, right
    int dh = 1, dw = 1;
    bool ceil = false, include_pad = false, global = false, indices = false;

    std::string yaml() const {
        return cat("{mode: ", mode, ", kernel: [", kh, ", ", kw, "], stride: [", sh, ", ", sw,
                   "], pad: [", pads[0], ", ", pads[1], ", ", pads[2], ", ", pads[3],
                   "], dilation: [", dh, ", ", dw, "], ceil_mode: ", yes_no(ceil),
                   ", count_include_pad: ", yes_no(include_pad), ", global: ", yes_no(global),
                   ", indices: ", yes_no(indices), "}");
    }
};

struct pooled {
    std::int64_t oh = 0, ow = 0;
    std::vector<float> y;
    std::vector<std::int64_t> idx;
};

// ONNX output extent, written from the spec text.
std::int64_t out_extent(std::int64_t in, int k, int s, int d, int pb, int pe, bool ceil) {
    const double size = double(in + pb + pe - d * (k - 1) - 1) / s + 1;
    if (!ceil) return static_cast<std::int64_t>(std::floor(size));
    auto out = static_cast<std::int64_t>(std::ceil(size));
    if ((out - 1) * s >= in + pb) --out;
    return out;
}

// The pooling definition, one window at a time.
pooled reference(const kernel::host_tensor& x, pool_case p) {
    const auto n = x.shape[0], ch = x.shape[1], h = x.shape[2], w = x.shape[3];
    if (p.global) p = {p.mode, int(h), int(w), 1, 1, {0, 0, 0, 0}, 1, 1};
    pooled r;
    r.oh = out_extent(h, p.kh, p.sh, p.dh, p.pads[0], p.pads[2], p.ceil);
    r.ow = out_extent(w, p.kw, p.sw, p.dw, p.pads[1], p.pads[3], p.ceil);
    for (std::int64_t i = 0; i < n * ch; ++i)
        for (std::int64_t oy = 0; oy < r.oh; ++oy)
            for (std::int64_t ox = 0; ox < r.ow; ++ox) {
                double sum = 0, sq = 0, best = -INFINITY;
                std::int64_t valid = 0, padded = 0, at = -1;
                for (int ky = 0; ky < p.kh; ++ky)
                    for (int kx = 0; kx < p.kw; ++kx) {
                        const std::int64_t iy = oy * p.sh - p.pads[0] + ky * p.dh;
                        const std::int64_t ix = ox * p.sw - p.pads[1] + kx * p.dw;
                        if (iy >= h + p.pads[2] || ix >= w + p.pads[3]) continue;  // overhang
                        ++padded;
                        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                        ++valid;
                        const std::int64_t flat = (i * h + iy) * w + ix;
                        const double v = x.f32()[flat];
                        sum += v;
                        sq += v * v;
                        if (v > best) best = v, at = flat;
                    }
                double out = best;
                if (p.mode == "avg") out = sum / double(p.include_pad ? padded : valid);
                if (p.mode == "l2") out = std::sqrt(sq);
                r.y.push_back(static_cast<float>(out));
                r.idx.push_back(at);
            }
    return r;
}

void check_against_reference(const kernel::host_tensor& x, const pool_case& p) {
    INFO(p.yaml() << " on " << x.shape);
    const auto want = reference(x, p);
    const auto r = run_layer("pool", p.yaml(), {x});
    const sdk::shape s{x.shape[0], x.shape[1], want.oh, want.ow};
    testing::check_close(r.outputs[0], s, want.y);
    if (!p.indices) return;
    REQUIRE(r.outputs.size() == 2);
    sdk::shape si = s;
    si.raw.dtype = CNNKIT_DTYPE_I64;
    REQUIRE(r.outputs[1].shape == si);
    const auto* got = reinterpret_cast<const std::int64_t*>(r.outputs[1].bytes.data());
    std::int64_t bad = 0;
    for (std::size_t i = 0; i < want.idx.size(); ++i) bad += got[i] != want.idx[i];
    CHECK(bad == 0);
}

// The kernel sums in the reference's order (double, row-major taps) and takes the maximum over
// the same taps, so with no ties between -0 and +0 its bits are the reference's.
void check_exact(const kernel::host_tensor& x, const pool_case& p, int threads) {
    INFO(p.yaml() << " on " << x.shape << ", " << threads << " threads");
    const auto want = reference(x, p);
    const auto r = run_layer("pool", p.yaml(), {x}, 7, threads);
    REQUIRE(r.outputs[0].shape == sdk::shape{x.shape[0], x.shape[1], want.oh, want.ow});
    std::int64_t bad = 0, first = -1;
    for (std::size_t i = 0; i < want.y.size(); ++i)
        if (std::memcmp(&r.outputs[0].f32()[i], &want.y[i], sizeof(float)) != 0) {
            if (first < 0) first = static_cast<std::int64_t>(i);
            ++bad;
        }
    INFO("first differing output " << first);
    CHECK(bad == 0);
    if (!p.indices) return;
    REQUIRE(r.outputs.size() == 2);
    const auto* got = reinterpret_cast<const std::int64_t*>(r.outputs[1].bytes.data());
    CHECK(std::vector<std::int64_t>(got, got + want.idx.size()) == want.idx);
}

// Runs `body` with the pool kernel's best rows (AVX-512 where the CPU has it), its AVX2 rows
// and its baseline rows.
template <class F>
void on_each_isa(F body) {
    SECTION("best instruction set") { body(); }
    SECTION("AVX2 instruction set") {
        const testing::scoped_env isa("CNNKIT_POOL_ISA", "avx2");
        body();
    }
    SECTION("baseline instruction set") {
        const testing::scoped_env isa("CNNKIT_POOL_ISA", "generic");
        body();
    }
}

}  // namespace

TEST_CASE("pool: 2x2 default stride on 32x32 gives 16x16", "[pool][shape]") {
    const auto s = testing::infer_layer("pool", "{}", {{2, 3, 32, 32}});
    REQUIRE(s.size() == 1);
    CHECK(s[0] == sdk::shape{2, 3, 16, 16});
}

TEST_CASE("pool: ceil_mode drops a last window that starts in the right pad", "[pool][shape]") {
    // ceil((5 + 2 - 2) / 2) + 1 = 4, but window 3 would start at 6 - 1 = 5, past the input.
    const auto s = testing::infer_layer("pool", "{kernel: 2, stride: 2, pad: 1, ceil_mode: true}",
                                        {{1, 1, 5, 5}});
    CHECK(s[0] == sdk::shape{1, 1, 3, 3});
    const auto f = testing::infer_layer("pool", "{kernel: 3, stride: 2, ceil_mode: true}",
                                        {{1, 1, 4, 4}});
    CHECK(f[0] == sdk::shape{1, 1, 2, 2});
}

TEST_CASE("pool: global gives {N, C, 1, 1} and indices add an int64 output", "[pool][shape]") {
    const auto g = testing::infer_layer("pool", "{mode: avg, global: true}", {{2, 5, 7, 9}});
    CHECK(g[0] == sdk::shape{2, 5, 1, 1});
    const auto i = testing::infer_layer("pool", "{kernel: 3, stride: 1, indices: true}",
                                        {{1, 2, 6, 6}});
    REQUIRE(i.size() == 2);
    CHECK(i[1] == sdk::shape({1, 2, 4, 4}, sdk::dtype::i64));
}

TEST_CASE("pool: bad geometry and params are refused with the values", "[pool][shape]") {
    REQUIRE_THROWS_WITH(testing::infer_layer("pool", "{kernel: 5}", {{1, 1, 3, 3}}),
                        Catch::Contains("does not fit input {1, 1, 3, 3}"));
    REQUIRE_THROWS_WITH(testing::infer_layer("pool", "{mode: avg, indices: true}", {{1, 1, 4, 4}}),
                        Catch::Contains("pool indices need mode max, got mode avg"));
    REQUIRE_THROWS_WITH(testing::infer_layer("pool", "{kernel: 1, pad: 1}", {{1, 1, 4, 4}}),
                        Catch::Contains("with no input element"));
    REQUIRE_THROWS_WITH(testing::infer_layer("pool", "{}", {{1, 4, 4}}),
                        Catch::Contains("NCHW input, got {1, 4, 4}"));
}

TEST_CASE("pool: ONNX ceil-mode examples give the published values", "[pool][cpu]") {
    std::vector<float> v(16);
    for (int i = 0; i < 16; ++i) v[i] = float(i + 1);
    const auto x = testing::make_tensor({1, 1, 4, 4}, v);
    const auto m = run_layer("pool", "{kernel: 3, stride: 2, ceil_mode: true}", {x});
    testing::check_close(m.outputs[0], {1, 1, 2, 2}, {11, 12, 15, 16});
    const auto a = run_layer("pool", "{mode: avg, kernel: 3, stride: 2, ceil_mode: true}", {x});
    testing::check_close(a.outputs[0], {1, 1, 2, 2}, {6, 7.5f, 12, 13.5f});
}

TEST_CASE("pool: count_include_pad counts pads but not the ceil overhang", "[pool][cpu]") {
    const auto x = testing::make_tensor({1, 1, 4, 4}, std::vector<float>(16, 1.0f));
    // Windows start at -1, 1, 3: valid/padded taps per axis are 2/3, 3/3, 1/2.
    const std::string geo = "mode: avg, kernel: 3, stride: 2, pad: 1, ceil_mode: true";
    const auto r = run_layer("pool", "{" + geo + ", count_include_pad: true}", {x});
    const float f[3] = {2.0f / 3, 1.0f, 0.5f};
    std::vector<float> want;
    for (float a : f)
        for (float b : f) want.push_back(a * b);
    testing::check_close(r.outputs[0], {1, 1, 3, 3}, want);
    const auto e = run_layer("pool", "{" + geo + "}", {x});
    testing::check_close(e.outputs[0], {1, 1, 3, 3}, std::vector<float>(9, 1.0f));
}

namespace {

// Random params of `mode` and an input for them, its width up to max_w: kernel 1 to 4,
// dilation 1 or 2, stride 1 to 3, asymmetric pads, ceil_mode, count_include_pad and (max) indices
// at random.
std::pair<pool_case, kernel::host_tensor> random_case(std::mt19937& rng, const char* mode,
                                                      int max_w, std::uint64_t seed) {
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    pool_case p;
    p.mode = mode;
    p.kh = pick(1, 4), p.kw = pick(1, 4), p.sh = pick(1, 3), p.sw = pick(1, 3);
    p.dh = pick(1, 2), p.dw = pick(1, 2);
    p.pads[0] = pick(0, p.kh - 1), p.pads[2] = pick(0, p.kh - 1);  // asymmetric
    p.pads[1] = pick(0, p.kw - 1), p.pads[3] = pick(0, p.kw - 1);
    p.ceil = pick(0, 1), p.include_pad = pick(0, 1);
    p.indices = p.mode == "max" && pick(0, 1);
    const int h = pick(p.dh * (p.kh - 1) + 2, 15), w = pick(p.dw * (p.kw - 1) + 2, max_w);
    return {p, testing::random_tensor({pick(1, 2), pick(1, 3), h, w}, seed)};
}

}  // namespace

TEST_CASE("pool: CPU matches the reference on random shapes, modes and params", "[pool][cpu]") {
    std::mt19937 rng(1234);
    const char* modes[] = {"max", "avg", "l2"};
    for (int trial = 0; trial < 36; ++trial) {
        const auto [p, x] = random_case(rng, modes[trial % 3], 15, 50 + trial);
        check_against_reference(x, p);
    }
}

TEST_CASE("pool: global avg, max and l2 reduce the whole plane", "[pool][cpu]") {
    const auto x = testing::random_tensor({2, 3, 5, 7}, 77);
    for (const char* mode : {"max", "avg", "l2"}) {
        pool_case p;
        p.mode = mode;
        p.global = true;
        check_against_reference(x, p);
    }
}

TEST_CASE("pool: indices hold the ONNX flat NCHW argmax with dilation and pads", "[pool][cpu]") {
    const auto x = testing::random_tensor({2, 3, 9, 8}, 5);
    pool_case p;
    p.kh = 3, p.kw = 2, p.sh = 2, p.sw = 1, p.dh = 2, p.dw = 3;
    p.pads[0] = 1, p.pads[1] = 0, p.pads[2] = 2, p.pads[3] = 1;
    p.ceil = true;
    p.indices = true;
    check_against_reference(x, p);
}

TEST_CASE("pool: column_major indices count h + w * H, as ONNX storage_order 1", "[pool][cpu]") {
    // test_maxpool_with_argmax_2d_precomputed_strides: 5x5 of 1..25, kernel 2, stride 2.
    std::vector<float> v(25);
    for (int i = 0; i < 25; ++i) v[static_cast<std::size_t>(i)] = float(i + 1);
    const auto x = testing::make_tensor({1, 1, 5, 5}, v);
    const auto r = run_layer("pool", "{kernel: 2, stride: 2, indices: true, column_major: true}",
                             {x});
    testing::check_close(r.outputs[0], {1, 1, 2, 2}, {7, 9, 17, 19});
    const auto* z = reinterpret_cast<const std::int64_t*>(r.outputs[1].bytes.data());
    CHECK(std::vector<std::int64_t>(z, z + 4) == std::vector<std::int64_t>{6, 16, 8, 18});
}

TEST_CASE("pool: rows wider than the fast path's buffer match the reference",
          "[pool][cpu]") {
    pool_case p;
    p.kh = 3, p.kw = 3, p.sh = 2, p.sw = 2, p.dh = 1, p.dw = 2;
    p.pads[0] = p.pads[1] = p.pads[2] = p.pads[3] = 1;
    for (const char* mode : {"max", "avg", "l2", "argmax"})
        for (const int w : {4094, 4100}) {  // framed at the 4096-element stack row, and past it
            INFO(mode << ", width " << w);
            p.mode = mode == std::string("argmax") ? "max" : mode;
            p.indices = mode == std::string("argmax");
            check_exact(testing::random_tensor({1, 2, 5, w}, 77), p, 2);
        }
}

TEST_CASE("pool: fast rows give the reference's bits on interiors, borders and odd widths",
          "[pool][cpu]") {
    // Stride 1 and 2 (the vectorized tap loops) and 3, pads on either side, ceil overhang,
    // dilation, widths that leave vector remainders, 1 to 3 threads.
    on_each_isa([] {
        std::mt19937 rng(99);
        const char* modes[] = {"max", "avg", "l2"};
        for (int trial = 0; trial < 90; ++trial) {
            const auto [p, x] = random_case(rng, modes[trial % 3], 70, 300 + trial);
            check_exact(x, p, 1 + trial % 3);
        }
    });
}

TEST_CASE("pool: GoogLeNet's, ResNet's and DeconvNet's pool geometries give the reference's bits",
          "[pool][cpu]") {
    on_each_isa([] {
        struct geo {
            int k, s, pad, c, hw;
            bool ceil;
        };
        for (const geo& g : {geo{3, 2, 0, 4, 112, true}, geo{3, 2, 1, 4, 112, false},
                             geo{3, 1, 1, 6, 28, true}, geo{3, 1, 1, 9, 7, true},
                             geo{2, 2, 0, 5, 14, true}, geo{3, 2, 0, 3, 27, false},
                             geo{2, 2, 0, 3, 224, false}}) {
            for (const char* mode : {"max", "avg", "argmax"}) {
                pool_case p;
                p.mode = mode == std::string("avg") ? "avg" : "max";
                p.indices = mode == std::string("argmax");
                p.kh = p.kw = g.k, p.sh = p.sw = g.s, p.ceil = g.ceil;
                for (int& pad : p.pads) pad = g.pad;
                const auto x = testing::random_tensor({1, g.c, g.hw, g.hw}, 17 + g.hw);
                for (int threads : {1, 2}) check_exact(x, p, threads);
            }
        }
    });
}

TEST_CASE("pool: global avg and l2 over many planes give the reference's bits", "[pool][cpu]") {
    // Planes go eight at a time: 29 planes leave five, 8 leave none, 3 are fewer than eight.
    for (const sdk::shape& s :
         {sdk::shape{1, 29, 7, 7}, sdk::shape{2, 4, 3, 5}, sdk::shape{3, 1, 9, 2}})
        for (const char* mode : {"avg", "l2", "max"}) {
            pool_case p;
            p.mode = mode;
            p.global = true;
            for (int threads : {1, 3}) check_exact(testing::random_tensor(s, 8), p, threads);
        }
}

TEST_CASE("pool: max skips NaN and -inf alike with and without indices", "[pool][cpu]") {
    // The fast rows (no indices) and the one-window path (indices) agree bit for bit on NaN,
    // infinities and all-NaN windows, which give -inf.
    on_each_isa([] {
        auto x = testing::random_tensor({2, 3, 11, 19}, 41);
        const float nan = std::numeric_limits<float>::quiet_NaN(), inf = INFINITY;
        for (std::int64_t i = 0; i < x.shape.numel(); ++i) {
            if (i % 7 == 0)
                x.f32()[i] = nan;
            else if (i % 11 == 0)
                x.f32()[i] = -inf;
            else if (i % 29 == 0)
                x.f32()[i] = inf;
        }
        for (int i = 0; i < 19 * 3; ++i) x.f32()[i] = nan;  // the first rows: all-NaN windows
        for (const char* geo : {"kernel: 3, stride: 1, pad: 1", "kernel: 3, stride: 2, pad: 1",
                                "kernel: [2, 3], stride: [1, 2], ceil_mode: true"}) {
            INFO(geo);
            const auto a = run_layer("pool", cat("{", geo, "}"), {x});
            const auto b = run_layer("pool", cat("{", geo, ", indices: true}"), {x});
            REQUIRE(a.outputs[0].bytes.size() == b.outputs[0].bytes.size());
            CHECK(a.outputs[0].bytes == b.outputs[0].bytes);
            CHECK(a.outputs[0].f32()[0] == -inf);
        }
    });
}

TEST_CASE("pool: column_major indices are the row-major ones transposed on every path",
          "[pool][cpu]") {
    on_each_isa([] {
        const auto x = testing::random_tensor({2, 3, 13, 21}, 12);
        for (const char* geo : {"kernel: 3, stride: 2, pad: 1", "kernel: 2, stride: 1",
                                "kernel: [3, 2], stride: [1, 3], dilation: 2, ceil_mode: true"}) {
            INFO(geo);
            const auto a = run_layer("pool", cat("{", geo, ", indices: true}"), {x});
            const auto b =
                run_layer("pool", cat("{", geo, ", indices: true, column_major: true}"), {x});
            CHECK(a.outputs[0].bytes == b.outputs[0].bytes);
            const auto* row = reinterpret_cast<const std::int64_t*>(a.outputs[1].bytes.data());
            const auto* col = reinterpret_cast<const std::int64_t*>(b.outputs[1].bytes.data());
            std::int64_t bad = 0;
            for (std::int64_t i = 0; i < a.outputs[1].shape.numel(); ++i) {
                const std::int64_t plane = row[i] / (13 * 21), at = row[i] % (13 * 21);
                bad += col[i] != plane * 13 * 21 + at % 21 * 13 + at / 21;
            }
            CHECK(bad == 0);
        }
    });
}

TEST_CASE("pool: an all-NaN window gives -inf and the index of its first valid tap",
          "[pool][cpu]") {
    // 4 wide: 3 outputs a row (one window at a time); 18 wide: 10 (argmax rows).
    on_each_isa([] {
        for (const int w : {4, 18}) {
            INFO("width " << w);
            std::vector<float> v(4 * w, std::numeric_limits<float>::quiet_NaN());
            v.back() = 2;
            const auto x = testing::make_tensor({1, 1, 4, w}, v);
            const auto r = run_layer("pool", "{kernel: 2, stride: 2, pad: 1, indices: true}", {x});
            const int ow = w / 2 + 1;
            REQUIRE(r.outputs[0].shape == sdk::shape{1, 1, 3, ow});
            // Windows start at row and column 2 * o - 1; the pad is not a tap.
            std::vector<float> want_y(3 * ow, -INFINITY);
            want_y.back() = 2;
            std::vector<std::int64_t> want_idx;
            for (int oy = 0; oy < 3; ++oy)
                for (int ox = 0; ox < ow; ++ox)
                    want_idx.push_back(std::max(0, 2 * oy - 1) * w + std::max(0, 2 * ox - 1));
            const float* y = r.outputs[0].f32();
            CHECK(std::vector<float>(y, y + 3 * ow) == want_y);
            const auto* z = reinterpret_cast<const std::int64_t*>(r.outputs[1].bytes.data());
            CHECK(std::vector<std::int64_t>(z, z + 3 * ow) == want_idx);
        }
    });
}

TEST_CASE("pool: max on an input stride outputs wide gives the reference's bits in row blocks",
          "[pool][cpu]") {
    // Column maxima go a block of 4096 / width rows at a time: 1000 wide makes blocks of 4 rows
    // that split planes and windows; stride 1 and 2, pads on one side only, ceil overhang,
    // dilation, 1 to 3 threads. Widths 9 and 10 are one block per plane (9: not 2 outputs each).
    on_each_isa([] {
        struct geo {
            int k, s, d, pads[4];
            bool ceil;
        };
        for (const geo& g :
             {geo{3, 1, 1, {1, 1, 1, 1}, false}, geo{3, 1, 1, {0, 0, 2, 2}, false},
              geo{3, 1, 1, {2, 2, 0, 0}, true}, geo{3, 1, 2, {2, 1, 2, 3}, false},
              geo{5, 1, 1, {2, 2, 2, 2}, false}, geo{1, 1, 1, {0, 0, 0, 0}, false},
              geo{3, 2, 1, {1, 1, 1, 1}, false}, geo{3, 2, 1, {0, 0, 0, 0}, true},
              geo{2, 2, 1, {0, 0, 0, 0}, true}, geo{3, 2, 1, {0, 1, 2, 0}, true}})
            for (const int w : {1000, 9, 10}) {
                pool_case p;
                p.kh = p.kw = g.k, p.sh = p.sw = g.s, p.dh = p.dw = g.d, p.ceil = g.ceil;
                std::copy(g.pads, g.pads + 4, p.pads);
                const auto x = testing::random_tensor({2, 3, 11, w}, 5 + w);
                for (int threads : {1, 2, 3}) check_exact(x, p, threads);
            }
    });
}
