// concat.hpp: parameters of concatenation of N inputs along one axis (float32 or int64).
#pragma once

#include <cnnkit/gpu.hpp>
#include <cnnkit/params.hpp>

#include <string_view>
#include <vector>

namespace cnnkit::plugins::concat {

struct params {
    std::int32_t axis = 1;  // negative counts from the end: -1 is the last axis
};

// Vulkan kernels (concat_vk.cpp).
std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c);

}  // namespace cnnkit::plugins::concat

CNNKIT_PARAM_FIELDS(cnnkit::plugins::concat::params, axis);
