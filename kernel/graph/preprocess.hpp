// preprocess.hpp: a network's `preprocess:` block (how an image becomes its input tensor) and
// `labels:` (class names of its output), read from the YAML file and checked there.
#pragma once

#include <yaml-cpp/yaml.h>

#include <array>
#include <cnnkit/tensor.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "util/located.hpp"

namespace cnnkit::kernel {

// Applied in this order: decode to 8-bit RGB; resize (bilinear, half-pixel centres, no
// antialiasing, as torchvision on tensors); centre crop to the input's H x W (torchvision's
// offsets); x = pixel * scale; x = (x - mean[c]) / std[c];
// channels in `order` (a 1-channel input takes the luma 0.299 R + 0.587 G + 0.114 B instead).
struct preprocess_spec {
    std::string input;              // the network input it feeds ("" = the first)
    std::int64_t resize_short = 0;  // resize: N  (shorter side to N, aspect kept); 0 = none
    std::int64_t resize_h = 0, resize_w = 0;  // resize: [h, w] (exact size)
    double scale = 1.0 / 255.0;
    std::array<double, 3> mean{0, 0, 0}, std{1, 1, 1};
    bool bgr = false;  // channels: rgb | bgr
};

// Reads `preprocess:`; every bad key or value is a located_error. `inputs` (name, shape) are the
// network's: the chosen one must be NCHW with 1 or 3 channels, and `crop:` must equal its H x W.
preprocess_spec parse_preprocess(const YAML::Node& block, const std::string& file,
                                 const std::vector<std::pair<std::string, sdk::shape>>& inputs);
// Reads `labels:`: a list of strings, or a file name (one label a line) relative to `file`.
std::vector<std::string> parse_labels(const YAML::Node& labels, const std::string& file);
// One label a line; empty lines are kept as empty labels. Throws naming the file.
std::vector<std::string> read_labels_file(const std::string& path);

}  // namespace cnnkit::kernel
