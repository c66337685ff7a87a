// cpu_only.cpp: test layers for the Vulkan fallback: test_double (y = 2x) has a CPU kernel only;
// test_half (y = x / 2) describes a Vulkan kernel that declines every configuration.
#include <cnnkit/layer.hpp>

namespace cpu_only {
template <int Num, int Den, bool Declines>
struct scale {
    using params = cnnkit::sdk::no_params;
    static constexpr const char* type = Declines ? "test_half" : "test_double";
    static constexpr bool in_place = true;
    static cnnkit::sdk::shape infer(const params&, std::span<const cnnkit::sdk::shape> in) {
        return in[0];
    }
    static void run(const params&, const cnnkit::sdk::call& c) {
        for (std::int64_t i = 0; i < c.in(0).numel(); ++i)
            c.out(0).f32()[i] = c.in(0).f32()[i] * Num / Den;
    }
};
struct half : scale<1, 2, true> {
    static std::vector<cnnkit::sdk::gpu::dispatch> vulkan(const params&,
                                                          const cnnkit::sdk::gpu::call&) {
        throw cnnkit::sdk::gpu::unsupported("this test layer declines every shape");
    }
};
}  // namespace cpu_only

CNNKIT_REGISTER_PLUGIN("cpu_only", "1.0", cpu_only::scale<2, 1, false>, cpu_only::half)
