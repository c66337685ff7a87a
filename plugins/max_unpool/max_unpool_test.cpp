// max_unpool_test.cpp: max_unpool shapes, index checks, and pool(indices) -> max_unpool
// roundtrips against a plain scatter.
#include "testing.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <random>

using namespace cnnkit;
using testing::run_layer;

namespace {

kernel::host_tensor make_i64(const sdk::shape& s, const std::vector<std::int64_t>& values) {
    REQUIRE(static_cast<std::int64_t>(values.size()) == s.numel());
    kernel::host_tensor t;
    t.shape = s;
    t.shape.raw.dtype = CNNKIT_DTYPE_I64;
    t.bytes.resize(values.size() * sizeof(std::int64_t));
    std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
    return t;
}

sdk::shape as_i64(sdk::shape s) {
    s.raw.dtype = CNNKIT_DTYPE_I64;
    return s;
}

// ONNX MaxUnpool by definition: zeros, then Y.flat[I[i]] = X[i].
std::vector<float> reference(const kernel::host_tensor& x, const kernel::host_tensor& idx,
                             std::int64_t total) {
    std::vector<float> y(static_cast<std::size_t>(total), 0.0f);
    const auto* ip = reinterpret_cast<const std::int64_t*>(idx.bytes.data());
    for (std::int64_t i = 0; i < x.shape.numel(); ++i)
        y[static_cast<std::size_t>(ip[i])] = x.f32()[i];
    return y;
}

}  // namespace

TEST_CASE("max_unpool: derived size is (in - 1) * stride - pads + kernel", "[max_unpool][shape]") {
    const sdk::shape x{1, 2, 4, 4};
    CHECK(testing::infer_layer("max_unpool", "{}", {x, as_i64(x)})[0] == sdk::shape{1, 2, 8, 8});
    CHECK(testing::infer_layer("max_unpool", "{kernel: 3, stride: 2, pad: 1}", {x, as_i64(x)})[0] ==
          sdk::shape{1, 2, 7, 7});
    CHECK(testing::infer_layer("max_unpool", "{output_size: [9, 8]}", {x, as_i64(x)})[0] ==
          sdk::shape{1, 2, 9, 8});
}

TEST_CASE("max_unpool: indices must be int64 of the values' shape", "[max_unpool][shape]") {
    const sdk::shape x{1, 2, 4, 4};
    REQUIRE_THROWS_WITH(testing::infer_layer("max_unpool", "{}", {x, x}),
                        Catch::Contains("indices 'x1' {1, 2, 4, 4} must have the shape of the "
                                        "values 'x0' {1, 2, 4, 4}, as int64"));
    REQUIRE_THROWS_WITH(testing::infer_layer("max_unpool", "{}", {x, as_i64({1, 2, 4, 5})}),
                        Catch::Contains("indices 'x1' {1, 2, 4, 5} int64 must have the shape"));
    REQUIRE_THROWS_WITH(testing::infer_layer("max_unpool", "{}", {x}),
                        Catch::Contains("takes 2 inputs (values, indices), got 1"));
}

TEST_CASE("max_unpool: an out-of-range index is an error naming it", "[max_unpool][cpu]") {
    const auto x = testing::random_tensor({1, 1, 2, 2}, 3);
    const auto bad = make_i64({1, 1, 2, 2}, {0, 5, 10, 16});
    REQUIRE_THROWS_WITH(run_layer("max_unpool", "{}", {x, bad}),
                        Catch::Contains("max_unpool index 16 at position 3 is outside output "
                                        "{1, 1, 4, 4} (16 elements)"));
    const auto neg = make_i64({1, 1, 2, 2}, {0, -1, 10, 15});
    REQUIRE_THROWS_WITH(run_layer("max_unpool", "{}", {x, neg}), Catch::Contains("index -1"));
}

TEST_CASE("max_unpool: places values at given indices and zeros elsewhere", "[max_unpool][cpu]") {
    const auto x = testing::make_tensor({1, 1, 2, 2}, {1, 2, 3, 4});
    const auto idx = make_i64({1, 1, 2, 2}, {5, 2, 8, 15});
    const auto r = run_layer("max_unpool", "{}", {x, idx});
    testing::check_close(r.outputs[0], {1, 1, 4, 4},
                         {0, 0, 2, 0, 0, 1, 0, 0, 3, 0, 0, 0, 0, 0, 0, 4});
}

TEST_CASE("max_unpool: pool(indices) -> max_unpool roundtrips on random shapes",
          "[max_unpool][pool][cpu]") {
    std::mt19937 rng(99);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    for (int trial = 0; trial < 12; ++trial) {
        const int k = pick(2, 3), s = pick(1, 3), pad = pick(0, k / 2);
        const int h = pick(k + 1, 14), w = pick(k + 1, 14);
        const auto x = testing::random_tensor({pick(1, 2), pick(1, 3), h, w}, 200 + trial);
        const std::string geo = cat("kernel: ", k, ", stride: ", s, ", pad: ", pad);
        INFO(geo << " on " << x.shape);
        const auto pooled = run_layer("pool", "{indices: true, " + geo + "}", {x});
        REQUIRE(pooled.outputs.size() == 2);
        // output_size restores the exact input extent (the derived one may differ).
        const auto r = run_layer("max_unpool", cat("{", geo, ", output_size: [", h, ", ", w, "]}"),
                                 {pooled.outputs[0], pooled.outputs[1]});
        const auto want = reference(pooled.outputs[0], pooled.outputs[1], x.shape.numel());
        testing::check_close(r.outputs[0], x.shape, want);
        // Every non-zero lands where the input held that same value.
        std::int64_t moved = 0;
        for (std::int64_t i = 0; i < x.shape.numel(); ++i)
            moved += r.outputs[0].f32()[i] != 0.0f && r.outputs[0].f32()[i] != x.f32()[i];
        CHECK(moved == 0);
    }
}
