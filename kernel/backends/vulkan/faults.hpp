// faults.hpp: test-only fault injection and object accounting for the Vulkan backend. When
// enabled (the environment variable CNNKIT_VK_FAULT, or enable() from a test), every function the
// context loads is routed through a hook that (1) numbers the fallible calls (those returning a
// VkResult) and makes the chosen one return VK_ERROR_OUT_OF_DEVICE_MEMORY or VK_ERROR_DEVICE_LOST,
// and (2) counts live objects per type (create/allocate +1, destroy/free -1), so a test can assert
// that nothing leaks after a failure. Disabled (the default), the function table is untouched.
//
//   CNNKIT_VK_FAULT=count       count and track only (the totals are printed at exit)
//   CNNKIT_VK_FAULT=N:oom       the N-th fallible call (0-based) fails with out-of-device-memory
//   CNNKIT_VK_FAULT=N:lost      the N-th fails with device-lost, and so does every later one
//
// Descriptor sets and command buffers are not counted: they are freed with their pools, which are.
#pragma once

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan_core.h>

#include <cstdint>
#include <map>
#include <string>

namespace cnnkit::kernel::vk {
struct functions;
}

namespace cnnkit::kernel::vk::faults {

// Turns the hooks on for functions loaded from now on (tests call it before the first context).
void enable();
bool enabled();
// Routes the non-null entries of `fn` through the hooks (idempotent); no-op when disabled.
void hook(functions& fn);

// Fallible calls made since the last arm()/reset.
std::uint64_t calls();
// The `index`-th fallible call from now fails with `r` (VK_ERROR_DEVICE_LOST stays failing, as a
// lost device does); resets the call count. arm(-1, ...) disarms.
void arm(std::int64_t index, VkResult r);
// Whether the armed fault has fired, and the name of the call it hit.
bool fired();
const char* fired_call();
// Live objects per type ("VkBuffer", "VkDeviceMemory", ...); types at zero are omitted.
std::map<std::string, std::int64_t> live();

}  // namespace cnnkit::kernel::vk::faults
