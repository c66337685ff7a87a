// pipelines.cpp: shader modules, specialization, pipeline and descriptor objects.
#include "backends/vulkan/pipelines.hpp"

namespace cnnkit::kernel::vk {

pipeline_set::~pipeline_set() {
    const auto& fn = ctx_.fn();
    const VkDevice dev = ctx_.device();
    for (auto& [_, p] : pipelines_) fn.vkDestroyPipeline(dev, p, nullptr);
    for (auto& [_, l] : layouts_) fn.vkDestroyPipelineLayout(dev, l, nullptr);
    for (auto& [_, l] : set_layouts_) fn.vkDestroyDescriptorSetLayout(dev, l, nullptr);
    if (pool_) fn.vkDestroyDescriptorPool(dev, pool_, nullptr);
}

VkDescriptorSetLayout pipeline_set::set_layout(std::uint32_t bindings) {
    if (auto it = set_layouts_.find(bindings); it != set_layouts_.end()) return it->second;
    std::vector<VkDescriptorSetLayoutBinding> b(bindings);
    for (std::uint32_t i = 0; i < bindings; ++i)
        b[i] = {i, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
    VkDescriptorSetLayoutCreateInfo ci{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
    ci.bindingCount = bindings;
    ci.pBindings = b.data();
    VkDescriptorSetLayout l = VK_NULL_HANDLE;
    check(ctx_.fn().vkCreateDescriptorSetLayout(ctx_.device(), &ci, nullptr, &l),
          "vkCreateDescriptorSetLayout");
    return set_layouts_[bindings] = l;
}

VkPipelineLayout pipeline_set::layout(std::uint32_t bindings) {
    if (auto it = layouts_.find(bindings); it != layouts_.end()) return it->second;
    VkDescriptorSetLayout sl = set_layout(bindings);
    VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, CNNKIT_GPU_MAX_PUSH};
    VkPipelineLayoutCreateInfo ci{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    ci.setLayoutCount = 1;
    ci.pSetLayouts = &sl;
    ci.pushConstantRangeCount = 1;
    ci.pPushConstantRanges = &range;
    VkPipelineLayout l = VK_NULL_HANDLE;
    check(ctx_.fn().vkCreatePipelineLayout(ctx_.device(), &ci, nullptr, &l),
          "vkCreatePipelineLayout");
    return layouts_[bindings] = l;
}

VkPipeline pipeline_set::pipeline(const cnnkit_gpu_dispatch& d) {
    std::vector<std::uint32_t> spec(d.spec, d.spec + d.spec_count);
    const auto key = std::make_tuple(d.spirv, spec, d.binding_count);
    if (auto it = pipelines_.find(key); it != pipelines_.end()) return it->second;
    const auto& fn = ctx_.fn();
    const VkPipelineLayout pipeline_layout = layout(d.binding_count);  // may throw: before module
    VkShaderModuleCreateInfo mi{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    mi.codeSize = std::size_t{d.spirv_words} * 4;
    mi.pCode = d.spirv;
    VkShaderModule module = VK_NULL_HANDLE;
    check(fn.vkCreateShaderModule(ctx_.device(), &mi, nullptr, &module), "vkCreateShaderModule",
          cat("shader '", d.name, "'"));
    std::vector<VkSpecializationMapEntry> entries(d.spec_count);
    for (std::uint32_t i = 0; i < d.spec_count; ++i) entries[i] = {i, i * 4, 4};
    VkSpecializationInfo si{d.spec_count, entries.data(), std::size_t{d.spec_count} * 4,
                            d.spec_count ? d.spec : nullptr};
    VkComputePipelineCreateInfo ci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
    ci.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
    ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    ci.stage.module = module;
    ci.stage.pName = "main";
    ci.stage.pSpecializationInfo = d.spec_count ? &si : nullptr;
    ci.layout = pipeline_layout;
    VkPipeline p = VK_NULL_HANDLE;
    const VkResult r =
        fn.vkCreateComputePipelines(ctx_.device(), ctx_.pipeline_cache(), 1, &ci, nullptr, &p);
    fn.vkDestroyShaderModule(ctx_.device(), module, nullptr);
    check(r, "vkCreateComputePipelines", cat("shader '", d.name, "'"));
    return pipelines_[key] = p;
}

std::vector<VkDescriptorSet> pipeline_set::allocate(const std::vector<std::uint32_t>& bindings) {
    if (bindings.empty()) return {};
    std::uint32_t total = 0;
    for (auto b : bindings) total += std::max<std::uint32_t>(b, 1);
    VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, total};
    VkDescriptorPoolCreateInfo ci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    ci.maxSets = static_cast<std::uint32_t>(bindings.size());
    ci.poolSizeCount = 1;
    ci.pPoolSizes = &size;
    check(ctx_.fn().vkCreateDescriptorPool(ctx_.device(), &ci, nullptr, &pool_),
          "vkCreateDescriptorPool");
    std::vector<VkDescriptorSetLayout> layouts;
    for (auto b : bindings) layouts.push_back(set_layout(b));
    std::vector<VkDescriptorSet> sets(bindings.size());
    VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    ai.descriptorPool = pool_;
    ai.descriptorSetCount = static_cast<std::uint32_t>(layouts.size());
    ai.pSetLayouts = layouts.data();
    check(ctx_.fn().vkAllocateDescriptorSets(ctx_.device(), &ai, sets.data()),
          "vkAllocateDescriptorSets");
    return sets;
}

void pipeline_set::write(VkDescriptorSet set, std::uint32_t b, VkBuffer buf, std::uint64_t offset,
                         std::uint64_t bytes) {
    VkDescriptorBufferInfo info{buf, offset, std::max<std::uint64_t>(bytes, 4)};
    VkWriteDescriptorSet w{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    w.dstSet = set;
    w.dstBinding = b;
    w.descriptorCount = 1;
    w.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    w.pBufferInfo = &info;
    ctx_.fn().vkUpdateDescriptorSets(ctx_.device(), 1, &w, 0, nullptr);
}

}  // namespace cnnkit::kernel::vk
