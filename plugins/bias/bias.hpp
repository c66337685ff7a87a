// bias.hpp: the per-position learned bias takes no params (its weight has the input's shape).
#pragma once

#include <cnnkit/params.hpp>

namespace cnnkit::plugins::bias {

using params = sdk::no_params;

}  // namespace cnnkit::plugins::bias
