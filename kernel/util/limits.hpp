// limits.hpp: the hard limits every loader enforces on untrusted files before it allocates.
#pragma once

#include <cnnkit/tensor.hpp>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace cnnkit::kernel::limits {

inline constexpr std::int64_t max_dim = std::int64_t{1} << 31;           // one extent
inline constexpr std::int64_t max_tensor_bytes = std::int64_t{4} << 30;  // 4 GiB per tensor
inline constexpr std::size_t max_nodes = 100000;          // primitive nodes after expansion
inline constexpr int max_yaml_depth = 64;                 // nesting of YAML collections
inline constexpr std::size_t max_yaml_nodes = 1000000;    // YAML nodes, aliases counted
inline constexpr std::int64_t max_yaml_bytes = 16 << 20;  // a network file
inline constexpr std::uint64_t max_safetensors_header = 100 << 20;  // JSON header bytes
inline constexpr std::size_t max_npy_header = 64 << 10;             // .npy header bytes
// Elements ONNX constant folding may compute in one import: shape arithmetic needs few, folding
// weights (a Transpose of an initializer) many. Fuzz builds, whose coverage instrumentation makes
// each folded element about 100x slower, budget less so that no input runs past the fuzzer's
// timeout (a 4M-element Transpose took 20 s there, 0.1 s in a release build).
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
inline constexpr std::int64_t max_folded_elements = std::int64_t{1} << 20;
#else
inline constexpr std::int64_t max_folded_elements = std::int64_t{1} << 30;
#endif

// Elements of `dims` when every extent is in 0..max_dim and the total byte size is at most
// max_tensor_bytes; nullopt otherwise (never overflows, whatever the dims).
template <class Dims>
std::optional<std::int64_t> checked_numel(const Dims& dims, std::int64_t element_bytes) {
    std::int64_t n = 1;
    for (const auto d : dims) {
        const auto x = static_cast<std::int64_t>(d);
        if (x < 0 || x > max_dim) return std::nullopt;
        if (x != 0 && n > max_tensor_bytes / element_bytes / x) return std::nullopt;
        n *= x;
    }
    return n;
}
// What checked_numel allows, for messages.
inline std::string tensor_limits_text() {
    return cat("extents 0..", max_dim, ", at most ", max_tensor_bytes, " bytes per tensor");
}
inline std::optional<std::int64_t> checked_numel(const sdk::shape& s) {
    return checked_numel(s.dims(), s.type() == sdk::dtype::i64 ? 8 : 4);
}

// Size of a regular file, refusing FIFOs, devices and folders (which would block or never end)
// and files over `max_bytes`; `what` names the file's role in messages ("network file").
std::int64_t regular_file_size(const std::filesystem::path& file, const std::string& what,
                               std::int64_t max_bytes);

}  // namespace cnnkit::kernel::limits
