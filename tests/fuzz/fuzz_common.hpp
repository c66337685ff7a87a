// fuzz_common.hpp: shared by the libFuzzer targets: the in-tree plugins, loaded once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "plugins/registry.hpp"

namespace cnnkit::fuzz {

inline const kernel::registry& plugins() {
    static const auto reg = [] {
        auto r = std::make_unique<kernel::registry>();
        r->load_dir(CNNKIT_PLUGIN_DIR);
        return r;
    }();
    return *reg;
}

}  // namespace cnnkit::fuzz
