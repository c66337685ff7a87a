// add_vk.cpp: the Vulkan kernel of add, mul, sub and div: binary.comp, one dispatch per input
// after the first (the running result is the next dispatch's first operand).
#include <algorithm>
#include <glm/vec4.hpp>

#include "add.hpp"
#include "binary_spv.h"

namespace cnnkit::plugins::add {
namespace {
struct push {  // rank-8 vectors as pairs of ivec4 (GLSL: ivec4 dims[2]; ...)
    glm::ivec4 dims0, dims1, sa0, sa1, sb0, sb1;
    std::int32_t total;
};
void set(glm::ivec4& lo, glm::ivec4& hi, int d, std::int32_t v) {
    (d < 4 ? lo : hi)[d % 4] = v;
}
// Strides of `in` read as the output (rank 8, right-aligned): 0 where `in` broadcasts.
void strides_into(const sdk::shape& in, glm::ivec4& lo, glm::ivec4& hi) {
    std::int64_t step = 1;
    for (std::uint32_t k = 0; k < 8; ++k) {
        const int d = 7 - static_cast<int>(k);
        std::int32_t v = 0;
        if (k < in.rank()) {
            const std::int64_t dim = in[in.rank() - 1 - k];
            v = dim == 1 ? 0 : static_cast<std::int32_t>(step);
            step *= dim;
        }
        set(lo, hi, d, v);
    }
}
}  // namespace

std::vector<sdk::gpu::dispatch> vulkan(std::string_view type, const sdk::gpu::call& c) {
    namespace gpu = sdk::gpu;
    static constexpr std::array<std::string_view, 4> ops{"add", "mul", "sub", "div"};
    const auto op =
        static_cast<std::uint32_t>(std::find(ops.begin(), ops.end(), type) - ops.begin());
    const sdk::shape& out = c.out[0];
    push pc{};
    for (int d = 0; d < 8; ++d) {
        const int k = 7 - d;  // dims right-aligned, padded with 1 on the left
        set(pc.dims0, pc.dims1, d,
            k < static_cast<int>(out.rank()) ? static_cast<std::int32_t>(out[out.rank() - 1 - k])
                                             : 1);
    }
    std::vector<gpu::dispatch> ds;
    // One dispatch of y = a op b; vec4 views when neither operand broadcasts.
    auto add = [&](cnnkit_gpu_binding a, cnnkit_gpu_binding b, const sdk::shape& sa,
                   const sdk::shape& sb, std::uint32_t o) {
        const bool vec4 = sa == out && sb == out && out.numel() % 4 == 0;
        pc.total = static_cast<std::int32_t>(vec4 ? out.numel() / 4 : out.numel());
        ds.emplace_back(CNNKIT_GPU_KERNEL(binary),
                        std::initializer_list<cnnkit_gpu_binding>{a, b, gpu::out(0), a, b,
                                                                  gpu::out(0)},
                        pc, gpu::grid(pc.total, 256),
                        std::initializer_list<std::uint32_t>{o, vec4 ? 1u : 0u});
    };
    strides_into(c.in[0], pc.sa0, pc.sa1);
    if (c.in.size() == 1) {
        strides_into(c.in[0], pc.sb0, pc.sb1);
        add(gpu::in(0), gpu::in(0), c.in[0], c.in[0], 4u);
        return ds;
    }
    for (std::uint32_t k = 1; k < c.in.size(); ++k) {
        if (k > 1) strides_into(out, pc.sa0, pc.sa1);  // the running result
        strides_into(c.in[k], pc.sb0, pc.sb1);
        add(k == 1 ? gpu::in(0) : gpu::out(0), gpu::in(k), k == 1 ? c.in[0] : out, c.in[k], op);
    }
    return ds;
}

}  // namespace cnnkit::plugins::add
