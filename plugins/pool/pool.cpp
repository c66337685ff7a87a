// pool.cpp: shape rule and CPU kernel of pool (ONNX MaxPool / AveragePool / LpPool p=2 and their
// Global forms), parallel over output rows; windows and divisors are precomputed per axis.
#include "pool.hpp"

#include <cnnkit/layer.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace cnnkit::plugins::pool {
namespace {

// One spatial axis: input extent, output extent, kernel, stride, dilation, pads.
struct axis {
    std::int64_t in, out, k, s, d, pb, pe;
};

// Per output position on one axis: valid taps [j0, j1) and the taps inside the padded input.
struct window {
    std::int64_t j0, j1, padded;
};

struct geometry {
    std::int64_t n, c;
    axis ax[2];  // h, w
};

// Output extent per ONNX: floor or ceil, and with ceil the last window must start inside the
// input or the left pad.
std::int64_t extent(const axis& a, bool ceil_mode, const params& p, const sdk::shape& in) {
    const std::int64_t span = a.in + a.pb + a.pe - (a.d * (a.k - 1) + 1);
    sdk::expect(span >= 0, "pool kernel ", p.kernel, " (dilation ", p.dilation,
                ") does not fit input ", in, " with pads ", p.pad);
    if (!ceil_mode) return span / a.s + 1;
    std::int64_t out = (span + a.s - 1) / a.s + 1;
    if ((out - 1) * a.s >= a.in + a.pb) --out;
    return out;
}

// The taps of output position o that fall inside the input and inside input plus pads.
window window_at(const axis& a, std::int64_t o) {
    const std::int64_t start = o * a.s - a.pb;
    window w{0, 0, 0};
    for (std::int64_t j = 0; j < a.k; ++j) {
        const std::int64_t pos = start + j * a.d;
        if (pos < 0) w.j0 = j + 1;
        if (pos < a.in) w.j1 = j + 1;
        if (pos < a.in + a.pe) ++w.padded;
    }
    return w;
}

geometry geometry_of(const params& p, const sdk::shape& in) {
    sdk::expect(in.rank() == 4 && in.type() == sdk::dtype::f32,
                "pool takes a float32 NCHW input, got ", in);
    geometry g{in.n(), in.c(), {}};
    if (p.global) {
        g.ax[0] = {in.h(), 1, in.h(), 1, 1, 0, 0};
        g.ax[1] = {in.w(), 1, in.w(), 1, 1, 0, 0};
        return g;
    }
    sdk::expect(p.kernel[0] > 0 && p.kernel[1] > 0 && p.stride[0] >= 0 && p.stride[1] >= 0 &&
                    p.dilation[0] > 0 && p.dilation[1] > 0,
                "pool kernel ", p.kernel, " and dilation ", p.dilation,
                " must be positive, stride ", p.stride, " >= 0");
    sdk::expect(p.pad[0] >= 0 && p.pad[1] >= 0 && p.pad[2] >= 0 && p.pad[3] >= 0,
                "pool pads must be >= 0, got ", p.pad);
    for (int d = 0; d < 2; ++d) {
        axis& a = g.ax[d];
        a = {d == 0 ? in.h() : in.w(), 0, p.kernel[d], p.stride[d] ? p.stride[d] : p.kernel[d],
             p.dilation[d], p.pad[d], p.pad[d + 2]};
        a.out = extent(a, p.ceil_mode, p, in);
        for (std::int64_t o = 0; o < a.out; ++o) {
            const window w = window_at(a, o);
            sdk::expect(w.j0 < w.j1, "pool pads ", p.pad, " with kernel ", p.kernel,
                        " and dilation ", p.dilation, " leave a window of input ", in,
                        " with no input element");
        }
    }
    return g;
}

struct pool_layer {
    using params = pool::params;
    static constexpr const char* type = "pool";
    static constexpr const char* doc =
        "2-D max/avg/l2 pooling: stride, pads, dilation, ceil_mode, count_include_pad, global, "
        "argmax indices (ONNX)";
    static std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c) {
        return pool::vulkan(p, c);
    }

    static sdk::shapes infer(const params& p, std::span<const sdk::shape> in) {
        sdk::expect(in.size() == 1, "pool takes 1 input, got ", in.size());
        sdk::expect(!p.indices || p.mode == pool_mode::max,
                    "pool indices need mode max, got mode ", sdk::enum_names<pool_mode>::names
                        [static_cast<std::size_t>(p.mode)]);
        const geometry g = geometry_of(p, in[0]);
        sdk::shapes out{{g.n, g.c, g.ax[0].out, g.ax[1].out}};
        if (p.indices) out.push_back(sdk::shape({g.n, g.c, g.ax[0].out, g.ax[1].out},
                                                sdk::dtype::i64));
        return out;
    }
    static std::int64_t macs(const params& p, std::span<const sdk::shape> in) {
        const geometry g = geometry_of(p, in[0]);
        return g.n * g.c * g.ax[0].out * g.ax[1].out * g.ax[0].k * g.ax[1].k;
    }
    // The window tables of both axes, so that a run allocates nothing.
    static std::uint64_t workspace(const params& p, std::span<const sdk::shape> in) {
        const geometry g = geometry_of(p, in[0]);
        return static_cast<std::uint64_t>(g.ax[0].out + g.ax[1].out) * sizeof(window);
    }
    static void run(const params& p, const sdk::call& c);
};

// One output row of one plane: every mode, optional argmax.
// Max without indices, separably: the column maxima over the window's rows (contiguous, so
// vectorized), then each output's maximum over its taps of that row. Same comparisons as below:
// a NaN is never taken. False when the input row does not fit the stack buffer.
bool max_row_separable(const geometry& g, const window& wy, const window* wx, const float* plane,
                       std::int64_t ys, float* y) {
    const axis &ah = g.ax[0], &aw = g.ax[1];
    constexpr std::int64_t cap = 4096;
    if (aw.in > cap) return false;
    float col[cap];
    std::fill(col, col + aw.in, -std::numeric_limits<float>::infinity());
    for (std::int64_t ky = wy.j0; ky < wy.j1; ++ky) {
        const float* row = plane + (ys + ky * ah.d) * aw.in;
        for (std::int64_t i = 0; i < aw.in; ++i) col[i] = row[i] > col[i] ? row[i] : col[i];
    }
    for (std::int64_t ox = 0; ox < aw.out; ++ox) {
        const window& w = wx[ox];
        const float* at = col + ox * aw.s - aw.pb;
        float best = -std::numeric_limits<float>::infinity();
        for (std::int64_t kx = w.j0; kx < w.j1; ++kx)
            best = at[kx * aw.d] > best ? at[kx * aw.d] : best;
        y[ox] = best;
    }
    return true;
}

void pool_row(const params& p, const geometry& g, const window& wy, const window* wx,
              const float* plane, std::int64_t plane_base, std::int64_t ys, float* y,
              std::int64_t* idx) {
    const axis &ah = g.ax[0], &aw = g.ax[1];
    if (p.mode == pool_mode::max && !idx && max_row_separable(g, wy, wx, plane, ys, y)) return;
    for (std::int64_t ox = 0; ox < aw.out; ++ox) {
        const window& w = wx[ox];
        const std::int64_t xs = ox * aw.s - aw.pb;
        if (p.mode == pool_mode::max) {
            float best = -std::numeric_limits<float>::infinity();
            std::int64_t at = (ys + wy.j0 * ah.d) * aw.in + xs + w.j0 * aw.d;
            for (std::int64_t ky = wy.j0; ky < wy.j1; ++ky)
                for (std::int64_t kx = w.j0; kx < w.j1; ++kx) {
                    const std::int64_t i = (ys + ky * ah.d) * aw.in + xs + kx * aw.d;
                    if (plane[i] > best) best = plane[i], at = i;
                }
            y[ox] = best;
            if (idx) idx[ox] = plane_base + (p.column_major ? at % aw.in * ah.in + at / aw.in : at);
            continue;
        }
        double acc = 0;
        for (std::int64_t ky = wy.j0; ky < wy.j1; ++ky)
            for (std::int64_t kx = w.j0; kx < w.j1; ++kx) {
                const double v = plane[(ys + ky * ah.d) * aw.in + xs + kx * aw.d];
                acc += p.mode == pool_mode::l2 ? v * v : v;
            }
        if (p.mode == pool_mode::l2) {
            y[ox] = static_cast<float>(std::sqrt(acc));
        } else {
            const std::int64_t count = p.count_include_pad && !p.global
                                           ? wy.padded * w.padded
                                           : (wy.j1 - wy.j0) * (w.j1 - w.j0);
            y[ox] = static_cast<float>(acc / static_cast<double>(count));
        }
    }
}

void pool_layer::run(const params& p, const sdk::call& c) {
    const geometry g = geometry_of(p, c.in(0).shape());
    const axis &ah = g.ax[0], &aw = g.ax[1];
    window* wy = static_cast<window*>(c.workspace);
    window* wx = wy + ah.out;
    for (std::int64_t o = 0; o < ah.out; ++o) wy[o] = window_at(ah, o);
    for (std::int64_t o = 0; o < aw.out; ++o) wx[o] = window_at(aw, o);
    const float* x = c.in(0).f32();
    float* y = c.out(0).f32();
    std::int64_t* idx = p.indices ? c.out(1).i64() : nullptr;
    const std::int64_t rows = g.n * g.c * ah.out;
    const std::int64_t work = std::max<std::int64_t>(1, aw.out * ah.k * aw.k);
    c.host.parallel_for(
        0, rows,
        [&](std::int64_t b, std::int64_t e) {
            for (std::int64_t r = b; r < e; ++r) {
                const std::int64_t plane = r / ah.out, oy = r % ah.out;
                const std::int64_t base = plane * ah.in * aw.in;
                pool_row(p, g, wy[oy], wx, x + base, base,
                         oy * ah.s - ah.pb, y + r * aw.out, idx ? idx + r * aw.out : nullptr);
            }
        },
        std::max<std::int64_t>(1, 16384 / work));
}

}  // namespace
}  // namespace cnnkit::plugins::pool

CNNKIT_REGISTER_PLUGIN("pool", "1.0", cnnkit::plugins::pool::pool_layer)
