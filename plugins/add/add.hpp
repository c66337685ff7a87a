// add.hpp: the elementwise binary family (add, mul, sub, div) takes no params.
#pragma once

#include <cnnkit/gpu.hpp>
#include <cnnkit/params.hpp>

#include <string_view>
#include <vector>

namespace cnnkit::plugins::add {

using params = sdk::no_params;  // all four types; inputs broadcast the numpy way

// Vulkan kernels (add_vk.cpp).
std::vector<sdk::gpu::dispatch> vulkan(std::string_view type, const sdk::gpu::call& c);

}  // namespace cnnkit::plugins::add
