// residual.cpp: the residual unit as a composite of conv, batch_norm, relu and add. The
// shortcut is the identity, or a strided 1x1 conv + batch norm when the shape changes. Node
// names follow torchvision (conv1, bn1, ..., downsample.0, downsample.1).
#include "residual.hpp"

#include <cnnkit/layer.hpp>

namespace cnnkit::plugins::residual {
namespace {

struct residual_layer {
    using params = residual::params;
    static constexpr const char* type = "residual";
    static constexpr const char* doc =
        "ResNet unit: basic (3x3, 3x3) or bottleneck (1x1, 3x3, 1x1) with identity or projection "
        "shortcut";

    static int out_channels(const params& p) {
        return p.bottleneck ? p.channels * p.expansion : p.channels;
    }
    static sdk::shape infer(const params& p, std::span<const sdk::shape> in) {
        sdk::expect(in.size() == 1 && in[0].rank() == 4, "residual takes one NCHW input");
        sdk::expect(p.channels > 0 && p.stride > 0 && p.expansion > 0 && p.units > 0,
                    "channels, stride, expansion and units must be > 0");
        auto down = [&](std::int64_t x) { return (x - 1) / p.stride + 1; };
        return {in[0].n(), out_channels(p), down(in[0].h()), down(in[0].w())};
    }

    static std::string conv_bn(sdk::builder& b, const std::string& i, const std::string& input,
                               int channels, int kernel, int stride) {
        b.add("conv" + i, "conv",
              cat("{out_channels: ", channels, ", kernel: ", kernel, ", stride: ", stride,
                  ", pad: ", kernel / 2, ", bias: false}"),
              {input});
        return b.add("bn" + i, "batch_norm", "{}", {"conv" + i});
    }

    // A stage: units named "0", "1", ... each a one-unit residual; only the first strides.
    static void expand_stage(const params& p, sdk::builder& b) {
        std::string x = sdk::builder::input(0);
        for (int u = 0; u < p.units; ++u)
            x = b.add(std::to_string(u), "residual",
                      cat("{channels: ", p.channels, ", stride: ", u == 0 ? p.stride : 1,
                          ", bottleneck: ", p.bottleneck ? "true" : "false",
                          ", expansion: ", p.expansion, "}"),
                      {x});
        b.output(x);
    }

    static void expand(const params& p, std::span<const sdk::shape> in, sdk::builder& b) {
        (void)infer(p, in);
        if (p.units > 1) return expand_stage(p, b);
        const std::string x = sdk::builder::input(0);
        std::string y;
        if (p.bottleneck) {
            b.add("relu1", "relu", "{}", {conv_bn(b, "1", x, p.channels, 1, 1)});
            b.add("relu2", "relu", "{}", {conv_bn(b, "2", "relu1", p.channels, 3, p.stride)});
            y = conv_bn(b, "3", "relu2", out_channels(p), 1, 1);
        } else {
            b.add("relu1", "relu", "{}", {conv_bn(b, "1", x, p.channels, 3, p.stride)});
            y = conv_bn(b, "2", "relu1", p.channels, 3, 1);
        }
        std::string shortcut = x;
        if (p.stride != 1 || in[0].c() != out_channels(p)) {
            b.add("downsample.0", "conv",
                  cat("{out_channels: ", out_channels(p), ", kernel: 1, stride: ", p.stride,
                      ", bias: false}"),
                  {x});
            shortcut = b.add("downsample.1", "batch_norm", "{}", {"downsample.0"});
        }
        b.add("add", "add", "{}", {y, shortcut});
        b.output(b.add("relu", "relu", "{}", {"add"}));
    }
};

}  // namespace
}  // namespace cnnkit::plugins::residual

CNNKIT_REGISTER_PLUGIN("residual", "1.0", cnnkit::plugins::residual::residual_layer)
