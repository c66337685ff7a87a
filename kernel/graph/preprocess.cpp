// preprocess.cpp: reading and checking a network's `preprocess:` and `labels:` blocks.
#include "graph/preprocess.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>

#include "graph/params.hpp"
#include "util/text.hpp"

namespace cnnkit::kernel {
namespace {

const std::vector<std::string> preprocess_keys = {"input", "resize", "crop",    "scale",
                                                  "mean",  "std",    "channels"};

[[noreturn]] void fail(const YAML::Node& at, const std::string& file, const std::string& msg) {
    throw located_error(loc_of(at, file), msg);
}

double number(const YAML::Node& n, const std::string& file, const std::string& what) {
    if (!n.IsScalar()) fail(n, file, cat(what, " must be a number"));
    try {
        std::size_t used = 0;
        const double v = std::stod(n.Scalar(), &used);
        if (used == n.Scalar().size() && std::isfinite(v)) return v;
    } catch (const std::exception&) {
    }
    fail(n, file, cat(what, " must be a number, got '", n.Scalar(), "'"));
}

std::int64_t size(const YAML::Node& n, const std::string& file, const std::string& what) {
    const double v = number(n, file, what);
    if (v != std::floor(v) || v < 1 || v > 65536)
        fail(n, file, cat(what, " must be a whole number of pixels in 1..65536, got ", n.Scalar()));
    return static_cast<std::int64_t>(v);
}

// A scalar or a list of 3 numbers (one per channel, in RGB order).
std::array<double, 3> triple(const YAML::Node& n, const std::string& file,
                             const std::string& what) {
    if (n.IsScalar()) {
        const double v = number(n, file, what);
        return {v, v, v};
    }
    if (!n.IsSequence() || n.size() != 3)
        fail(n, file, cat(what, " must be a number or a list of 3 (R, G, B)"));
    return {number(n[0], file, what), number(n[1], file, what), number(n[2], file, what)};
}

// A scalar N (N x N) or [h, w].
std::pair<std::int64_t, std::int64_t> pair_of(const YAML::Node& n, const std::string& file,
                                              const std::string& what) {
    if (n.IsScalar()) return {size(n, file, what), size(n, file, what)};
    if (!n.IsSequence() || n.size() != 2) fail(n, file, cat(what, " must be N or [h, w]"));
    return {size(n[0], file, what), size(n[1], file, what)};
}

}  // namespace

preprocess_spec parse_preprocess(const YAML::Node& block, const std::string& file,
                                 const std::vector<std::pair<std::string, sdk::shape>>& inputs) {
    if (!block.IsMap()) fail(block, file, "'preprocess:' must be a map");
    check_unique_keys(block, file);
    for (const auto& kv : block) {
        const std::string key = kv.first.Scalar();
        if (std::find(preprocess_keys.begin(), preprocess_keys.end(), key) == preprocess_keys.end())
            fail(kv.first, file,
                 cat("unknown key '", key, "' in preprocess", did_you_mean(key, preprocess_keys)));
    }
    preprocess_spec p;
    const sdk::shape* in = inputs.empty() ? nullptr : &inputs[0].second;
    if (const YAML::Node n = block["input"]) {
        p.input = n.Scalar();
        in = nullptr;
        for (const auto& [name, s] : inputs)
            if (name == p.input) in = &s;
        if (!in) fail(n, file, cat("preprocess input '", p.input, "' is not an input"));
    } else if (!inputs.empty()) {
        p.input = inputs[0].first;
    }
    if (!in || in->rank() != 4 || ((*in)[1] != 1 && (*in)[1] != 3))
        fail(block, file,
             cat("preprocess needs an NCHW input with 1 or 3 channels; '", p.input, "' is ",
                 in ? *in : sdk::shape{}));
    if (const YAML::Node n = block["resize"]) {
        if (n.IsScalar())
            p.resize_short = size(n, file, "preprocess resize");
        else
            std::tie(p.resize_h, p.resize_w) = pair_of(n, file, "preprocess resize");
    }
    if (const YAML::Node n = block["crop"]) {
        const auto [h, w] = pair_of(n, file, "preprocess crop");
        if (h != (*in)[2] || w != (*in)[3])
            fail(n, file,
                 cat("preprocess crop ", h, "x", w, " differs from input '", p.input, "' ", *in,
                     " (the crop is always the input's H x W)"));
    }
    if (const YAML::Node n = block["scale"]) p.scale = number(n, file, "preprocess scale");
    if (const YAML::Node n = block["mean"]) p.mean = triple(n, file, "preprocess mean");
    if (const YAML::Node n = block["std"]) {
        p.std = triple(n, file, "preprocess std");
        for (double s : p.std)
            if (s == 0) fail(n, file, "preprocess std must not be 0");
    }
    if (const YAML::Node n = block["channels"]) {
        if (!n.IsScalar() || (n.Scalar() != "rgb" && n.Scalar() != "bgr"))
            fail(n, file, "preprocess channels must be rgb or bgr");
        p.bgr = n.Scalar() == "bgr";
    }
    return p;
}

std::vector<std::string> read_labels_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw error(cat(path, ": cannot open labels file"));
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        out.push_back(line);
    }
    while (!out.empty() && out.back().empty()) out.pop_back();
    if (out.empty()) throw error(cat(path, ": labels file is empty"));
    return out;
}

std::vector<std::string> parse_labels(const YAML::Node& labels, const std::string& file) {
    if (labels.IsScalar()) {
        const std::filesystem::path p = std::filesystem::path(file).parent_path() / labels.Scalar();
        try {
            return read_labels_file(p.string());
        } catch (const std::exception& e) {
            fail(labels, file, e.what());
        }
    }
    if (!labels.IsSequence() || labels.size() == 0)
        fail(labels, file, "'labels:' must be a file name or a non-empty list of names");
    std::vector<std::string> out;
    for (const auto& l : labels) {
        if (!l.IsScalar()) fail(l, file, "a label must be a string");
        out.push_back(l.Scalar());
    }
    return out;
}

}  // namespace cnnkit::kernel
