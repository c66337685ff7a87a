// planner.hpp: liveness-based memory planning: every tensor and workspace gets an offset in one
// arena; buffers are reused once all readers are done, and in place where a layer allows it.
#pragma once

#include "graph/graph.hpp"

#include <cstdint>
#include <vector>

namespace cnnkit::kernel {

struct slot {
    std::uint64_t offset = 0;
    std::uint64_t bytes = 0;
};

struct plan {
    std::vector<slot> tensors;     // per graph tensor
    std::vector<slot> workspaces;  // per node
    // Per node: nodes that must finish first, data edges plus the edges that reuse of memory
    // adds (a node writing a reused region waits for every reader of what was there).
    std::vector<std::vector<int>> deps;
    std::uint64_t arena_bytes = 0;
    std::uint64_t naive_bytes = 0;  // sum of all tensors: what no reuse would take
    int in_place = 0;               // nodes whose output aliases their input
    int concat_in_place = 0;        // tensors produced straight into a concat's output
};

struct plan_options {
    bool reuse = true;
    bool in_place = true;
    // Concat inputs written straight into the concat's output (CPU: the Vulkan executor
    // binds each tensor on its own).
    bool concat_in_place = true;
    // Reuse only memory whose last readers run before the new writer anyway, so independent
    // branches (inception) stay free to run at once; off: the smallest arena, branches in turn.
    bool parallel_branches = true;
};

plan make_plan(const graph& g, const plan_options& opt = {});

}  // namespace cnnkit::kernel
