// team_test.cpp: the CPU executor's team (kernel/backends/cpu/team.hpp) on its own: every node
// runs once, after its dependencies; a parallel_for covers its range exactly once whoever takes
// its chunks; nested calls run inline; a member that arrives after the run finds it done.
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "backends/cpu/team.hpp"
#include "util/tsan.hpp"

using namespace cnnkit::kernel;

namespace {

// successors of each node and how many each waits on: two diamonds in a row and a side chain.
struct dag {
    std::vector<std::vector<int>> succ{{1, 2}, {3}, {3}, {4, 5}, {6}, {6}, {}, {8}, {}};
    std::vector<int> deps;
    dag() : deps(succ.size()) {
        for (const auto& s : succ)
            for (int n : s) ++deps[n];
    }
};

// Runs one round of `t` with `members` threads (member 0 on this thread), as the executor does;
// `start` is the TSan edge the executor's oneTBB hand-off provides.
template <class RunNode>
void run_round(team& t, int members, RunNode&& run_node) {
    char start = 0;
    t.reset();
    cnnkit::kernel::tsan::release(&start);
    std::vector<std::thread> others;
    for (int me = 1; me < members; ++me)
        others.emplace_back([&, me] {
            cnnkit::kernel::tsan::acquire(&start);
            t.work(me, run_node);
            cnnkit::kernel::tsan::release(&start);
        });
    t.work(0, run_node);
    for (auto& th : others) th.join();
    cnnkit::kernel::tsan::acquire(&start);
}

}  // namespace

TEST_CASE("team: every node runs once, after every node it depends on", "[team]") {
    const dag g;
    for (int members : {1, 2, 4}) {
        team t(g.succ, g.deps, members);
        for (int round = 0; round < 20; ++round) {
            std::vector<std::atomic<int>> order(g.deps.size());
            std::atomic<int> clock{0};
            std::vector<char> ended(g.deps.size());  // TSan: node ends before its successors
            run_round(t, members, [&](int n, int) {
                for (std::size_t d = 0; d < g.succ.size(); ++d)
                    for (int s : g.succ[d])
                        if (s == n) cnnkit::kernel::tsan::acquire(&ended[d]);
                order[n].store(++clock);
                cnnkit::kernel::tsan::release(&ended[n]);
            });
            CAPTURE(members, round);
            for (std::size_t n = 0; n < g.succ.size(); ++n) {
                REQUIRE(order[n].load() > 0);
                for (int s : g.succ[n]) REQUIRE(order[n].load() < order[s].load());
            }
            REQUIRE(clock.load() == static_cast<int>(g.succ.size()));
        }
    }
}

TEST_CASE("team: parallel_for covers its range once, in chunks of at least its grain", "[team]") {
    const std::vector<std::vector<int>> succ{{}, {}};  // two independent nodes
    const std::vector<int> deps{0, 0};
    for (int members : {1, 2, 3}) {
        team t(succ, deps, members);
        for (std::int64_t count : {1, 7, 100, 1001}) {
            for (std::int64_t grain : {1, 5, 64}) {
                std::vector<std::atomic<int>> hits(2 * static_cast<std::size_t>(count));
                std::atomic<bool> short_chunk{false};
                struct job {
                    std::vector<std::atomic<int>>* hits;
                    std::int64_t offset, grain, end;
                    std::atomic<bool>* short_chunk;
                };
                run_round(t, members, [&](int n, int me) {
                    job j{&hits, n * count, grain, count, &short_chunk};
                    t.parallel_for(
                        me, 0, count, grain,
                        [](void* u, std::int64_t b, std::int64_t e) {
                            auto& jb = *static_cast<job*>(u);
                            // Only the last chunk may be shorter than the grain.
                            if (e - b < jb.grain && e != jb.end) jb.short_chunk->store(true);
                            for (std::int64_t i = b; i < e; ++i) ++(*jb.hits)[jb.offset + i];
                        },
                        &j);
                });
                CAPTURE(members, count, grain);
                REQUIRE_FALSE(short_chunk.load());
                for (auto& h : hits) REQUIRE(h.load() == 1);
            }
        }
    }
}

TEST_CASE("team: a parallel_for inside a chunk runs inline, and a late member finds the run done",
          "[team]") {
    const std::vector<std::vector<int>> succ{{}};
    const std::vector<int> deps{0};
    team t(succ, deps, 2);
    std::atomic<int> outer{0}, inner{0}, nested_in_chunk{0};
    run_round(t, 2, [&](int, int me) {
        struct ctx {
            team* t;
            int me;
            std::atomic<int>*outer, *inner, *nested_in_chunk;
        } c{&t, me, &outer, &inner, &nested_in_chunk};
        t.parallel_for(
            me, 0, 64, 1,
            [](void* u, std::int64_t b, std::int64_t e) {
                auto& x = *static_cast<ctx*>(u);
                x.outer->fetch_add(static_cast<int>(e - b));
                // What the executor's parallel_for entry checks before using the team.
                if (current_member().in_chunk) x.nested_in_chunk->fetch_add(1);
                x.inner->fetch_add(10);  // the nested loop's body, inline
            },
            &c);
    });
    REQUIRE(outer.load() == 64);
    REQUIRE(nested_in_chunk.load() > 0);
    REQUIRE(inner.load() == 10 * nested_in_chunk.load());
    REQUIRE_FALSE(current_member().in_chunk);
    REQUIRE(current_member().t == nullptr);  // restored after the run

    // The run is over: a member that starts now returns at once and runs nothing.
    std::atomic<int> ran{0};
    t.work(1, [&](int, int) { ++ran; });
    REQUIRE(ran.load() == 0);
}

TEST_CASE("team: a job slot's generation wraps safely after millions of parallel_fors", "[team]") {
    const std::vector<std::vector<int>> succ{{}};
    const std::vector<int> deps{0};
    team t(succ, deps, 2);
    std::int64_t covered = 0;
    run_round(t, 1, [&](int, int me) {
        // 2^22 + 10 jobs from one slot: the generation (22 bits above the open bit) wraps once.
        for (int i = 0; i < (1 << 22) + 10; ++i)
            t.parallel_for(
                me, 0, 2, 1,
                [](void* u, std::int64_t b, std::int64_t e) { *static_cast<std::int64_t*>(u) += e - b; },
                &covered);
    });
    REQUIRE(covered == 2 * ((std::int64_t{1} << 22) + 10));
}
