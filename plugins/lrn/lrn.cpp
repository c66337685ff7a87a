// lrn.cpp: shape rule and CPU kernel of LRN across channels (ONNX semantics): each output
// channel divides by (bias + alpha / size * sum of squares over its channel window)^beta.
// beta 0.75 (AlexNet's, GoogLeNet's) takes square roots instead of pow; the file is built with
// -O3 -fno-math-errno (CMakeLists.txt) so those loops vectorize.
#include "lrn.hpp"

#include <cnnkit/layer.hpp>

#include <algorithm>
#include <cmath>

namespace cnnkit::plugins::lrn {
namespace {

struct lrn_layer {
    using params = lrn::params;
    static constexpr const char* type = "lrn";
    static constexpr const char* doc =
        "local response normalisation across channels: x / (bias + alpha/size * sum x^2)^beta";

    static sdk::shape infer(const params& p, std::span<const sdk::shape> in) {
        sdk::expect(in.size() == 1, "lrn takes 1 input, got ", in.size());
        sdk::expect(in[0].rank() >= 2, "lrn needs an input of rank >= 2 (N, C, ...), got ", in[0]);
        sdk::expect(in[0].type() == sdk::dtype::f32, "lrn needs a float32 input, got ", in[0]);
        sdk::expect(p.size >= 1, "size must be >= 1, got ", p.size);
        return in[0];
    }
    static std::int64_t macs(const params& p, std::span<const sdk::shape> in) {
        return in[0].numel() * p.size;
    }
    static std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c) {
        return lrn::vulkan(p, c);
    }
    static void run(const params& p, const sdk::call& c) {
        const sdk::shape s = c.in(0).shape();
        const std::int64_t channels = s.c(), inner = s.prod(2, s.rank());
        const std::int64_t before = (p.size - 1) / 2, after = p.size - 1 - before;
        const float* x = c.in(0).f32();
        float* y = c.out(0).f32();
        const float scale = p.alpha / static_cast<float>(p.size);
        c.host.parallel_for(0, s.n() * channels, [&](std::int64_t plane) {
            const std::int64_t ch = plane % channels, image = plane / channels;
            const std::int64_t lo = std::max<std::int64_t>(0, ch - before);
            const std::int64_t hi = std::min(channels - 1, ch + after);
            const float* xi = x + image * channels * inner;
            thread_local std::vector<float> sum;
            sum.assign(static_cast<std::size_t>(inner), 0.0f);
            for (std::int64_t k = lo; k <= hi; ++k) {
                const float* xk = xi + k * inner;
                for (std::int64_t i = 0; i < inner; ++i) sum[i] += xk[i] * xk[i];
            }
            const float* xp = x + plane * inner;
            float* yp = y + plane * inner;
            if (p.beta == 0.75f) {  // t^0.75 = sqrt(t) * sqrt(sqrt(t)): vector square roots
                for (std::int64_t i = 0; i < inner; ++i) {
                    const float t = p.bias + scale * sum[i];
                    yp[i] = xp[i] / (std::sqrt(t) * std::sqrt(std::sqrt(t)));
                }
                return;
            }
            for (std::int64_t i = 0; i < inner; ++i)
                yp[i] = xp[i] / std::pow(p.bias + scale * sum[i], p.beta);
        });
    }
};

}  // namespace
}  // namespace cnnkit::plugins::lrn

CNNKIT_REGISTER_PLUGIN("lrn", "1.0", cnnkit::plugins::lrn::lrn_layer)
