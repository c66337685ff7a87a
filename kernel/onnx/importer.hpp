// importer.hpp: an ONNX model -> a cnnkit YAML network (text) plus its weights, each ONNX op mapped
// to plugin layer types. `cnnkit import` writes both; `cnnkit run model.onnx` loads the same text.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/npy.hpp"
#include "plugins/registry.hpp"

namespace cnnkit::kernel {

struct onnx_import {
    std::string yaml;                                          // accepted by load_yaml_text
    std::vector<std::pair<std::string, host_tensor>> weights;  // "<node>.<weight>", float32
};

// Throws cnnkit::error for anything it cannot map: an unsupported op, attribute or attribute value
// names the node, the op and the attribute. `batch` replaces a symbolic (or given) first dim.
onnx_import import_onnx(const registry& reg, const std::filesystem::path& model,
                        std::optional<std::int64_t> batch = std::nullopt);

// The same from a serialized ModelProto in memory (the fuzz target); `name` labels the errors.
onnx_import import_onnx_bytes(const registry& reg, std::string_view bytes,
                              const std::filesystem::path& name,
                              std::optional<std::int64_t> batch = std::nullopt);

}  // namespace cnnkit::kernel
