// hr_fuse.cpp: HRNet's fusion (Wang et al. 2019) as a composite: inputs are streams of halving
// resolution; stream i of the output is relu(sum over j of f_ij(x_j)) where f_ii is the identity,
// a lower-resolution stream (j > i) goes through 1x1 conv + batch norm + nearest upsampling by
// 2^(j-i), and a higher one (j < i) through i-j strided 3x3 conv + batch norm steps (relu between
// them). Node names follow the official code's fuse_layers[i][j]: "j.0", "j.1" (up) and
// "j.k.0", "j.k.1" (down step k).
#include "hr_fuse.hpp"

#include <cnnkit/input_ref.hpp>
#include <cnnkit/layer.hpp>

namespace cnnkit::plugins::hr_fuse {
namespace {

struct hr_fuse_layer {
    using params = hr_fuse::params;
    static constexpr const char* type = "hr_fuse";
    static constexpr const char* doc =
        "HRNet fusion into stream `output`: strided 3x3 conv down, 1x1 conv + upsample up, sum, "
        "relu";

    static sdk::shape infer(const params& p, std::span<const sdk::shape> in) {
        sdk::expect(in.size() >= 2, "hr_fuse takes 2 or more streams, got ", in.size());
        sdk::expect(p.output >= 0 && p.output < static_cast<int>(in.size()), "output ", p.output,
                    " is not one of the ", in.size(), " streams");
        for (std::size_t j = 0; j < in.size(); ++j) {
            sdk::expect(in[j].rank() == 4 && in[j].n() == in[0].n(),
                        "hr_fuse streams must be NCHW with one batch size: stream ", j, " ",
                        sdk::input_ref{j, in[j]}, ", stream 0 ", sdk::input_ref{0, in[0]});
            if (j == 0) continue;
            const auto half = [](std::int64_t x) { return (x + 1) / 2; };
            sdk::expect(in[j].h() == half(in[j - 1].h()) && in[j].w() == half(in[j - 1].w()),
                        "stream ", j, " ", sdk::input_ref{j, in[j]},
                        " must have half the resolution of stream ", j - 1, " ",
                        sdk::input_ref{j - 1, in[j - 1]});
            sdk::expect(in[j].h() << 1 == in[j - 1].h() && in[j].w() << 1 == in[j - 1].w(),
                        "stream ", j - 1, " ", sdk::input_ref{j - 1, in[j - 1]},
                        " must have even height and width to be upsampled back to");
        }
        return in[static_cast<std::size_t>(p.output)];
    }

    static std::string conv_bn(sdk::builder& b, const std::string& name, const std::string& x,
                               std::int64_t channels, int kernel, int stride) {
        b.add(name + ".0", "conv",
              cat("{out_channels: ", channels, ", kernel: ", kernel, ", stride: ", stride,
                  ", pad: ", kernel / 2, ", bias: false}"),
              {x});
        return b.add(name + ".1", "batch_norm", "{}", {name + ".0"});
    }

    static std::string from_stream(sdk::builder& b, std::span<const sdk::shape> in, int i, int j) {
        const std::string x = sdk::builder::input(j), name = std::to_string(j);
        if (j == i) return x;
        if (j > i) {
            const std::string y = conv_bn(b, name, x, in[static_cast<std::size_t>(i)].c(), 1, 1);
            const int f = 1 << (j - i);
            return b.add(name + ".2", "upsample", cat("{mode: nearest, scale: [", f, ", ", f, "]}"),
                         {y});
        }
        std::string y = x;
        for (int k = 0; k < i - j; ++k) {
            const bool last = k == i - j - 1;
            const std::string step = cat(name, '.', k);
            const auto ch = in[static_cast<std::size_t>(last ? i : j)].c();
            y = conv_bn(b, step, y, ch, 3, 2);
            if (!last) y = b.add(step + ".2", "relu", "{}", {y});
        }
        return y;
    }

    static void expand(const params& p, std::span<const sdk::shape> in, sdk::builder& b) {
        (void)infer(p, in);
        std::string sum;
        for (int j = 0; j < static_cast<int>(in.size()); ++j) {
            const std::string y = from_stream(b, in, p.output, j);
            sum = j == 0 ? y : b.add(cat("sum", j), "add", "{}", {sum, y});
        }
        b.output(b.add("relu", "relu", "{}", {sum}));
    }
};

}  // namespace
}  // namespace cnnkit::plugins::hr_fuse

CNNKIT_REGISTER_PLUGIN("hr_fuse", "1.0", cnnkit::plugins::hr_fuse::hr_fuse_layer)
