// pad_vk.cpp: the Vulkan kernel of pad: pad.comp.
#include "pad.hpp"
#include "pad_spv.h"

namespace cnnkit::plugins::pad {

std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c) {
    namespace gpu = sdk::gpu;
    const sdk::shape &in = c.in[0], &out = c.out[0];
    gpu::check_indexable(in.numel());
    struct push {
        std::int32_t h, w, oh, ow, pt, pl, total;
        float value;
    };
    const auto i32 = [](std::int64_t v) { return static_cast<std::int32_t>(v); };
    const push pc{i32(in.h()), i32(in.w()), i32(out.h()),     i32(out.w()),
                  p.pad[0],    p.pad[1],    i32(out.numel()), p.value};
    return {gpu::dispatch(CNNKIT_GPU_KERNEL(pad), {gpu::in(0), gpu::out(0)}, pc,
                          gpu::grid(out.numel(), 256), {static_cast<std::uint32_t>(p.mode)})};
}

}  // namespace cnnkit::plugins::pad
