// flatten_vk.cpp: the Vulkan kernel of flatten, reshape and dropout: a copy (a no-op in effect
// when the planner put the output in place of the input).
#include "copy_spv.h"
#include "flatten.hpp"

namespace cnnkit::plugins::flatten {

std::vector<sdk::gpu::dispatch> vulkan_copy(const sdk::gpu::call& c) {
    namespace gpu = sdk::gpu;
    const std::int64_t words = c.in[0].numel() * (c.in[0].type() == sdk::dtype::i64 ? 2 : 1);
    struct push {
        std::uint32_t words;
    };
    return {gpu::dispatch(CNNKIT_GPU_KERNEL(copy), {gpu::in(0), gpu::out(0)},
                          push{static_cast<std::uint32_t>(words)}, gpu::grid(words, 256))};
}

}  // namespace cnnkit::plugins::flatten
