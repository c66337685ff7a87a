// pad.cpp: shape rule and CPU kernel of pad: each output row maps back to one source row
// (constant mode may fill it instead), and each output column to one source column.
#include "pad.hpp"

#include <cnnkit/layer.hpp>

#include <algorithm>

namespace cnnkit::plugins::pad {
namespace {

// Source coordinate of padded coordinate i (already shifted by the leading pad) in [0, n),
// or -1 where constant mode fills. Reflect excludes the edge: -1 -> 1, n -> n - 2.
std::int64_t source(pad_mode mode, std::int64_t i, std::int64_t n) {
    if (i >= 0 && i < n) return i;
    switch (mode) {
        case pad_mode::reflect: return i < 0 ? -i : 2 * (n - 1) - i;
        case pad_mode::edge: return i < 0 ? 0 : n - 1;
        default: return -1;
    }
}

void check(const params& p, const sdk::shape& in) {
    sdk::expect(in.rank() == 4, "pad takes an NCHW input, got ", in);
    sdk::expect(in.type() == sdk::dtype::f32, "pad needs a float32 input, got ", in);
    for (int k = 0; k < 4; ++k)
        sdk::expect(p.pad[k] >= 0, "pads must be >= 0, got ", p.pad);
    const std::int64_t h = in.h(), w = in.w();
    if (p.mode == pad_mode::reflect)
        sdk::expect(p.pad[0] < h && p.pad[2] < h && p.pad[1] < w && p.pad[3] < w,
                    "reflect pads ", p.pad, " must be smaller than the padded dims of input ", in);
    if (p.mode == pad_mode::edge)
        sdk::expect((h > 0 || p.pad[0] + p.pad[2] == 0) && (w > 0 || p.pad[1] + p.pad[3] == 0),
                    "edge pads ", p.pad, " need a non-empty input, got ", in);
}

struct pad_layer {
    using params = pad::params;
    static constexpr const char* type = "pad";
    static constexpr const char* doc =
        "pads H and W of an NCHW tensor: constant value, reflect (no edge repeat) or edge";

    static sdk::shape infer(const params& p, std::span<const sdk::shape> in) {
        sdk::expect(in.size() == 1, "pad takes 1 input, got ", in.size());
        check(p, in[0]);
        const sdk::shape& s = in[0];
        return {s.n(), s.c(), s.h() + p.pad[0] + p.pad[2], s.w() + p.pad[1] + p.pad[3]};
    }
    static std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c) {
        return pad::vulkan(p, c);
    }
    static void run(const params& p, const sdk::call& c) {
        const sdk::shape s = c.in(0).shape(), o = c.out(0).shape();
        const std::int64_t h = s.h(), w = s.w(), oh = o.h(), ow = o.w();
        const float* x = c.in(0).f32();
        float* y = c.out(0).f32();
        c.host.parallel_for(0, o.n() * o.c() * oh, [&](std::int64_t row) {
            const std::int64_t plane = row / oh, oy = row % oh;
            const std::int64_t iy = source(p.mode, oy - p.pad[0], h);
            float* yr = y + row * ow;
            if (iy < 0) {
                std::fill(yr, yr + ow, p.value);
                return;
            }
            const float* xr = x + (plane * h + iy) * w;
            for (std::int64_t ox = 0; ox < p.pad[1]; ++ox) {
                const std::int64_t ix = source(p.mode, ox - p.pad[1], w);
                yr[ox] = ix < 0 ? p.value : xr[ix];
            }
            std::copy(xr, xr + w, yr + p.pad[1]);
            for (std::int64_t ox = p.pad[1] + w; ox < ow; ++ox) {
                const std::int64_t ix = source(p.mode, ox - p.pad[1], w);
                yr[ox] = ix < 0 ? p.value : xr[ix];
            }
        });
    }
};

}  // namespace
}  // namespace cnnkit::plugins::pad

CNNKIT_REGISTER_PLUGIN("pad", "1.0", cnnkit::plugins::pad::pad_layer)
