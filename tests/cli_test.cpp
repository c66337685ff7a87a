// cli_test.cpp: the cnnkit command line end to end: run writes .npy outputs, layers prints the
// reflected params, check prints the table, and bad input exits non-zero with a clear message.
#include "testing.hpp"

#include <catch2/catch.hpp>

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
