// activation_vk.cpp: the Vulkan kernel of every activation: activation.comp specialised on the
// function and its (up to two) float params; vec4 loads and stores when the count allows.
#include <algorithm>

#include "activation.hpp"
#include "activation_spv.h"

namespace cnnkit::plugins::activation {

std::vector<sdk::gpu::dispatch> vulkan(std::string_view type, std::span<const float> args,
                                       const sdk::gpu::call& c) {
    namespace gpu = sdk::gpu;
    static constexpr std::array<std::string_view, 8> ops{"relu", "leaky_relu",   "elu",  "selu",
                                                         "clip", "hard_sigmoid", "tanh", "sigmoid"};
    const auto op = std::find(ops.begin(), ops.end(), type) - ops.begin();
    sdk::expect(op < static_cast<std::ptrdiff_t>(ops.size()), "no Vulkan kernel for ", type);
    const bool vec4 = c.out[0].numel() % 4 == 0;
    const std::int64_t n = vec4 ? c.out[0].numel() / 4 : c.out[0].numel();
    struct push {
        std::uint32_t n;
    };
    return {gpu::dispatch(
        CNNKIT_GPU_KERNEL(activation), {gpu::in(0), gpu::out(0), gpu::in(0), gpu::out(0)},
        push{static_cast<std::uint32_t>(n)}, gpu::grid(n, 256),
        {static_cast<std::uint32_t>(op), gpu::spec_float(args.size() > 0 ? args[0] : 0.0f),
         gpu::spec_float(args.size() > 1 ? args[1] : 0.0f), vec4 ? 1u : 0u})};
}

}  // namespace cnnkit::plugins::activation
