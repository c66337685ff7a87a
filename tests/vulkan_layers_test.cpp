// vulkan_layers_test.cpp: every layer's Vulkan kernel against its CPU kernel on random shapes
// (rtol 1e-4), on whatever device the loader gives (lavapipe in CI), validation layer on.
#include "testing.hpp"

#include <catch2/catch.hpp>

using namespace cnnkit;
using testing::check_backends_agree;
using testing::random_tensor;

TEST_CASE("vulkan: every activation matches the CPU", "[activation][vulkan]") {
    const auto x = random_tensor({2, 3, 17, 5}, 11, -4.0f, 4.0f);
    for (const char* t : {"relu", "tanh", "sigmoid"}) check_backends_agree(t, "{}", {x});
    check_backends_agree("leaky_relu", "{alpha: 0.2}", {x});
    check_backends_agree("elu", "{alpha: 0.7}", {x});
    check_backends_agree("selu", "{}", {x});
    check_backends_agree("clip", "{min: -1, max: 2}", {x});
    check_backends_agree("hard_sigmoid", "{alpha: 0.3, beta: 0.4}", {x});
}
