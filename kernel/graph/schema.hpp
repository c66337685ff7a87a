// schema.hpp: a JSON Schema (draft-07) of the YAML network format, derived from the reflected
// params of every layer type in a registry, for editors and validators.
#pragma once

#include <string>

#include "plugins/registry.hpp"

namespace cnnkit::kernel {

// The schema as JSON text. Known layer types get their params with kinds, list lengths, enum
// values and defaults, and no other keys; a type the registry does not know (a `blocks:` entry)
// takes any keys. Every param also accepts a "$name" block-parameter reference.
std::string network_schema(const registry& reg);

}  // namespace cnnkit::kernel
