// executor.hpp: the Vulkan backend. At load it places every node (GPU when its plugin describes
// a kernel for the node's shapes, else CPU), builds pipelines and descriptor sets, and records
// the plan into command buffers once: one per run of consecutive GPU nodes (one in all when
// every node has a kernel), with barriers only where a node depends on one recorded since the
// last barrier. Each inference replays them; CPU nodes run on a host mirror of the arena with
// explicit uploads and downloads in between.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/cpu/executor.hpp"
#include "graph/graph.hpp"
#include "plan/planner.hpp"
#include "weights/weights.hpp"

namespace cnnkit::kernel {

// One span of a profiled run on the GPU, on the host's steady clock: a node's dispatches, or the
// copies of a command buffer's uploads / downloads (node -1). Measured with timestamp queries;
// nodes that overlap on the GPU are laid end to end (each starts no earlier than the previous
// one ended), so the spans of one command buffer tile its time and never double-count.
struct gpu_timing {
    int node;          // -1 for a transfer
    const char* what;  // "node", "upload" or "download"
    std::chrono::steady_clock::time_point start, end;
};
using gpu_timing_sink = std::function<void(const gpu_timing&)>;

class vulkan_executor {
public:
    // device < 0 picks the preferred device. Throws (naming the node, or the Vulkan call and its
    // VkResult) when the device cannot run the plan. fp16: float tensors and weights are stored
    // as float16 on the device (arithmetic stays fp32 in the shaders, see spirv16.hpp), converted
    // on the host at the staging edges; throws when the device lacks 16-bit storage buffers.
    vulkan_executor(const graph& g, const plan& p, const weight_store& w, int device,
                    bool fp16 = false);
    ~vulkan_executor();

    // inputs in graph.inputs order; outputs in graph.outputs order. Thread-safe (serialised).
    // With a sink given, the run is profiled: CPU nodes report to `cpu` (thread 0), and command
    // buffers recorded with timestamp queries (on first use; plain runs never write timestamps)
    // report to `gpu`. Throws when the device's queue cannot write timestamps.
    std::vector<host_tensor> run(const std::vector<const host_tensor*>& inputs,
                                 const timing_sink& cpu = {}, const gpu_timing_sink& gpu = {}) const;
    // Where each node runs and why, every transfer, and the command buffers recorded.
    std::string explain() const;
    int gpu_nodes() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace cnnkit::kernel
