// upsample.hpp: parameters of 2-D spatial resizing on NCHW (ONNX Resize, nn.Upsample).
#pragma once

#include <cnnkit/gpu.hpp>
#include <cnnkit/params.hpp>

#include <vector>

namespace cnnkit::plugins::upsample {

enum class mode_kind : std::uint8_t { nearest, bilinear, bicubic };
// ONNX coordinate_transformation_mode: how an output coordinate maps to an input coordinate.
enum class coordinate_kind : std::uint8_t { asymmetric, half_pixel, pytorch_half_pixel,
                                            align_corners };
enum class nearest_kind : std::uint8_t { floor, round_prefer_floor, round_prefer_ceil, ceil };

struct params {
    mode_kind mode = mode_kind::nearest;
    glm::vec2 scale{2.0f, 2.0f};    // {h, w}; used when size is {0, 0}
    glm::ivec2 size{0, 0};          // {h, w}; explicit output extent
    coordinate_kind coordinate = coordinate_kind::asymmetric;
    nearest_kind nearest_mode = nearest_kind::floor;  // rounding of nearest's source coordinate
    float cubic_coeff_a = -0.75f;  // bicubic's A (ONNX cubic_coeff_a; PyTorch uses -0.75)
    bool exclude_outside = false;  // bicubic: taps outside the image get weight 0, renormalised
};

// Vulkan kernels (upsample_vk.cpp).
std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c);

}  // namespace cnnkit::plugins::upsample

CNNKIT_PARAM_FIELDS(cnnkit::plugins::upsample::params, mode, scale, size, coordinate,
                    nearest_mode, cubic_coeff_a, exclude_outside);
CNNKIT_ENUM_NAMES(cnnkit::plugins::upsample::mode_kind, nearest, bilinear, bicubic);
CNNKIT_ENUM_NAMES(cnnkit::plugins::upsample::coordinate_kind, asymmetric, half_pixel,
                  pytorch_half_pixel, align_corners);
CNNKIT_ENUM_NAMES(cnnkit::plugins::upsample::nearest_kind, floor, round_prefer_floor,
                  round_prefer_ceil, ceil);
