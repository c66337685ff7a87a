// fc.hpp: parameters of fc (fully connected on [N, ...] flattened from dim 1) and gemm (ONNX
// Gemm: Y = alpha * op(A) op(B) + beta * C), both float32.
#pragma once

#include <cnnkit/gpu.hpp>
#include <cnnkit/params.hpp>

#include <vector>

namespace cnnkit::plugins::fc {

struct params {
    std::int32_t out_features = 0;
    bool bias = true;  // weights: "weight" [out_features, K] (PyTorch Linear), "bias" [out]
};

struct gemm_params {
    bool trans_a = false;  // A is stored [K, M]
    bool trans_b = false;  // B is stored [N, K]
    float alpha = 1.0f;
    float beta = 1.0f;     // scales the optional 3rd input C, broadcast to [M, N]
};

// Vulkan kernels (fc_vk.cpp).
std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c);
std::vector<sdk::gpu::dispatch> vulkan(const gemm_params& p, const sdk::gpu::call& c);

}  // namespace cnnkit::plugins::fc

CNNKIT_PARAM_FIELDS(cnnkit::plugins::fc::params, out_features, bias);
CNNKIT_PARAM_FIELDS(cnnkit::plugins::fc::gemm_params, trans_a, trans_b, alpha, beta);
