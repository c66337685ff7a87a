// throws.cpp: a plugin whose layer throws from create and run: errors, never crashes.
#include <cnnkit/layer.hpp>

#include <stdexcept>

namespace throws {
struct params {
    std::int32_t fail_at = 0;  // 1: create, 2: run
};
}  // namespace throws
CNNKIT_PARAM_FIELDS(throws::params, fail_at);

namespace throws {
struct layer {
    using params = throws::params;
    static constexpr const char* type = "test_throws";
    static cnnkit::sdk::shape infer(const params& p, std::span<const cnnkit::sdk::shape> in) {
        if (p.fail_at == 1) throw std::runtime_error("deliberate failure in infer");
        return in[0];
    }
    static void run(const params& p, const cnnkit::sdk::call&) {
        if (p.fail_at == 2) throw std::logic_error("deliberate failure in run");
    }
};
}  // namespace throws

CNNKIT_REGISTER_PLUGIN("throws", "1.0", throws::layer)
