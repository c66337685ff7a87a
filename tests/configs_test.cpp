// configs_test.cpp: the networks in configs/: `cnnkit check` figures against the published
// tables, and `cnnkit run` end to end.
#include "testing.hpp"

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

TEST_CASE("configs: alexnet conv1 gives 55x55x96 with 34,944 parameters; 60,965,224 in all",
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
