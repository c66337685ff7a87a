// softmax.hpp: parameters of softmax and log_softmax (ONNX opset 13: over one axis, float32).
#pragma once

#include <cnnkit/params.hpp>

namespace cnnkit::plugins::softmax {

struct params {
    std::int32_t axis = 1;  // negative counts from the end
};

}  // namespace cnnkit::plugins::softmax

CNNKIT_PARAM_FIELDS(cnnkit::plugins::softmax::params, axis);
