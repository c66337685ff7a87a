// batch_norm.hpp: parameters of inference batch normalisation over dim 1 (float32).
#pragma once

#include <cnnkit/gpu.hpp>
#include <cnnkit/params.hpp>

#include <string_view>
#include <vector>

namespace cnnkit::plugins::batch_norm {

struct params {
    float epsilon = 1e-5f;  // added to running_var before the square root
};

// Vulkan kernels (batch_norm_vk.cpp).
std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c);

}  // namespace cnnkit::plugins::batch_norm

CNNKIT_PARAM_FIELDS(cnnkit::plugins::batch_norm::params, epsilon);
