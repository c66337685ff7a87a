// yaml_test.cpp: the network format: structure (sequential default, inputs, repeat, blocks) and
// every error message word for word, with file:line:col.
#include "testing.hpp"

#include "graph/yaml_loader.hpp"

#include <catch2/catch.hpp>

using namespace cnnkit;
using namespace cnnkit::kernel;

namespace {
graph load(const std::string& text) { return load_yaml_text(testing::plugins(), text, "net.yaml"); }

std::string error_of(const std::string& text) {
    try {
        load(text);
    } catch (const std::exception& e) {
        return full_message(e);
    }
    return "no error";
}
}  // namespace

TEST_CASE("yaml: a node without inputs takes the previous node's output", "[yaml]") {
    const graph g = load(R"(
inputs: {image: [1, 3, 8, 8]}
nodes:
  - {name: c1, type: conv, out_channels: 4, kernel: 3, pad: 1}
  - {name: r1, type: relu}
  - {name: c2, type: conv, out_channels: 2, kernel: 1, inputs: [c1]}
outputs: {out: c2, act: r1}
)");
    REQUIRE(g.nodes.size() == 3);
    CHECK(g.tensors[g.nodes[1].inputs[0]].name == "c1");
    CHECK(g.tensors[g.nodes[2].inputs[0]].name == "c1");
    CHECK(g.outputs[0].first == "out");
    CHECK(g.tensors[g.outputs[0].second].shape == sdk::shape{1, 2, 8, 8});
}

TEST_CASE("yaml: repeat stamps a node N times with dotted names", "[yaml]") {
    const graph g = load(R"(
inputs: {x: [1, 4, 6, 6]}
nodes:
  - {name: body, type: conv, out_channels: 4, kernel: 3, pad: 1, repeat: 3}
)");
    REQUIRE(g.nodes.size() == 3);
    CHECK(g.nodes[2].name == "body.2");
    CHECK(g.weights[0].name == "body.0.weight");
    CHECK(g.outputs[0].first == "out");
}

TEST_CASE("yaml: user blocks take parameters and expand with dotted weight names", "[yaml]") {
    const graph g = load(R"(
blocks:
  conv_relu:
    params: {ch: 8, k: 3}
    nodes:
      - {name: conv, type: conv, out_channels: $ch, kernel: $k, pad: 1}
      - {name: relu, type: relu}
inputs: {x: [1, 3, 10, 10]}
nodes:
  - {name: layer1, type: conv_relu, ch: 16, repeat: 2}
  - {name: head, type: conv_relu, ch: 4, k: 1}
)");
    REQUIRE(g.nodes.size() == 6);
    CHECK(g.nodes[0].name == "layer1.0.conv");
    CHECK(g.weights[0].name == "layer1.0.conv.weight");
    CHECK(g.weights[0].shape == sdk::shape{16, 3, 3, 3});
    CHECK(g.weights[2].shape == sdk::shape{16, 16, 3, 3});
    CHECK(g.tensors[g.outputs[0].second].shape == sdk::shape{1, 4, 12, 12});
}

TEST_CASE("yaml: nodes may be listed out of order and run after their inputs", "[yaml]") {
    const graph g = load(R"(
inputs: {x: [1, 2, 4, 4]}
nodes:
  - {name: b, type: relu, inputs: [a]}
  - {name: a, type: relu, inputs: [x]}
outputs: [b]
)");
    CHECK(g.nodes[0].name == "a");
    CHECK(g.nodes[1].name == "b");
}

TEST_CASE("yaml: a misspelt key names file:line:col and suggests the right one", "[yaml]") {
    CHECK(error_of("inputs: {image: [1, 1, 8, 8]}\nnodes:\n  - name: conv1\n    type: conv\n"
                   "    out_channels: 4\n    kernal: 3\n") ==
          "net.yaml:6:5: unknown key 'kernal' in layer 'conv1' (conv); did you mean 'kernel'?");
}

TEST_CASE("yaml: a duplicate key is refused (yaml-cpp would keep the first)", "[yaml]") {
    CHECK(error_of("inputs: {image: [1, 1, 8, 8]}\nnodes:\n  - name: c\n    type: conv\n"
                   "    out_channels: 4\n    out_channels: 5\n") ==
          "net.yaml:6:5: duplicate key 'out_channels' (first at line 5)");
}

TEST_CASE("yaml: a wrong type names the key, the layer and what was expected", "[yaml]") {
    CHECK(error_of("inputs: {image: [1, 1, 8, 8]}\nnodes:\n  - {name: c, type: conv, out_channels: four}\n") ==
          "net.yaml:3:41: key 'out_channels' of layer 'c' (conv): expected int, got 'four'");
    CHECK(error_of("inputs: {image: [1, 1, 8, 8]}\nnodes:\n  - {name: c, type: conv, out_channels: 2, kernel: [1, 2, 3]}\n") ==
          "net.yaml:3:52: key 'kernel' of layer 'c' (conv): expected int[2], got a list of 3");
    CHECK(error_of("inputs: {image: [1, 1, 8, 8]}\nnodes:\n  - {name: c, type: conv, out_channels: 2, activation: rleu}\n") ==
          "net.yaml:3:56: key 'activation' of layer 'c' (conv): expected "
          "enum{none|relu|relu6|tanh|sigmoid}, got 'rleu'; did you mean 'relu'?");
}

TEST_CASE("yaml: a dangling input is refused with a suggestion", "[yaml]") {
    CHECK(error_of("inputs: {image: [1, 1, 8, 8]}\nnodes:\n  - {name: a, type: relu}\n"
                   "  - {name: b, type: relu, inputs: [imag]}\n") ==
          "net.yaml:4:36: input 'imag' is not defined; did you mean 'image'?");
}

TEST_CASE("yaml: a cycle is refused naming its nodes", "[yaml]") {
    CHECK(error_of("inputs: {x: [1, 2]}\nnodes:\n  - {name: a, type: relu, inputs: [b]}\n"
                   "  - {name: b, type: relu, inputs: [a]}\n") ==
          "net.yaml:3:5: the inputs of nodes a, b form a cycle");
}

TEST_CASE("yaml: an unknown layer type lists the known ones", "[yaml]") {
    CHECK_THAT(error_of("inputs: {x: [1, 2]}\nnodes:\n  - {name: a, type: rellu}\n"),
               Catch::StartsWith("net.yaml:3:21: unknown layer type 'rellu'; did you mean 'relu'? "
                                 "(known types: "));
}

TEST_CASE("yaml: malformed YAML reports the parser's position", "[yaml]") {
    CHECK(error_of("inputs: {x: [1, 2]\nnodes: []\n") ==
          "net.yaml:2:1: end of map flow not found");
}

TEST_CASE("yaml: unknown top-level keys and bad input shapes are refused", "[yaml]") {
    CHECK(error_of("inputs: {x: [1, 2]}\nnode: []\n") ==
          "net.yaml:2:1: unknown key 'node' in the network; did you mean 'nodes'?");
    CHECK(error_of("inputs: {x: [1, 0]}\nnodes: [{type: relu}]\n") ==
          "net.yaml:1:17: input 'x' dimension 1 must be in 1..2147483648, got 0");
}

TEST_CASE("yaml: a shape mismatch names the layer, the plugin, and the shapes", "[yaml]") {
    CHECK(error_of("inputs: {image: [1, 1, 3, 3]}\nnodes:\n  - {name: c, type: conv, out_channels: 2, kernel: 5}\n") ==
          "net.yaml:3:5: layer 'c' (conv): libcnnkit_conv.so: kernel {5, 5} (dilation {1, 1}) does "
          "not fit input {1, 1, 3, 3} with pads {0, 0, 0, 0}");
}

TEST_CASE("yaml: a shape mismatch names both tensors as the file does, at the culprit's entry",
          "[yaml]") {
    const std::string head =
        "inputs: {image: [1, 3, 32, 32]}\nnodes:\n"
        "  - {name: c1, type: conv, out_channels: 8, kernel: 3}\n"
        "  - {name: c2, type: conv, out_channels: 4, kernel: 3, inputs: [image]}\n";
    // Column 39 is `c2` inside `inputs: [c1, c2]`, not the node.
    CHECK(error_of(head + "  - {name: a, type: add, inputs: [c1, c2]}\n") ==
          "net.yaml:5:39: shape mismatch in layer 'a' (add): 'c2' {1, 4, 30, 30} does not "
          "broadcast with 'c1' {1, 8, 30, 30}: dim 1 (right-aligned) is 4 vs 8");
    CHECK(error_of(head + "  - {name: k, type: concat, axis: 2, inputs: [c1, c2]}\n") ==
          "net.yaml:5:51: shape mismatch in layer 'k' (concat): 'c2' {1, 4, 30, 30} does not "
          "match 'c1' {1, 8, 30, 30} outside axis 2: dim 1 is 4 vs 8");
    CHECK(error_of("inputs: {x: [1, 4, 6, 6], r: [1, 2, 6, 6]}\nnodes:\n"
                   "  - {name: c, type: conv, out_channels: 4, kernel: 1, residual: true, "
                   "inputs: [x, r]}\n") ==
          "net.yaml:3:83: shape mismatch in layer 'c' (conv): residual 'r' {1, 2, 6, 6} must "
          "have the output's shape {1, 4, 6, 6} (of 'x' {1, 4, 6, 6})");
    // A composite that checks its streams while it expands points at the stream too.
    CHECK(error_of("inputs: {s0: [1, 8, 16, 16], s1: [1, 16, 4, 4]}\nnodes:\n"
                   "  - {name: f, type: hr_fuse, inputs: [s0, s1]}\n") ==
          "net.yaml:3:43: shape mismatch in layer 'f' (hr_fuse): stream 1 's1' {1, 16, 4, 4} "
          "must have half the resolution of stream 0 's0' {1, 8, 16, 16}");
    CHECK(error_of("inputs: {x: [1, 2, 4, 4]}\nnodes:\n"
                   "  - {name: p, type: pool, kernel: 2, stride: 2, indices: true}\n"
                   "  - {name: u, type: max_unpool, kernel: 2, stride: 2, inputs: [x, p:1]}\n") ==
          "net.yaml:4:67: shape mismatch in layer 'u' (max_unpool): indices 'p:1' {1, 2, 2, 2} "
          "int64 must have the shape of the values 'x' {1, 2, 4, 4}, as int64");
}

TEST_CASE("yaml: block parameters are checked like layer keys", "[yaml]") {
    CHECK(error_of(R"(blocks:
  b:
    params: {ch: 8}
    nodes: [{name: c, type: conv, out_channels: $ch}]
inputs: {x: [1, 1, 4, 4]}
nodes:
  - {name: n, type: b, chh: 3}
)") == "net.yaml:7:24: unknown key 'chh' in node 'n' (block b); did you mean 'ch'?");
}
