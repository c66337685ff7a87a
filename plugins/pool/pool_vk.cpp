// pool_vk.cpp: the Vulkan kernel of pool: pool.comp, one invocation per output element, per 4
// adjacent outputs along the width (output width a multiple of 4), or per plane for global pooling
// (read as vec4 when the plane is a multiple of 4).
#include "pool.hpp"
#include "pool_spv.h"

namespace cnnkit::plugins::pool {

std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c) {
    namespace gpu = sdk::gpu;
    const sdk::shape &in = c.in[0], &out = c.out[0];
    gpu::check_indexable(in.numel());
    struct push {
        std::int32_t h, w, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, total;
    };
    const auto i32 = [](std::int64_t v) { return static_cast<std::int32_t>(v); };
    push pc{i32(in.h()),
            i32(in.w()),
            i32(out.h()),
            i32(out.w()),
            i32(in.h()),
            i32(in.w()),
            1,
            1,
            1,
            1,
            0,
            0,
            0,
            0,
            0};
    // Global pooling keeps one invocation per plane (vec4 loads when the plane allows them).
    const int vec = p.global ? (in.h() * in.w() % 4 == 0 ? 2 : 0) : (out.w() % 4 == 0 ? 1 : 0);
    const std::int64_t invocations = vec == 1 ? out.numel() / 4 : out.numel();
    pc.total = i32(invocations);
    if (!p.global) {
        pc.kh = p.kernel[0], pc.kw = p.kernel[1];
        pc.sh = p.stride[0] ? p.stride[0] : p.kernel[0];
        pc.sw = p.stride[1] ? p.stride[1] : p.kernel[1];
        pc.dh = p.dilation[0], pc.dw = p.dilation[1];
        pc.pt = p.pad[0], pc.pl = p.pad[1], pc.pb = p.pad[2], pc.pr = p.pad[3];
    }
    return {gpu::dispatch(
        CNNKIT_GPU_KERNEL(pool),
        {gpu::in(0), gpu::out(0), gpu::out(p.indices ? 1 : 0), gpu::out(0), gpu::in(0)}, pc,
        gpu::grid(invocations, 256),
        {static_cast<std::uint32_t>(p.mode), p.count_include_pad && !p.global ? 1u : 0u,
         p.indices ? 1u : 0u, p.column_major ? 1u : 0u, static_cast<std::uint32_t>(vec)})};
}

}  // namespace cnnkit::plugins::pool
