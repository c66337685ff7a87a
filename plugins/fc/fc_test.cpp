// fc_test.cpp: fc and gemm shapes, refusals, and CPU results against plain triple loops.
#include "testing.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

using namespace cnnkit;
using testing::run_layer;

namespace {

const char* yes_no(bool b) { return b ? "true" : "false"; }

// y[i][o] = sum_k x[i][k] * w[o][k] + b[o]
std::vector<float> fc_reference(const kernel::host_tensor& x, const std::vector<float>& w,
                                const std::vector<float>* b, std::int64_t out) {
    const std::int64_t n = x.shape[0], k = x.shape.numel() / n;
    std::vector<float> y;
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t o = 0; o < out; ++o) {
            double acc = b ? (*b)[o] : 0.0;
            for (std::int64_t j = 0; j < k; ++j) acc += double(x.f32()[i * k + j]) * w[o * k + j];
            y.push_back(static_cast<float>(acc));
        }
    return y;
}

// ONNX Gemm by definition; c_shape {rows, cols} with 1 meaning broadcast.
std::vector<float> gemm_reference(const kernel::host_tensor& a, const kernel::host_tensor& b,
                                  const kernel::host_tensor* c, bool ta, bool tb, float alpha,
                                  float beta, std::int64_t m, std::int64_t n, std::int64_t k) {
    std::vector<float> y;
    for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < n; ++j) {
            double acc = 0;
            for (std::int64_t l = 0; l < k; ++l)
                acc += double(a.f32()[ta ? l * m + i : i * k + l]) *
                       b.f32()[tb ? j * k + l : l * n + j];
            double cv = 0;
            if (c) {
                const auto rank = c->shape.rank();
                const std::int64_t cr = rank == 2 ? c->shape[0] : 1, cc = c->shape[rank - 1];
                cv = c->f32()[(cr == 1 ? 0 : i) * cc + (cc == 1 ? 0 : j)];
            }
            y.push_back(static_cast<float>(alpha * acc + beta * cv));
        }
    return y;
}

}  // namespace

TEST_CASE("fc: [N, C, H, W] flattens to K = C*H*W and gives [N, out]", "[fc][shape]") {
    const auto s = testing::infer_layer("fc", "{out_features: 10}", {{4, 3, 5, 5}});
    CHECK(s[0] == sdk::shape{4, 10});
}

TEST_CASE("fc: out_features must be set and the input must have a batch dim", "[fc][shape]") {
    REQUIRE_THROWS_WITH(testing::infer_layer("fc", "{}", {{4, 8}}),
                        Catch::Contains("fc out_features must be > 0, got 0"));
    REQUIRE_THROWS_WITH(testing::infer_layer("fc", "{out_features: 3}", {{8}}),
                        Catch::Contains("rank >= 2, got {8}"));
}

TEST_CASE("fc: CPU matches the reference on random shapes, with and without bias",
          "[fc][cpu]") {
    std::mt19937 rng(7);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    for (int trial = 0; trial < 10; ++trial) {
        const int n = pick(1, 150), out = pick(1, 300), bias = pick(0, 1);
        const sdk::shape s = trial % 2 ? sdk::shape{n, pick(1, 40)}
                                       : sdk::shape{n, pick(1, 4), pick(1, 5), pick(1, 5)};
        const std::string params = cat("{out_features: ", out, ", bias: ", yes_no(bias), "}");
        INFO(params << " on " << s);
        const auto x = testing::random_tensor(s, 300 + trial);
        const auto r = run_layer("fc", params, {x}, 11 + trial);
        REQUIRE(r.weight_shapes[0] == sdk::shape{out, s.numel() / n});
        const auto want = fc_reference(x, r.weights[0], bias ? &r.weights[1] : nullptr, out);
        testing::check_close(r.outputs[0], {n, out}, want, 1e-4f, 1e-4f);
    }
}

TEST_CASE("gemm: trans flags pick M, N, K and C must broadcast to [M, N]", "[fc][gemm][shape]") {
    CHECK(testing::infer_layer("gemm", "{trans_a: true, trans_b: true}", {{5, 3}, {7, 5}})[0] ==
          sdk::shape{3, 7});
    CHECK(testing::infer_layer("gemm", "{}", {{3, 5}, {5, 7}, {3, 1}})[0] == sdk::shape{3, 7});
    REQUIRE_THROWS_WITH(testing::infer_layer("gemm", "{}", {{3, 5}, {4, 7}}),
                        Catch::Contains("gemm inner dims differ: A 'x0' {3, 5} (trans_a false) "
                                        "has K = 5, B 'x1' {4, 7} (trans_b false) has K = 4"));
    REQUIRE_THROWS_WITH(testing::infer_layer("gemm", "{}", {{3, 5}, {5, 7}, {2, 7}}),
                        Catch::Contains("gemm C 'x2' {2, 7} does not broadcast to {3, 7} (A 'x0' "
                                        "{3, 5} times B 'x1' {5, 7})"));
    REQUIRE_THROWS_WITH(testing::infer_layer("gemm", "{}", {{3, 5}, {5, 7}, {3}}),
                        Catch::Contains("gemm C 'x2' {3} does not broadcast to {3, 7}"));
}

TEST_CASE("gemm: CPU matches the reference for every trans and C broadcast", "[fc][gemm][cpu]") {
    std::mt19937 rng(21);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    for (int trial = 0; trial < 16; ++trial) {
        const bool ta = trial & 1, tb = trial & 2;
        const int m = pick(1, 140), n = pick(1, 200), k = pick(1, 50);
        const float alpha = pick(-20, 20) / 10.0f, beta = pick(-20, 20) / 10.0f;
        const sdk::shape as = ta ? sdk::shape{k, m} : sdk::shape{m, k};
        const sdk::shape bs = tb ? sdk::shape{n, k} : sdk::shape{k, n};
        const sdk::shape c_shapes[] = {{n}, {1, n}, {m, 1}, {m, n}, {1}, {1, 1}};
        const int ci = pick(-1, 5);
        const std::string params = cat("{trans_a: ", yes_no(ta), ", trans_b: ", yes_no(tb),
                                       ", alpha: ", alpha, ", beta: ", beta, "}");
        std::vector<kernel::host_tensor> in{testing::random_tensor(as, 400 + trial),
                                            testing::random_tensor(bs, 500 + trial)};
        if (ci >= 0) in.push_back(testing::random_tensor(c_shapes[ci], 600 + trial));
        INFO(params << " A " << as << " B " << bs << " C " << (ci >= 0 ? in[2].shape : as));
        const auto r = run_layer("gemm", params, in);
        const auto want = gemm_reference(in[0], in[1], ci >= 0 ? &in[2] : nullptr, ta, tb, alpha,
                                         beta, m, n, k);
        testing::check_close(r.outputs[0], {m, n}, want, 1e-4f, 1e-4f);
    }
}

TEST_CASE("gemm: one-row A (the host's GEMV path) matches the reference for every trans",
          "[fc][gemm][cpu]") {
    for (int trial = 0; trial < 4; ++trial) {
        const bool ta = trial & 1, tb = trial & 2;
        const int n = 300, k = 37;
        const sdk::shape as = ta ? sdk::shape{k, 1} : sdk::shape{1, k};
        const sdk::shape bs = tb ? sdk::shape{n, k} : sdk::shape{k, n};
        const std::string params =
            cat("{trans_a: ", yes_no(ta), ", trans_b: ", yes_no(tb), ", alpha: 0.5, beta: 2}");
        std::vector<kernel::host_tensor> in{testing::random_tensor(as, 700 + trial),
                                            testing::random_tensor(bs, 710 + trial),
                                            testing::random_tensor({1, n}, 720 + trial)};
        INFO(params);
        const auto r = run_layer("gemm", params, in);
        const auto want = gemm_reference(in[0], in[1], &in[2], ta, tb, 0.5, 2, 1, n, k);
        testing::check_close(r.outputs[0], {1, n}, want, 1e-4f, 1e-4f);
    }
}

namespace {

// bfloat16 rounding by another route than the plugin's bit arithmetic: 8 significant bits by
// frexp, ldexp and nearbyint (ties to even in the default rounding mode).
float bf16_reference(float x) {
    if (x == 0.0f || !std::isfinite(x)) return x;
    int e = 0;
    std::frexp(x, &e);
    return static_cast<float>(std::ldexp(std::nearbyint(std::ldexp(double(x), 8 - e)), e - 8));
}

}  // namespace

TEST_CASE("fc: --precision bf16 matches the reference with bf16-rounded weights on every ISA",
          "[fc][cpu][bf16]") {
    std::mt19937 rng(31);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    for (const char* isa : {"", "avx2", "generic"}) {
        const testing::scoped_env target("CNNKIT_FC_ISA", isa);
        for (int trial = 0; trial < 8; ++trial) {
            // K across whole 32-blocks and tails; rows across the 4-row and 16-row steps.
            const int n = pick(1, 5), out = pick(1, 70), k = trial == 0 ? 31 : pick(32, 300);
            const int bias = trial % 2;
            const std::string params = cat("{out_features: ", out, ", bias: ", yes_no(bias), "}");
            INFO("isa '" << isa << "' " << params << " K " << k << " batch " << n);
            const auto x = testing::random_tensor({n, k}, 800 + trial);
            const auto r = testing::run_layer_at("bf16", "fc", params, {x}, 40 + trial);
            std::vector<float> rounded = r.weights[0];
            for (float& v : rounded) v = bf16_reference(v);
            const auto want = fc_reference(x, rounded, bias ? &r.weights[1] : nullptr, out);
            testing::check_close(r.outputs[0], {n, out}, want, 1e-5f, 1e-5f);
            // The float32 weights give other results: the bf16 weights are really in use.
            const auto exact = fc_reference(x, r.weights[0], bias ? &r.weights[1] : nullptr, out);
            float most = 0.0f;
            for (std::size_t i = 0; i < exact.size(); ++i)
                most = std::max(most, std::abs(r.outputs[0].f32()[i] - exact[i]));
            CHECK(most > 1e-4f);
        }
    }
}

TEST_CASE("fc: bf16 weights round to nearest even and keep inf and NaN", "[fc][cpu][bf16]") {
    // 1 + 2^-8 is halfway between bf16 1 and 1 + 2^-7 (to even: 1); 1 + 3 * 2^-8 halfway between
    // 1 + 2^-7 and 1 + 2^-6 (to even: 1 + 2^-6); 1 + 2^-8 + 2^-20 is past halfway (up).
    const float inf = std::numeric_limits<float>::infinity();
    const std::vector<float> w = {1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, 1.0f + 0x1p-8f + 0x1p-20f,
                                  -1.0f - 0x1p-8f, 3.4e38f, inf, -inf, std::nanf("")};
    const std::vector<float> want = {1.0f, 1.0f + 0x1p-6f, 1.0f + 0x1p-7f, -1.0f, inf, inf, -inf};
    // One output per weight: x = e_j picks weight j; 40 inputs put j = 32.. in the tail.
    const int k = 40;
    for (const int j0 : {0, 32}) {
        std::vector<float> weights(w.size() * k, 0.0f);
        for (std::size_t o = 0; o < w.size(); ++o) weights[o * k + j0 + o % 8] = w[o];
        for (std::size_t o = 0; o < w.size(); ++o) {
            INFO("weight " << w[o] << " at column " << j0 + o % 8);
            std::vector<float> x(k, 0.0f);
            x[j0 + o % 8] = 1.0f;
            const auto r = testing::run_layer_at(
                "bf16", "fc", cat("{out_features: ", w.size(), ", bias: false}"),
                {testing::make_tensor({1, k}, x)}, 1, 2, {weights});
            const float got = r.outputs[0].f32()[o];
            if (o < want.size())
                CHECK(got == want[o]);
            else
                CHECK(std::isnan(got));
        }
    }
}

TEST_CASE("fc: small batches (fc's own kernels, 4 input rows per weight load) match the "
          "reference on every ISA", "[fc][cpu]") {
    int trial = 0;
    for (const char* isa : {"", "avx2", "generic"}) {
        const testing::scoped_env target("CNNKIT_FC_ISA", isa);
        for (const int n : {2, 3, 5, 8, 13})
            for (const int k : {31, 700})
                for (const int out : {5, 302}) {
                    const std::string params = cat("{out_features: ", out, "}");
                    INFO("isa '" << isa << "' " << params << " K " << k << " batch " << n);
                    const auto x = testing::random_tensor({n, k}, 900 + trial);
                    const auto r = run_layer("fc", params, {x}, 60 + trial++);
                    const auto want = fc_reference(x, r.weights[0], &r.weights[1], out);
                    testing::check_close(r.outputs[0], {n, out}, want, 1e-4f, 1e-4f);
                }
    }
}
