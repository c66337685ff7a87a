// prelu_vk.cpp: the Vulkan kernel of prelu: prelu.comp, with the learned [C] slope on dim 1 or
// input 1 broadcast (right-aligned) to the input; vec4 when the slope is constant over runs of a
// multiple of 4 elements.
#include <glm/vec4.hpp>

#include "prelu.hpp"
#include "prelu_spv.h"

namespace cnnkit::plugins::prelu {

std::vector<sdk::gpu::dispatch> vulkan(const sdk::gpu::call& c) {
    namespace gpu = sdk::gpu;
    const sdk::shape& x = c.in[0];
    struct push {  // rank-8 vectors as pairs of ivec4 (GLSL: ivec4 dims[2], ss[2])
        glm::ivec4 dims0, dims1, ss0, ss1;
        std::int32_t total;
    };
    const auto set = [](glm::ivec4& lo, glm::ivec4& hi, std::uint32_t d, std::int64_t v) {
        (d < 4 ? lo : hi)[d % 4] = static_cast<std::int32_t>(v);
    };
    push pc{};
    const bool learned = c.in.size() == 1;
    const std::uint32_t pad = 8 - x.rank();  // x's dim d is dim pad + d of the rank-8 view
    for (std::uint32_t d = 0; d < 8; ++d) set(pc.dims0, pc.dims1, d, d < pad ? 1 : x[d - pad]);
    if (learned) {
        set(pc.ss0, pc.ss1, pad + 1, 1);
    } else {
        const sdk::shape& s = c.in[1];
        std::int64_t step = 1;
        for (std::uint32_t k = 0; k < s.rank(); ++k) {
            const std::uint32_t d = 7 - k;
            const std::int64_t dim = s[s.rank() - 1 - k];
            set(pc.ss0, pc.ss1, d, dim == 1 ? 0 : step);
            step *= dim;
        }
    }
    // The innermost elements that share one slope: the trailing dims the slope broadcasts over.
    std::int64_t run = 1;
    for (std::uint32_t d = 8; d-- > 0;) {
        const std::int32_t stride = (d < 4 ? pc.ss0 : pc.ss1)[d % 4];
        const std::int32_t dim = (d < 4 ? pc.dims0 : pc.dims1)[d % 4];
        if (stride != 0 && dim > 1) break;
        run *= dim;
    }
    const bool vec4 = run % 4 == 0;
    const std::int64_t invocations = vec4 ? x.numel() / 4 : x.numel();
    pc.total = static_cast<std::int32_t>(invocations);
    const cnnkit_gpu_binding slope = learned ? gpu::weight(0) : gpu::in(1);
    return {gpu::dispatch(CNNKIT_GPU_KERNEL(prelu),
                          {gpu::in(0), slope, gpu::out(0), gpu::in(0), gpu::out(0)}, pc,
                          gpu::grid(invocations, 256), {vec4 ? 1u : 0u})};
}

}  // namespace cnnkit::plugins::prelu
