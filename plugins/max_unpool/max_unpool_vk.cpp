// max_unpool_vk.cpp: the Vulkan kernel of max_unpool: max_unpool.comp, a clear then a scatter,
// each 4 elements an invocation when its count is a multiple of 4.
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
    // One dispatch over `count` elements, ZERO or the scatter, vec4 where the count allows.
    const auto pass = [&](std::int64_t count, std::uint32_t zero) {
        const bool vec4 = count % 4 == 0;
        return gpu::dispatch(
            CNNKIT_GPU_KERNEL(max_unpool),
            {gpu::in(0), gpu::in(1), gpu::out(0), gpu::out(0), gpu::in(0), gpu::in(1)}, pc,
            gpu::grid(vec4 ? count / 4 : count, 256), {zero, vec4 ? 1u : 0u});
    };
    return {pass(total, 1u), pass(n, 0u)};
}

}  // namespace cnnkit::plugins::max_unpool
