// softmax.hpp: parameters of softmax and log_softmax (ONNX opset 13: over one axis, float32).
#pragma once

#include <cnnkit/gpu.hpp>
#include <cnnkit/params.hpp>

#include <vector>

namespace cnnkit::plugins::softmax {

struct params {
    std::int32_t axis = 1;  // negative counts from the end
};

// Vulkan kernels (softmax_vk.cpp).
std::vector<sdk::gpu::dispatch> vulkan(bool log, const params& p, const sdk::gpu::call& c);

}  // namespace cnnkit::plugins::softmax

CNNKIT_PARAM_FIELDS(cnnkit::plugins::softmax::params, axis);
