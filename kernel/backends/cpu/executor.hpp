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
    int threads() const { return threads_; }

private:
    struct context;
    std::unique_ptr<context> acquire() const;
    void release(std::unique_ptr<context> c) const;

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
