// bias.hpp: the per-position learned bias takes no params (its weight has the input's shape).
#pragma once

#include <cnnkit/gpu.hpp>
#include <cnnkit/params.hpp>

#include <string_view>
#include <vector>

namespace cnnkit::plugins::bias {

using params = sdk::no_params;

// Vulkan kernels (bias_vk.cpp).
std::vector<sdk::gpu::dispatch> vulkan(const sdk::gpu::call& c);

}  // namespace cnnkit::plugins::bias
