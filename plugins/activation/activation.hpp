// activation.hpp: parameters of the elementwise activation family (one plugin, one type each).
#pragma once

#include <cnnkit/gpu.hpp>
#include <cnnkit/params.hpp>

#include <span>
#include <string_view>
#include <vector>

namespace cnnkit::plugins::activation {

struct leaky_relu_params {
    float alpha = 0.01f;
};
struct elu_params {
    float alpha = 1.0f;
};
struct selu_params {
    float alpha = 1.67326319217681884765625f;
    float gamma = 1.05070102214813232421875f;
};
struct clip_params {
    float min = -3.4028234663852886e38f;
    float max = 3.4028234663852886e38f;
};
struct hard_sigmoid_params {
    float alpha = 0.2f;
    float beta = 0.5f;
};

// The Vulkan kernel of activation `type`; args are its params' floats in declaration order.
std::vector<sdk::gpu::dispatch> vulkan(std::string_view type, std::span<const float> args,
                                       const sdk::gpu::call& c);

}  // namespace cnnkit::plugins::activation

CNNKIT_PARAM_FIELDS(cnnkit::plugins::activation::leaky_relu_params, alpha);
CNNKIT_PARAM_FIELDS(cnnkit::plugins::activation::elu_params, alpha);
CNNKIT_PARAM_FIELDS(cnnkit::plugins::activation::selu_params, alpha, gamma);
CNNKIT_PARAM_FIELDS(cnnkit::plugins::activation::clip_params, min, max);
CNNKIT_PARAM_FIELDS(cnnkit::plugins::activation::hard_sigmoid_params, alpha, beta);
