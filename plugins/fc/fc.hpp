// fc.hpp: parameters of fc (fully connected on [N, ...] flattened from dim 1) and gemm (ONNX
// Gemm: Y = alpha * op(A) op(B) + beta * C), both float32.
#pragma once

#include <cnnkit/params.hpp>

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

}  // namespace cnnkit::plugins::fc

CNNKIT_PARAM_FIELDS(cnnkit::plugins::fc::params, out_features, bias);
CNNKIT_PARAM_FIELDS(cnnkit::plugins::fc::gemm_params, trans_a, trans_b, alpha, beta);
