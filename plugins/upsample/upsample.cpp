// upsample.cpp: shape rule and CPU kernel of upsample (ONNX Resize on the two spatial axes of
// NCHW, nn.Upsample): per-axis source tables built once, then rows filled in parallel.
#include "upsample.hpp"

#include <cnnkit/layer.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

namespace cnnkit::plugins::upsample {
namespace {

struct geometry {
    std::int64_t n, c, h, w, oh, ow;
    float scale_h, scale_w;  // the scales the coordinate transform divides by
};

geometry geometry_of(const params& p, const sdk::shape& in) {
    sdk::expect(in.rank() == 4, "upsample takes an NCHW input, got ", in);
    const bool sized = p.size[0] != 0 || p.size[1] != 0;
    sdk::expect(!sized || (p.size[0] > 0 && p.size[1] > 0), "size ", p.size,
                " must be {0, 0} (use scale) or positive");
    sdk::expect(sized || (p.scale[0] > 0 && p.scale[1] > 0), "scale ", p.scale,
                " must be positive");
    sdk::expect(in.h() > 0 && in.w() > 0, "upsample needs a non-empty image, got ", in);
    geometry g{in.n(), in.c(), in.h(), in.w(), 0, 0, p.scale[0], p.scale[1]};
    if (sized) {
        // As ONNX Resize given sizes: the transform uses scale = size / input.
        g.oh = p.size[0], g.ow = p.size[1];
        g.scale_h = static_cast<float>(g.oh) / static_cast<float>(g.h);
        g.scale_w = static_cast<float>(g.ow) / static_cast<float>(g.w);
    } else {
        const double oh = std::floor(double(g.h) * double(p.scale[0]));
        const double ow = std::floor(double(g.w) * double(p.scale[1]));
        // Checked before the conversion: a huge scale would overflow int64 (UB; found by fuzz_onnx).
        sdk::expect(oh <= 1e9 && ow <= 1e9, "upsample of ", in, " by scale ", p.scale,
                    " gives an output of over 1e9 rows or columns");
        g.oh = static_cast<std::int64_t>(oh);
        g.ow = static_cast<std::int64_t>(ow);
    }
    sdk::expect(g.oh > 0 && g.ow > 0, "upsample of ", in, " by scale ", p.scale,
                " gives an empty output");
    return g;
}

// ONNX coordinate_transformation_mode: the input coordinate of output coordinate x.
float source_coordinate(coordinate_kind mode, std::int64_t x, std::int64_t in, std::int64_t out,
                        float scale) {
    const float xf = static_cast<float>(x);
    switch (mode) {
        case coordinate_kind::half_pixel: return (xf + 0.5f) / scale - 0.5f;
        case coordinate_kind::pytorch_half_pixel:
            return out > 1 ? (xf + 0.5f) / scale - 0.5f : 0.0f;
        case coordinate_kind::align_corners: {
            // ONNX's reference divides by in * scale - 1, not floor(in * scale) - 1: they differ
            // when a scale (not a size) gives a fractional extent.
            const float resized = static_cast<float>(in) * scale;
            return out == 1 ? 0.0f : xf * static_cast<float>(in - 1) / (resized - 1.0f);
        }
        default: return xf / scale;
    }
}

// ONNX nearest_mode; the round_* modes differ only on exact halves (also negative ones).
std::int64_t round_nearest(nearest_kind mode, float x) {
    switch (mode) {
        case nearest_kind::round_prefer_floor: x = std::ceil(x - 0.5f); break;
        case nearest_kind::round_prefer_ceil: x = std::floor(x + 0.5f); break;
        case nearest_kind::ceil: x = std::ceil(x); break;
        default: x = std::floor(x);
    }
    return static_cast<std::int64_t>(x);
}

// Per output index along one axis: `taps` source indices (clamped to [0, in-1]) and weights.
struct axis_table {
    int taps = 1;
    std::vector<std::int64_t> idx;
    std::vector<float> w;
};

// ONNX's cubic convolution weights for the taps at distances 1 + r, r, 1 - r, 2 - r.
std::array<float, 4> cubic_weights(float r, float a) {
    auto near = [a](float d) { return ((a + 2) * d - (a + 3)) * d * d + 1; };       // |d| <= 1
    auto far = [a](float d) { return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a; };  // 1 < |d| < 2
    return {far(1 + r), near(r), near(1 - r), far(2 - r)};
}

axis_table make_table(const params& p, std::int64_t in, std::int64_t out, float scale) {
    axis_table a;
    a.taps = p.mode == mode_kind::nearest ? 1 : p.mode == mode_kind::bilinear ? 2 : 4;
    a.idx.resize(static_cast<std::size_t>(out * a.taps));
    a.w.resize(a.idx.size());
    auto clamp = [in](std::int64_t i) { return std::clamp<std::int64_t>(i, 0, in - 1); };
    for (std::int64_t x = 0; x < out; ++x) {
        const float s = source_coordinate(p.coordinate, x, in, out, scale);
        std::int64_t* idx = a.idx.data() + x * a.taps;
        float* w = a.w.data() + x * a.taps;
        if (p.mode == mode_kind::nearest) {
            idx[0] = clamp(round_nearest(p.nearest_mode, s));
            w[0] = 1.0f;
        } else if (p.mode == mode_kind::bilinear) {
            const float c = std::clamp(s, 0.0f, static_cast<float>(in - 1));
            idx[0] = std::min(static_cast<std::int64_t>(c), in - 1);
            idx[1] = std::min(idx[0] + 1, in - 1);
            w[1] = c - static_cast<float>(idx[0]);
            w[0] = 1.0f - w[1];
        } else {
            // As ONNX's reference: the taps are i0-1 .. i0+2 with r = s - i0 in (0, 1].
            const auto i0 = static_cast<std::int64_t>(std::ceil(s)) - 1;
            const std::array<float, 4> k =
                cubic_weights(s - static_cast<float>(i0), p.cubic_coeff_a);
            float sum = 0;
            for (int t = 0; t < 4; ++t) {
                const std::int64_t i = i0 - 1 + t;
                w[t] =
                    p.exclude_outside && (i < 0 || i >= in) ? 0.0f : k[static_cast<std::size_t>(t)];
                idx[t] = clamp(i);
                sum += w[t];
            }
            if (p.exclude_outside)
                for (int t = 0; t < 4; ++t) w[t] /= sum;
        }
    }
    return a;
}

struct upsample_layer {
    using params = upsample::params;
    static constexpr const char* type = "upsample";
    static constexpr const char* doc =
        "2-D resize (ONNX Resize / nn.Upsample): nearest, bilinear or bicubic, by scale or to a "
        "size";

    static sdk::shape infer(const params& p, std::span<const sdk::shape> in) {
        sdk::expect(in.size() == 1, "upsample takes 1 input, got ", in.size());
        const geometry g = geometry_of(p, in[0]);
        return {g.n, g.c, g.oh, g.ow};
    }
    static std::int64_t macs(const params& p, std::span<const sdk::shape> in) {
        const geometry g = geometry_of(p, in[0]);
        const std::int64_t taps = p.mode == mode_kind::bilinear ? 4 : 16;
        return p.mode == mode_kind::nearest ? 0 : taps * g.n * g.c * g.oh * g.ow;
    }
    static std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c) {
        return upsample::vulkan(p, c);
    }
    static void run(const params& p, const sdk::call& c) {
        const geometry g = geometry_of(p, c.in(0).shape());
        const axis_table ty = make_table(p, g.h, g.oh, g.scale_h);
        const axis_table tx = make_table(p, g.w, g.ow, g.scale_w);
        const float* x = c.in(0).f32();
        float* y = c.out(0).f32();
        c.host.parallel_for(0, g.n * g.c * g.oh, [&](std::int64_t row) {
            const std::int64_t oy = row % g.oh, plane = row / g.oh;
            const float* img = x + plane * g.h * g.w;
            const std::int64_t* iy = ty.idx.data() + oy * ty.taps;
            const float* wy = ty.w.data() + oy * ty.taps;
            float* out = y + row * g.ow;
            for (std::int64_t ox = 0; ox < g.ow; ++ox) {
                const std::int64_t* ix = tx.idx.data() + ox * tx.taps;
                const float* wx = tx.w.data() + ox * tx.taps;
                float acc = 0;
                for (int a = 0; a < ty.taps; ++a) {
                    const float* r = img + iy[a] * g.w;
                    float line = 0;
                    for (int b = 0; b < tx.taps; ++b) line += wx[b] * r[ix[b]];
                    acc += wy[a] * line;
                }
                out[ox] = acc;
            }
        }, std::max<std::int64_t>(1, 4096 / g.ow));
    }
};

}  // namespace
}  // namespace cnnkit::plugins::upsample

CNNKIT_REGISTER_PLUGIN("upsample", "1.0", cnnkit::plugins::upsample::upsample_layer)
