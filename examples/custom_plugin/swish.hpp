// swish.hpp: parameters of swish (x * sigmoid(beta * x)), a layer type cnnkit does not ship.
#pragma once

#include <cnnkit/params.hpp>

namespace swish_plugin {

struct params {
    float beta = 1.0f;
};

}  // namespace swish_plugin

CNNKIT_PARAM_FIELDS(swish_plugin::params, beta);
