// executor.hpp: runs a planned graph on the CPU as a oneTBB flow graph (independent branches in
// parallel) inside a task arena of `threads`. One executor serves concurrent run() calls.
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

// Called after each node with its start/end times and the worker thread index.
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
    void run_node(context& ctx, int n) const;

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
