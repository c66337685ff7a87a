// activation_test.cpp: each activation against its formula, on random tensors.
#include "testing.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <functional>

using namespace cnnkit;

namespace {
void check_activation(const std::string& type, const std::string& params,
                      const std::function<double(double)>& f) {
    const auto x = testing::random_tensor({2, 3, 17, 5}, 11, -4.0f, 4.0f);
    const auto r = testing::run_layer(type, params, {x});
    std::vector<float> want(static_cast<std::size_t>(x.shape.numel()));
    for (std::size_t i = 0; i < want.size(); ++i) want[i] = static_cast<float>(f(x.f32()[i]));
    testing::check_close(r.outputs[0], x.shape, want, 1e-5f, 1e-6f);
}
}  // namespace

TEST_CASE("activation: relu, tanh, sigmoid match their formulas", "[activation][cpu]") {
    check_activation("relu", "{}", [](double x) { return x > 0 ? x : 0; });
    check_activation("tanh", "{}", [](double x) { return std::tanh(x); });
    check_activation("sigmoid", "{}", [](double x) { return 1 / (1 + std::exp(-x)); });
}

TEST_CASE("activation: leaky_relu, elu, selu, clip, hard_sigmoid use their params",
          "[activation][cpu]") {
    check_activation("leaky_relu", "{alpha: 0.2}", [](double x) { return x >= 0 ? x : 0.2 * x; });
    check_activation("elu", "{alpha: 0.5}", [](double x) { return x > 0 ? x : 0.5 * std::expm1(x); });
    check_activation("selu", "{}", [](double x) {
        return 1.0507009873554805 * (x > 0 ? x : 1.6732632423543772 * std::expm1(x));
    });
    check_activation("clip", "{min: -1, max: 2}", [](double x) { return std::min(std::max(x, -1.0), 2.0); });
    check_activation("hard_sigmoid", "{alpha: 0.3, beta: 0.4}",
                     [](double x) { return std::max(0.0, std::min(1.0, 0.3 * x + 0.4)); });
}

TEST_CASE("activation: a wrong param type names the key and the expected kind", "[activation]") {
    REQUIRE_THROWS_WITH(testing::infer_layer("leaky_relu", "{alpha: fast}", {{1, 4}}),
                        Catch::Contains("key 'alpha' of layer 'layer' (leaky_relu): expected float, got 'fast'"));
}
