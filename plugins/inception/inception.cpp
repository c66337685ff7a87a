// inception.cpp: the inception module as a composite: four branches of conv/pool primitives
// concatenated on channels. Node names follow torchvision (branch1.conv, branch2.0.conv, ...).
#include "inception.hpp"

#include <cnnkit/layer.hpp>

namespace cnnkit::plugins::inception {
namespace {

struct inception_layer {
    using params = inception::params;
    static constexpr const char* type = "inception";
    static constexpr const char* doc =
        "GoogLeNet v1 module: 1x1 | 1x1->3x3 | 1x1->5x5 | maxpool->1x1, concatenated";

    static sdk::shape infer(const params& p, std::span<const sdk::shape> in) {
        sdk::expect(in.size() == 1 && in[0].rank() == 4, "inception takes one NCHW input");
        sdk::expect(p.c1x1 > 0 && p.c3x3_reduce > 0 && p.c3x3 > 0 && p.c5x5_reduce > 0 &&
                        p.c5x5 > 0 && p.pool_proj > 0,
                    "every branch width must be > 0");
        sdk::expect(p.branch3_kernel > 0 && p.branch3_kernel % 2 == 1,
                    "branch3_kernel must be odd, got ", p.branch3_kernel);
        return {in[0].n(), p.c1x1 + p.c3x3 + p.c5x5 + p.pool_proj, in[0].h(), in[0].w()};
    }

    // conv (+ batch norm) + relu named `name`; returns the tensor to feed on.
    static std::string unit(sdk::builder& b, const params& p, const std::string& name,
                            const std::string& input, int channels, int kernel) {
        const std::string conv = cat("{out_channels: ", channels, ", kernel: ", kernel,
                                     ", pad: ", kernel / 2);
        if (!p.batch_norm)
            return b.add(name + ".conv", "conv", conv + ", activation: relu}", {input});
        b.add(name + ".conv", "conv", conv + ", bias: false}", {input});
        b.add(name + ".bn", "batch_norm", "{epsilon: 0.001}", {name + ".conv"});
        return b.add(name + ".relu", "relu", "{}", {name + ".bn"});
    }

    static void expand(const params& p, std::span<const sdk::shape> in, sdk::builder& b) {
        (void)infer(p, in);
        const std::string x = sdk::builder::input(0);
        const std::string b1 = unit(b, p, "branch1", x, p.c1x1, 1);
        const std::string b2 = unit(b, p, "branch2.1", unit(b, p, "branch2.0", x, p.c3x3_reduce, 1),
                                    p.c3x3, 3);
        const std::string b3 = unit(b, p, "branch3.1", unit(b, p, "branch3.0", x, p.c5x5_reduce, 1),
                                    p.c5x5, p.branch3_kernel);
        b.add("branch4.0", "pool",
              "{mode: max, kernel: 3, stride: 1, pad: 1, ceil_mode: true}", {x});
        const std::string b4 = unit(b, p, "branch4.1", "branch4.0", p.pool_proj, 1);
        b.output(b.add("concat", "concat", "{axis: 1}", {b1, b2, b3, b4}));
    }
};

}  // namespace
}  // namespace cnnkit::plugins::inception

CNNKIT_REGISTER_PLUGIN("inception", "1.0", cnnkit::plugins::inception::inception_layer)
