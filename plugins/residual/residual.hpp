// residual.hpp: parameters of a ResNet residual unit (basic or bottleneck).
#pragma once

#include <cnnkit/params.hpp>

namespace cnnkit::plugins::residual {

struct params {
    std::int32_t channels = 64;   // "planes": the unit outputs channels * expansion
    std::int32_t stride = 1;      // on the 3x3 conv (ResNet v1.5, as torchvision)
    bool bottleneck = false;      // 1x1 -> 3x3 -> 1x1 instead of 3x3 -> 3x3
    std::int32_t expansion = 4;   // bottleneck only
    std::int32_t units = 1;       // > 1: a stage of units named 0, 1, ... (torchvision's layerN);
                                  // stride applies to the first
};

}  // namespace cnnkit::plugins::residual

CNNKIT_PARAM_FIELDS(cnnkit::plugins::residual::params, channels, stride, bottleneck, expansion,
                    units);
