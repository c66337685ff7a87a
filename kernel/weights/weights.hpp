// weights.hpp: safetensors (memory-mapped, every name/shape/dtype checked) and random weights.
#pragma once

#include "graph/graph.hpp"
#include "io/npy.hpp"

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cnnkit::kernel {

// A read-only memory map of a .safetensors file with its parsed, bounds-checked header.
class safetensors_file {
public:
    struct entry {
        std::string dtype;  // "F32", ...
        std::vector<std::int64_t> shape;
        const unsigned char* data = nullptr;
        std::size_t bytes = 0;
    };
    static std::shared_ptr<safetensors_file> open(const std::filesystem::path& file);
    // The same, over bytes held in memory (an imported model's weights); `name` is for messages.
    static std::shared_ptr<safetensors_file> from_bytes(std::vector<unsigned char> bytes,
                                                        const std::string& name);
    ~safetensors_file();
    const std::map<std::string, entry>& entries() const { return entries_; }
    const std::string& path() const { return path_; }

private:
    safetensors_file() = default;
    void parse(const unsigned char* bytes);  // fills entries_ from size_ bytes
    std::vector<unsigned char> owned_;
    void* map_ = nullptr;
    std::size_t size_ = 0;
    std::string path_;
    std::map<std::string, entry> entries_;
};

// The weights of one graph, in graph.weights order, backed by a mapped file or owned memory.
struct weight_store {
    std::vector<const float*> data;
    std::vector<std::vector<float>> owned;
    std::shared_ptr<safetensors_file> file;
};

// Matches a file against the graph's expected weights: missing, extra, misshaped or mistyped
// tensors are errors naming the tensor. Without a file, `random_seed` fills every weight.
// With both, tensors absent from the file are filled randomly.
weight_store bind_weights(const graph& g, std::shared_ptr<safetensors_file> file,
                          std::optional<std::uint64_t> random_seed);
// Deterministic per (seed, name): independent of declaration order.
std::vector<float> random_weight(const weight_info& w, std::uint64_t seed);

// The bytes of a .safetensors file holding these float32 / int64 tensors.
std::vector<unsigned char> safetensors_bytes(
    const std::vector<std::pair<std::string, host_tensor>>& tensors);
// Writes float32 tensors as a .safetensors file (atomically).
void write_safetensors(const std::filesystem::path& file,
                       const std::vector<std::pair<std::string, host_tensor>>& tensors);

}  // namespace cnnkit::kernel
