// bias.cpp: shape rule, weight and CPU kernel of bias: a learned tensor shaped like one sample
// (the input without its batch dim) added to every sample, as in AlphaGo's policy head.
#include "bias.hpp"

#include <cnnkit/layer.hpp>

#include <algorithm>

namespace cnnkit::plugins::bias {
namespace {

struct bias_layer {
    using params = bias::params;
    static constexpr const char* type = "bias";
    static constexpr const char* doc = "adds a learned bias per position: y[n] = x[n] + weight";
    static constexpr bool in_place = true;

    static sdk::shape infer(const params&, std::span<const sdk::shape> in) {
        sdk::expect(in.size() == 1, "bias takes 1 input, got ", in.size());
        sdk::expect(in[0].rank() >= 2, "bias needs an input of rank >= 2 (N, ...), got ", in[0]);
        sdk::expect(in[0].type() == sdk::dtype::f32, "bias needs a float32 input, got ", in[0]);
        return in[0];
    }
    static std::vector<sdk::weight> weights(const params&, std::span<const sdk::shape> in) {
        sdk::shape w = sdk::shape::of_rank(in[0].rank() - 1);
        for (std::uint32_t d = 1; d < in[0].rank(); ++d) w[d - 1] = in[0][d];
        return {{"weight", w, CNNKIT_INIT_FAN_IN}};
    }
    static std::vector<sdk::gpu::dispatch> vulkan(const params&, const sdk::gpu::call& c) {
        return bias::vulkan(c);
    }
    static void run(const params&, const sdk::call& c) {
        const std::int64_t samples = c.in(0).shape().n(), per = c.w(0).numel();
        const std::int64_t chunk = 4096, chunks = (per + chunk - 1) / chunk;
        const float* x = c.in(0).f32();
        const float* b = c.w(0).f32();
        float* y = c.out(0).f32();
        c.host.parallel_for(0, samples * chunks, [&](std::int64_t job) {
            const std::int64_t n = job / chunks, begin = (job % chunks) * chunk;
            const std::int64_t end = std::min(per, begin + chunk);
            for (std::int64_t i = begin; i < end; ++i) y[n * per + i] = x[n * per + i] + b[i];
        });
    }
};

}  // namespace
}  // namespace cnnkit::plugins::bias

CNNKIT_REGISTER_PLUGIN("bias", "1.0", cnnkit::plugins::bias::bias_layer)
