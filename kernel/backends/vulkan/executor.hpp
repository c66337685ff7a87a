// executor.hpp: the Vulkan backend. At load it places every node (GPU when its plugin describes
// a kernel for the node's shapes, else CPU), builds pipelines and descriptor sets, and records
// the plan into command buffers once: one per run of consecutive GPU nodes (one in all when
// every node has a kernel), with barriers only where a node depends on one recorded since the
// last barrier. Each inference replays them; CPU nodes run on a host mirror of the arena with
// explicit uploads and downloads in between.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/cpu/executor.hpp"
#include "graph/graph.hpp"
#include "plan/planner.hpp"
#include "weights/weights.hpp"

namespace cnnkit::kernel {

class vulkan_executor {
public:
    // device < 0 picks the preferred device. Throws (naming the node, or the Vulkan call and its
    // VkResult) when the device cannot run the plan.
    vulkan_executor(const graph& g, const plan& p, const weight_store& w, int device);
    ~vulkan_executor();

    // inputs in graph.inputs order; outputs in graph.outputs order. Thread-safe (serialised).
    std::vector<host_tensor> run(const std::vector<const host_tensor*>& inputs) const;
    // Where each node runs and why, every transfer, and the command buffers recorded.
    std::string explain() const;
    int gpu_nodes() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace cnnkit::kernel
