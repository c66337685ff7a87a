// executor.hpp: runs a planned graph on the CPU inside a oneTBB task arena of `threads`: a team of
// the caller and the arena's workers takes ready nodes (independent branches in parallel) and
// chunks of their parallel_for (team.hpp). One executor serves concurrent run() calls.
#pragma once

#include "graph/graph.hpp"
#include "io/npy.hpp"
#include "plan/planner.hpp"
#include "weights/weights.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

namespace cnnkit::kernel {

// Called after each node with its start/end times and the team member that ran it (0: the caller).
struct node_timing {
    int node;
    std::chrono::steady_clock::time_point start, end;
    int thread;
};
using timing_sink = std::function<void(const node_timing&)>;

class cpu_executor {
public:
    cpu_executor(const graph& g, const plan& p, const weight_store& w, int threads);
    ~cpu_executor();

    // inputs in graph.inputs order; returns outputs in graph.outputs order. Thread-safe.
    std::vector<host_tensor> run(const std::vector<const host_tensor*>& inputs,
                                 const timing_sink& timing = {}) const;
    // The same into caller-owned outputs (graph.outputs order, each already of the output's
    // shape and size). Once as many contexts as concurrent callers exist (one per caller after
    // its first run), a run performs no heap allocation. Thread-safe.
    void run(std::span<const host_tensor* const> inputs, std::span<host_tensor* const> outputs,
             const timing_sink& timing = {}) const;
    int threads() const { return threads_; }

private:
    struct context;
    std::unique_ptr<context> acquire() const;
    void release(std::unique_ptr<context> c) const;
    void run_node(context& ctx, int n, int member) const;

    const graph& g_;
    const plan& p_;
    const weight_store& w_;
    int threads_;
    struct impl;
    std::unique_ptr<impl> impl_;
    mutable std::mutex pool_mutex_;
    mutable std::vector<std::unique_ptr<context>> pool_;
};

// The host services lent to plugins (parallel_for in the current arena, OpenBLAS sgemm).
const cnnkit_host& cpu_host_services();

}  // namespace cnnkit::kernel
