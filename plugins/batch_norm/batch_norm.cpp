// batch_norm.cpp: shape rule, weights and CPU kernel of inference batch norm: per channel,
// y = (x - mean) / sqrt(var + epsilon) * weight + bias, folded into one scale and shift.
#include "batch_norm.hpp"

#include <cnnkit/layer.hpp>

#include <algorithm>
#include <cmath>

namespace cnnkit::plugins::batch_norm {
namespace {

struct batch_norm_layer {
    using params = batch_norm::params;
    static constexpr const char* type = "batch_norm";
    static constexpr const char* doc =
        "inference batch norm over dim 1 with running_mean / running_var (PyTorch names)";
    static constexpr bool in_place = true;

    static sdk::shape infer(const params& p, std::span<const sdk::shape> in) {
        sdk::expect(in.size() == 1, "batch_norm takes 1 input, got ", in.size());
        sdk::expect(in[0].rank() >= 2, "batch_norm needs an input of rank >= 2 (N, C, ...), got ",
                    in[0]);
        sdk::expect(in[0].type() == sdk::dtype::f32, "batch_norm needs a float32 input, got ",
                    in[0]);
        sdk::expect(p.epsilon >= 0.0f, "epsilon must be >= 0, got ", p.epsilon);
        return in[0];
    }
    static std::vector<sdk::weight> weights(const params&, std::span<const sdk::shape> in) {
        const std::int64_t c = in[0].c();
        return {{"weight", {c}, CNNKIT_INIT_POSITIVE},
                {"bias", {c}, CNNKIT_INIT_FAN_IN},
                {"running_mean", {c}, CNNKIT_INIT_FAN_IN, true},
                {"running_var", {c}, CNNKIT_INIT_POSITIVE, true}};
    }
    static std::int64_t macs(const params&, std::span<const sdk::shape> in) {
        return in[0].numel();
    }
    static void run(const params& p, const sdk::call& c) {
        const sdk::shape s = c.in(0).shape();
        const std::int64_t channels = s.c(), inner = s.prod(2, s.rank());
        const float* x = c.in(0).f32();
        const float* gamma = c.w(0).f32();
        const float* beta = c.w(1).f32();
        const float* mean = c.w(2).f32();
        const float* var = c.w(3).f32();
        float* y = c.out(0).f32();
        const std::int64_t grain =
            std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(inner, 1));
        c.host.parallel_for(
            0, s.n() * channels,
            [&](std::int64_t b, std::int64_t e) {
                for (std::int64_t plane = b; plane < e; ++plane) {
                    const std::int64_t ch = plane % channels;
                    const float scale = gamma[ch] / std::sqrt(var[ch] + p.epsilon);
                    const float shift = beta[ch] - mean[ch] * scale;
                    const float* xp = x + plane * inner;
                    float* yp = y + plane * inner;
                    for (std::int64_t i = 0; i < inner; ++i) yp[i] = xp[i] * scale + shift;
                }
            },
            grain);
    }
};

}  // namespace
}  // namespace cnnkit::plugins::batch_norm

CNNKIT_REGISTER_PLUGIN("batch_norm", "1.0", cnnkit::plugins::batch_norm::batch_norm_layer)
