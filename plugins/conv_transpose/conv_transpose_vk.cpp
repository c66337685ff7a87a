// conv_transpose_vk.cpp: the Vulkan kernel of conv_transpose: conv_transpose.comp (a gather
// per output element; no tiling yet).
#include "conv_transpose.hpp"
#include "conv_transpose_spv.h"

namespace cnnkit::plugins::conv_transpose {

std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c) {
    namespace gpu = sdk::gpu;
    const sdk::shape &in = c.in[0], &out = c.out[0];
    gpu::check_indexable(in.numel());
    struct push {
        std::int32_t cg, h, w, oh, ow, ocg, groups, pad_t, pad_l, total;
    };
    const auto i32 = [](std::int64_t v) { return static_cast<std::int32_t>(v); };
    const push pc{
        i32(in.c() / p.groups),    i32(in.h()), i32(in.w()), i32(out.h()), i32(out.w()),
        p.out_channels / p.groups, p.groups,    p.pad[0],    p.pad[1],     i32(out.numel())};
    const auto u = [](std::int32_t v) { return static_cast<std::uint32_t>(v); };
    return {gpu::dispatch(CNNKIT_GPU_KERNEL(conv_transpose),
                          {gpu::in(0), gpu::weight(0), gpu::weight(p.bias ? 1 : 0), gpu::out(0)},
                          pc, gpu::grid(out.numel(), 256),
                          {u(p.kernel[0]), u(p.kernel[1]), u(p.stride[0]), u(p.stride[1]),
                           u(p.dilation[0]), u(p.dilation[1]), p.bias ? 1u : 0u})};
}

}  // namespace cnnkit::plugins::conv_transpose
