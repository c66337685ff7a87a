// network.hpp: the kernel's front door: load a model (YAML or ONNX), bind its weights, plan it, run it.
#pragma once

#include "backends/cpu/executor.hpp"
#include "backends/vulkan/executor.hpp"
#include "graph/graph.hpp"
#include "graph/yaml_loader.hpp"
#include "plan/fuse.hpp"
#include "plan/planner.hpp"
#include "weights/weights.hpp"

#include <cnnkit/plugin_abi.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

namespace cnnkit::kernel {

struct network_options {
    std::optional<std::filesystem::path> weights;  // .safetensors
    std::optional<std::uint64_t> random_seed;      // --random-weights
    std::optional<std::int64_t> batch;
    int threads = 0;  // 0: all cores
    plan_options planning;
    // cpu; vulkan (nodes without a Vulkan kernel run on the CPU, with transfers); auto (vulkan,
    // or the CPU with one warning when there is no Vulkan loader or device, or when a Vulkan
    // call fails at load or in an inference: that one and all later ones run on the CPU).
    std::string backend = "cpu";
    int device = -1;  // Vulkan device index; -1 prefers a discrete GPU
    bool fp16 = false;  // Vulkan: float tensors and weights stored as float16 (fp32 arithmetic)
    // F32, or BF16 (CPU only): layers that support it (fc) keep their weights as bfloat16,
    // halving the bytes batch-1 fully connected layers stream; activations and sums stay float32.
    cnnkit_precision precision = CNNKIT_PRECISION_F32;
    bool fuse = true;  // conv + batch_norm / add / activation fusion at load (plan/fuse.hpp)
};

// The precision `--precision NAME` names: fp32 or bf16 (anything else throws, naming the flag).
cnnkit_precision precision_named(const std::string& name);

class network {
public:
    // `reg` must outlive the network.
    static std::unique_ptr<network> load(const registry& reg, const std::filesystem::path& model,
                                         const network_options& opt);
    static std::unique_ptr<network> from_graph(graph g, const network_options& opt);

    // The graph that runs (memory_plan() and node timings index it): after fusion it has fewer
    // nodes and may have weights the file has not (a folded conv's bias). source(): as loaded.
    const graph& g() const { return g_; }
    const graph& source() const { return source_; }
    const fuse_report& fusion() const { return fusion_; }
    const plan& memory_plan() const { return plan_; }
    // Where each node runs and why, and every host <-> device transfer.
    std::string explain() const;
    // Nodes the Vulkan backend runs on the GPU (0 on the CPU backend).
    int gpu_nodes() const { return vk_ ? vk_->gpu_nodes() : 0; }
    int threads() const { return cpu_ ? cpu_->threads() : 0; }  // the CPU arena's size
    // Inputs by name; every network input must be given. Outputs by public name. Thread-safe.
    // With a sink, the run is profiled: `timing` gets the CPU nodes' spans, `gpu` the GPU nodes'
    // and transfers' (Vulkan backend; measured with timestamp queries only in profiled runs).
    std::map<std::string, host_tensor> run(const std::map<std::string, host_tensor>& inputs,
                                           const timing_sink& timing = {},
                                           const gpu_timing_sink& gpu = {}) const;

    // Steady-state form: inputs in g().inputs order, caller-owned outputs in g().outputs order
    // (already of the right shape and size); allocates nothing once warm. Thread-safe. CPU
    // backend only: a Vulkan network runs through the map form (it stages through the GPU).
    void run(std::span<const host_tensor* const> inputs, std::span<host_tensor* const> outputs,
             const timing_sink& timing = {}) const {
        if (!cpu_) throw error("the steady-state run(inputs, outputs) needs the CPU backend");
        cpu_->run(inputs, outputs, timing);
    }

private:
    network() = default;
    static std::unique_ptr<network> build(graph g, std::shared_ptr<safetensors_file> file,
                                          const network_options& opt);
    graph g_, source_;
    weight_store weights_;
    plan plan_;
    fuse_report fusion_;
    mutable std::unique_ptr<cpu_executor> cpu_;  // made on first need after a GPU fault (auto)
    mutable std::once_flag cpu_once_;
    std::unique_ptr<vulkan_executor> vk_;
    mutable std::atomic<bool> vk_failed_{false};
    bool auto_backend_ = false;
    int threads_ = 0;
};

}  // namespace cnnkit::kernel
