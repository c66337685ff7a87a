// inception.hpp: parameters of a GoogLeNet v1 inception module with dimension reductions.
#pragma once

#include <cnnkit/params.hpp>

namespace cnnkit::plugins::inception {

struct params {
    std::int32_t c1x1 = 64;         // branch 1: 1x1
    std::int32_t c3x3_reduce = 96;  // branch 2: 1x1 -> 3x3
    std::int32_t c3x3 = 128;
    std::int32_t c5x5_reduce = 16;  // branch 3: 1x1 -> kxk (k = branch3_kernel)
    std::int32_t c5x5 = 32;
    std::int32_t pool_proj = 32;    // branch 4: 3x3 max pool -> 1x1
    std::int32_t branch3_kernel = 5;  // torchvision's GoogLeNet uses 3 here
    bool batch_norm = false;        // conv (no bias) + batch norm (eps 1e-3) as torchvision
};

}  // namespace cnnkit::plugins::inception

CNNKIT_PARAM_FIELDS(cnnkit::plugins::inception::params, c1x1, c3x3_reduce, c3x3, c5x5_reduce,
                    c5x5, pool_proj, branch3_kernel, batch_norm);
