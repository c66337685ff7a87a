// max_unpool.cpp: shape rule and CPU kernel of max_unpool: zero the output, then scatter each
// value to the flat NCHW index its pooling recorded (indices are checked before any write).
#include "max_unpool.hpp"

#include <cnnkit/input_ref.hpp>
#include <cnnkit/layer.hpp>

#include <algorithm>
#include <cstring>

namespace cnnkit::plugins::max_unpool {
namespace {

sdk::shape output_shape(const params& p, std::span<const sdk::shape> in) {
    sdk::expect(in.size() == 2, "max_unpool takes 2 inputs (values, indices), got ", in.size());
    const sdk::shape& x = in[0];
    sdk::expect(x.rank() == 4 && x.type() == sdk::dtype::f32,
                "max_unpool values must be float32 NCHW, got ", x);
    sdk::shape want_i = x;
    want_i.raw.dtype = CNNKIT_DTYPE_I64;
    sdk::expect(in[1] == want_i, "indices ", sdk::input_ref{1, in[1]},
                " must have the shape of the values ", sdk::input_ref{0, x}, ", as int64");
    sdk::expect(p.kernel[0] > 0 && p.kernel[1] > 0 && p.stride[0] >= 0 && p.stride[1] >= 0,
                "max_unpool kernel ", p.kernel, " must be positive and stride ", p.stride,
                " >= 0");
    sdk::expect(p.output_size[0] >= 0 && p.output_size[1] >= 0,
                "max_unpool output_size must be >= 0, got ", p.output_size);
    sdk::shape out = x;
    for (int d = 0; d < 2; ++d) {
        const std::int64_t s = p.stride[d] ? p.stride[d] : p.kernel[d];
        const std::int64_t derived = (x[2 + d] - 1) * s - p.pad[d] - p.pad[d + 2] + p.kernel[d];
        out[2 + d] = p.output_size[d] ? p.output_size[d] : derived;
        sdk::expect(out[2 + d] > 0, "max_unpool of ", x, " with kernel ", p.kernel, ", stride ",
                    p.stride, " and pads ", p.pad, " gives an empty output");
    }
    return out;
}

struct max_unpool_layer {
    using params = max_unpool::params;
    static constexpr const char* type = "max_unpool";
    static constexpr const char* doc =
        "ONNX MaxUnpool: zeros except Y.flat[indices[i]] = X[i] (indices from pool)";

    static sdk::shape infer(const params& p, std::span<const sdk::shape> in) {
        return output_shape(p, in);
    }
    static std::vector<sdk::gpu::dispatch> vulkan(const params&, const sdk::gpu::call& c) {
        return max_unpool::vulkan(c);
    }
    static void run(const params&, const sdk::call& c) {
        const float* x = c.in(0).f32();
        const std::int64_t* idx = c.in(1).i64();
        float* y = c.out(0).f32();
        const std::int64_t n = c.in(0).numel(), total = c.out(0).numel();
        for (std::int64_t i = 0; i < n; ++i)  // check first: no exception inside parallel_for
            sdk::expect(idx[i] >= 0 && idx[i] < total, "max_unpool index ", idx[i],
                        " at position ", i, " is outside output ", c.out(0).shape(), " (",
                        total, " elements)");
        c.host.parallel_for(
            0, total,
            [&](std::int64_t b, std::int64_t e) {
                std::fill(y + b, y + e, 0.0f);
            },
            65536);
        // Serial: duplicate indices (overlapping windows) must not race; last write wins.
        for (std::int64_t i = 0; i < n; ++i) y[idx[i]] = x[i];
    }
};

}  // namespace
}  // namespace cnnkit::plugins::max_unpool

CNNKIT_REGISTER_PLUGIN("max_unpool", "1.0", cnnkit::plugins::max_unpool::max_unpool_layer)
