// residual_test.cpp: the residual composite: shapes, torchvision weight names and counts, and
// the output against a reference computed from the expanded primitives' definitions.
#include "testing.hpp"

#include "graph/yaml_loader.hpp"

#include <catch2/catch.hpp>

using namespace cnnkit;
using namespace cnnkit::kernel;

namespace {
graph load(const std::string& node, const std::string& shape) {
    return load_yaml_text(testing::plugins(),
                          cat("inputs: {x: ", shape, "}\nnodes:\n  - ", node, "\n"), "r.yaml");
}
std::int64_t params_of(const graph& g) {
    std::int64_t n = 0;
    for (const auto& nd : g.nodes) n += g.param_count(nd);
    return n;
}
std::int64_t buffers_of(const graph& g) {
    std::int64_t n = 0;
    for (const auto& nd : g.nodes) n += g.buffer_count(nd);
    return n;
}
}  // namespace

TEST_CASE("residual: a basic unit keeps the shape and has torchvision's 73,984 learnable parameters",
          "[residual][shape]") {
    const graph g = load("{name: layer1, type: residual, channels: 64, repeat: 1}", "[1, 64, 56, 56]");
    CHECK(g.tensors[g.outputs[0].second].shape == sdk::shape{1, 64, 56, 56});
    // torchvision counts 73,984 learnable; the 2 x 2 x 64 running statistics are buffers.
    CHECK(params_of(g) == 73984);
    CHECK(buffers_of(g) == 256);
    CHECK(g.weights[0].name == "layer1.0.conv1.weight");
    CHECK(g.weights[2].name == "layer1.0.bn1.bias");
}

TEST_CASE("residual: a strided bottleneck projects its shortcut (downsample.0/.1)",
          "[residual][shape]") {
    const graph g = load("{name: layer2, type: residual, channels: 128, stride: 2, bottleneck: true, repeat: 1}",
                         "[1, 256, 56, 56]");
    CHECK(g.tensors[g.outputs[0].second].shape == sdk::shape{1, 512, 28, 28});
    bool has_downsample = false;
    for (const auto& w : g.weights) has_downsample |= w.name == "layer2.0.downsample.0.weight";
    CHECK(has_downsample);
    // torchvision resnet50 layer2[0]: 379,392 parameters; running stats are buffers.
    CHECK(params_of(g) == 379392);
    CHECK(buffers_of(g) == 2 * (128 + 128 + 512 + 512));
}

TEST_CASE("residual: the output is relu(bn2(conv2(relu(bn1(conv1 x)))) + x)", "[residual][cpu]") {
    const auto x = testing::random_tensor({1, 4, 6, 6}, 2);
    network_options o;
    o.random_seed = 5;
    auto whole = network::from_graph(load("{name: r, type: residual, channels: 4}", "[1, 4, 6, 6]"), o);
    // The same chain without the composite: the weights have the same names, so the same values.
    const std::string manual = R"(
inputs: {x: [1, 4, 6, 6]}
nodes:
  - {name: conv1, type: conv, out_channels: 4, kernel: 3, pad: 1, bias: false}
  - {name: bn1, type: batch_norm}
  - {name: relu1, type: relu}
  - {name: conv2, type: conv, out_channels: 4, kernel: 3, pad: 1, bias: false}
  - {name: bn2, type: batch_norm}
)";
    graph gm = load_yaml_text(testing::plugins(), manual, "m.yaml");
    std::vector<std::pair<std::string, host_tensor>> w;
    for (const auto& wi : whole->source().weights)
        w.emplace_back(wi.name.substr(2), testing::make_tensor(wi.shape, random_weight(wi, 5)));
    const std::string file = testing::temp_dir("residual") + "/w.safetensors";
    write_safetensors(file, w);
    auto branch = network::from_graph(std::move(gm), {file, std::nullopt});
    const auto y = whole->run({{"x", x}}).at("out");
    const auto b = branch->run({{"x", x}}).at("out");
    std::vector<float> want(static_cast<std::size_t>(x.shape.numel()));
    for (std::size_t i = 0; i < want.size(); ++i)
        want[i] = std::max(0.0f, b.f32()[i] + x.f32()[i]);
    testing::check_close(y, x.shape, want, 1e-6f, 1e-6f);
}

TEST_CASE("residual: units: 4 is a stage layer2.0 .. layer2.3 that strides only in its first unit",
          "[residual][shape]") {
    const graph g = load("{name: layer2, type: residual, channels: 128, stride: 2, "
                         "bottleneck: true, units: 4}",
                         "[1, 256, 56, 56]");
    CHECK(g.tensors[g.outputs[0].second].shape == sdk::shape{1, 512, 28, 28});
    int downsamples = 0;
    bool last_unit = false;
    for (const auto& w : g.weights) {
        downsamples += w.name.find("downsample.0.weight") != std::string::npos;
        last_unit |= w.name == "layer2.3.conv3.weight";
    }
    CHECK(downsamples == 1);  // torchvision: only layer2.0 projects its shortcut
    CHECK(last_unit);
    // torchvision resnet50's layer2: 1,219,584 parameters.
    CHECK(params_of(g) == 1219584);
}
