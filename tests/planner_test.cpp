// planner_test.cpp: the memory planner reuses buffers, aliases in place, never overlaps live
// tensors, and gives the same results as running without reuse.
#include "testing.hpp"

#include "graph/yaml_loader.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using namespace cnnkit;
using namespace cnnkit::kernel;

namespace {
const char* branchy = R"(
inputs: {x: [1, 4, 16, 16]}
nodes:
  - {name: a, type: conv, out_channels: 8, kernel: 3, pad: 1}
  - {name: ra, type: relu}
  - {name: b1, type: conv, out_channels: 8, kernel: 1, inputs: [ra]}
  - {name: b2, type: conv, out_channels: 8, kernel: 3, pad: 1, inputs: [ra]}
  - {name: s1, type: sigmoid, inputs: [b1]}
  - {name: t2, type: tanh, inputs: [b2]}
  - {name: c, type: conv, out_channels: 4, kernel: 1, inputs: [s1]}
  - {name: d, type: conv, out_channels: 4, kernel: 1, inputs: [t2]}
outputs: [c, d]
)";
}

TEST_CASE("planner: tensors alive at the same time never share memory", "[planner]") {
    const graph g = load_yaml_text(testing::plugins(), branchy, "p.yaml");
    const plan p = make_plan(g);
    CHECK(p.arena_bytes < p.naive_bytes);
    CHECK(p.in_place >= 1);
    // Sequential liveness: tensor t lives from its producer to its last consumer.
    std::vector<std::pair<int, int>> life(g.tensors.size(), {-1, -1});
    for (std::size_t t = 0; t < g.tensors.size(); ++t) {
        life[t].first = g.tensors[t].producer;
        life[t].second = g.tensors[t].producer;
        for (int c : g.tensors[t].consumers) life[t].second = std::max(life[t].second, c);
    }
    for (const auto& [_, t] : g.outputs) life[t].second = 1 << 30;
    for (std::size_t a = 0; a < g.tensors.size(); ++a)
        for (std::size_t b = a + 1; b < g.tensors.size(); ++b) {
            const bool overlap_time = life[a].first <= life[b].second && life[b].first <= life[a].second;
            const auto& x = p.tensors[a];
            const auto& y = p.tensors[b];
            const bool overlap_mem = x.offset < y.offset + y.bytes && y.offset < x.offset + x.bytes;
            const bool alias = x.offset == y.offset && (life[a].second == life[b].first || life[b].second == life[a].first);
            INFO(g.tensors[a].name << " vs " << g.tensors[b].name);
            CHECK((!overlap_time || !overlap_mem || alias));
        }
}

TEST_CASE("planner: reuse and in-place give bit-identical results to no reuse, at 1 and 2 "
          "threads", "[planner][cpu]") {
    const auto x = testing::random_tensor({1, 4, 16, 16}, 5);
    std::map<std::string, std::map<std::string, host_tensor>> results;
    for (int reuse = 0; reuse < 2; ++reuse)
        for (int threads = 1; threads <= 2; ++threads) {
            network_options o;
            o.random_seed = 3;
            o.threads = threads;
            o.planning.reuse = reuse;
            auto n = network::from_graph(load_yaml_text(testing::plugins(), branchy, "p.yaml"), o);
            results[cat(reuse, threads)] = n->run({{"x", x}});
        }
    for (const auto& [k, r] : results) {
        INFO(k);
        CHECK(r.at("c").bytes == results["01"].at("c").bytes);
        CHECK(r.at("d").bytes == results["01"].at("d").bytes);
    }
}

TEST_CASE("executor: one network serves 8 threads at once with identical results", "[cpu]") {
    network_options o;
    o.random_seed = 3;
    o.threads = 2;
    auto n = network::from_graph(load_yaml_text(testing::plugins(), branchy, "p.yaml"), o);
    const auto x = testing::random_tensor({1, 4, 16, 16}, 5);
    const auto want = n->run({{"x", x}});
    std::vector<std::thread> pool;
    std::atomic<int> mismatches{0};
    for (int t = 0; t < 8; ++t)
        pool.emplace_back([&] {
            for (int i = 0; i < 20; ++i) {
                const auto got = n->run({{"x", x}});
                if (got.at("c").bytes != want.at("c").bytes || got.at("d").bytes != want.at("d").bytes)
                    ++mismatches;
            }
        });
    for (auto& th : pool) th.join();
    CHECK(mismatches == 0);
}
