// pool.hpp: parameters of 2-D max / average / L2 pooling (NCHW, float32), ONNX semantics.
#pragma once

#include <cnnkit/gpu.hpp>
#include <cnnkit/params.hpp>

#include <vector>

namespace cnnkit::plugins::pool {

enum class pool_mode : std::uint8_t { max, avg, l2 };  // l2: sqrt of the sum of squares

struct params {
    pool_mode mode = pool_mode::max;
    glm::ivec2 kernel{2, 2};            // {h, w}; ignored when global
    glm::ivec2 stride{0, 0};            // 0 means "same as kernel"
    std::array<std::int32_t, 4> pad{};  // {top, left, bottom, right}
    glm::ivec2 dilation{1, 1};
    bool ceil_mode = false;             // ONNX rule: the last window starts inside input or pads
    bool count_include_pad = false;     // avg: divide by taps inside the padded input
    bool global = false;                // kernel = whole H x W, output {N, C, 1, 1}
    bool indices = false;               // max only: 2nd output, int64 flat index into NCHW input
    bool column_major = false;          // indices count h + w * H in a plane (storage_order 1)
};

// Vulkan kernels (pool_vk.cpp).
std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c);

}  // namespace cnnkit::plugins::pool

CNNKIT_PARAM_FIELDS(cnnkit::plugins::pool::params, mode, kernel, stride, pad, dilation, ceil_mode,
                    count_include_pad, global, indices, column_major);
CNNKIT_ENUM_NAMES(cnnkit::plugins::pool::pool_mode, max, avg, l2);
