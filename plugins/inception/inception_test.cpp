// inception_test.cpp: the inception composite: shape, GoogLeNet 3a parameter count, torchvision
// names, and equality with the same subgraph written by hand in YAML.
#include "testing.hpp"

#include "graph/yaml_loader.hpp"

#include <catch2/catch.hpp>

using namespace cnnkit;
using namespace cnnkit::kernel;

namespace {
const char* module3a = "{c1x1: 64, c3x3_reduce: 96, c3x3: 128, c5x5_reduce: 16, c5x5: 32, pool_proj: 32}";
}

TEST_CASE("inception: GoogLeNet 3a on 28x28x192 gives 28x28x256 with 163,696 parameters",
          "[inception][shape]") {
    const graph g = load_yaml_text(testing::plugins(),
                                   cat("inputs: {x: [1, 192, 28, 28]}\nnodes:\n  - {name: inception3a, "
                                       "type: inception, ", std::string(module3a).substr(1), "\n"),
                                   "i.yaml");
    CHECK(g.tensors[g.outputs[0].second].shape == sdk::shape{1, 256, 28, 28});
    std::int64_t params = 0;
    for (const auto& n : g.nodes) params += g.param_count(n);
    CHECK(params == 163696);
    CHECK(g.weights[0].name == "inception3a.branch1.conv.weight");
    CHECK(g.nodes.back().name == "inception3a.concat");
    CHECK(g.nodes.back().group == "inception3a");
}

TEST_CASE("inception: expansion equals the same branches written by hand", "[inception][cpu]") {
    const std::string composite = cat("inputs: {x: [1, 8, 9, 9]}\nnodes:\n  - {name: m, type: inception, c1x1: 4, "
                                      "c3x3_reduce: 3, c3x3: 5, c5x5_reduce: 2, c5x5: 3, pool_proj: 2}\n");
    const std::string manual = R"(
inputs: {x: [1, 8, 9, 9]}
nodes:
  - {name: b1, type: conv, out_channels: 4, kernel: 1, activation: relu, inputs: [x]}
  - {name: b2r, type: conv, out_channels: 3, kernel: 1, activation: relu, inputs: [x]}
  - {name: b2, type: conv, out_channels: 5, kernel: 3, pad: 1, activation: relu}
  - {name: b3r, type: conv, out_channels: 2, kernel: 1, activation: relu, inputs: [x]}
  - {name: b3, type: conv, out_channels: 3, kernel: 5, pad: 2, activation: relu}
  - {name: p, type: pool, mode: max, kernel: 3, stride: 1, pad: 1, inputs: [x]}
  - {name: b4, type: conv, out_channels: 2, kernel: 1, activation: relu}
  - {name: cat, type: concat, inputs: [b1, b2, b3, b4]}
)";
    auto a = network::from_graph(load_yaml_text(testing::plugins(), composite, "a.yaml"), {std::nullopt, 1});
    graph gm = load_yaml_text(testing::plugins(), manual, "m.yaml");
    // Give the hand-written graph the composite's weights, tensor by tensor.
    const std::vector<std::string> names = {"branch1", "branch2.0", "branch2.1", "branch3.0", "branch3.1", "branch4.1"};
    std::vector<std::pair<std::string, host_tensor>> w;
    const graph& ga = a->g();
    const std::vector<std::string> manual_names = {"b1", "b2r", "b2", "b3r", "b3", "b4"};
    for (std::size_t i = 0; i < names.size(); ++i)
        for (const char* kind : {"weight", "bias"}) {
            const std::string src = cat("m.", names[i], ".conv.", kind);
            for (const auto& wi : ga.weights)
                if (wi.name == src) {
                    const auto v = random_weight(wi, 1);
                    w.emplace_back(cat(manual_names[i], '.', kind), testing::make_tensor(wi.shape, v));
                }
        }
    const std::string file = testing::temp_dir("inception") + "/w.safetensors";
    write_safetensors(file, w);
    auto m = network::from_graph(std::move(gm), {file, std::nullopt});
    const auto x = testing::random_tensor({1, 8, 9, 9}, 4);
    const auto ya = a->run({{"x", x}}).at("out");
    const auto ym = m->run({{"x", x}}).at("out");
    CHECK(ya.shape == sdk::shape{1, 14, 9, 9});
    CHECK(ya.bytes == ym.bytes);
}
