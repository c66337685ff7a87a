// hr_fuse_test.cpp: the HRNet fusion composite: shapes, node and weight names of the official
// code's fuse_layers, parameter counts, and refusal of streams that do not halve. (Its numbers
// are checked against PyTorch in tests/pytorch with configs/hrnet_small.yaml.)
#include "testing.hpp"

#include "graph/yaml_loader.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace cnnkit;
using namespace cnnkit::kernel;

namespace {
graph load_fuse(int output) {
    return load_yaml_text(testing::plugins(),
                          cat("inputs: {a: [1, 8, 16, 16], b: [1, 16, 8, 8], c: [1, 32, 4, 4]}\n"
                              "nodes:\n  - {name: f, type: hr_fuse, output: ",
                              output, ", inputs: [a, b, c]}\n"),
                          "f.yaml");
}
std::set<std::string> weight_names(const graph& g) {
    std::set<std::string> s;
    for (const auto& w : g.weights) s.insert(w.name);
    return s;
}
}  // namespace

TEST_CASE("hr_fuse: stream 0 upsamples streams 1 and 2 through 1x1 conv + batch norm",
          "[hr_fuse][shape]") {
    const graph g = load_fuse(0);
    CHECK(g.tensors[g.outputs[0].second].shape == sdk::shape{1, 8, 16, 16});
    const auto w = weight_names(g);
    CHECK(w.count("f.1.0.weight"));
    CHECK(w.count("f.2.1.running_var"));
    std::int64_t params = 0;
    for (const auto& n : g.nodes) params += g.param_count(n);
    CHECK(params == 16 * 8 + 2 * 8 + 32 * 8 + 2 * 8);
}

TEST_CASE("hr_fuse: stream 2 reaches down from stream 0 in two strided 3x3 steps",
          "[hr_fuse][shape]") {
    const graph g = load_fuse(2);
    CHECK(g.tensors[g.outputs[0].second].shape == sdk::shape{1, 32, 4, 4});
    const auto w = weight_names(g);
    CHECK(w.count("f.0.0.0.weight"));  // 8 -> 8 channels, stride 2, then relu
    CHECK(w.count("f.0.1.0.weight"));  // 8 -> 32 channels, stride 2
    CHECK(w.count("f.1.0.0.weight"));  // 16 -> 32 channels, stride 2
    std::int64_t params = 0, buffers = 0;
    for (const auto& n : g.nodes) params += g.param_count(n), buffers += g.buffer_count(n);
    CHECK(params == (8 * 8 * 9 + 16) + (8 * 32 * 9 + 64) + (16 * 32 * 9 + 64));
    CHECK(buffers == 16 + 64 + 64);
    bool relu_between = false;
    for (const auto& n : g.nodes) relu_between |= n.name == "f.0.0.2";
    CHECK(relu_between);
}

TEST_CASE("hr_fuse: streams that do not halve in resolution are refused", "[hr_fuse][shape]") {
    const std::vector<sdk::shape> odd = {{1, 8, 6, 6}, {1, 16, 3, 3}, {1, 32, 2, 2}};
    CHECK_THROWS_WITH(testing::infer_layer("hr_fuse", "{output: 0}", odd),
                      Catch::Contains("(hr_fuse): stream 1 'x1' {1, 16, 3, 3} must have even "
                                      "height and width"));
    const std::vector<sdk::shape> wrong = {{1, 8, 16, 16}, {1, 16, 8, 8}, {1, 32, 3, 3}};
    CHECK_THROWS_WITH(testing::infer_layer("hr_fuse", "{output: 0}", wrong),
                      Catch::Contains("stream 2 'x2' {1, 32, 3, 3} must have half the "
                                      "resolution of stream 1 'x1' {1, 16, 8, 8}"));
    CHECK_THROWS_WITH(testing::infer_layer("hr_fuse", "{output: 3}", wrong),
                      Catch::Contains("output 3 is not one of the 3 streams"));
}
