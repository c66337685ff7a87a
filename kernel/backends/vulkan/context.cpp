// context.cpp: loading libvulkan, creating the instance and device, the on-disk pipeline cache.
#include "backends/vulkan/context.hpp"

#include <dlfcn.h>
#include <link.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>

#include "backends/vulkan/faults.hpp"
#include "io/npy.hpp"

namespace cnnkit::kernel::vk {
namespace {

std::atomic<std::uint64_t> g_validation_messages{0};

bool env_validation() {
    const char* v = std::getenv("CNNKIT_VULKAN_VALIDATION");
    return v && *v && std::strcmp(v, "0") != 0;
}

VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                          VkDebugUtilsMessageTypeFlagsEXT,
                                          const VkDebugUtilsMessengerCallbackDataEXT* data, void*) {
    if (severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
        ++g_validation_messages;
        std::fprintf(stderr, "vulkan validation: %s\n", data->pMessage);
    }
    return VK_FALSE;
}

// The shared objects loaded now, by path.
std::set<std::string> loaded_objects() {
    std::set<std::string> out;
    dl_iterate_phdr(
        [](dl_phdr_info* info, std::size_t, void* data) {
            if (info->dlpi_name && *info->dlpi_name)
                static_cast<std::set<std::string>*>(data)->insert(info->dlpi_name);
            return 0;
        },
        &out);
    return out;
}

// Keeps what a Vulkan call loaded (the loader, its drivers and their libraries) loaded for the
// process's life: the loader unloads its drivers in vkDestroyInstance, and Mesa's keep
// process-wide state in globals that their unload does not free (on AMD Zen, lavapipe's CPU
// topology, allocated once in vkEnumeratePhysicalDevices): unmapped with the driver, that state
// becomes a leak in LeakSanitizer's eyes (`cnnkit devices`, whose context lives only while it
// lists), and a driver loaded again per context repeats its start-up. Objects loaded before the
// call (plugins among them, which `--watch` reloads) are left alone.
class keep_loaded {
  public:
    keep_loaded() : before_(loaded_objects()) {}
    keep_loaded(const keep_loaded&) = delete;
    keep_loaded& operator=(const keep_loaded&) = delete;
    ~keep_loaded() {
        for (const std::string& name : loaded_objects())
            if (!before_.count(name)) dlopen(name.c_str(), RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
    }

  private:
    std::set<std::string> before_;
};

std::filesystem::path cache_dir() {
    if (const char* d = std::getenv("CNNKIT_CACHE_DIR"); d && *d) return d;
    if (const char* d = std::getenv("XDG_CACHE_HOME"); d && *d)
        return std::filesystem::path(d) / "cnnkit";
    if (const char* d = std::getenv("HOME"); d && *d)
        return std::filesystem::path(d) / ".cache" / "cnnkit";
    return {};
}

}  // namespace

const char* result_name(VkResult r) {
    switch (r) {
#define CNNKIT_VK_CASE(x) \
    case x:               \
        return #x;
        CNNKIT_VK_CASE(VK_SUCCESS)
        CNNKIT_VK_CASE(VK_NOT_READY) CNNKIT_VK_CASE(VK_TIMEOUT) CNNKIT_VK_CASE(VK_INCOMPLETE)
            CNNKIT_VK_CASE(VK_ERROR_OUT_OF_HOST_MEMORY) CNNKIT_VK_CASE(
                VK_ERROR_OUT_OF_DEVICE_MEMORY) CNNKIT_VK_CASE(VK_ERROR_INITIALIZATION_FAILED)
                CNNKIT_VK_CASE(VK_ERROR_DEVICE_LOST) CNNKIT_VK_CASE(VK_ERROR_MEMORY_MAP_FAILED)
                    CNNKIT_VK_CASE(VK_ERROR_LAYER_NOT_PRESENT)
                        CNNKIT_VK_CASE(VK_ERROR_EXTENSION_NOT_PRESENT)
                            CNNKIT_VK_CASE(VK_ERROR_FEATURE_NOT_PRESENT)
                                CNNKIT_VK_CASE(VK_ERROR_INCOMPATIBLE_DRIVER)
                                    CNNKIT_VK_CASE(VK_ERROR_TOO_MANY_OBJECTS)
                                        CNNKIT_VK_CASE(VK_ERROR_FORMAT_NOT_SUPPORTED)
                                            CNNKIT_VK_CASE(VK_ERROR_FRAGMENTED_POOL)
                                                CNNKIT_VK_CASE(VK_ERROR_OUT_OF_POOL_MEMORY)
                                                    CNNKIT_VK_CASE(VK_ERROR_UNKNOWN)
#undef CNNKIT_VK_CASE
                                                        default : return "VkResult(unknown)";
    }
}

vk_error::vk_error(const std::string& what, const char* call, VkResult r)
    : cnnkit::error(cat(what.empty() ? "" : what + ": ", call, " failed with ", result_name(r),
                        r == VK_ERROR_OUT_OF_DEVICE_MEMORY ? " (the GPU is out of memory)"
                        : r == VK_ERROR_DEVICE_LOST        ? " (the GPU was lost: driver reset?)"
                                                           : "")),
      result_(r) {}

void check(VkResult r, const char* call, const std::string& what) {
    if (r != VK_SUCCESS) throw vk_error(what, call, r);
}

const char* type_name(VkPhysicalDeviceType t) {
    switch (t) {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
            return "discrete GPU";
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
            return "integrated GPU";
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
            return "virtual GPU";
        case VK_PHYSICAL_DEVICE_TYPE_CPU:
            return "CPU";
        default:
            return "other";
    }
}

std::uint64_t context::validation_messages() {
    return g_validation_messages.load();
}
bool context::validation_enabled() {
    return env_validation();
}

void context::create_instance() {
    const keep_loaded keep;
    const char* loader = std::getenv("CNNKIT_VULKAN_LOADER");
    if (!loader || !*loader) loader = "libvulkan.so.1";
    lib_ = dlopen(loader, RTLD_NOW | RTLD_LOCAL);
    if (!lib_)
        throw error(cat("no Vulkan loader: ", loader,
                        " not found (install libvulkan1 and a driver, e.g. mesa-vulkan-drivers)"));
    fn_.vkGetInstanceProcAddr =
        reinterpret_cast<PFN_vkGetInstanceProcAddr>(dlsym(lib_, "vkGetInstanceProcAddr"));
    if (!fn_.vkGetInstanceProcAddr) throw error("libvulkan.so.1 has no vkGetInstanceProcAddr");
#define CNNKIT_VK_LOAD(f) fn_.f = reinterpret_cast<PFN_##f>(fn_.vkGetInstanceProcAddr(nullptr, #f));
    CNNKIT_VK_GLOBAL(CNNKIT_VK_LOAD)
#undef CNNKIT_VK_LOAD
    faults::hook(fn_);
    VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
    app.pApplicationName = "cnnkit";
    app.pEngineName = "cnnkit";
    app.apiVersion = VK_API_VERSION_1_1;
    VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
    ci.pApplicationInfo = &app;
    const char* layer = "VK_LAYER_KHRONOS_validation";
    const char* ext = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    const bool validate = env_validation();
    if (validate) {
        std::uint32_t n = 0;
        check(fn_.vkEnumerateInstanceLayerProperties(&n, nullptr),
              "vkEnumerateInstanceLayerProperties");
        std::vector<VkLayerProperties> layers(n);
        check(fn_.vkEnumerateInstanceLayerProperties(&n, layers.data()),
              "vkEnumerateInstanceLayerProperties");
        bool found = false;
        for (const auto& l : layers) found |= std::strcmp(l.layerName, layer) == 0;
        if (!found)
            throw error(
                "CNNKIT_VULKAN_VALIDATION is set but VK_LAYER_KHRONOS_validation is not "
                "installed (vulkan-validationlayers)");
        ci.enabledLayerCount = 1;
        ci.ppEnabledLayerNames = &layer;
        ci.enabledExtensionCount = 1;
        ci.ppEnabledExtensionNames = &ext;
    }
    check(fn_.vkCreateInstance(&ci, nullptr, &instance_), "vkCreateInstance",
          "creating the Vulkan instance");
#define CNNKIT_VK_LOAD(f) \
    fn_.f = reinterpret_cast<PFN_##f>(fn_.vkGetInstanceProcAddr(instance_, #f));
    CNNKIT_VK_INSTANCE(CNNKIT_VK_LOAD)
#undef CNNKIT_VK_LOAD
    faults::hook(fn_);
    if (validate) {
        VkDebugUtilsMessengerCreateInfoEXT mi{
            VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
        mi.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                             VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
        mi.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                         VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                         VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
        mi.pfnUserCallback = &on_message;
        check(fn_.vkCreateDebugUtilsMessengerEXT(instance_, &mi, nullptr, &messenger_),
              "vkCreateDebugUtilsMessengerEXT");
    }
}

namespace {
// Devices in enumeration order, with their properties.
std::vector<std::pair<VkPhysicalDevice, VkPhysicalDeviceProperties>> physical_devices(
    const functions& fn, VkInstance instance) {
    const keep_loaded keep;
    std::uint32_t n = 0;
    check(fn.vkEnumeratePhysicalDevices(instance, &n, nullptr), "vkEnumeratePhysicalDevices");
    std::vector<VkPhysicalDevice> devs(n);
    check(fn.vkEnumeratePhysicalDevices(instance, &n, devs.data()), "vkEnumeratePhysicalDevices");
    std::vector<std::pair<VkPhysicalDevice, VkPhysicalDeviceProperties>> out;
    for (auto d : devs) {
        VkPhysicalDeviceProperties p{};
        fn.vkGetPhysicalDeviceProperties(d, &p);
        out.emplace_back(d, p);
    }
    return out;
}

int preferred(const std::vector<std::pair<VkPhysicalDevice, VkPhysicalDeviceProperties>>& devs) {
    for (VkPhysicalDeviceType t :
         {VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU,
          VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU})
        for (std::size_t i = 0; i < devs.size(); ++i)
            if (devs[i].second.deviceType == t) return static_cast<int>(i);
    return devs.empty() ? -1 : 0;
}
}  // namespace

void context::create_device(int index) {
    const keep_loaded keep;
    const auto devs = physical_devices(fn_, instance_);
    if (devs.empty()) throw error("no Vulkan device found (the loader reports none)");
    if (index < 0) index = preferred(devs);
    if (index >= static_cast<int>(devs.size()))
        throw error(cat("--device ", index, ": there are ", devs.size(),
                        " Vulkan devices (see `cnnkit devices`)"));
    physical_ = devs[index].first;
    props_ = devs[index].second;
    fn_.vkGetPhysicalDeviceMemoryProperties(physical_, &memory_);
    std::uint32_t n = 0;
    fn_.vkGetPhysicalDeviceQueueFamilyProperties(physical_, &n, nullptr);
    std::vector<VkQueueFamilyProperties> fams(n);
    fn_.vkGetPhysicalDeviceQueueFamilyProperties(physical_, &n, fams.data());
    bool found = false;
    for (std::uint32_t i = 0; i < n && !found; ++i)
        if (fams[i].queueFlags & VK_QUEUE_COMPUTE_BIT) family_ = i, found = true;
    if (!found) throw error(cat("Vulkan device '", props_.deviceName, "' has no compute queue"));
    timestamp_bits_ = fams[family_].timestampValidBits;
    const float priority = 1.0f;
    VkDeviceQueueCreateInfo qi{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
    qi.queueFamilyIndex = family_;
    qi.queueCount = 1;
    qi.pQueuePriorities = &priority;
    VkPhysicalDevice16BitStorageFeatures f16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
    if (props_.apiVersion >= VK_API_VERSION_1_1 && fn_.vkGetPhysicalDeviceFeatures2) {
        VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, &f16};
        fn_.vkGetPhysicalDeviceFeatures2(physical_, &f2);
    }
    storage16_ = f16.storageBuffer16BitAccess;
    f16 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES, nullptr, VK_TRUE};
    VkDeviceCreateInfo di{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    if (storage16_) di.pNext = &f16;
    di.queueCreateInfoCount = 1;
    di.pQueueCreateInfos = &qi;
    check(fn_.vkCreateDevice(physical_, &di, nullptr, &device_), "vkCreateDevice",
          cat("opening Vulkan device '", props_.deviceName, "'"));
    // With fault injection on, the loader's trampolines (the same for every device) get hooked.
#define CNNKIT_VK_LOAD(f)                                                                          \
    fn_.f = reinterpret_cast<PFN_##f>(faults::enabled() ? fn_.vkGetInstanceProcAddr(instance_, #f) \
                                                        : fn_.vkGetDeviceProcAddr(device_, #f));
    CNNKIT_VK_DEVICE(CNNKIT_VK_LOAD)
#undef CNNKIT_VK_LOAD
    faults::hook(fn_);
    fn_.vkGetDeviceQueue(device_, family_, 0, &queue_);
    // The pipeline cache lives on disk per device and driver; a missing or stale file is fine.
    std::vector<char> data;
    if (const auto dir = cache_dir(); !dir.empty()) {
        char uuid[2 * VK_UUID_SIZE + 1] = {};
        for (unsigned i = 0; i < VK_UUID_SIZE; ++i)
            std::snprintf(uuid + 2 * i, 3, "%02x", props_.pipelineCacheUUID[i]);
        cache_file_ =
            (dir / cat("pipelines-", props_.vendorID, "-", props_.deviceID, "-", uuid, ".bin"))
                .string();
        std::ifstream in(cache_file_, std::ios::binary);
        data.assign(std::istreambuf_iterator<char>(in), {});
    }
    VkPipelineCacheCreateInfo pc{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
    pc.initialDataSize = data.size();
    pc.pInitialData = data.empty() ? nullptr : data.data();
    if (fn_.vkCreatePipelineCache(device_, &pc, nullptr, &cache_) != VK_SUCCESS) {
        pc.initialDataSize = 0;  // a corrupt file: start empty
        pc.pInitialData = nullptr;
        check(fn_.vkCreatePipelineCache(device_, &pc, nullptr, &cache_), "vkCreatePipelineCache");
    }
}

void context::save_pipeline_cache() const {
    if (cache_file_.empty()) return;
    static std::mutex saving;  // networks loading on several threads share the temp file name
    std::lock_guard lock(saving);
    std::size_t n = 0;
    if (fn_.vkGetPipelineCacheData(device_, cache_, &n, nullptr) != VK_SUCCESS || n == 0) return;
    std::vector<unsigned char> bytes(n);
    if (fn_.vkGetPipelineCacheData(device_, cache_, &n, bytes.data()) != VK_SUCCESS) return;
    bytes.resize(n);
    try {
        std::filesystem::create_directories(std::filesystem::path(cache_file_).parent_path());
        write_file_atomic(cache_file_, bytes);
    } catch (const std::exception&) {
        // A read-only home is not an error: the cache only saves start-up time.
    }
}

namespace {
// Contexts live until the process exits and are deliberately never destroyed: tearing
// down a driver from static destructors is a known source of exit-time crashes.
std::mutex g_contexts_mutex;
auto& g_contexts = *new std::map<int, std::shared_ptr<context>>();
}  // namespace

std::shared_ptr<context> context::get(int device) {
    std::lock_guard lock(g_contexts_mutex);
    if (auto c = g_contexts[device]) return c;
    std::shared_ptr<context> c(new context());
    c->create_instance();
    c->create_device(device);
    g_contexts[device] = c;
    return c;
}

void context::forget_all() {
    std::lock_guard lock(g_contexts_mutex);
    g_contexts.clear();
}

std::vector<device_info> context::list() {
    std::shared_ptr<context> c(new context());
    c->create_instance();
    std::vector<device_info> out;
    const auto devs = physical_devices(c->fn_, c->instance_);
    for (std::size_t i = 0; i < devs.size(); ++i) {
        VkPhysicalDeviceMemoryProperties mem{};
        c->fn_.vkGetPhysicalDeviceMemoryProperties(devs[i].first, &mem);
        std::uint64_t local = 0;
        for (std::uint32_t h = 0; h < mem.memoryHeapCount; ++h)
            if (mem.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
                local += mem.memoryHeaps[h].size;
        out.push_back({static_cast<int>(i), devs[i].second.deviceName, devs[i].second.deviceType,
                       devs[i].second.apiVersion, local});
    }
    if (!out.empty()) out[preferred(devs)].name += "  (default)";
    return out;
}

context::~context() {
    if (device_) {
        fn_.vkDeviceWaitIdle(device_);
        save_pipeline_cache();
        if (cache_) fn_.vkDestroyPipelineCache(device_, cache_, nullptr);
        fn_.vkDestroyDevice(device_, nullptr);
    }
    if (messenger_) fn_.vkDestroyDebugUtilsMessengerEXT(instance_, messenger_, nullptr);
    if (instance_) fn_.vkDestroyInstance(instance_, nullptr);
    if (lib_) dlclose(lib_);
}

int context::memory_type(std::uint32_t bits, VkMemoryPropertyFlags want) const {
    for (std::uint32_t i = 0; i < memory_.memoryTypeCount; ++i)
        if ((bits & (1u << i)) && (memory_.memoryTypes[i].propertyFlags & want) == want)
            return static_cast<int>(i);
    return -1;
}

buffer::buffer(context& c, std::uint64_t size, bool host_visible, const char* what)
    : ctx(&c), bytes(std::max<std::uint64_t>(size, 256)) {
    try {
        create(host_visible, what);
    } catch (...) {  // a failure part way frees what was made
        release();
        throw;
    }
}

void buffer::create(bool host_visible, const char* what) {
    context& c = *ctx;
    const auto& fn = c.fn();
    VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bi.size = bytes;
    bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
               VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    check(fn.vkCreateBuffer(c.device(), &bi, nullptr, &handle), "vkCreateBuffer", what);
    VkMemoryRequirements req{};
    fn.vkGetBufferMemoryRequirements(c.device(), handle, &req);
    int type = -1;
    if (host_visible) {
        type = c.memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                                     VK_MEMORY_PROPERTY_HOST_COHERENT_BIT |
                                                     VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
        if (type < 0)
            type = c.memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                                         VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    } else {
        type = c.memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
        if (type < 0) type = c.memory_type(req.memoryTypeBits, 0);
    }
    if (type < 0) throw error(cat(what, ": no suitable Vulkan memory type"));
    VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    ai.allocationSize = req.size;
    ai.memoryTypeIndex = static_cast<std::uint32_t>(type);
    check(fn.vkAllocateMemory(c.device(), &ai, nullptr, &memory), "vkAllocateMemory",
          cat(what, " (", req.size, " bytes)"));
    check(fn.vkBindBufferMemory(c.device(), handle, memory, 0), "vkBindBufferMemory", what);
    if (host_visible)
        check(fn.vkMapMemory(c.device(), memory, 0, VK_WHOLE_SIZE, 0, &mapped), "vkMapMemory",
              what);
}

buffer& buffer::operator=(buffer&& o) noexcept {
    std::swap(ctx, o.ctx);
    std::swap(handle, o.handle);
    std::swap(memory, o.memory);
    std::swap(mapped, o.mapped);
    std::swap(bytes, o.bytes);
    return *this;
}

buffer::~buffer() {
    release();
}

void buffer::release() {
    if (!ctx) return;
    const auto& fn = ctx->fn();
    if (handle) fn.vkDestroyBuffer(ctx->device(), handle, nullptr);
    if (memory) fn.vkFreeMemory(ctx->device(), memory, nullptr);
    handle = VK_NULL_HANDLE;
    memory = VK_NULL_HANDLE;
    mapped = nullptr;
}

}  // namespace cnnkit::kernel::vk
