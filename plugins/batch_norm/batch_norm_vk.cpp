// batch_norm_vk.cpp: the Vulkan kernel of batch_norm: batch_norm.comp.
#include "batch_norm.hpp"
#include "batch_norm_spv.h"

namespace cnnkit::plugins::batch_norm {

std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c) {
    namespace gpu = sdk::gpu;
    const sdk::shape& s = c.in[0];
    struct push {
        std::int32_t channels, inner, total;
        float epsilon;
    };
    const std::int64_t inner = s.prod(2, s.rank());
    const std::int64_t q = inner % 4 == 0 ? 4 : 1;  // vec4 when a quad never spans two channels
    const push pc{static_cast<std::int32_t>(s.c()), static_cast<std::int32_t>(inner / q),
                  static_cast<std::int32_t>(s.numel() / q), p.epsilon};
    return {gpu::dispatch(CNNKIT_GPU_KERNEL(batch_norm),
                          {gpu::in(0), gpu::weight(0), gpu::weight(1), gpu::weight(2),
                           gpu::weight(3), gpu::out(0), gpu::in(0), gpu::out(0)},
                          pc, gpu::grid(s.numel() / q, 256), {q == 4 ? 1u : 0u})};
}

}  // namespace cnnkit::plugins::batch_norm
