// npy.hpp: NumPy .npy read/write (float32 and int64, C order, little-endian).
#pragma once

#include <cnnkit/tensor.hpp>

#include <filesystem>
#include <vector>

namespace cnnkit::kernel {

struct host_tensor {
    sdk::shape shape;
    std::vector<unsigned char> bytes;  // numel * element size
    const float* f32() const { return reinterpret_cast<const float*>(bytes.data()); }
    float* f32() { return reinterpret_cast<float*>(bytes.data()); }
};

std::size_t element_size(sdk::dtype t);
// Reads a .npy file; float64 is converted to float32. Throws naming the file on any problem.
host_tensor read_npy(const std::filesystem::path& file);
host_tensor parse_npy(const unsigned char* data, std::size_t size, const std::string& name);
// Writes atomically: a temp file beside `file`, then rename.
void write_npy(const std::filesystem::path& file, const host_tensor& t);
std::vector<unsigned char> encode_npy(const host_tensor& t);
// Writes bytes to `file` through a temp file and rename, so no half-written file remains.
void write_file_atomic(const std::filesystem::path& file, const std::vector<unsigned char>& bytes);

}  // namespace cnnkit::kernel
