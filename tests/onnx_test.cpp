// onnx_test.cpp: the ONNX importer on small models built here: the YAML it writes, the weights,
// results against a direct convolution, and an error naming node, op and attribute for anything
// it cannot map. (ONNX's own node tests and resnet50 run as separate ctest entries.)
#include <onnx/onnx_pb.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "onnx/importer.hpp"
#include "testing.hpp"

using namespace cnnkit;
using cnnkit::cat;

namespace {

void add_tensor_info(onnx::ValueInfoProto* v, const std::string& name, std::vector<int> dims) {
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    for (int d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
}

void add_initializer(onnx::GraphProto* g, const std::string& name, std::vector<int> dims,
                     float step) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    int n = 1;
    for (int d : dims) t->add_dims(d), n *= d;
    for (int i = 0; i < n; ++i) t->add_float_data(step * float(i % 7 - 3));
}

// An opset-13 model named `name` with one float input x of `dims` and nothing else yet.
onnx::ModelProto model_with_input(const std::string& name, std::vector<int> dims) {
    onnx::ModelProto m;
    m.set_ir_version(7);
    m.add_opset_import()->set_version(13);
    auto* g = m.mutable_graph();
    g->set_name(name);
    add_tensor_info(g->add_input(), "x", std::move(dims));
    return m;
}

// x [1, 1, 4, 4] -> Conv (2 filters 3x3, pads 1, bias) "conv0" -> Relu "relu0" -> y
onnx::ModelProto conv_relu() {
    onnx::ModelProto m = model_with_input("tiny", {1, 1, 4, 4});
    auto* g = m.mutable_graph();
    add_initializer(g, "W", {2, 1, 3, 3}, 0.25f);
    add_initializer(g, "B", {2}, 0.5f);
    auto* conv = g->add_node();
    conv->set_name("conv0");
    conv->set_op_type("Conv");
    for (const char* i : {"x", "W", "B"}) conv->add_input(i);
    conv->add_output("c");
    auto* pads = conv->add_attribute();
    pads->set_name("pads");
    pads->set_type(onnx::AttributeProto::INTS);
    for (int i = 0; i < 4; ++i) pads->add_ints(1);
    auto* relu = g->add_node();
    relu->set_name("relu0");
    relu->set_op_type("Relu");
    relu->add_input("c");
    relu->add_output("y");
    add_tensor_info(g->add_output(), "y", {1, 2, 4, 4});
    return m;
}

std::string save(const onnx::ModelProto& m, const std::string& name) {
    const std::string path = testing::temp_dir("onnx") + "/" + name + ".onnx";
    std::ofstream out(path, std::ios::binary);
    m.SerializeToOstream(&out);
    return path;
}

std::string import_error(const onnx::ModelProto& m, const std::string& name) {
    try {
        kernel::import_onnx(testing::plugins(), save(m, name));
    } catch (const std::exception& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("onnx: Conv and Relu become conv and relu lines with the weights under node names",
          "[onnx]") {
    const auto im = kernel::import_onnx(testing::plugins(), save(conv_relu(), "conv_relu"));
    CHECK_THAT(im.yaml, Catch::Contains("  x: [1, 1, 4, 4]\n"));
    CHECK_THAT(im.yaml, Catch::Contains("  - {name: conv0, type: conv, inputs: [x], "
                                        "out_channels: 2, pad: [1, 1, 1, 1]}\n"));
    CHECK_THAT(im.yaml, Catch::Contains("  - {name: relu0, type: relu, inputs: [conv0]}\n"));
    CHECK_THAT(im.yaml, Catch::Contains("outputs:\n  y: relu0\n"));
    REQUIRE(im.weights.size() == 2);
    CHECK(im.weights[0].first == "conv0.weight");
    CHECK(im.weights[0].second.shape == sdk::shape{2, 1, 3, 3});
    CHECK(im.weights[1].first == "conv0.bias");
}

TEST_CASE("onnx: running the .onnx file matches a direct convolution", "[onnx][cpu]") {
    const std::string path = save(conv_relu(), "conv_relu_run");
    auto net = kernel::network::load(testing::plugins(), path, {});
    const auto x = testing::random_tensor({1, 1, 4, 4}, 5);
    const auto y = net->run({{"x", x}}).at("y");
    std::vector<float> want;
    for (int o = 0; o < 2; ++o)
        for (int i = 0; i < 4; ++i)
            for (int j = 0; j < 4; ++j) {
                double s = 0.5 * ((o % 7) - 3);  // B as add_initializer fills it
                for (int u = 0; u < 3; ++u)
                    for (int v = 0; v < 3; ++v) {
                        const int yi = i + u - 1, xj = j + v - 1;
                        if (yi < 0 || yi > 3 || xj < 0 || xj > 3) continue;
                        s += 0.25 * ((o * 9 + u * 3 + v) % 7 - 3) * x.f32()[yi * 4 + xj];
                    }
                want.push_back(float(std::max(0.0, s)));
            }
    testing::check_close(y, {1, 2, 4, 4}, want);
}

TEST_CASE("onnx: an unsupported op, attribute or value is an error naming node, op and attribute",
          "[onnx]") {
    auto m = conv_relu();
    m.mutable_graph()->mutable_node(1)->set_op_type("Swish");
    CHECK_THAT(import_error(m, "op"),
               Catch::Contains("node 'relu0' (Swish): op 'Swish' is not supported"));

    m = conv_relu();
    auto* a = m.mutable_graph()->mutable_node(0)->add_attribute();
    a->set_name("bogus");
    a->set_type(onnx::AttributeProto::INT);
    CHECK_THAT(import_error(m, "attr"),
               Catch::Contains("node 'conv0' (Conv): attribute 'bogus' is not supported"));

    m = conv_relu();
    a = m.mutable_graph()->mutable_node(0)->add_attribute();
    a->set_name("auto_pad");
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s("SOMETIMES");
    CHECK_THAT(import_error(m, "value"),
               Catch::Contains("node 'conv0' (Conv): attribute 'auto_pad' value 'SOMETIMES' is "
                               "not supported"));

    m = conv_relu();
    m.mutable_graph()->mutable_node(1)->set_op_type("Transpose");
    CHECK_THAT(import_error(m, "fold"),
               Catch::Contains("node 'relu0' (Transpose): op 'Transpose' is supported only on "
                               "constants (shape arithmetic), and an input here is computed"));

    m = conv_relu();
    m.mutable_graph()->mutable_initializer()->RemoveLast();  // B is now computed by nobody
    add_tensor_info(m.mutable_graph()->add_input(), "B", {2});
    CHECK_THAT(import_error(m, "computed"),
               Catch::Contains("node 'conv0' (Conv): input 2 (B) 'B' must be a constant"));
}

TEST_CASE("onnx: folding Squeeze refuses an axis whose extent is not 1", "[onnx]") {
    // ConstantOfShape [0, 2] -> Squeeze axis 0 used to leave dims [2] over no values, which the
    // folded Div below then read past (fuzz_onnx, tests/fuzz/onnx/regress_squeeze_zero_axis.onnx).
    for (const std::int64_t extent : {0, 3}) {
        onnx::ModelProto m = model_with_input("squeeze", {1, 1, 2, 2});
        auto* g = m.mutable_graph();
        auto add_ints = [&](const std::string& name, std::vector<std::int64_t> v) {
            auto* t = g->add_initializer();
            t->set_name(name);
            t->set_data_type(onnx::TensorProto::INT64);
            t->add_dims(static_cast<std::int64_t>(v.size()));
            for (auto x : v) t->add_int64_data(x);
        };
        add_ints("shape", {extent, 2});
        add_ints("axis", {0});
        add_initializer(g, "two", {2}, 1.0f);
        auto node = [&](const char* op, std::vector<std::string> in, const char* out) {
            auto* n = g->add_node();
            n->set_op_type(op);
            n->set_name(out);
            for (const auto& i : in) n->add_input(i);
            n->add_output(out);
        };
        node("ConstantOfShape", {"shape"}, "zeros");
        node("Squeeze", {"zeros", "axis"}, "sq");
        node("Div", {"two", "sq"}, "q");
        node("Relu", {"x"}, "y");
        add_tensor_info(g->add_output(), "y", {1, 1, 2, 2});
        INFO("extent " << extent);
        CHECK_THAT(import_error(m, cat("squeeze", extent)),
                   Catch::Contains(cat("node 'sq' (Squeeze): Squeeze axis 0 of a [", extent,
                                       ", 2] constant has extent ", extent, ", not 1")));
    }
}

TEST_CASE("onnx: a file that is not a model is refused by name", "[onnx]") {
    const std::string path = testing::temp_dir("onnx") + "/junk.onnx";
    std::ofstream(path) << "this is not protobuf \xff\xff\xff";
    REQUIRE_THROWS_WITH(kernel::import_onnx(testing::plugins(), path),
                        Catch::Contains("junk.onnx: not an ONNX model"));
}

TEST_CASE(
    "onnx: cnnkit import writes YAML and weights that check and run load, a refused model "
    "leaves no file",
    "[onnx][cli]") {
    const std::string dir = testing::temp_dir("onnx_cli");
    const std::string good = save(conv_relu(), "cli_good");
    std::string out;
    CHECK(testing::run_cnnkit(cat("import ", good), out) == 1);
    CHECK_THAT(out, Catch::Contains("usage: cnnkit import MODEL.onnx -o NET.yaml --weights"));
    REQUIRE(testing::run_cnnkit(
                cat("import ", good, " -o ", dir, "/n.yaml --weights ", dir, "/n.safetensors"),
                out) == 0);
    CHECK(testing::run_cnnkit(cat("check ", dir, "/n.yaml"), out) == 0);
    CHECK_THAT(out, Catch::Contains("output y: 1x2x4x4"));
    CHECK(testing::run_cnnkit(cat("check ", good), out) == 0);
    CHECK_THAT(out, Catch::Contains("total: 2 nodes, 20 parameters"));

    auto bad = conv_relu();
    bad.mutable_graph()->mutable_node(1)->set_op_type("Swish");
    const std::string bad_path = save(bad, "cli_bad");
    CHECK(testing::run_cnnkit(
              cat("import ", bad_path, " -o ", dir, "/b.yaml --weights ", dir, "/b.safetensors"),
              out) == 1);
    CHECK_THAT(out, Catch::Contains("op 'Swish' is not supported"));
    CHECK_FALSE(std::filesystem::exists(dir + "/b.yaml"));
    CHECK_FALSE(std::filesystem::exists(dir + "/b.safetensors"));
}

TEST_CASE("onnx: Softmax before opset 13 normalises over all dims from axis on", "[onnx][cpu]") {
    onnx::ModelProto m;
    m.set_ir_version(6);
    m.add_opset_import()->set_version(11);
    auto* g = m.mutable_graph();
    add_tensor_info(g->add_input(), "x", {2, 3, 4});
    auto* n = g->add_node();
    n->set_op_type("Softmax");
    n->add_input("x");
    n->add_output("y");
    auto* axis = n->add_attribute();
    axis->set_name("axis");
    axis->set_type(onnx::AttributeProto::INT);
    axis->set_i(1);
    add_tensor_info(g->add_output(), "y", {2, 3, 4});
    auto net = kernel::network::load(testing::plugins(), save(m, "softmax11"), {});
    const auto x = testing::random_tensor({2, 3, 4}, 9, -3.0f, 3.0f);
    std::vector<float> want;
    for (int b = 0; b < 2; ++b) {
        double sum = 0;
        for (int i = 0; i < 12; ++i) sum += std::exp(double(x.f32()[b * 12 + i]));
        for (int i = 0; i < 12; ++i)
            want.push_back(float(std::exp(double(x.f32()[b * 12 + i])) / sum));
    }
    testing::check_close(net->run({{"x", x}}).at("y"), {2, 3, 4}, want);
}
