// swish.cpp: shape rule, CPU kernel and registration of the example swish layer.
#include "swish.hpp"

#include <cnnkit/layer.hpp>

#include <cmath>

namespace swish_plugin {

struct swish_layer {
    using params = swish_plugin::params;
    static constexpr const char* type = "swish";
    static constexpr const char* doc = "x * sigmoid(beta * x) (example out-of-tree plugin)";
    static constexpr bool in_place = true;

    static cnnkit::sdk::shape infer(const params&, std::span<const cnnkit::sdk::shape> in) {
        cnnkit::sdk::expect(in.size() == 1, "swish takes 1 input, got ", in.size());
        return in[0];
    }
    static void run(const params& p, const cnnkit::sdk::call& c) {
        const float* x = c.in(0).f32();
        float* y = c.out(0).f32();
        c.host.parallel_for(0, c.in(0).numel(), [&](std::int64_t b, std::int64_t e) {
            for (std::int64_t i = b; i < e; ++i) y[i] = x[i] / (1.0f + std::exp(-p.beta * x[i]));
        }, 4096);
    }
};

}  // namespace swish_plugin

CNNKIT_REGISTER_PLUGIN("swish", "1.0", swish_plugin::swish_layer)
