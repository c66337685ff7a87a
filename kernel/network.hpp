// network.hpp: the kernel's front door: load a model (YAML), bind its weights, plan it, run it.
#pragma once

#include "backends/cpu/executor.hpp"
#include "graph/graph.hpp"
#include "graph/yaml_loader.hpp"
#include "plan/planner.hpp"
#include "weights/weights.hpp"

#include <filesystem>
#include <map>
#include <memory>
#include <optional>

namespace cnnkit::kernel {

struct network_options {
    std::optional<std::filesystem::path> weights;  // .safetensors
    std::optional<std::uint64_t> random_seed;      // --random-weights
    std::optional<std::int64_t> batch;
    int threads = 0;  // 0: all cores
    plan_options planning;
};

class network {
public:
    // `reg` must outlive the network.
    static std::unique_ptr<network> load(const registry& reg, const std::filesystem::path& model,
                                         const network_options& opt);
    static std::unique_ptr<network> from_graph(graph g, const network_options& opt);

    const graph& g() const { return g_; }
    const plan& memory_plan() const { return plan_; }
    int threads() const { return cpu_->threads(); }  // the CPU arena's size
    // Inputs by name; every network input must be given. Outputs by public name. Thread-safe.
    std::map<std::string, host_tensor> run(const std::map<std::string, host_tensor>& inputs,
                                           const timing_sink& timing = {}) const;

private:
    network() = default;
    graph g_;
    weight_store weights_;
    plan plan_;
    std::unique_ptr<cpu_executor> cpu_;
};

}  // namespace cnnkit::kernel
