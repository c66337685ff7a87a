// max_unpool.hpp: parameters of 2-D max unpooling (ONNX MaxUnpool; NCHW float32 values plus
// int64 flat indices into the output).
#pragma once

#include <cnnkit/gpu.hpp>
#include <cnnkit/params.hpp>

#include <vector>

namespace cnnkit::plugins::max_unpool {

struct params {
    glm::ivec2 kernel{2, 2};            // {h, w} of the pooling being undone
    glm::ivec2 stride{0, 0};            // 0 means "same as kernel"
    std::array<std::int32_t, 4> pad{};  // {top, left, bottom, right}
    glm::ivec2 output_size{0, 0};       // {h, w}; 0 derives (in - 1) * stride - pads + kernel
};

// Vulkan kernels (max_unpool_vk.cpp).
std::vector<sdk::gpu::dispatch> vulkan(const sdk::gpu::call& c);

}  // namespace cnnkit::plugins::max_unpool

CNNKIT_PARAM_FIELDS(cnnkit::plugins::max_unpool::params, kernel, stride, pad, output_size);
