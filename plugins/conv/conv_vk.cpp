// conv_vk.cpp: the Vulkan kernel of conv: conv.comp (implicit GEMM, tiled, register-blocked).
#include "conv.hpp"
#include "conv_spv.h"

#include <algorithm>

namespace cnnkit::plugins::conv {

std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c) {
    namespace gpu = sdk::gpu;
    const sdk::shape &in = c.in[0], &out = c.out[0];
    gpu::check_indexable(std::max(
        {in.numel(), out.numel(), out.c() * in.c() / p.groups * p.kernel[0] * p.kernel[1]}));
    const geometry g = geometry_of(p, in);
    struct push {
        std::int32_t cg, h, w, oh, ow, ocg, groups, pad_t, pad_l;
    };
    const push pc{static_cast<std::int32_t>(in.c() / p.groups),
                  static_cast<std::int32_t>(in.h()),
                  static_cast<std::int32_t>(in.w()),
                  static_cast<std::int32_t>(out.h()),
                  static_cast<std::int32_t>(out.w()),
                  p.out_channels / p.groups,
                  p.groups,
                  static_cast<std::int32_t>(g.pad_t),
                  static_cast<std::int32_t>(g.pad_l)};
    const std::array<std::uint32_t, 3> groups{gpu::div_up(out.h() * out.w(), 64),
                                              gpu::div_up(pc.ocg, 64),
                                              static_cast<std::uint32_t>(in.n() * p.groups)};
    const auto u = [](std::int32_t v) { return static_cast<std::uint32_t>(v); };
    return {gpu::dispatch(CNNKIT_GPU_KERNEL(conv),
                          {gpu::in(0), gpu::weight(0), gpu::weight(p.bias ? 1 : 0), gpu::out(0),
                           gpu::in(p.residual ? 1 : 0)},
                          pc, groups,
                          {u(p.kernel[0]), u(p.kernel[1]), u(p.stride[0]), u(p.stride[1]),
                           u(p.dilation[0]), u(p.dilation[1]),
                           static_cast<std::uint32_t>(p.activation), p.bias ? 1u : 0u, p.residual ? 1u : 0u})};
}

}  // namespace cnnkit::plugins::conv
