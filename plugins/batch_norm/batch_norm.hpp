// batch_norm.hpp: parameters of inference batch normalisation over dim 1 (float32).
#pragma once

#include <cnnkit/params.hpp>

namespace cnnkit::plugins::batch_norm {

struct params {
    float epsilon = 1e-5f;  // added to running_var before the square root
};

}  // namespace cnnkit::plugins::batch_norm

CNNKIT_PARAM_FIELDS(cnnkit::plugins::batch_norm::params, epsilon);
