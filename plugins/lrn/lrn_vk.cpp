// lrn_vk.cpp: the Vulkan kernel of lrn: lrn.comp, one invocation per output element.
#include "lrn.hpp"
#include "lrn_spv.h"

namespace cnnkit::plugins::lrn {

std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c) {
    namespace gpu = sdk::gpu;
    const sdk::shape& s = c.in[0];
    struct push {
        std::int32_t channels, inner, total, before, after;
        float scale, beta, bias;
    };
    const std::int32_t before = (p.size - 1) / 2;
    const push pc{static_cast<std::int32_t>(s.c()),
                  static_cast<std::int32_t>(s.prod(2, s.rank())),
                  static_cast<std::int32_t>(s.numel()),
                  before,
                  p.size - 1 - before,
                  p.alpha / static_cast<float>(p.size),
                  p.beta,
                  p.bias};
    return {gpu::dispatch(CNNKIT_GPU_KERNEL(lrn), {gpu::in(0), gpu::out(0)}, pc,
                          gpu::grid(s.numel(), 256))};
}

}  // namespace cnnkit::plugins::lrn
