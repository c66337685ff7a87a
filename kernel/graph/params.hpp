// params.hpp: YAML <-> reflected layer params (type checks, defaults, unknown keys, printing).
#pragma once

#include "plugins/registry.hpp"
#include "util/located.hpp"

#include <yaml-cpp/yaml.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace cnnkit::kernel {

// Block parameters in scope: "$name" in a value is replaced by the node found here.
using substitutions = std::map<std::string, YAML::Node>;

source_loc loc_of(const YAML::Node& n, const std::string& file);
// Throws located_error at the second occurrence of a repeated key (yaml-cpp keeps both).
void check_unique_keys(const YAML::Node& map, const std::string& file);
// Follows "$name" references through `subst`; throws if the name is not a block parameter.
YAML::Node resolve(const YAML::Node& value, const substitutions* subst, const std::string& file);

std::vector<cnnkit_param_value> default_params(const layer_type& type);
// Reads the keys of `map` that are not in `reserved` as params of `type`; every problem is a
// located_error naming the key, the node and the type, with a "did you mean" where it helps.
std::vector<cnnkit_param_value> parse_params(const layer_type& type, const YAML::Node& map,
                                             const std::set<std::string>& reserved,
                                             const substitutions* subst, const std::string& file,
                                             const std::string& node_name);
// One value as YAML flow text: 3, [3, 3], relu, true.
std::string format_param(const cnnkit_param_info& info, const cnnkit_param_value& value);
// The kind of a param for documentation: "int", "int[2]", "float", "bool", "enum{a|b}".
std::string describe_kind(const cnnkit_param_info& info);

}  // namespace cnnkit::kernel
