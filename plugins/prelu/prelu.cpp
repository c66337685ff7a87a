// prelu.cpp: shape rule, weight and CPU kernel of prelu. With one input the slope is a learned
// [C] weight along dim 1 (PyTorch); with two, input 1 is the slope, broadcast numpy-style onto
// input 0 (ONNX PRelu). Either way the kernel reads the slope through per-dim strides.
#include "prelu.hpp"

#include <cnnkit/input_ref.hpp>
#include <cnnkit/layer.hpp>

#include <algorithm>
#include <array>

namespace cnnkit::plugins::prelu {
namespace {

using strides = std::array<std::int64_t, CNNKIT_MAX_RANK>;

// Element strides of the slope read as a tensor of x's shape: 0 where it broadcasts.
strides slope_strides(const sdk::shape& slope, const sdk::shape& x, bool per_channel) {
    strides s{};
    if (per_channel) {
        s[1] = 1;
        return s;
    }
    std::int64_t step = 1;
    for (std::uint32_t k = 0; k < slope.rank(); ++k) {
        const std::uint32_t ds = slope.rank() - 1 - k, dx = x.rank() - 1 - k;
        s[dx] = slope[ds] == 1 ? 0 : step;
        step *= slope[ds];
    }
    return s;
}

struct prelu_layer {
    using params = prelu::params;
    static constexpr const char* type = "prelu";
    static constexpr const char* doc =
        "x if x >= 0 else slope * x; slope is a [C] weight on dim 1, or input 1 broadcast to x";
    static constexpr bool in_place = true;

    static sdk::shape infer(const params&, std::span<const sdk::shape> in) {
        sdk::expect(in.size() == 1 || in.size() == 2, "prelu takes 1 or 2 inputs, got ",
                    in.size());
        const sdk::shape& x = in[0];
        sdk::expect(x.type() == sdk::dtype::f32, "prelu needs a float32 input, got ", x);
        if (in.size() == 1) {
            sdk::expect(x.rank() >= 2, "prelu with a learned slope needs an input of rank >= 2 "
                        "(N, C, ...), got ", x);
            return x;
        }
        const sdk::shape& slope = in[1];
        bool ok = slope.type() == sdk::dtype::f32 && slope.rank() <= x.rank();
        for (std::uint32_t k = 0; ok && k < slope.rank(); ++k) {
            const std::int64_t ds = slope[slope.rank() - 1 - k], dx = x[x.rank() - 1 - k];
            ok = ds == dx || ds == 1;
        }
        sdk::expect(ok, "slope ", sdk::input_ref{1, slope}, " does not broadcast to ",
                    sdk::input_ref{0, x},
                    " (unidirectional: each slope dim is 1 or equal to the input's)");
        return x;
    }
    static std::vector<sdk::weight> weights(const params&, std::span<const sdk::shape> in) {
        if (in.size() == 2) return {};
        return {{"weight", {in[0].c()}, CNNKIT_INIT_FAN_IN}};
    }
    static std::vector<sdk::gpu::dispatch> vulkan(const params&, const sdk::gpu::call& c) {
        return prelu::vulkan(c);
    }
    static void run(const params&, const sdk::call& c) {
        const sdk::shape x_shape = c.in(0).shape();
        const bool learned = c.n_in() == 1;
        const sdk::const_tensor slope_t = learned ? c.w(0) : c.in(1);
        const strides st = slope_strides(slope_t.shape(), x_shape, learned);
        const std::uint32_t rank = x_shape.rank();
        const std::int64_t last = x_shape[rank - 1], step = st[rank - 1];
        const float* x = c.in(0).f32();
        const float* slope = slope_t.f32();
        float* y = c.out(0).f32();
        const std::int64_t grain =
            std::max<std::int64_t>(1, 8192 / std::max<std::int64_t>(last, 1));
        c.host.parallel_for(
            0, x_shape.prod(0, rank - 1),
            [&](std::int64_t b, std::int64_t e) {
                for (std::int64_t row = b; row < e; ++row) {
                    std::int64_t off = 0;
                    for (std::int64_t r = row, d = rank - 1; d-- > 0; r /= x_shape[d])
                        off += (r % x_shape[d]) * st[d];
                    const float* xr = x + row * last;
                    const float* sr = slope + off;
                    float* yr = y + row * last;
                    for (std::int64_t j = 0; j < last; ++j)
                        yr[j] = xr[j] >= 0 ? xr[j] : sr[j * step] * xr[j];
                }
            },
            grain);
    }
};

}  // namespace
}  // namespace cnnkit::plugins::prelu

CNNKIT_REGISTER_PLUGIN("prelu", "1.0", cnnkit::plugins::prelu::prelu_layer)
