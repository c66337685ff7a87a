// context.hpp: the Vulkan loader (dlopen'ed, so a machine without it still runs on the CPU), the
// instance, device selection, and the shared objects one device needs (queue, pools, pipeline
// cache). Every failing call throws vk_error carrying the call's name and its VkResult.
// CNNKIT_VULKAN_LOADER names the loader library (default libvulkan.so.1); tests inject faults
// through faults.hpp.
#pragma once

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan_core.h>

#include <atomic>
#include <cnnkit/error.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace cnnkit::kernel::vk {

// Global, instance and device functions, loaded through vkGetInstanceProcAddr.
#define CNNKIT_VK_GLOBAL(X) \
    X(vkCreateInstance) X(vkEnumerateInstanceLayerProperties) X(vkEnumerateInstanceVersion)
#define CNNKIT_VK_INSTANCE(X)                                                              \
    X(vkDestroyInstance)                                                                   \
    X(vkEnumeratePhysicalDevices) X(vkGetPhysicalDeviceProperties)                         \
        X(vkGetPhysicalDeviceQueueFamilyProperties) X(vkGetPhysicalDeviceMemoryProperties) \
            X(vkCreateDevice) X(vkGetDeviceProcAddr) X(vkCreateDebugUtilsMessengerEXT)     \
                X(vkDestroyDebugUtilsMessengerEXT) X(vkGetPhysicalDeviceFeatures2)
#define CNNKIT_VK_DEVICE(X)                                                                        \
    X(vkDestroyDevice)                                                                             \
    X(vkGetDeviceQueue) X(vkCreateBuffer) X(vkDestroyBuffer) X(vkGetBufferMemoryRequirements)      \
        X(vkAllocateMemory) X(vkFreeMemory) X(vkBindBufferMemory) X(vkMapMemory) X(vkUnmapMemory)  \
            X(vkCreateShaderModule) X(vkDestroyShaderModule) X(vkCreateDescriptorSetLayout) X(     \
                vkDestroyDescriptorSetLayout) X(vkCreatePipelineLayout) X(vkDestroyPipelineLayout) \
                X(vkCreateComputePipelines) X(vkDestroyPipeline) X(vkCreatePipelineCache)          \
                    X(vkDestroyPipelineCache) X(vkGetPipelineCacheData) X(vkCreateDescriptorPool)  \
                        X(vkDestroyDescriptorPool) X(vkAllocateDescriptorSets)                     \
                            X(vkUpdateDescriptorSets) X(vkCreateCommandPool)                       \
                                X(vkDestroyCommandPool) X(vkAllocateCommandBuffers)                \
                                    X(vkBeginCommandBuffer) X(vkEndCommandBuffer)                  \
                                        X(vkCmdBindPipeline) X(vkCmdBindDescriptorSets)            \
                                            X(vkCmdPushConstants) X(vkCmdDispatch)                 \
                                                X(vkCmdPipelineBarrier) X(vkCmdCopyBuffer)         \
                                                    X(vkCreateFence) X(vkDestroyFence)             \
                                                        X(vkResetFences) X(vkWaitForFences)        \
                                                            X(vkQueueSubmit) X(vkDeviceWaitIdle)                 \
    X(vkCreateQueryPool) X(vkDestroyQueryPool) X(vkCmdResetQueryPool) X(vkCmdWriteTimestamp) \
    X(vkGetQueryPoolResults)

struct functions {
    PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr = nullptr;
#define CNNKIT_VK_DECLARE(f) PFN_##f f = nullptr;
    CNNKIT_VK_GLOBAL(CNNKIT_VK_DECLARE)
    CNNKIT_VK_INSTANCE(CNNKIT_VK_DECLARE)
    CNNKIT_VK_DEVICE(CNNKIT_VK_DECLARE)
#undef CNNKIT_VK_DECLARE
};

// A failed Vulkan call: what was being done, the call, and its VkResult.
class vk_error : public cnnkit::error {
public:
    vk_error(const std::string& what, const char* call, VkResult r);
    VkResult result() const { return result_; }

private:
    VkResult result_;
};
const char* result_name(VkResult r);
// Throws vk_error unless r is VK_SUCCESS.
void check(VkResult r, const char* call, const std::string& what = {});

struct device_info {
    int index;
    std::string name;
    VkPhysicalDeviceType type;
    std::uint32_t api_version;
    std::uint64_t device_local_bytes;
};
const char* type_name(VkPhysicalDeviceType t);

// One logical device with everything inferences on it share. Thread-safe submission.
class context {
public:
    // device < 0: the first discrete GPU, else integrated, else any (lavapipe). Throws a clear
    // error when there is no loader or no device. CNNKIT_VULKAN_VALIDATION=1 enables
    // VK_LAYER_KHRONOS_validation; then every message it reports is counted (and printed).
    static std::shared_ptr<context> get(int device);
    static std::vector<device_info> list();
    // Drops the cached contexts (each is destroyed when its last user lets go). For tests: the
    // fault-injection sweep re-creates them.
    static void forget_all();
    ~context();

    const functions& fn() const { return fn_; }
    VkDevice device() const { return device_; }
    VkQueue queue() const { return queue_; }
    std::uint32_t queue_family() const { return family_; }
    // The queue family's timestampValidBits (0: the queue cannot write timestamps).
    std::uint32_t timestamp_bits() const { return timestamp_bits_; }
    // storageBuffer16BitAccess (enabled when the device has it): fp16 storage (`--fp16`).
    bool storage16() const { return storage16_; }
    const VkPhysicalDeviceProperties& properties() const { return props_; }
    VkPipelineCache pipeline_cache() const { return cache_; }
    // A memory type index with `want` flags among `bits`, or -1.
    int memory_type(std::uint32_t bits, VkMemoryPropertyFlags want) const;
    void save_pipeline_cache() const;
    std::mutex& queue_mutex() { return queue_mutex_; }
    // Validation messages reported so far (0 when validation is off).
    static std::uint64_t validation_messages();
    static bool validation_enabled();

private:
    context() = default;
    functions fn_;
    void* lib_ = nullptr;
    VkInstance instance_ = VK_NULL_HANDLE;
    VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
    VkPhysicalDevice physical_ = VK_NULL_HANDLE;
    VkPhysicalDeviceProperties props_{};
    VkPhysicalDeviceMemoryProperties memory_{};
    VkDevice device_ = VK_NULL_HANDLE;
    VkQueue queue_ = VK_NULL_HANDLE;
    std::uint32_t family_ = 0;
    std::uint32_t timestamp_bits_ = 0;
    bool storage16_ = false;
    VkPipelineCache cache_ = VK_NULL_HANDLE;
    std::string cache_file_;
    std::mutex queue_mutex_;
    void create_instance();
    void create_device(int index);
};

// A buffer with its own memory block: used once per network for the activation arena, the
// weights and the host staging mirror (never per tensor).
struct buffer {
    context* ctx = nullptr;
    VkBuffer handle = VK_NULL_HANDLE;
    VkDeviceMemory memory = VK_NULL_HANDLE;
    void* mapped = nullptr;
    std::uint64_t bytes = 0;

    buffer() = default;
    buffer(context& c, std::uint64_t bytes, bool host_visible, const char* what);
    buffer(buffer&& o) noexcept { *this = std::move(o); }
    buffer& operator=(buffer&& o) noexcept;
    ~buffer();

private:
    void create(bool host_visible, const char* what);
    void release();
};

}  // namespace cnnkit::kernel::vk
