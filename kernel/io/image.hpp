// image.hpp: decoding PNG/JPEG/BMP images (stb_image) and turning one into a network input
// through the network's preprocess_spec.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "graph/preprocess.hpp"
#include "io/npy.hpp"

namespace cnnkit::kernel {

struct rgb_image {
    std::int64_t width = 0, height = 0;
    std::vector<std::uint8_t> pixels;  // row-major, 3 bytes (R, G, B) a pixel
};

// Decodes any format stb_image reads (gray and alpha are converted to RGB). Throws naming the file.
rgb_image read_image(const std::filesystem::path& file);

// Applies `p` (see preprocess_spec) and returns a float32 tensor of `input` (NCHW, C 1 or 3);
// every batch item gets the same image. Throws if the resized image is smaller than H x W.
host_tensor image_to_tensor(const rgb_image& img, const preprocess_spec& p,
                            const sdk::shape& input);

// "640x480 -> resize 256 -> crop 224x224, mean/std, rgb": what image_to_tensor did.
std::string describe_preprocess(const rgb_image& img, const preprocess_spec& p,
                                const sdk::shape& input);

}  // namespace cnnkit::kernel
