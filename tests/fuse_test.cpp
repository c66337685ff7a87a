// fuse_test.cpp: load-time fusion (conv + batch_norm / add / activation) against the unfused
// graph of the same model and weights, and the cases that must stay unfused.
#include <catch2/catch.hpp>

#include "testing.hpp"

using namespace cnnkit;
using namespace cnnkit::kernel;

namespace {

struct both {
    std::unique_ptr<network> fused, plain;
};

both load_both(const std::string& yaml, int threads = 2) {
    both b;
    for (int f = 0; f < 2; ++f) {
        network_options o;
        o.random_seed = 17;
        o.threads = threads;
        o.fuse = f;
        (f ? b.fused : b.plain) =
            network::from_graph(load_yaml_text(testing::plugins(), yaml, "f.yaml"), o);
    }
    return b;
}

std::vector<float> values(const host_tensor& t) {
    return {t.f32(), t.f32() + t.shape.numel()};
}

// Every output of the fused network is within rtol of the unfused one's.
void check_same_outputs(const both& b, const host_tensor& x, float rtol) {
    const auto want = b.plain->run({{"x", x}});
    const auto got = b.fused->run({{"x", x}});
    REQUIRE(got.size() == want.size());
    for (const auto& [name, t] : want) {
        INFO("output " << name);
        testing::check_close(got.at(name), t.shape, values(t), rtol, 1e-5f);
    }
}

// A ResNet basic block with a projection shortcut, and a stem with conv (no bias) + bn + relu.
const std::string resnet_like = R"(
name: block
inputs: {x: [2, 5, 13, 11]}
nodes:
  - {name: stem, type: conv, out_channels: 8, kernel: 3, pad: 1, bias: false}
  - {name: stem_bn, type: batch_norm, epsilon: 0.001}
  - {name: stem_relu, type: relu}
  - {name: down, type: conv, out_channels: 16, kernel: 1, stride: 2, bias: false}
  - {name: down_bn, type: batch_norm}
  - {name: c1, type: conv, out_channels: 16, kernel: 3, stride: 2, pad: 1, inputs: [stem_relu]}
  - {name: c1_bn, type: batch_norm}
  - {name: c1_relu, type: relu}
  - {name: c2, type: conv, out_channels: 16, kernel: 3, pad: 1, bias: false}
  - {name: c2_bn, type: batch_norm}
  - {name: sum, type: add, inputs: [c2_bn, down_bn]}
  - {name: out, type: relu}
  - {name: head, type: conv, out_channels: 4, kernel: 1}
  - {name: head_act, type: clip, min: 0, max: 6}
outputs: {y: head_act}
)";

}  // namespace

TEST_CASE("fuse: conv+bn+relu, residual add and relu6 give the unfused results", "[fuse][cpu]") {
    const auto b = load_both(resnet_like);
    CHECK(b.fused->fusion().batch_norms == 4);
    CHECK(b.fused->fusion().residuals == 1);
    CHECK(b.fused->fusion().activations == 4);  // stem_relu, c1_relu, out (after sum), head_act
    CHECK(b.fused->g().nodes.size() == 5);      // stem, down, c1, c2, head
    CHECK(b.plain->g().nodes.size() == 14);
    for (int seed = 0; seed < 3; ++seed)
        check_same_outputs(b, testing::random_tensor({2, 5, 13, 11}, 40 + seed, -3, 3), 1e-4f);
}

TEST_CASE("fuse: fused results are bit-identical at 1 and 2 threads", "[fuse][cpu]") {
    const auto one = load_both(resnet_like, 1), two = load_both(resnet_like, 2);
    const auto x = testing::random_tensor({2, 5, 13, 11}, 9);
    CHECK(one.fused->run({{"x", x}}).at("y").bytes == two.fused->run({{"x", x}}).at("y").bytes);
}

TEST_CASE("fuse: a tensor read twice or made public is not fused away", "[fuse][cpu]") {
    const std::string yaml = R"(
name: keep
inputs: {x: [1, 3, 9, 9]}
nodes:
  - {name: a, type: conv, out_channels: 4, kernel: 3}
  - {name: a_bn, type: batch_norm}
  - {name: side, type: relu, inputs: [a]}
  - {name: b, type: conv, out_channels: 4, kernel: 1, inputs: [a_bn], activation: relu}
  - {name: b_bn, type: batch_norm}
  - {name: c, type: conv, out_channels: 4, kernel: 1}
  - {name: c_act, type: relu}
  - {name: d, type: conv, out_channels: 4, kernel: 1, inputs: [x]}
  - {name: d_add, type: add, inputs: [d, d]}
  - {name: e, type: conv, out_channels: 4, kernel: 1, inputs: [x], groups: 1}
  - {name: e_act, type: leaky_relu}
outputs: {side: side, c: c, c_act: c_act, b_bn: b_bn, d_add: d_add, e_act: e_act}
)";
    const auto b = load_both(yaml);
    // a: two readers; b: already has an activation; c: its output is public; d: add(d, d);
    // e: leaky_relu has no conv epilogue.
    CHECK(b.fused->fusion().batch_norms == 0);
    CHECK(b.fused->fusion().residuals == 0);
    CHECK(b.fused->fusion().activations == 0);
    CHECK(b.fused->g().nodes.size() == b.plain->g().nodes.size());
    check_same_outputs(b, testing::random_tensor({1, 3, 9, 9}, 3), 0.0f);
}

TEST_CASE("fuse: the add goes into the conv that runs last of its two inputs", "[fuse][cpu]") {
    const std::string yaml = R"(
name: late
inputs: {x: [1, 4, 8, 8]}
nodes:
  - {name: a, type: conv, out_channels: 4, kernel: 3, pad: 1}
  - {name: late, type: conv, out_channels: 4, kernel: 1, inputs: [x]}
  - {name: s, type: add, inputs: [a, late]}
outputs: {y: s}
)";
    const auto b = load_both(yaml);
    CHECK(b.fused->fusion().residuals == 1);
    REQUIRE(b.fused->g().nodes.size() == 2);
    CHECK(b.fused->g().nodes[1].name == "late");  // a runs first: late can read it
    CHECK(b.fused->g().nodes[1].inputs.size() == 2);
    check_same_outputs(b, testing::random_tensor({1, 4, 8, 8}, 4), 0.0f);
}
