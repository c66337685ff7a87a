// activation.cpp: elementwise activations. They share everything but the scalar function, so
// one plugin provides them all (each still its own YAML type); all may run in place.
#include "activation.hpp"

#include <cnnkit/layer.hpp>

#include <algorithm>
#include <cmath>

namespace cnnkit::plugins::activation {
namespace {

// F supplies type, doc, params and a static `float f(const params&, float)`.
template <class F>
struct elementwise {
    using params = typename F::params;
    static constexpr const char* type = F::type;
    static constexpr const char* doc = F::doc;
    static constexpr bool in_place = true;
    static sdk::shape infer(const params&, std::span<const sdk::shape> in) {
        sdk::expect(in.size() == 1, type, " takes 1 input, got ", in.size());
        sdk::expect(in[0].type() == sdk::dtype::f32, type, " needs a float32 input");
        return in[0];
    }
    static std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c) {
        std::vector<float> args;  // every param of an activation is a float
        if constexpr (!std::is_same_v<params, sdk::no_params>)
            boost::pfr::for_each_field(p, [&](float v) { args.push_back(v); });
        return activation::vulkan(type, args, c);
    }
    static void run(const params& p, const sdk::call& c) {
        const float* x = c.in(0).f32();
        float* y = c.out(0).f32();
        c.host.parallel_for(
            0, c.in(0).numel(),
            [&](std::int64_t b, std::int64_t e) {
                for (std::int64_t i = b; i < e; ++i) y[i] = F::f(p, x[i]);
            },
            16384);
    }
};

struct relu_fn {
    using params = sdk::no_params;
    static constexpr const char* type = "relu";
    static constexpr const char* doc = "max(x, 0)";
    static float f(const params&, float x) { return x > 0 ? x : 0.0f; }
};
struct leaky_relu_fn {
    using params = leaky_relu_params;
    static constexpr const char* type = "leaky_relu";
    static constexpr const char* doc = "x if x >= 0 else alpha * x";
    static float f(const params& p, float x) { return x >= 0 ? x : p.alpha * x; }
};
struct elu_fn {
    using params = elu_params;
    static constexpr const char* type = "elu";
    static constexpr const char* doc = "x if x > 0 else alpha * (exp(x) - 1)";
    static float f(const params& p, float x) { return x > 0 ? x : p.alpha * std::expm1(x); }
};
struct selu_fn {
    using params = selu_params;
    static constexpr const char* type = "selu";
    static constexpr const char* doc = "gamma * (x if x > 0 else alpha * (exp(x) - 1))";
    static float f(const params& p, float x) {
        return p.gamma * (x > 0 ? x : p.alpha * std::expm1(x));
    }
};
struct clip_fn {
    using params = clip_params;
    static constexpr const char* type = "clip";
    static constexpr const char* doc = "min(max(x, min), max)";
    static float f(const params& p, float x) { return std::min(std::max(x, p.min), p.max); }
};
struct hard_sigmoid_fn {
    using params = hard_sigmoid_params;
    static constexpr const char* type = "hard_sigmoid";
    static constexpr const char* doc = "max(0, min(1, alpha * x + beta))";
    static float f(const params& p, float x) {
        return std::max(0.0f, std::min(1.0f, p.alpha * x + p.beta));
    }
};
struct tanh_fn {
    using params = sdk::no_params;
    static constexpr const char* type = "tanh";
    static constexpr const char* doc = "tanh(x)";
    static float f(const params&, float x) { return std::tanh(x); }
};
struct sigmoid_fn {
    using params = sdk::no_params;
    static constexpr const char* type = "sigmoid";
    static constexpr const char* doc = "1 / (1 + exp(-x))";
    static float f(const params&, float x) { return 1.0f / (1.0f + std::exp(-x)); }
};

}  // namespace
}  // namespace cnnkit::plugins::activation

namespace act = cnnkit::plugins::activation;
CNNKIT_REGISTER_PLUGIN("activation", "1.0", act::elementwise<act::relu_fn>,
                       act::elementwise<act::leaky_relu_fn>, act::elementwise<act::elu_fn>,
                       act::elementwise<act::selu_fn>, act::elementwise<act::clip_fn>,
                       act::elementwise<act::hard_sigmoid_fn>, act::elementwise<act::tanh_fn>,
                       act::elementwise<act::sigmoid_fn>)
