// cli_test.cpp: the cnnkit command line end to end: run writes .npy outputs, layers prints the
// reflected params, check prints the table, and bad input exits non-zero with a clear message.
#include "testing.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

using namespace cnnkit;

TEST_CASE("cli: layers conv lists the conv params from reflection", "[cli]") {
    std::string out;
    REQUIRE(testing::run_cnnkit("layers conv", out) == 0);
    CHECK_THAT(out, Catch::Contains("out_channels") && Catch::Contains("int[2]") &&
                        Catch::Contains("default [3, 3]") && Catch::Contains("libcnnkit_conv.so") &&
                        Catch::Contains("enum{none|relu|relu6|tanh|sigmoid}"));
}

TEST_CASE("cli: a misspelt key fails with file:line:col, the source line and a suggestion",
          "[cli]") {
    const std::string dir = testing::temp_dir("cli");
    { std::ofstream(dir + "/bad.yaml") << "inputs: {image: [1, 1, 8, 8]}\nnodes:\n  - {name: c, type: conv, kernal: 3}\n"; }
    std::string out;
    CHECK(testing::run_cnnkit("check " + dir + "/bad.yaml", out) == 1);
    CHECK(out == dir + "/bad.yaml:3:27: error: unknown key 'kernal' in layer 'c' (conv); did you "
                       "mean 'kernel'?\n    - {name: c, type: conv, kernal: 3}\n" +
                     std::string(28, ' ') + "^\n");
}

TEST_CASE("cli: run writes each output as DIR/<name>.npy and nothing on failure", "[cli]") {
    const std::string dir = testing::temp_dir("cli-run");
    std::filesystem::remove_all(dir + "/out");
    { std::ofstream(dir + "/net.yaml") << "inputs: {image: [1, 2, 6, 6]}\nnodes:\n  - {name: c, type: conv, out_channels: 3}\n  - {name: r, type: relu}\noutputs: {prob: r}\n"; }
    kernel::write_npy(dir + "/x.npy", testing::random_tensor({1, 2, 6, 6}, 1));
    kernel::write_npy(dir + "/bad.npy", testing::random_tensor({1, 2, 5, 6}, 1));
    std::string out;
    CHECK(testing::run_cnnkit("run " + dir + "/net.yaml --random-weights 1 --input image=" + dir +
                                  "/bad.npy --output-dir " + dir + "/out", out) == 1);
    CHECK(out == "error: input 'image' has shape {1, 2, 5, 6}, the network expects {1, 2, 6, 6}\n");
    CHECK_FALSE(std::filesystem::exists(dir + "/out/prob.npy"));
    REQUIRE(testing::run_cnnkit("run " + dir + "/net.yaml --random-weights 1 --input image=" + dir +
                                    "/x.npy --output-dir " + dir + "/out", out) == 0);
    const auto y = kernel::read_npy(dir + "/out/prob.npy");
    CHECK(y.shape == sdk::shape{1, 3, 4, 4});
    for (std::int64_t i = 0; i < y.shape.numel(); ++i) CHECK(y.f32()[i] >= 0.0f);
}

TEST_CASE("cli: missing weights, unknown options and missing files exit 1 with a message",
          "[cli]") {
    const std::string dir = testing::temp_dir("cli-run");
    std::string out;
    CHECK(testing::run_cnnkit("run " + dir + "/net.yaml --input image=" + dir +
                                  "/x.npy --output-dir " + dir + "/o2", out) == 1);
    CHECK(out == "error: 2 weight(s) missing: c.weight {3, 2, 3, 3}, c.bias {3} (give --weights "
                 "FILE or --random-weights SEED)\n");
    CHECK(testing::run_cnnkit("run " + dir + "/net.yaml --random-weight 1", out) == 1);
    CHECK(out == "error: unknown option --random-weight; did you mean 'random-weights'?\n");
    CHECK(testing::run_cnnkit("check /nonexistent.yaml", out) == 1);
    CHECK(out == "error: /nonexistent.yaml: cannot open network file\n");
    CHECK(testing::run_cnnkit("run " + dir + "/net.yaml --random-weights 1 --input image=" + dir +
                                  "/nope.npy --output-dir " + dir + "/o3", out) == 1);
    CHECK(out == "error: " + dir + "/nope.npy: cannot open .npy file\n");
}

TEST_CASE("cli: --precision bf16 runs fc on bfloat16 weights, and other precisions and Vulkan are "
          "refused", "[cli][bf16]") {
    const std::string dir = testing::temp_dir("cli-bf16");
    std::filesystem::remove_all(dir + "/fp32");
    std::filesystem::remove_all(dir + "/bf16");
    { std::ofstream(dir + "/net.yaml") << "inputs: {image: [2, 3, 8, 8]}\nnodes:\n  - {name: f, type: fc, out_features: 40}\n  - {name: r, type: relu}\n  - {name: g, type: fc, out_features: 7}\noutputs: {logits: g}\n"; }
    kernel::write_npy(dir + "/x.npy", testing::random_tensor({2, 3, 8, 8}, 5));
    const std::string run = "run " + dir + "/net.yaml --random-weights 3 --input image=" + dir +
                            "/x.npy --output-dir " + dir;
    std::string out;
    REQUIRE(testing::run_cnnkit(run + "/fp32", out) == 0);
    REQUIRE(testing::run_cnnkit(run + "/bf16 --precision bf16", out) == 0);
    const auto exact = kernel::read_npy(dir + "/fp32/logits.npy");
    const auto bf16 = kernel::read_npy(dir + "/bf16/logits.npy");
    REQUIRE(bf16.shape == exact.shape);
    float scale = 0.0f, most = 0.0f;
    for (std::int64_t i = 0; i < exact.shape.numel(); ++i) {
        scale = std::max(scale, std::abs(exact.f32()[i]));
        most = std::max(most, std::abs(bf16.f32()[i] - exact.f32()[i]));
    }
    INFO("max|bf16 - fp32| " << most << ", max|fp32| " << scale);
    CHECK(most > 0.0f);             // the weights were rounded
    CHECK(most <= 1e-2f * scale);   // by bf16's 2^-9 relative step, not more

    CHECK(testing::run_cnnkit(run + "/x --precision fp8", out) == 1);
    CHECK(out == "error: --precision fp8: expected fp32 or bf16\n");
    CHECK(testing::run_cnnkit(run + "/x --precision bf16 --backend vulkan", out) == 1);
    CHECK(out == "error: --precision bf16 runs on the CPU backend only (got --backend vulkan; "
                 "the Vulkan backend's reduced precision is --fp16)\n");
    CHECK_FALSE(std::filesystem::exists(dir + "/x"));
}
