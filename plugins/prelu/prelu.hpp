// prelu.hpp: prelu (x if x >= 0 else slope * x) takes no params; the slope is a weight or input 1.
#pragma once

#include <cnnkit/gpu.hpp>
#include <cnnkit/params.hpp>

#include <string_view>
#include <vector>

namespace cnnkit::plugins::prelu {

using params = sdk::no_params;

// Vulkan kernels (prelu_vk.cpp).
std::vector<sdk::gpu::dispatch> vulkan(const sdk::gpu::call& c);

}  // namespace cnnkit::plugins::prelu
