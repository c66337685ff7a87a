// watch_plugin.cpp: y = x + WATCH_PLUGIN_VERSION; built twice (1 and 2) to test --watch reloads.
#include <cnnkit/layer.hpp>

#ifndef WATCH_PLUGIN_VERSION
#define WATCH_PLUGIN_VERSION 1
#endif

namespace watch_test {
struct layer {
    using params = cnnkit::sdk::no_params;
    static constexpr const char* type = "test_watch";
    static cnnkit::sdk::shape infer(const params&, std::span<const cnnkit::sdk::shape> in) {
        return in[0];
    }
    static void run(const params&, const cnnkit::sdk::call& c) {
        for (std::int64_t i = 0; i < c.in(0).numel(); ++i)
            c.out(0).f32()[i] = c.in(0).f32()[i] + WATCH_PLUGIN_VERSION;
    }
};
}  // namespace watch_test

CNNKIT_REGISTER_PLUGIN("watch_test", "1.0", watch_test::layer)
