// conv.cpp: shape rule, weights and CPU kernel of conv. run() takes Winograd (winograd.cpp), the
// few-input-channel rows (rows.cpp) or the packed GEMM paths (pointwise.cpp, packed.cpp) when
// prepare() set one up; otherwise (few channels per group, CNNKIT_CONV_ALGO=im2col) im2col tiles
// fed to the host's SGEMM (1x1 stride-1 convolutions skip im2col), parallel over (image, group,
// column tile, channel block).
#include "conv.hpp"

#include <cnnkit/input_ref.hpp>
#include <cnnkit/layer.hpp>

#include <algorithm>
#include <cmath>

namespace cnnkit::plugins::conv {

// Resolves auto_pad into explicit top/left pads and computes the output extent.
geometry geometry_of(const params& p, const sdk::shape& in) {
    sdk::expect(in.rank() == 4, "conv takes an NCHW input, got ", in);
    sdk::expect(p.out_channels > 0, "out_channels must be > 0, got ", p.out_channels);
    sdk::expect(p.groups > 0 && in.c() % p.groups == 0 && p.out_channels % p.groups == 0,
                "groups ", p.groups, " must divide input channels ", in.c(),
                " and out_channels ", p.out_channels);
    sdk::expect(p.kernel[0] > 0 && p.kernel[1] > 0 && p.stride[0] > 0 && p.stride[1] > 0 &&
                    p.dilation[0] > 0 && p.dilation[1] > 0,
                "kernel ", p.kernel, ", stride ", p.stride, " and dilation ", p.dilation,
                " must be positive");
    geometry g{in.n(), in.c(), in.h(), in.w(), p.out_channels, 0, 0, p.pad[0], p.pad[1]};
    for (int d = 0; d < 2; ++d) {
        const std::int64_t x = d == 0 ? in.h() : in.w();
        const std::int64_t k = std::int64_t{p.dilation[d]} * (p.kernel[d] - 1) + 1;
        std::int64_t out = 0, before = p.pad[d], after = p.pad[d + 2];
        if (p.auto_pad == auto_pad_mode::same_upper || p.auto_pad == auto_pad_mode::same_lower) {
            out = (x + p.stride[d] - 1) / p.stride[d];
            const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * p.stride[d] + k - x);
            before = p.auto_pad == auto_pad_mode::same_upper ? total / 2 : total - total / 2;
        } else {
            if (p.auto_pad == auto_pad_mode::valid) before = after = 0;
            sdk::expect(before >= 0 && after >= 0, "pads must be >= 0, got ", p.pad);
            const std::int64_t span = x + before + after - k;  // check before dividing
            sdk::expect(span >= 0, "kernel ", p.kernel, " (dilation ", p.dilation,
                        ") does not fit input ", in, " with pads ", p.pad);
            out = span / p.stride[d] + 1;
        }
        (d == 0 ? g.oh : g.ow) = out;
        (d == 0 ? g.pad_t : g.pad_l) = before;
    }
    return g;
}

// Rows [r0, r1) of the (ci, ky, kx) im2col rows for output pixels [c0, c0 + nc) of one image and
// group: col[(r - r0) * nc + j]; zeros where the kernel reads padding. Copies whole runs of an
// output row.
void im2col(const params& p, const geometry& g, const float* xin, std::int64_t r0, std::int64_t r1,
            std::int64_t c0, std::int64_t nc, float* col) {
    const std::int64_t kh = p.kernel[0], kw = p.kernel[1], sh = p.stride[0], sw = p.stride[1];
    for (std::int64_t r = r0; r < r1; ++r) {
        const std::int64_t ci = r / (kh * kw), ky = (r / kw) % kh, kx = r % kw;
        const float* plane = xin + ci * g.h * g.w;
        float* dst = col + (r - r0) * nc;
        std::int64_t oy = c0 / g.ow, ox = c0 % g.ow;
        for (std::int64_t j = 0; j < nc; ox = 0, ++oy) {
            const std::int64_t run = std::min(g.ow - ox, nc - j);
            const std::int64_t iy = oy * sh - g.pad_t + ky * p.dilation[0];
            const std::int64_t ix0 = ox * sw - g.pad_l + kx * p.dilation[1];
            float* d = dst + j;
            j += run;
            if (iy < 0 || iy >= g.h) {
                std::fill(d, d + run, 0.0f);
                continue;
            }
            const float* src = plane + iy * g.w;
            // Output columns t in [lo, hi) read inside the row: 0 <= ix0 + t * sw < w.
            const std::int64_t lo = std::min(run, ix0 >= 0 ? 0 : (-ix0 + sw - 1) / sw);
            const std::int64_t hi =
                std::max(lo, std::min(run, ix0 >= g.w ? 0 : (g.w - ix0 + sw - 1) / sw));
            std::fill(d, d + lo, 0.0f);
            if (sw == 1)
                std::copy(src + ix0 + lo, src + ix0 + hi, d + lo);
            else
                for (std::int64_t t = lo; t < hi; ++t) d[t] = src[ix0 + t * sw];
            std::fill(d + hi, d + run, 0.0f);
        }
    }
}

namespace {

// out[o][j] = act((out[o][j] + bias[o]) + res[o][j]) for a rows x nc tile with row stride ld:
// the order of the unfused conv, add and activation nodes, so fusion changes no bit.
void epilogue(const params& p, const float* bias, const float* res, float* out, std::int64_t rows,
              std::int64_t nc, std::int64_t ld) {
    for (std::int64_t o = 0; o < rows; ++o) {
        const float b = bias ? bias[o] : 0.0f;
        float* row = out + o * ld;
        if (res) {
            const float* r = res + o * ld;
            for (std::int64_t j = 0; j < nc; ++j) row[j] = (row[j] + b) + r[j];
        } else {
            for (std::int64_t j = 0; j < nc; ++j) row[j] += b;
        }
        if (p.activation == act_fn::relu)
            for (std::int64_t j = 0; j < nc; ++j) row[j] = std::max(row[j], 0.0f);
        else if (p.activation != act_fn::none)
            for (std::int64_t j = 0; j < nc; ++j) row[j] = activate(p.activation, row[j]);
    }
}

// How run() splits a conv: column tiles (equal widths in whole 32-column GEMM panels), and
// output-channel blocks when there are too few tiles to keep threads busy. Only the shape
// decides it, so every output's reduction order is the same at any thread count.
struct tiling {
    std::int64_t cg, ocg, kk, cols, tile, tiles, spatial_jobs, oc_step, oc_jobs;
    bool direct;  // 1x1, stride 1, no pads: the input is the GEMM's B, no im2col
    // Channel blocks share one im2col of their tile (in the workspace) instead of each
    // gathering it again: floats of that workspace.
    std::int64_t shared_floats() const {
        return direct || oc_jobs == 1 ? 0 : spatial_jobs * kk * tile;
    }
};

tiling tiling_of(const params& p, const geometry& g) {
    tiling t;
    t.cg = g.c / p.groups;
    t.ocg = g.oc / p.groups;
    t.kk = t.cg * p.kernel[0] * p.kernel[1];
    t.cols = g.oh * g.ow;
    t.direct = p.kernel[0] == 1 && p.kernel[1] == 1 && p.stride[0] == 1 && p.stride[1] == 1 &&
               g.pad_t == 0 && g.pad_l == 0 && g.oh == g.h && g.ow == g.w;
    // The im2col tile (kk x tile floats) stays within about 1 MiB of cache, but at least 64
    // columns wide so each weight row read feeds two 32-column GEMM panels.
    const std::int64_t max_tile =
        t.direct ? 1024 : std::clamp<std::int64_t>(262144 / t.kk, 64, 2048);
    const std::int64_t n = (t.cols + max_tile - 1) / max_tile;
    t.tile = std::min(t.cols, ((t.cols + n - 1) / n + 31) / 32 * 32);
    t.tiles = (t.cols + t.tile - 1) / t.tile;
    // Few column tiles (deep layers): split the output channels too, so threads have work.
    t.spatial_jobs = g.n * p.groups * t.tiles;
    const std::int64_t oc_split =
        channel_split(t.spatial_jobs, (t.ocg + 11) / 12);
    t.oc_step = ((t.ocg + oc_split - 1) / oc_split + 11) / 12 * 12;
    t.oc_jobs = (t.ocg + t.oc_step - 1) / t.oc_step;
    return t;
}

struct conv_layer {
    using params = conv::params;
    static constexpr const char* type = "conv";
    static constexpr const char* doc =
        "2-D convolution: stride, pads (or auto_pad), dilation, groups, bias, fused activation";
    static std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c) {
        return conv::vulkan(p, c);
    }

    static sdk::shape infer(const params& p, std::span<const sdk::shape> in) {
        sdk::expect(in.size() == (p.residual ? 2u : 1u), "conv takes ", p.residual ? 2 : 1,
                    " input(s)", p.residual ? " (x, residual)" : "", ", got ", in.size());
        const geometry g = geometry_of(p, in[0]);
        const sdk::shape out{g.n, g.oc, g.oh, g.ow};
        // Only with a residual input: the message's arguments are evaluated before the check.
        if (p.residual)
            sdk::expect(in[1] == out, "residual ", sdk::input_ref{1, in[1]},
                        " must have the output's shape ", out, " (of ", sdk::input_ref{0, in[0]},
                        ")");
        return out;
    }
    static std::vector<sdk::weight> weights(const params& p, std::span<const sdk::shape> in) {
        std::vector<sdk::weight> w{{"weight",
                                    {p.out_channels, in[0].c() / p.groups, p.kernel[0], p.kernel[1]}}};
        if (p.bias) w.push_back({"bias", {p.out_channels}});
        return w;
    }
    static std::int64_t macs(const params& p, std::span<const sdk::shape> in) {
        const geometry g = geometry_of(p, in[0]);
        return g.n * g.oc * g.oh * g.ow * (g.c / p.groups) * p.kernel[0] * p.kernel[1];
    }
    // The shared im2col, A packing or Winograd input transform of the path prepare() will pick.
    static std::uint64_t workspace(const params& p, std::span<const sdk::shape> in) {
        const geometry g = geometry_of(p, in[0]);
        const algo mode = algo_from_env();
        if (depthwise_applies(p, g, mode)) return 0;  // a per-thread scratch instead
        std::int64_t floats = tiling_of(p, g).shared_floats();
        if (winograd_applies(p, g, mode))
            floats = winograd_workspace_floats(g);
        else if (winograd2_applies(p, g, mode))
            floats = winograd2_workspace_floats(g);
        else if (rows_applies(p, g, mode))
            floats = rows_workspace_floats(p, g);
        else if (pointwise_applies(p, g, mode))
            floats = pointwise_workspace_floats(p, g);
        else if (packed_applies(p, g, mode))
            floats = packed_workspace_floats(p, g);
        return static_cast<std::uint64_t>(floats) * sizeof(float);
    }
    using state = prepared;
    static void prepare(const params& p, state& s, std::span<const sdk::shape> in,
                        std::span<const cnnkit_tensor> w) {
        const float* wt = sdk::const_tensor{&w[0]}.f32();
        s = prepared{};
        s.depthwise = depthwise_applies(p, geometry_of(p, in[0]), algo_from_env());
        if (s.depthwise) return;
        winograd_prepare(p, in[0], wt, s.winograd);
        if (!s.winograd.u.empty()) return;
        rows_prepare(p, in[0], wt, s.rows);
        if (!s.rows.a.empty()) return;
        if (pointwise_applies(p, geometry_of(p, in[0]), algo_from_env()))
            pointwise_prepare(p, in[0], wt, s.packed);
        else
            packed_prepare(p, in[0], wt, s.packed);
    }
    static void run(const params& p, const sdk::call& c) {
        if (c.state<state>().depthwise) return depthwise_run(p, c);
        if (winograd_run(p, c.state<state>().winograd, c) || rows_run(p, c.state<state>().rows, c))
            return;
        if (pointwise_run(p, c.state<state>().packed, c) || packed_run(p, c.state<state>().packed, c))
            return;
        const geometry g = geometry_of(p, c.in(0).shape());
        const tiling t = tiling_of(p, g);
        const float* x = c.in(0).f32();
        const float* wt = c.w(0).f32();
        const float* b = p.bias ? c.w(1).f32() : nullptr;
        float* y = c.out(0).f32();
        const float* res = p.residual ? c.in(1).f32() : nullptr;
        const std::int64_t cg = t.cg, ocg = t.ocg, kk = t.kk, cols = t.cols, tile = t.tile;
        const std::int64_t tiles = t.tiles, oc_step = t.oc_step, oc_jobs = t.oc_jobs;
        // Input image/group of a spatial job, and its first column.
        const auto input_of = [&](std::int64_t sj) {
            const std::int64_t grp = (sj / tiles) % p.groups, img = sj / tiles / p.groups;
            return x + (img * g.c + grp * cg) * g.h * g.w;
        };
        float* shared = t.shared_floats() > 0 ? static_cast<float*>(c.workspace) : nullptr;
        if (shared) {  // each tile's im2col once, split by rows over threads
            const std::int64_t chunk = std::max<std::int64_t>(1, (kk + 7) / 8);
            const std::int64_t chunks = (kk + chunk - 1) / chunk;
            c.host.parallel_for(0, t.spatial_jobs * chunks, [&](std::int64_t job) {
                const std::int64_t sj = job / chunks, r0 = job % chunks * chunk;
                const std::int64_t c0 = sj % tiles * tile, nc = std::min(tile, cols - c0);
                im2col(p, g, input_of(sj), r0, std::min(kk, r0 + chunk), c0, nc,
                       shared + sj * kk * tile + r0 * nc);
            });
        }
        c.host.parallel_for(0, t.spatial_jobs * oc_jobs, [&](std::int64_t job) {
            const std::int64_t oj = job % oc_jobs, sj = job / oc_jobs, tl = sj % tiles,
                               grp = (sj / tiles) % p.groups, img = sj / tiles / p.groups;
            const std::int64_t c0 = tl * tile, nc = std::min(tile, cols - c0);
            const std::int64_t o0 = oj * oc_step, rows = std::min(oc_step, ocg - o0);
            const float* xin = input_of(sj);
            float* out = y + (img * g.oc + grp * ocg + o0) * cols + c0;
            const float* wg = wt + (grp * ocg + o0) * kk;
            const float* src = xin + c0;
            std::int64_t ld = g.h * g.w;
            if (shared) {
                src = shared + sj * kk * tile;
                ld = nc;
            } else if (!t.direct) {
                thread_local std::vector<float> col;
                if (col.capacity() == 0) col.reserve(1 << 20);  // once per thread, for all layers
                col.resize(static_cast<std::size_t>(kk * nc));
                im2col(p, g, xin, 0, kk, c0, nc, col.data());
                src = col.data();
                ld = nc;
            }
            c.host.sgemm(false, false, rows, nc, kk, 1.0f, wg, kk, src, ld, 0.0f, out, cols);
            epilogue(p, b ? b + grp * ocg + o0 : nullptr,
                     res ? res + (img * g.oc + grp * ocg + o0) * cols + c0 : nullptr, out, rows,
                     nc, cols);
        });
    }
};

}  // namespace
}  // namespace cnnkit::plugins::conv

CNNKIT_REGISTER_PLUGIN("conv", "1.0", cnnkit::plugins::conv::conv_layer)
