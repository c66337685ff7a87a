// flatten_test.cpp: flatten / reshape / dropout shape rules and refusals, data passed through
// unchanged, and the in-place path inside a small network.
#include "testing.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace cnnkit;
using testing::infer_layer;
using testing::run_layer;

namespace {

std::vector<float> values_of(const kernel::host_tensor& t) {
    return {t.f32(), t.f32() + t.shape.numel()};
}

}  // namespace

TEST_CASE("flatten: axis splits the dims into [before, after]", "[flatten][shape]") {
    const sdk::shape s{2, 3, 4, 5};
    CHECK(infer_layer("flatten", "{}", {s})[0] == sdk::shape{2, 60});
    CHECK(infer_layer("flatten", "{axis: 0}", {s})[0] == sdk::shape{1, 120});
    CHECK(infer_layer("flatten", "{axis: -1}", {s})[0] == sdk::shape{24, 5});
    CHECK(infer_layer("flatten", "{axis: 4}", {s})[0] == sdk::shape{120, 1});
    CHECK(infer_layer("flatten", "{}", {sdk::shape({2, 3, 4}, sdk::dtype::i64)})[0] ==
          sdk::shape({2, 12}, sdk::dtype::i64));
}

TEST_CASE("flatten: an axis outside [-rank, rank] is refused", "[flatten][shape]") {
    REQUIRE_THROWS_WITH(infer_layer("flatten", "{axis: 5}", {{2, 3, 4, 5}}),
                        Catch::Contains("flatten axis 5 is outside [-4, 4] for input "
                                        "{2, 3, 4, 5}"));
}

TEST_CASE("reshape: 0 copies a dim and -1 takes the rest", "[flatten][reshape][shape]") {
    const sdk::shape s{2, 3, 4};
    CHECK(infer_layer("reshape", "{shape: [0, -1], rank: 2}", {s})[0] == sdk::shape{2, 12});
    CHECK(infer_layer("reshape", "{shape: [-1, 0, 2, 2], rank: 4}", {s})[0] ==
          sdk::shape{2, 3, 2, 2});
    CHECK(infer_layer("reshape", "{shape: [24], rank: 1}", {s})[0] == sdk::shape{24});
}

TEST_CASE("reshape: a shape that changes the element count is refused",
          "[flatten][reshape][shape]") {
    const sdk::shape s{2, 3, 4};
    REQUIRE_THROWS_WITH(infer_layer("reshape", "{shape: [5, 5], rank: 2}", {s}),
                        Catch::Contains("reshape of {2, 3, 4} (24 elements) to {5, 5} gives "
                                        "{5, 5} (25 elements)"));
    REQUIRE_THROWS_WITH(infer_layer("reshape", "{shape: [-1, -1], rank: 2}", {s}),
                        Catch::Contains("has more than one -1"));
    REQUIRE_THROWS_WITH(infer_layer("reshape", "{shape: [5, -1], rank: 2}", {s}),
                        Catch::Contains("cannot infer the -1 in {5, -1}"));
    REQUIRE_THROWS_WITH(infer_layer("reshape", "{shape: [2, 0, 0, 0], rank: 4}", {s}),
                        Catch::Contains("copies dim 3 (0) that input {2, 3, 4} lacks"));
    REQUIRE_THROWS_WITH(infer_layer("reshape", "{}", {s}),
                        Catch::Contains("reshape rank must be in 1..8, got 0"));
}

TEST_CASE("dropout: keeps the shape and refuses a ratio of 1", "[flatten][dropout][shape]") {
    CHECK(infer_layer("dropout", "{ratio: 0.3}", {{4, 7}})[0] == sdk::shape{4, 7});
    REQUIRE_THROWS_WITH(infer_layer("dropout", "{ratio: 1.0}", {{4, 7}}),
                        Catch::Contains("dropout ratio must be in [0, 1), got 1"));
}

TEST_CASE("flatten: flatten, reshape and dropout pass the data through unchanged",
          "[flatten][cpu]") {
    std::mt19937 rng(3);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    for (int trial = 0; trial < 6; ++trial) {
        const sdk::shape s{pick(1, 3), pick(1, 70), pick(1, 40), pick(1, 9)};
        const auto x = testing::random_tensor(s, 900 + trial);
        INFO(s);
        const int axis = pick(-4, 4);
        const auto f = run_layer("flatten", cat("{axis: ", axis, "}"), {x});
        const auto a = static_cast<std::uint32_t>(axis < 0 ? axis + 4 : axis);
        testing::check_close(f.outputs[0], {s.prod(0, a), s.prod(a, 4)}, values_of(x), 0, 0);
        const auto r = run_layer("reshape", "{shape: [0, -1, 1, 0, 0, 0, 0, 0], rank: 3}", {x});
        testing::check_close(r.outputs[0], {s[0], s.numel() / s[0], 1}, values_of(x), 0, 0);
        const auto d = run_layer("dropout", "{}", {x});
        testing::check_close(d.outputs[0], s, values_of(x), 0, 0);
    }
}

TEST_CASE("flatten: in a network the three layers run in place and keep the values",
          "[flatten][cpu]") {
    const std::string yaml = R"(
inputs: {x: [2, 3, 4, 5]}
nodes:
  - {type: relu}
  - {type: flatten, axis: 2}
  - {type: reshape, shape: [0, 4, -1, 0, 0, 0, 0, 0], rank: 3}
  - {type: dropout}
  - {type: tanh}
)";
    kernel::network_options opt;
    opt.threads = 2;
    auto net = kernel::network::from_graph(
        kernel::load_yaml_text(testing::plugins(), yaml, "<test>"), opt);
    CHECK(net->memory_plan().in_place >= 3);
    const auto x = testing::random_tensor({2, 3, 4, 5}, 17);
    const auto out = net->run({{"x", x}});
    std::vector<float> want = values_of(x);
    for (auto& v : want) v = std::tanh(v > 0 ? v : 0.0f);
    testing::check_close(out.at("out"), {6, 4, 5}, want);
}
