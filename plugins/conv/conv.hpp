// conv.hpp: parameters of a 2-D convolution (NCHW, float32).
#pragma once

#include <cnnkit/gpu.hpp>
#include <cnnkit/layer.hpp>
#include <cnnkit/params.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace cnnkit::plugins::conv {

enum class act_fn : std::uint8_t { none, relu, relu6, tanh, sigmoid };  // fused activation
enum class auto_pad_mode : std::uint8_t { explicit_pads, same_upper, same_lower, valid };

struct params {
    std::int32_t out_channels = 0;
    glm::ivec2 kernel{3, 3};               // {h, w}
    glm::ivec2 stride{1, 1};
    std::array<std::int32_t, 4> pad{};     // {top, left, bottom, right}; "pad: 1" sets all four
    glm::ivec2 dilation{1, 1};
    std::int32_t groups = 1;
    bool bias = true;
    act_fn activation = act_fn::none;
    auto_pad_mode auto_pad = auto_pad_mode::explicit_pads;
    bool residual = false;  // a 2nd input of the output's shape is added before the activation
};

// The fused activation of one value (the GEMM epilogue and the Winograd output transform).
inline float activate(act_fn f, float x) {
    switch (f) {
        case act_fn::relu: return x > 0 ? x : 0;
        case act_fn::relu6: return std::min(std::max(x, 0.0f), 6.0f);
        case act_fn::tanh: return std::tanh(x);
        case act_fn::sigmoid: return 1.0f / (1.0f + std::exp(-x));
        default: return x;
    }
}

// The extents of a conv: auto_pad resolved into the leading pads (conv.cpp; also conv_vk.cpp).
struct geometry {
    std::int64_t n, c, h, w, oc, oh, ow;
    std::int64_t pad_t, pad_l;
};
geometry geometry_of(const params& p, const sdk::shape& in);

// Winograd F(4x4, 3x3) for 3x3, stride 1, dilation 1, one group (winograd.cpp). The filters,
// transformed once by winograd_prepare (empty `u` = this conv takes the GEMM path), live in the
// layer object; CNNKIT_CONV_ALGO=gemm turns Winograd off, =winograd forces it on every conv it
// supports (tests), unset or auto leaves the choice to a size rule. Read at load.
struct winograd_weights {
    std::vector<float> u;  // [36][out_channels][in_channels]: G g G^T per filter
    std::int64_t k = 0, c = 0;
    std::int32_t isa = 0;  // which compiled transform code runs (winograd.cpp)
};
void winograd_prepare(const params& p, const sdk::shape& in, const float* w, winograd_weights& s);
// Runs the conv by Winograd and returns true, or returns false (not prepared for this input).
bool winograd_run(const params& p, const winograd_weights& s, const sdk::call& c);

// Vulkan kernels (conv_vk.cpp).
std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c);

}  // namespace cnnkit::plugins::conv

CNNKIT_PARAM_FIELDS(cnnkit::plugins::conv::params, out_channels, kernel, stride, pad, dilation,
                    groups, bias, activation, auto_pad, residual);
CNNKIT_ENUM_NAMES(cnnkit::plugins::conv::act_fn, none, relu, relu6, tanh, sigmoid);
CNNKIT_ENUM_NAMES(cnnkit::plugins::conv::auto_pad_mode, explicit_pads, same_upper, same_lower,
                  valid);
