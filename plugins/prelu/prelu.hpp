// prelu.hpp: prelu (x if x >= 0 else slope * x) takes no params; the slope is a weight or input 1.
#pragma once

#include <cnnkit/params.hpp>

namespace cnnkit::plugins::prelu {

using params = sdk::no_params;

}  // namespace cnnkit::plugins::prelu
