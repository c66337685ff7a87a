// lrn.hpp: parameters of local response normalisation across channels (ONNX LRN, float32).
#pragma once

#include <cnnkit/gpu.hpp>
#include <cnnkit/params.hpp>

#include <string_view>
#include <vector>

namespace cnnkit::plugins::lrn {

struct params {
    std::int32_t size = 5;  // channels in the window, centred (the extra one goes after)
    float alpha = 1e-4f;    // divided by size, as in ONNX and Caffe
    float beta = 0.75f;
    float bias = 1.0f;
};

// Vulkan kernels (lrn_vk.cpp).
std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c);

}  // namespace cnnkit::plugins::lrn

CNNKIT_PARAM_FIELDS(cnnkit::plugins::lrn::params, size, alpha, beta, bias);
