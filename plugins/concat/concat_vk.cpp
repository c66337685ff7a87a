// concat_vk.cpp: the Vulkan kernel of concat: one concat.comp dispatch per input.
#include "concat.hpp"
#include "concat_spv.h"

namespace cnnkit::plugins::concat {

std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c) {
    namespace gpu = sdk::gpu;
    const sdk::shape& out = c.out[0];
    const auto r = static_cast<std::int32_t>(out.rank());
    const auto axis = static_cast<std::uint32_t>(p.axis < 0 ? p.axis + r : p.axis);
    const std::int64_t words = out.type() == sdk::dtype::i64 ? 2 : 1;
    gpu::check_indexable(out.numel() * words);
    struct push {
        std::int32_t rows, row_in, row_out, offset;
    };
    std::vector<gpu::dispatch> ds;
    std::int64_t offset = 0;
    for (std::uint32_t i = 0; i < c.in.size(); ++i) {
        const std::int64_t row_in = c.in[i].prod(axis, c.in[i].rank()) * words;
        const push pc{static_cast<std::int32_t>(out.prod(0, axis)),
                      static_cast<std::int32_t>(row_in),
                      static_cast<std::int32_t>(out.prod(axis, out.rank()) * words),
                      static_cast<std::int32_t>(offset)};
        offset += row_in;
        if (c.in[i].numel() == 0) continue;
        ds.emplace_back(CNNKIT_GPU_KERNEL(concat),
                        std::initializer_list<cnnkit_gpu_binding>{gpu::in(i), gpu::out(0)}, pc,
                        gpu::grid(c.in[i].numel() * words, 256));
    }
    return ds;
}

}  // namespace cnnkit::plugins::concat
