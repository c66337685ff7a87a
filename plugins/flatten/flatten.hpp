// flatten.hpp: parameters of the copy-only layers flatten (ONNX Flatten), reshape (ONNX Reshape,
// allowzero = 0), dropout (identity at inference), identity, and constant (its weight, as a tensor).
#pragma once

#include <cnnkit/gpu.hpp>
#include <cnnkit/params.hpp>

#include <vector>

namespace cnnkit::plugins::flatten {

struct params {
    std::int32_t axis = 1;  // output [prod(dims[0:axis]), prod(dims[axis:])]; negative from end
};

struct reshape_params {
    std::array<std::int32_t, 8> shape{};  // first `rank` used: 0 copies the input dim, -1 infers
    std::int32_t rank = 0;
};

struct dropout_params {
    float ratio = 0.5f;  // training only; inference passes x through
};

enum class element : std::uint8_t { f32, i64 };

struct constant_params {
    std::array<std::int32_t, 8> shape{};  // first `rank` dims of the output (and of the weight)
    std::int32_t rank = 0;
    element dtype = element::f32;  // the weight is float32; i64 converts (exact below 2^24)
};
// Vulkan kernels (flatten_vk.cpp).
std::vector<sdk::gpu::dispatch> vulkan_copy(const sdk::gpu::call& c);

}  // namespace cnnkit::plugins::flatten

CNNKIT_PARAM_FIELDS(cnnkit::plugins::flatten::params, axis);
CNNKIT_PARAM_FIELDS(cnnkit::plugins::flatten::reshape_params, shape, rank);
CNNKIT_PARAM_FIELDS(cnnkit::plugins::flatten::dropout_params, ratio);
CNNKIT_PARAM_FIELDS(cnnkit::plugins::flatten::constant_params, shape, rank, dtype);
CNNKIT_ENUM_NAMES(cnnkit::plugins::flatten::element, f32, i64);
