// pipelines.hpp: compute pipelines built from plugin kernel descriptions (one per distinct
// SPIR-V + specialization), their layouts, and the descriptor sets of one network.
#pragma once

#include <cnnkit/plugin_abi.h>

#include <map>
#include <tuple>
#include <vector>

#include "backends/vulkan/context.hpp"

namespace cnnkit::kernel::vk {

// Owns every pipeline, layout and descriptor set of one network. Not thread-safe; built at load.
class pipeline_set {
public:
    explicit pipeline_set(context& c) : ctx_(c) {}
    ~pipeline_set();
    pipeline_set(const pipeline_set&) = delete;
    pipeline_set& operator=(const pipeline_set&) = delete;

    // The pipeline for d (created once per distinct shader + spec constants + binding count).
    VkPipeline pipeline(const cnnkit_gpu_dispatch& d);
    VkPipelineLayout layout(std::uint32_t bindings);
    // Allocates every descriptor set at once: `bindings[i]` is the binding count of set i.
    std::vector<VkDescriptorSet> allocate(const std::vector<std::uint32_t>& bindings);
    // Points binding b of `set` at [offset, offset + bytes) of `buf`.
    void write(VkDescriptorSet set, std::uint32_t b, VkBuffer buf, std::uint64_t offset,
               std::uint64_t bytes);

private:
    VkDescriptorSetLayout set_layout(std::uint32_t bindings);
    context& ctx_;
    std::map<std::uint32_t, VkDescriptorSetLayout> set_layouts_;
    std::map<std::uint32_t, VkPipelineLayout> layouts_;
    std::map<std::tuple<const std::uint32_t*, std::vector<std::uint32_t>, std::uint32_t>,
             VkPipeline>
        pipelines_;
    VkDescriptorPool pool_ = VK_NULL_HANDLE;
};

}  // namespace cnnkit::kernel::vk
