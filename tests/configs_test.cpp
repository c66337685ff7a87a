// configs_test.cpp: the networks in configs/: `cnnkit check` figures against the published
// tables, and `cnnkit run` end to end.
#include "testing.hpp"

#include "graph/yaml_loader.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <sstream>

using namespace cnnkit;

namespace {
// The `cnnkit check` table row of `node`, split into its columns.
std::vector<std::string> row_of(const std::string& table, const std::string& node) {
    std::istringstream in(table);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream cols(line);
        std::vector<std::string> c;
        for (std::string w; cols >> w;) c.push_back(w);
        if (!c.empty() && c[0] == node) return c;
    }
    return {};
}
}  // namespace

TEST_CASE("configs: alexnet conv1 gives 55x55x96 with 34,944 parameters and 60,965,224 in all",
          "[configs][cli]") {
    std::string out;
    REQUIRE(testing::run_cnnkit("check " + testing::source_path("configs/alexnet.yaml"), out) == 0);
    CHECK(row_of(out, "conv1") ==
          std::vector<std::string>{"conv1", "conv", "1x96x55x55", "34,944", "105,415,200", "0"});
    CHECK_THAT(out, Catch::Contains("total: 18 nodes, 60,965,224 parameters"));
    CHECK_THAT(out, Catch::Contains("output prob: 1x1000"));
}

TEST_CASE("configs: lenet5 has the LeNet-5 table's shapes and 61,706 parameters",
          "[configs][cli]") {
    std::string out;
    REQUIRE(testing::run_cnnkit("check " + testing::source_path("configs/lenet5.yaml"), out) == 0);
    CHECK(row_of(out, "c1")[2] == "1x6x28x28");
    CHECK(row_of(out, "s2")[2] == "1x6x14x14");
    CHECK(row_of(out, "c3")[2] == "1x16x10x10");
    CHECK(row_of(out, "c5")[2] == "1x120x1x1");
    CHECK(row_of(out, "f6")[2] == "1x84");
    CHECK_THAT(out, Catch::Contains("61,706 parameters"));
}

TEST_CASE("configs: lenet5 run writes a 1x10 probability vector", "[configs][cli]") {
    const std::string dir = testing::temp_dir("lenet");
    std::filesystem::remove_all(dir + "/out");
    kernel::write_npy(dir + "/x.npy", testing::random_tensor({1, 1, 32, 32}, 3));
    std::string out;
    REQUIRE(testing::run_cnnkit("run " + testing::source_path("configs/lenet5.yaml") +
                                    " --random-weights 1 --input image=" + dir +
                                    "/x.npy --output-dir " + dir + "/out",
                                out) == 0);
    const auto p = kernel::read_npy(dir + "/out/prob.npy");
    REQUIRE(p.shape == sdk::shape{1, 10});
    double sum = 0;
    for (int i = 0; i < 10; ++i) {
        CHECK(p.f32()[i] > 0.0f);
        sum += p.f32()[i];
    }
    CHECK(std::abs(sum - 1.0) < 1e-5);
}

namespace {
// Learned parameters and buffer values of a config, summed over the loaded graph.
std::pair<std::int64_t, std::int64_t> totals_of(const std::string& config) {
    const kernel::graph g =
        kernel::load_yaml_file(testing::plugins(), testing::source_path("configs/" + config));
    std::int64_t params = 0, buffers = 0;
    for (const auto& n : g.nodes) params += g.param_count(n), buffers += g.buffer_count(n);
    return {params, buffers};
}
}  // namespace

TEST_CASE("configs: parameter totals are the published ones (torchvision, Caffe, the papers)",
          "[configs]") {
    // torchvision's documented counts (no auxiliary heads for GoogLeNet); batch-norm running
    // statistics are buffers, as in PyTorch's parameters().
    CHECK(totals_of("vgg16.yaml").first == 138357544);
    CHECK(totals_of("resnet50.yaml").first == 25557032);
    CHECK(totals_of("resnet18.yaml").first == 11689512);
    CHECK(totals_of("googlenet.yaml").first == 6624904);
    CHECK(totals_of("mobilenet_v2.yaml").first == 3504872);
    CHECK(totals_of("alexnet_torchvision.yaml").first == 61100840);
    CHECK(totals_of("alexnet.yaml").first == 60965224);  // Caffe's bvlc_alexnet
    // AlphaGo: 48*192*25+192 + 11*(192*192*9+192) + 192 (1x1, no bias) + 361 position biases.
    CHECK(totals_of("alphago_policy.yaml").first == 3882793);
    // ResNet-50: 2 running statistics per batch-norm channel (26,560 channels).
    CHECK(totals_of("resnet50.yaml").second == 53120);
}

TEST_CASE("configs: check lists resnet18's running statistics as buffers, not parameters",
          "[configs][cli]") {
    std::string out;
    REQUIRE(testing::run_cnnkit("check " + testing::source_path("configs/resnet18.yaml"), out) ==
            0);
    CHECK(row_of(out, "bn1") ==
          std::vector<std::string>{"bn1", "batch_norm", "1x64x112x112", "128", "802,816", "128"});
    CHECK_THAT(out, Catch::Contains("11,689,512 parameters"));
    CHECK_THAT(out, Catch::Contains("9,600 buffer values"));
}

TEST_CASE("configs: every network runs with --random-weights and gives finite outputs",
          "[configs][cli]") {
    const std::string dir = testing::temp_dir("configs_run");
    for (const auto& entry : std::filesystem::directory_iterator(testing::source_path("configs"))) {
        const std::string config = entry.path().filename().string();
        if (entry.path().extension() != ".yaml") continue;
        INFO(config);
        const kernel::graph g = kernel::load_yaml_file(testing::plugins(), entry.path());
        REQUIRE(g.inputs.size() == 1);
        const auto& input = g.tensors[g.inputs[0]];
        kernel::write_npy(dir + "/x.npy", testing::random_tensor(input.shape, 5));
        std::filesystem::remove_all(dir + "/out");
        std::string out;
        REQUIRE(testing::run_cnnkit("run " + entry.path().string() +
                                        " --random-weights 3 --input " + input.name + "=" + dir +
                                        "/x.npy --output-dir " + dir + "/out",
                                    out) == 0);
        for (const auto& [name, t] : g.outputs) {
            const auto y = kernel::read_npy(dir + "/out/" + name + ".npy");
            CHECK(y.shape == g.tensors[t].shape);
            double sum = 0;
            bool finite = true;
            for (std::int64_t i = 0; i < y.shape.numel(); ++i)
                finite &= std::isfinite(y.f32()[i]), sum += y.f32()[i];
            CHECK(finite);
            if (name == "prob") CHECK(std::abs(sum - 1.0) < 1e-4);
        }
    }
}
