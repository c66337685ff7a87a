// softmax_vk.cpp: the Vulkan kernel of softmax and log_softmax: softmax.comp.
#include "softmax.hpp"
#include "softmax_spv.h"

namespace cnnkit::plugins::softmax {

std::vector<sdk::gpu::dispatch> vulkan(bool log, const params& p, const sdk::gpu::call& c) {
    namespace gpu = sdk::gpu;
    const sdk::shape& s = c.in[0];
    gpu::check_indexable(s.numel());
    const auto r = static_cast<std::int32_t>(s.rank());
    const auto a = static_cast<std::uint32_t>(p.axis < 0 ? p.axis + r : p.axis);
    struct push {
        std::int32_t len, inner, columns;
    };
    const std::int64_t inner = s.prod(a + 1, s.rank()), columns = s.prod(0, a) * inner;
    const push pc{static_cast<std::int32_t>(s[a]), static_cast<std::int32_t>(inner),
                  static_cast<std::int32_t>(columns)};
    return {gpu::dispatch(CNNKIT_GPU_KERNEL(softmax), {gpu::in(0), gpu::out(0)}, pc,
                          gpu::grid(columns, 1), {log ? 1u : 0u})};
}

}  // namespace cnnkit::plugins::softmax
