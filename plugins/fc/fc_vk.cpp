// fc_vk.cpp: the Vulkan kernels of fc and gemm: gemm.comp (tiled, register-blocked), and
// gemv.comp for fc at a batch of at most 4.
#include <algorithm>

#include "fc.hpp"
#include "gemm_spv.h"
#include "gemv_spv.h"

namespace cnnkit::plugins::fc {
namespace {
struct push {
    std::int32_t m, n, k, c_sm, c_sn;
    float alpha, beta;
};
struct gemv_push {
    std::int32_t m, n, k;
};
// gemv.comp's ROWS and MMAX: output features per workgroup, batch rows at most.
constexpr std::int64_t gemv_rows = 4, gemv_batch = 4;
}  // namespace

std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c) {
    namespace gpu = sdk::gpu;
    const std::int64_t m = c.in[0][0], k = c.in[0].prod(1, c.in[0].rank()), n = p.out_features;
    gpu::check_indexable(std::max({m * k, n * k, m * n}));
    if (m <= gemv_batch && gpu::div_up(n, gemv_rows) <= 65535) {
        const gemv_push pv{static_cast<std::int32_t>(m), static_cast<std::int32_t>(n),
                           static_cast<std::int32_t>(k)};
        return {gpu::dispatch(CNNKIT_GPU_KERNEL(gemv),
                              {gpu::in(0), gpu::weight(0), gpu::weight(p.bias ? 1 : 0), gpu::out(0)},
                              pv, {gpu::div_up(n, gemv_rows), 1u, 1u}, {p.bias ? 1u : 0u})};
    }
    const push pc{static_cast<std::int32_t>(m),
                  static_cast<std::int32_t>(n),
                  static_cast<std::int32_t>(k),
                  0,
                  1,
                  1.0f,
                  1.0f};
    return {gpu::dispatch(CNNKIT_GPU_KERNEL(gemm),
                          {gpu::in(0), gpu::weight(0), gpu::weight(p.bias ? 1 : 0), gpu::out(0)},
                          pc, {gpu::div_up(n, 64), gpu::div_up(m, 64), 1u},
                          {0u, 1u, p.bias ? 1u : 0u})};
}

std::vector<sdk::gpu::dispatch> vulkan(const gemm_params& p, const sdk::gpu::call& c) {
    namespace gpu = sdk::gpu;
    const std::int64_t m = c.out[0][0], n = c.out[0][1];
    const std::int64_t k = p.trans_a ? c.in[0][0] : c.in[0][1];
    gpu::check_indexable(std::max({m * k, n * k, m * n}));
    const bool has_c = c.in.size() == 3;
    std::int32_t c_sm = 0, c_sn = 0;
    if (has_c) {  // C is [n], [1], [rows, cols] with rows/cols 1 or full: stride 0 broadcasts
        const sdk::shape& cs = c.in[2];
        const std::int64_t rows = cs.rank() == 2 ? cs[0] : 1, cols = cs[cs.rank() - 1];
        c_sn = cols == 1 ? 0 : 1;
        c_sm = rows == 1 ? 0 : static_cast<std::int32_t>(cols);
    }
    const push pc{static_cast<std::int32_t>(m),
                  static_cast<std::int32_t>(n),
                  static_cast<std::int32_t>(k),
                  c_sm,
                  c_sn,
                  p.alpha,
                  p.beta};
    return {gpu::dispatch(CNNKIT_GPU_KERNEL(gemm),
                          {gpu::in(0), gpu::in(1), gpu::in(has_c ? 2 : 0), gpu::out(0)}, pc,
                          {gpu::div_up(n, 64), gpu::div_up(m, 64), 1u},
                          {p.trans_a ? 1u : 0u, p.trans_b ? 1u : 0u, has_c ? 1u : 0u})};
}

}  // namespace cnnkit::plugins::fc
