// dup_relu.cpp: a second plugin providing "relu", which the registry must refuse.
#include <cnnkit/layer.hpp>

namespace dup {
struct relu_again {
    using params = cnnkit::sdk::no_params;
    static constexpr const char* type = "relu";
    static cnnkit::sdk::shape infer(const params&, std::span<const cnnkit::sdk::shape> in) {
        return in[0];
    }
    static void run(const params&, const cnnkit::sdk::call&) {}
};
}  // namespace dup

CNNKIT_REGISTER_PLUGIN("dup_relu", "1.0", dup::relu_again)
