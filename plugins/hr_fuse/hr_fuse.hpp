// hr_fuse.hpp: parameters of HRNet's multi-resolution fusion for one output stream.
#pragma once

#include <cnnkit/params.hpp>

namespace cnnkit::plugins::hr_fuse {

struct params {
    std::int32_t output = 0;  // which input stream's resolution and width the result has
};

}  // namespace cnnkit::plugins::hr_fuse

CNNKIT_PARAM_FIELDS(cnnkit::plugins::hr_fuse::params, output);
