// upsample_vk.cpp: the Vulkan kernel of upsample: upsample.comp.
#include "upsample.hpp"
#include "upsample_spv.h"

namespace cnnkit::plugins::upsample {

std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c) {
    namespace gpu = sdk::gpu;
    const sdk::shape &in = c.in[0], &out = c.out[0];
    gpu::check_indexable(in.numel());
    if (p.mode == mode_kind::bicubic) throw gpu::unsupported("bicubic has no Vulkan kernel yet");
    struct push {
        std::int32_t h, w, oh, ow, total;
        float scale_h, scale_w;
    };
    const auto i32 = [](std::int64_t v) { return static_cast<std::int32_t>(v); };
    const bool sized = p.size[0] != 0 || p.size[1] != 0;  // scales as the shape rule takes them
    const push pc{i32(in.h()),
                  i32(in.w()),
                  i32(out.h()),
                  i32(out.w()),
                  i32(out.numel()),
                  sized ? static_cast<float>(out.h()) / static_cast<float>(in.h()) : p.scale[0],
                  sized ? static_cast<float>(out.w()) / static_cast<float>(in.w()) : p.scale[1]};
    return {gpu::dispatch(
        CNNKIT_GPU_KERNEL(upsample), {gpu::in(0), gpu::out(0)}, pc, gpu::grid(out.numel(), 256),
        {p.mode == mode_kind::bilinear ? 1u : 0u, static_cast<std::uint32_t>(p.coordinate),
         static_cast<std::uint32_t>(p.nearest_mode)})};
}

}  // namespace cnnkit::plugins::upsample
