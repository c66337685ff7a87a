// pad.hpp: parameters of spatial padding of an NCHW tensor (ONNX Pad on H and W, float32).
#pragma once

#include <cnnkit/gpu.hpp>
#include <cnnkit/params.hpp>

#include <vector>

namespace cnnkit::plugins::pad {

enum class pad_mode : std::uint8_t { constant, reflect, edge };

struct params {
    pad_mode mode = pad_mode::constant;
    std::array<std::int32_t, 4> pad{};  // {top, left, bottom, right}, each >= 0; "pad: 1" sets all
    float value = 0.0f;                 // the fill of constant mode
};

// Vulkan kernels (pad_vk.cpp).
std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c);

}  // namespace cnnkit::plugins::pad

CNNKIT_PARAM_FIELDS(cnnkit::plugins::pad::params, mode, pad, value);
CNNKIT_ENUM_NAMES(cnnkit::plugins::pad::pad_mode, constant, reflect, edge);
