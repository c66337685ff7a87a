// fuzz_common.hpp: shared by the libFuzzer targets: the in-tree plugins, loaded once.
#pragma once

#include "plugins/registry.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>

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
