// yaml_loader.hpp: a YAML network file -> checked graph.
#pragma once

#include "graph/graph.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace cnnkit::kernel {

struct load_options {
    std::optional<std::int64_t> batch;  // overrides dim 0 of every input
};

// Throws located_error (file:line:col) for anything wrong in the file, nested errors for layers.
graph load_yaml_file(const registry& reg, const std::filesystem::path& file,
                     const load_options& opt = {});
// `name` stands for the file in messages.
graph load_yaml_text(const registry& reg, const std::string& text, const std::string& name,
                     const load_options& opt = {});

}  // namespace cnnkit::kernel
