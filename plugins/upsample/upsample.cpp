// upsample.cpp: shape rule and CPU kernel of upsample (ONNX Resize on the two spatial axes of
// NCHW, nn.Upsample): per-axis source tables built once, then rows filled in parallel.
#include "upsample.hpp"

#include <cnnkit/layer.hpp>

#include <algorithm>
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
        g.oh = static_cast<std::int64_t>(std::floor(double(g.h) * double(p.scale[0])));
        g.ow = static_cast<std::int64_t>(std::floor(double(g.w) * double(p.scale[1])));
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
        case coordinate_kind::align_corners:
            return out == 1 ? 0.0f
                            : xf * static_cast<float>(in - 1) / static_cast<float>(out - 1);
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

// Per output index along one axis: the two source indices and the weight of the second
// (nearest: both indices equal, weight 0). Sources are clamped to [0, in-1].
struct axis_table {
    std::vector<std::int64_t> i0, i1;
    std::vector<float> t;
};

axis_table make_table(const params& p, std::int64_t in, std::int64_t out, float scale) {
    axis_table a{std::vector<std::int64_t>(out), std::vector<std::int64_t>(out),
                 std::vector<float>(out)};
    for (std::int64_t x = 0; x < out; ++x) {
        const float s = source_coordinate(p.coordinate, x, in, out, scale);
        if (p.mode == mode_kind::nearest) {
            a.i0[x] = a.i1[x] = std::clamp<std::int64_t>(round_nearest(p.nearest_mode, s), 0,
                                                          in - 1);
            a.t[x] = 0.0f;
        } else {
            const float c = std::clamp(s, 0.0f, static_cast<float>(in - 1));
            a.i0[x] = std::min(static_cast<std::int64_t>(c), in - 1);
            a.i1[x] = std::min(a.i0[x] + 1, in - 1);
            a.t[x] = c - static_cast<float>(a.i0[x]);
        }
    }
    return a;
}

struct upsample_layer {
    using params = upsample::params;
    static constexpr const char* type = "upsample";
    static constexpr const char* doc =
        "2-D resize (ONNX Resize / nn.Upsample): nearest or bilinear, by scale or to a size";

    static sdk::shape infer(const params& p, std::span<const sdk::shape> in) {
        sdk::expect(in.size() == 1, "upsample takes 1 input, got ", in.size());
        const geometry g = geometry_of(p, in[0]);
        return {g.n, g.c, g.oh, g.ow};
    }
    static std::int64_t macs(const params& p, std::span<const sdk::shape> in) {
        const geometry g = geometry_of(p, in[0]);
        return p.mode == mode_kind::bilinear ? 3 * g.n * g.c * g.oh * g.ow : 0;  // three lerps
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
        const bool nearest = p.mode == mode_kind::nearest;
        c.host.parallel_for(0, g.n * g.c * g.oh, [&](std::int64_t row) {
            const std::int64_t oy = row % g.oh, plane = row / g.oh;
            const float* r0 = x + (plane * g.h + ty.i0[oy]) * g.w;
            const float* r1 = x + (plane * g.h + ty.i1[oy]) * g.w;
            float* out = y + row * g.ow;
            if (nearest) {
                for (std::int64_t ox = 0; ox < g.ow; ++ox) out[ox] = r0[tx.i0[ox]];
                return;
            }
            const float v = ty.t[oy];
            for (std::int64_t ox = 0; ox < g.ow; ++ox) {
                const float u = tx.t[ox];
                const float top = r0[tx.i0[ox]] + u * (r0[tx.i1[ox]] - r0[tx.i0[ox]]);
                const float bottom = r1[tx.i0[ox]] + u * (r1[tx.i1[ox]] - r1[tx.i0[ox]]);
                out[ox] = top + v * (bottom - top);
            }
        }, std::max<std::int64_t>(1, 4096 / g.ow));
    }
};

}  // namespace
}  // namespace cnnkit::plugins::upsample

CNNKIT_REGISTER_PLUGIN("upsample", "1.0", cnnkit::plugins::upsample::upsample_layer)
