// faults.cpp: the hooks behind faults.hpp. Every hooked entry point is an instantiation of
// hooked<&functions::f>, which calls the real pointer kept in g_real.
#include "backends/vulkan/faults.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <tuple>
#include <type_traits>

#include "backends/vulkan/context.hpp"

namespace cnnkit::kernel::vk::faults {
namespace {

functions g_real;  // the loader's entry points (with hooks on, all are loader trampolines)
std::atomic<bool> g_enabled{false};
std::atomic<std::uint64_t> g_calls{0};
std::atomic<std::int64_t> g_index{-1};
std::atomic<VkResult> g_result{VK_SUCCESS};
std::atomic<const char*> g_fired{nullptr};
std::mutex g_live_mutex;
std::map<std::string, std::int64_t> g_live;

void count(const char* type, std::int64_t delta) {
    std::lock_guard lock(g_live_mutex);
    if ((g_live[type] += delta) == 0) g_live.erase(type);
}

// VK_SUCCESS, or the fault this call must report.
VkResult next(const char* name) {
    const auto i = static_cast<std::int64_t>(g_calls.fetch_add(1));
    const auto at = g_index.load();
    if (at < 0 || i < at) return VK_SUCCESS;
    if (i == at) {
        g_fired = name;
        return g_result.load();
    }
    return g_result.load() == VK_ERROR_DEVICE_LOST ? VK_ERROR_DEVICE_LOST : VK_SUCCESS;
}

enum class role { call, create, destroy, wait };  // wait: a failed wait still waits

template <auto Member, role Role, class F = std::remove_reference_t<decltype(g_real.*Member)>>
struct hooked;

template <auto Member, role Role, class R, class... A>
struct hooked<Member, Role, R(VKAPI_PTR*)(A...)> {
    static inline const char* name = "";
    static inline const char* type = nullptr;  // the object type it creates or destroys

    static VKAPI_ATTR R VKAPI_CALL call(A... a) {
        const auto real = g_real.*Member;
        if constexpr (std::is_same_v<R, VkResult>) {
            if (const VkResult f = next(name); f != VK_SUCCESS) {
                if constexpr (Role == role::wait) (void)real(a...);
                return f;
            }
            const VkResult r = real(a...);
            if constexpr (Role == role::create)
                if (r == VK_SUCCESS) {
                    const std::tuple<A...> t(a...);
                    const auto* out = std::get<sizeof...(A) - 1>(t);
                    if constexpr (sizeof...(A) == 6) {  // vkCreateComputePipelines
                        for (std::uint32_t i = 0; i < std::get<2>(t); ++i)
                            if (out[i]) count(type, 1);
                    } else if (*out) {
                        count(type, 1);
                    }
                }
            return r;
        } else {
            if constexpr (Role == role::destroy) {
                const std::tuple<A...> t(a...);
                if (std::get < sizeof...(A) == 2 ? 0 : 1 > (t)) count(type, -1);
            }
            return real(a...);
        }
    }
};

template <auto Member, role Role = role::call>
void wrap(functions& fn, const char* name, const char* type = nullptr) {
    auto& slot = fn.*Member;
    using H = hooked<Member, Role>;
    if (!slot || slot == &H::call) return;
    g_real.*Member = slot;
    H::name = name, H::type = type;
    slot = &H::call;
}

void at_exit() {
    std::string objects;
    for (const auto& [type, n] : live()) objects += " " + type + "=" + std::to_string(n);
    std::fprintf(stderr, "CNNKIT_VK_FAULT: %llu fallible Vulkan calls; live objects:%s\n",
                 static_cast<unsigned long long>(g_calls.load()),
                 objects.empty() ? " none" : objects.c_str());
}

// CNNKIT_VK_FAULT, read once.
const bool g_from_env = [] {
    const char* v = std::getenv("CNNKIT_VK_FAULT");
    if (!v || !*v) return false;
    g_enabled = true;
    const char* colon = std::strchr(v, ':');
    if (colon) {
        const std::string kind = colon + 1;
        arm(std::strtoll(v, nullptr, 10),
            kind == "lost" ? VK_ERROR_DEVICE_LOST : VK_ERROR_OUT_OF_DEVICE_MEMORY);
    }
    std::atexit(at_exit);
    return true;
}();

}  // namespace

void enable() {
    g_enabled = true;
}

bool enabled() {
    return g_enabled.load();
}

void hook(functions& fn) {
    if (!enabled()) return;
    // Fallible calls, with the object type each one creates.
    wrap<&functions::vkCreateInstance, role::create>(fn, "vkCreateInstance", "VkInstance");
    wrap<&functions::vkEnumerateInstanceLayerProperties>(fn, "vkEnumerateInstanceLayerProperties");
    wrap<&functions::vkEnumerateInstanceVersion>(fn, "vkEnumerateInstanceVersion");
    wrap<&functions::vkEnumeratePhysicalDevices>(fn, "vkEnumeratePhysicalDevices");
    wrap<&functions::vkCreateDevice, role::create>(fn, "vkCreateDevice", "VkDevice");
    wrap<&functions::vkCreateDebugUtilsMessengerEXT, role::create>(
        fn, "vkCreateDebugUtilsMessengerEXT", "VkDebugUtilsMessengerEXT");
    wrap<&functions::vkCreateBuffer, role::create>(fn, "vkCreateBuffer", "VkBuffer");
    wrap<&functions::vkAllocateMemory, role::create>(fn, "vkAllocateMemory", "VkDeviceMemory");
    wrap<&functions::vkBindBufferMemory>(fn, "vkBindBufferMemory");
    wrap<&functions::vkMapMemory>(fn, "vkMapMemory");
    wrap<&functions::vkCreateShaderModule, role::create>(fn, "vkCreateShaderModule",
                                                         "VkShaderModule");
    wrap<&functions::vkCreateDescriptorSetLayout, role::create>(fn, "vkCreateDescriptorSetLayout",
                                                                "VkDescriptorSetLayout");
    wrap<&functions::vkCreatePipelineLayout, role::create>(fn, "vkCreatePipelineLayout",
                                                           "VkPipelineLayout");
    wrap<&functions::vkCreateComputePipelines, role::create>(fn, "vkCreateComputePipelines",
                                                             "VkPipeline");
    wrap<&functions::vkCreatePipelineCache, role::create>(fn, "vkCreatePipelineCache",
                                                          "VkPipelineCache");
    wrap<&functions::vkGetPipelineCacheData>(fn, "vkGetPipelineCacheData");
    wrap<&functions::vkCreateDescriptorPool, role::create>(fn, "vkCreateDescriptorPool",
                                                           "VkDescriptorPool");
    wrap<&functions::vkAllocateDescriptorSets>(fn, "vkAllocateDescriptorSets");
    wrap<&functions::vkCreateCommandPool, role::create>(fn, "vkCreateCommandPool", "VkCommandPool");
    wrap<&functions::vkAllocateCommandBuffers>(fn, "vkAllocateCommandBuffers");
    wrap<&functions::vkBeginCommandBuffer>(fn, "vkBeginCommandBuffer");
    wrap<&functions::vkEndCommandBuffer>(fn, "vkEndCommandBuffer");
    wrap<&functions::vkCreateFence, role::create>(fn, "vkCreateFence", "VkFence");
    wrap<&functions::vkResetFences>(fn, "vkResetFences");
    wrap<&functions::vkQueueSubmit>(fn, "vkQueueSubmit");
    wrap<&functions::vkWaitForFences, role::wait>(fn, "vkWaitForFences");
    wrap<&functions::vkDeviceWaitIdle, role::wait>(fn, "vkDeviceWaitIdle");
    // Their destroy and free counterparts.
    wrap<&functions::vkDestroyInstance, role::destroy>(fn, "vkDestroyInstance", "VkInstance");
    wrap<&functions::vkDestroyDevice, role::destroy>(fn, "vkDestroyDevice", "VkDevice");
    wrap<&functions::vkDestroyDebugUtilsMessengerEXT, role::destroy>(
        fn, "vkDestroyDebugUtilsMessengerEXT", "VkDebugUtilsMessengerEXT");
    wrap<&functions::vkDestroyBuffer, role::destroy>(fn, "vkDestroyBuffer", "VkBuffer");
    wrap<&functions::vkFreeMemory, role::destroy>(fn, "vkFreeMemory", "VkDeviceMemory");
    wrap<&functions::vkDestroyShaderModule, role::destroy>(fn, "vkDestroyShaderModule",
                                                           "VkShaderModule");
    wrap<&functions::vkDestroyDescriptorSetLayout, role::destroy>(
        fn, "vkDestroyDescriptorSetLayout", "VkDescriptorSetLayout");
    wrap<&functions::vkDestroyPipelineLayout, role::destroy>(fn, "vkDestroyPipelineLayout",
                                                             "VkPipelineLayout");
    wrap<&functions::vkDestroyPipeline, role::destroy>(fn, "vkDestroyPipeline", "VkPipeline");
    wrap<&functions::vkDestroyPipelineCache, role::destroy>(fn, "vkDestroyPipelineCache",
                                                            "VkPipelineCache");
    wrap<&functions::vkDestroyDescriptorPool, role::destroy>(fn, "vkDestroyDescriptorPool",
                                                             "VkDescriptorPool");
    wrap<&functions::vkDestroyCommandPool, role::destroy>(fn, "vkDestroyCommandPool",
                                                          "VkCommandPool");
    wrap<&functions::vkDestroyFence, role::destroy>(fn, "vkDestroyFence", "VkFence");
}

std::uint64_t calls() {
    return g_calls.load();
}

void arm(std::int64_t index, VkResult r) {
    g_result = r;
    g_fired = nullptr;
    g_calls = 0;
    g_index = index;
}

bool fired() {
    return g_fired.load() != nullptr;
}

const char* fired_call() {
    const char* n = g_fired.load();
    return n ? n : "";
}

std::map<std::string, std::int64_t> live() {
    std::lock_guard lock(g_live_mutex);
    return g_live;
}

}  // namespace cnnkit::kernel::vk::faults
