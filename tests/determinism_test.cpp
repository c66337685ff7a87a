// determinism_test.cpp: one loaded network serves many threads with results bit-identical to a
// single-threaded run; repeated runs and different --threads give identical bits.
#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "testing.hpp"

using namespace cnnkit;
using namespace cnnkit::kernel;

namespace {
// A net with parallel branches (inception, residual) and reductions (conv, pool, fc, softmax).
const char* branchy = R"(
inputs: {x: [2, 8, 12, 12]}
nodes:
  - {name: inc, type: inception, c1x1: 4, c3x3_reduce: 4, c3x3: 6, c5x5_reduce: 2, c5x5: 4,
     pool_proj: 2}
  - {name: res, type: residual, channels: 16, stride: 2}
  - {name: pool, type: pool, mode: avg, global: true}
  - {name: fc, type: fc, out_features: 10}
  - {name: prob, type: softmax}
)";

std::unique_ptr<network> load_net(const std::string& text, int threads) {
    network_options o;
    o.random_seed = 11;
    o.threads = threads;
    return network::from_graph(load_yaml_text(testing::plugins(), text, "net.yaml"), o);
}

std::string lenet5() {
    std::ifstream in(testing::source_path("configs/lenet5.yaml"));
    return {std::istreambuf_iterator<char>(in), {}};
}
}  // namespace

TEST_CASE(
    "determinism: LeNet-5 shared by 8 threads x 100 inferences matches a 1-thread run "
    "bit for bit",
    "[determinism][cpu]") {
    const auto single = load_net(lenet5(), 1);
    const auto shared = load_net(lenet5(), 2);
    std::vector<host_tensor> x, want;
    for (int t = 0; t < 8; ++t) {  // one input per thread, so a mix-up between threads shows
        x.push_back(testing::random_tensor({1, 1, 32, 32}, 100 + t));
        want.push_back(single->run({{"image", x.back()}}).at("prob"));
    }
    std::atomic<int> runs{0}, mismatches{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < 8; ++t)
        pool.emplace_back([&, t] {
            for (int i = 0; i < 100; ++i) {
                if (shared->run({{"image", x[t]}}).at("prob").bytes != want[t].bytes) ++mismatches;
                ++runs;
            }
        });
    for (auto& th : pool) th.join();
    CHECK(runs == 800);
    CHECK(mismatches == 0);
}

TEST_CASE("determinism: 100 repeated runs of a branchy network are bit-identical",
          "[determinism][cpu]") {
    const auto net = load_net(branchy, 2);
    const auto x = testing::random_tensor({2, 8, 12, 12}, 3);
    const auto first = net->run({{"x", x}}).at("out");
    int mismatches = 0;
    for (int i = 0; i < 100; ++i) mismatches += net->run({{"x", x}}).at("out").bytes != first.bytes;
    CHECK(mismatches == 0);
}

TEST_CASE("determinism: 1, 2 and 8 threads give bit-identical results", "[determinism][cpu]") {
    const auto x = testing::random_tensor({2, 8, 12, 12}, 4);
    const auto one = load_net(branchy, 1)->run({{"x", x}}).at("out");
    CHECK(load_net(branchy, 2)->run({{"x", x}}).at("out").bytes == one.bytes);
    CHECK(load_net(branchy, 8)->run({{"x", x}}).at("out").bytes == one.bytes);
}

TEST_CASE("determinism: cnnkit run AlexNet with --threads 1 and --threads 2 writes the same bytes",
          "[determinism][cli]") {
    const std::string dir = testing::temp_dir("determinism");
    write_npy(dir + "/x.npy", testing::random_tensor({1, 3, 227, 227}, 9));
    std::vector<std::string> files;
    for (int threads : {1, 2}) {
        const std::string out_dir = cat(dir, "/t", threads);
        std::string out;
        REQUIRE(testing::run_cnnkit(cat("run ", testing::source_path("configs/alexnet.yaml"),
                                        " --random-weights 5 --input image=", dir, "/x.npy",
                                        " --output-dir ", out_dir, " --threads ", threads),
                                    out) == 0);
        std::ifstream in(out_dir + "/prob.npy", std::ios::binary);
        files.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    REQUIRE(files[0].size() > 4000);
    CHECK(files[0] == files[1]);
}

TEST_CASE("determinism: a timing callback that throws fails the run naming the node, and the "
          "next run is whole",
          "[determinism][cpu]") {
    for (int threads : {1, 2}) {
        const auto net = load_net(branchy, threads);
        const auto x = testing::random_tensor({2, 8, 12, 12}, 5);
        const auto want = net->run({{"x", x}}).at("out");
        const std::string third = net->g().nodes[2].name;
        const timing_sink throwing = [&](const node_timing& t) {
            if (t.node == 2) throw std::runtime_error("sink full");
        };
        CAPTURE(threads);
        REQUIRE_THROWS_WITH(net->run({{"x", x}}, throwing),
                            Catch::Contains("node '" + third + "'") &&
                                Catch::Contains("timing callback: sink full"));
        CHECK(net->run({{"x", x}}).at("out").bytes == want.bytes);
        const timing_sink throws_int = [&](const node_timing& t) {
            if (t.node == 2) throw 7;
        };
        REQUIRE_THROWS_WITH(net->run({{"x", x}}, throws_int),
                            Catch::Contains("node '" + third + "'") &&
                                Catch::Contains("timing callback: an exception that is not"));
        CHECK(net->run({{"x", x}}).at("out").bytes == want.bytes);
    }
}
