// conv_transpose.hpp: parameters of a 2-D transposed convolution (NCHW, float32).
#pragma once

#include <cnnkit/gpu.hpp>
#include <cnnkit/params.hpp>

#include <vector>

namespace cnnkit::plugins::conv_transpose {

struct params {
    std::int32_t out_channels = 0;
    glm::ivec2 kernel{3, 3};                // {h, w}
    glm::ivec2 stride{1, 1};
    std::array<std::int32_t, 4> pad{};      // {top, left, bottom, right}, cropped from the output
    glm::ivec2 output_padding{0, 0};        // extra rows/columns at the bottom/right
    glm::ivec2 dilation{1, 1};
    std::int32_t groups = 1;
    bool bias = true;
    glm::ivec2 output_size{0, 0};           // {h, w}; non-zero: the output extent (see .cpp)
};

// Vulkan kernels (conv_transpose_vk.cpp).
std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c);

}  // namespace cnnkit::plugins::conv_transpose

CNNKIT_PARAM_FIELDS(cnnkit::plugins::conv_transpose::params, out_channels, kernel, stride, pad,
                    output_padding, dilation, groups, bias, output_size);
