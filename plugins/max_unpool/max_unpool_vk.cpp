// max_unpool_vk.cpp: the Vulkan kernel of max_unpool: max_unpool.comp, a clear then a scatter.
#include "max_unpool.hpp"
#include "max_unpool_spv.h"

namespace cnnkit::plugins::max_unpool {

std::vector<sdk::gpu::dispatch> vulkan(const sdk::gpu::call& c) {
    namespace gpu = sdk::gpu;
    const std::int64_t n = c.in[0].numel(), total = c.out[0].numel();
    struct push {
        std::uint32_t n, total;
    };
    const push pc{static_cast<std::uint32_t>(n), static_cast<std::uint32_t>(total)};
    return {gpu::dispatch(CNNKIT_GPU_KERNEL(max_unpool), {gpu::in(0), gpu::in(1), gpu::out(0)}, pc,
                          gpu::grid(total, 256), {1u}),
            gpu::dispatch(CNNKIT_GPU_KERNEL(max_unpool), {gpu::in(0), gpu::in(1), gpu::out(0)}, pc,
                          gpu::grid(n, 256), {0u})};
}

}  // namespace cnnkit::plugins::max_unpool
