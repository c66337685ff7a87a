// planner_test.cpp: the memory planner reuses buffers, aliases in place, never overlaps live
// tensors, and gives the same results as running without reuse.
#include "testing.hpp"

#include "graph/yaml_loader.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <set>
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

namespace {
// Four branches into one concat: b1 and b3 qualify, b2's relu runs in place (its conv's output
// moves, so it is copied), and b4 is also read by `side`, so it is copied too.
const char* inception = R"(
inputs: {x: [1, 4, 9, 9]}
nodes:
  - {name: b1, type: conv, out_channels: 3, kernel: 1, inputs: [x]}
  - {name: b2c, type: conv, out_channels: 5, kernel: 3, pad: 1, inputs: [x]}
  - {name: b2, type: relu, inputs: [b2c]}
  - {name: b3, type: pool, mode: max, kernel: 3, stride: 1, pad: 1, inputs: [x]}
  - {name: b4, type: conv, out_channels: 2, kernel: 1, inputs: [x]}
  - {name: cat, type: concat, axis: 1, inputs: [b1, b2, b3, b4]}
  - {name: side, type: sigmoid, inputs: [b4]}
  - {name: head, type: conv, out_channels: 4, kernel: 1, inputs: [cat]}
outputs: [head, side]
)";
}  // namespace

TEST_CASE("planner: concat inputs are produced straight into the concat's output", "[planner]") {
    const graph g = load_yaml_text(testing::plugins(), inception, "p.yaml");
    const plan p = make_plan(g);
    const auto id = [&](const char* name) {
        for (std::size_t t = 0; t < g.tensors.size(); ++t)
            if (g.tensors[t].name == name) return t;
        FAIL("no tensor " << name);
        return std::size_t{0};
    };
    CHECK(p.concat_in_place == 2);
    const slot& out = p.tensors[id("cat")];
    CHECK(p.tensors[id("b1")].offset == out.offset);
    CHECK(p.tensors[id("b3")].offset == out.offset + (3 + 5) * 81 * 4);
    for (const char* copied : {"b2", "b4"}) {  // outside the output's bytes
        const slot& s = p.tensors[id(copied)];
        INFO(copied);
        CHECK((s.offset + s.bytes <= out.offset || s.offset >= out.offset + out.bytes));
    }
    // Batch 2: an input is two runs of the output, so nothing is placed.
    std::string batch2 = inception;
    batch2.replace(batch2.find("[1, 4, 9, 9]"), 12, "[2, 4, 9, 9]");
    CHECK(make_plan(load_yaml_text(testing::plugins(), batch2, "p.yaml")).concat_in_place == 0);
    plan_options off;
    off.concat_in_place = false;
    CHECK(make_plan(g, off).concat_in_place == 0);
}

TEST_CASE("planner: concat in place gives bit-identical results to copying, at 1 and 2 threads",
          "[planner][cpu]") {
    const auto x = testing::random_tensor({1, 4, 9, 9}, 7);
    std::map<std::string, std::map<std::string, host_tensor>> results;
    for (int placed = 0; placed < 2; ++placed)
        for (int threads = 1; threads <= 2; ++threads) {
            network_options o;
            o.random_seed = 3;
            o.threads = threads;
            o.fuse = false;  // keep b2's relu a node of its own
            o.planning.concat_in_place = placed;
            auto n = network::from_graph(load_yaml_text(testing::plugins(), inception, "p.yaml"), o);
            CHECK(n->memory_plan().concat_in_place == (placed ? 2 : 0));
            for (int run = 0; run < 2; ++run) results[cat(placed, threads, run)] = n->run({{"x", x}});
        }
    for (const auto& [k, r] : results) {
        INFO(k);
        CHECK(r.at("head").bytes == results["010"].at("head").bytes);
        CHECK(r.at("side").bytes == results["010"].at("side").bytes);
    }
}

TEST_CASE("planner: reusing memory adds no edge between independent branches", "[planner]") {
    for (const char* text : {branchy, inception}) {
        const graph g = load_yaml_text(testing::plugins(), text, "p.yaml");
        // ancestors[n]: the nodes n reads from, transitively.
        std::vector<std::set<int>> ancestors(g.nodes.size());
        for (std::size_t n = 0; n < g.nodes.size(); ++n)
            for (int t : g.nodes[n].inputs)
                if (const int p = g.tensors[t].producer; p >= 0) {
                    ancestors[n].insert(p);
                    ancestors[n].insert(ancestors[p].begin(), ancestors[p].end());
                }
        const auto extra_edges = [&](const plan& p) {
            int extra = 0;
            for (std::size_t n = 0; n < g.nodes.size(); ++n)
                for (int d : p.deps[n]) extra += !ancestors[n].count(d);
            return extra;
        };
        plan_options serial;
        serial.parallel_branches = false;
        const plan par = make_plan(g), ser = make_plan(g, serial);
        INFO(text);
        CHECK(extra_edges(par) == 0);
        CHECK(extra_edges(ser) > 0);  // the smallest arena orders branches (what this avoids)
        CHECK(ser.arena_bytes <= par.arena_bytes);
    }
}
