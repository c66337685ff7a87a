// devices.cpp: `cnnkit devices`: the Vulkan devices the loader reports, in --device order.
#include <iostream>

#include "args.hpp"
#include "backends/vulkan/context.hpp"
#include "commands.hpp"

namespace cnnkit::host {

int cmd_devices(int argc, char** argv) {
    const args a(argc, argv, 2, {}, {});
    if (!a.positional().empty()) throw error("usage: cnnkit devices");
    const auto devs = kernel::vk::context::list();
    if (devs.empty()) throw error("no Vulkan device found (the loader reports none)");
    for (const auto& d : devs)
        std::cout << d.index << ": " << d.name << "\n   " << kernel::vk::type_name(d.type)
                  << ", Vulkan " << VK_API_VERSION_MAJOR(d.api_version) << '.'
                  << VK_API_VERSION_MINOR(d.api_version) << '.'
                  << VK_API_VERSION_PATCH(d.api_version) << ", " << d.device_local_bytes / (1 << 20)
                  << " MiB device-local memory\n";
    return 0;
}

}  // namespace cnnkit::host
