// add.hpp: the elementwise binary family (add, mul, sub, div) takes no params.
#pragma once

#include <cnnkit/params.hpp>

namespace cnnkit::plugins::add {

using params = sdk::no_params;  // all four types; inputs broadcast the numpy way

}  // namespace cnnkit::plugins::add
