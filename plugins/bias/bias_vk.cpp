// bias_vk.cpp: the Vulkan kernel of bias: bias.comp.
#include "bias.hpp"
#include "bias_spv.h"

namespace cnnkit::plugins::bias {

std::vector<sdk::gpu::dispatch> vulkan(const sdk::gpu::call& c) {
    namespace gpu = sdk::gpu;
    const std::int64_t per = c.in[0].prod(1, c.in[0].rank());
    const std::int64_t q = per % 4 == 0 ? 4 : 1;  // vec4 when every quad shares b's alignment
    const std::int64_t total = c.in[0].numel() / q;
    struct push {
        std::int32_t per, total;
    };
    const push pc{static_cast<std::int32_t>(per / q), static_cast<std::int32_t>(total)};
    return {gpu::dispatch(CNNKIT_GPU_KERNEL(bias),
                          {gpu::in(0), gpu::weight(0), gpu::out(0), gpu::in(0), gpu::weight(0),
                           gpu::out(0)},
                          pc, gpu::grid(total, 256), {q == 4 ? 1u : 0u})};
}

}  // namespace cnnkit::plugins::bias
