// conv_transpose.cpp: shape rule, weights and CPU kernel of conv_transpose (ONNX ConvTranspose,
// PyTorch ConvTranspose2d): a GEMM per (image, group, output-channel tile) into a column buffer,
// then a col2im scatter-add into the output.
#include "conv_transpose.hpp"

#include <cnnkit/layer.hpp>

#include <algorithm>
#include <vector>

namespace cnnkit::plugins::conv_transpose {
namespace {

struct geometry {
    std::int64_t n, c, h, w, oc, oh, ow;
    std::int64_t pad_t, pad_l;
};

std::int64_t floor_div(std::int64_t a, std::int64_t b) {  // b > 0
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

void check_params(const params& p, const sdk::shape& in) {
    sdk::expect(in.rank() == 4, "conv_transpose takes an NCHW input, got ", in);
    sdk::expect(p.out_channels > 0, "out_channels must be > 0, got ", p.out_channels);
    sdk::expect(p.groups > 0 && in.c() % p.groups == 0 && p.out_channels % p.groups == 0,
                "groups ", p.groups, " must divide input channels ", in.c(),
                " and out_channels ", p.out_channels);
    sdk::expect(p.kernel[0] > 0 && p.kernel[1] > 0 && p.stride[0] > 0 && p.stride[1] > 0 &&
                    p.dilation[0] > 0 && p.dilation[1] > 0,
                "kernel ", p.kernel, ", stride ", p.stride, " and dilation ", p.dilation,
                " must be positive");
    sdk::expect(p.pad[0] >= 0 && p.pad[1] >= 0 && p.pad[2] >= 0 && p.pad[3] >= 0,
                "pads must be >= 0, got ", p.pad);
    for (int d = 0; d < 2; ++d)
        sdk::expect(p.output_padding[d] >= 0 && (p.output_padding[d] < p.stride[d] ||
                                                 p.output_padding[d] < p.dilation[d]),
                    "output_padding ", p.output_padding, " must be >= 0 and smaller than stride ",
                    p.stride, " or dilation ", p.dilation);
    sdk::expect((p.output_size[0] == 0 && p.output_size[1] == 0) ||
                    (p.output_size[0] > 0 && p.output_size[1] > 0),
                "output_size ", p.output_size, " must be {0, 0} or positive");
}

// Output extent and top/left pads. Without output_size:
//   out = stride*(in-1) + output_padding + (kernel-1)*dilation + 1 - pad_begin - pad_end.
// With output_size we follow ONNX's reference (onnx/reference/ops/op_conv_transpose.py) for
// auto_pad NOTSET: the explicit pads (all zero by default) are kept and output_shape only sets
// the extent, so rows/columns past the full result hold just the bias, and a smaller size crops
// at the bottom/right; output_padding and the bottom/right pads then play no part. This is also
// what PyTorch's output_size does. (The spec's prose instead splits
// total = stride*(in-1) + output_padding + (kernel-1)*dilation + 1 - output_size across both
// sides, begin = total - total/2; the reference does not, and we match the reference.)
geometry geometry_of(const params& p, const sdk::shape& in) {
    check_params(p, in);
    geometry g{in.n(), in.c(), in.h(), in.w(), p.out_channels, 0, 0, p.pad[0], p.pad[1]};
    for (int d = 0; d < 2; ++d) {
        const std::int64_t x = d == 0 ? in.h() : in.w();
        const std::int64_t k = std::int64_t{p.dilation[d]} * (p.kernel[d] - 1) + 1;
        const std::int64_t full = std::int64_t{p.stride[d]} * (x - 1) + p.output_padding[d] + k -
                                  p.pad[d] - p.pad[d + 2];
        const std::int64_t out = p.output_size[d] > 0 ? p.output_size[d] : full;
        sdk::expect(x > 0 && out > 0, "conv_transpose of input ", in, " with kernel ", p.kernel,
                    ", stride ", p.stride, " and pads ", p.pad, " gives an empty output");
        (d == 0 ? g.oh : g.ow) = out;
    }
    return g;
}

// Scatter-adds `no` output channels' columns (rows (o, ky, kx), one column per input pixel)
// into their output planes y (no x oh x ow).
void col2im(const params& p, const geometry& g, const float* col, std::int64_t no, float* y) {
    const std::int64_t kh = p.kernel[0], kw = p.kernel[1], sh = p.stride[0], sw = p.stride[1];
    for (std::int64_t o = 0; o < no; ++o)
        for (std::int64_t ky = 0; ky < kh; ++ky)
            for (std::int64_t kx = 0; kx < kw; ++kx) {
                const float* src = col + ((o * kh + ky) * kw + kx) * g.h * g.w;
                float* plane = y + o * g.oh * g.ow;
                // Input columns ix whose output column ix*sw + off_x lies in [0, ow).
                const std::int64_t off_x = kx * p.dilation[1] - g.pad_l;
                const std::int64_t ix0 = off_x >= 0 ? 0 : (-off_x + sw - 1) / sw;
                const std::int64_t ix1 = std::min(g.w, floor_div(g.ow - 1 - off_x, sw) + 1);
                for (std::int64_t iy = 0; iy < g.h; ++iy) {
                    const std::int64_t oy = iy * sh - g.pad_t + ky * p.dilation[0];
                    if (oy < 0 || oy >= g.oh) continue;
                    float* row = plane + oy * g.ow + off_x;
                    const float* s = src + iy * g.w;
                    for (std::int64_t ix = ix0; ix < ix1; ++ix) row[ix * sw] += s[ix];
                }
            }
}

struct conv_transpose_layer {
    using params = conv_transpose::params;
    static constexpr const char* type = "conv_transpose";
    static constexpr const char* doc =
        "2-D transposed convolution: stride, pads, output_padding, dilation, groups, bias, "
        "output_size";

    static sdk::shape infer(const params& p, std::span<const sdk::shape> in) {
        sdk::expect(in.size() == 1, "conv_transpose takes 1 input, got ", in.size());
        const geometry g = geometry_of(p, in[0]);
        return {g.n, g.oc, g.oh, g.ow};
    }
    // weight [in_channels, out_channels / groups, kh, kw] as in ONNX and PyTorch; bias [out].
    static std::vector<sdk::weight> weights(const params& p, std::span<const sdk::shape> in) {
        std::vector<sdk::weight> w{{"weight", {in[0].c(), p.out_channels / p.groups, p.kernel[0],
                                               p.kernel[1]}}};
        if (p.bias) w.push_back({"bias", {p.out_channels}});
        return w;
    }
    static std::int64_t macs(const params& p, std::span<const sdk::shape> in) {
        const geometry g = geometry_of(p, in[0]);
        return g.n * g.c * g.h * g.w * (g.oc / p.groups) * p.kernel[0] * p.kernel[1];
    }
    static std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c) {
        return conv_transpose::vulkan(p, c);
    }
    static void run(const params& p, const sdk::call& c) {
        const geometry g = geometry_of(p, c.in(0).shape());
        const float* x = c.in(0).f32();
        const float* wt = c.w(0).f32();
        const float* b = p.bias ? c.w(1).f32() : nullptr;
        float* y = c.out(0).f32();
        const std::int64_t icg = g.c / p.groups, ocg = g.oc / p.groups;
        const std::int64_t kk = std::int64_t{p.kernel[0]} * p.kernel[1], hw = g.h * g.w;
        const std::int64_t ohw = g.oh * g.ow, per = g.n * p.groups;
        // Tiles of output channels write disjoint planes, so they run in parallel: enough of
        // them to occupy the threads when the batch is small, and a column buffer <= 8 MiB.
        const std::int64_t fit = std::max<std::int64_t>(1, (std::int64_t{1} << 21) / (kk * hw));
        const std::int64_t want = std::max((32 + per - 1) / per, (ocg + fit - 1) / fit);
        const std::int64_t tile = (ocg + std::min(want, ocg) - 1) / std::min(want, ocg);
        const std::int64_t tiles = (ocg + tile - 1) / tile;
        c.host.parallel_for(0, per * tiles, [&](std::int64_t job) {
            const std::int64_t t = job % tiles, grp = (job / tiles) % p.groups,
                               img = job / tiles / p.groups;
            const std::int64_t o0 = t * tile, no = std::min(tile, ocg - o0);
            const float* xg = x + (img * g.c + grp * icg) * hw;
            const float* wg = wt + grp * icg * ocg * kk + o0 * kk;  // icg rows, stride ocg*kk
            float* yo = y + (img * g.oc + grp * ocg + o0) * ohw;
            thread_local std::vector<float> col;
            col.resize(static_cast<std::size_t>(no * kk * hw));
            // col (no*kk x hw) = W_g^T (no*kk x icg) * X_g (icg x hw)
            c.host.sgemm(true, false, no * kk, hw, icg, 1.0f, wg, ocg * kk, xg, hw, 0.0f,
                         col.data(), hw);
            for (std::int64_t o = 0; o < no; ++o)
                std::fill_n(yo + o * ohw, ohw, b ? b[grp * ocg + o0 + o] : 0.0f);
            col2im(p, g, col.data(), no, yo);
        });
    }
};

}  // namespace
}  // namespace cnnkit::plugins::conv_transpose

CNNKIT_REGISTER_PLUGIN("conv_transpose", "1.0",
                       cnnkit::plugins::conv_transpose::conv_transpose_layer)
