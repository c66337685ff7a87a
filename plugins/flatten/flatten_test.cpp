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

TEST_CASE("identity: passes any tensor through unchanged", "[flatten][identity][cpu]") {
    const auto x = testing::random_tensor({2, 3, 5}, 41);
    const auto r = run_layer("identity", "{}", {x});
    testing::check_close(r.outputs[0], {2, 3, 5}, values_of(x), 0, 0);
    REQUIRE_THROWS_WITH(infer_layer("identity", "{}", {{2}, {2}}),
                        Catch::Contains("identity takes 1 input, got 2"));
}

TEST_CASE("constant: a source node outputs its weight, as f32 or i64", "[flatten][constant][cpu]") {
    REQUIRE_THROWS_WITH(infer_layer("constant", "{shape: [2, 0, 0, 0, 0, 0, 0, 0], rank: 2}", {}),
                        Catch::Contains("constant shape dim 1 must be >= 1, got 0"));
    REQUIRE_THROWS_WITH(infer_layer("constant", "{shape: [2], rank: 1}", {{2}}),
                        Catch::Contains("constant takes no inputs, got 1"));
    const std::string yaml = R"(
inputs: {x: [2, 3]}
nodes:
  - {name: k, type: constant, inputs: [], shape: [1, 3, 0, 0, 0, 0, 0, 0], rank: 2}
  - {name: i, type: constant, inputs: [], shape: [4, 0, 0, 0, 0, 0, 0, 0], rank: 1, dtype: i64}
  - {name: s, type: add, inputs: [x, k]}
outputs: {s: s, i: i}
)";
    kernel::graph g = kernel::load_yaml_text(testing::plugins(), yaml, "<test>");
    REQUIRE(g.weights.size() == 2);
    CHECK(g.weights[0].name == "k.value");
    CHECK(g.weights[0].shape == sdk::shape{1, 3});
    const std::vector<std::pair<std::string, kernel::host_tensor>> w = {
        {"k.value", testing::make_tensor({1, 3}, {10, 20, 30})},
        {"i.value", testing::make_tensor({4}, {0, 5, 7, 16777216})}};
    const std::string file = testing::temp_dir("constant") + "/w.safetensors";
    kernel::write_safetensors(file, w);
    kernel::network_options opt;
    opt.weights = file;
    auto net = kernel::network::from_graph(std::move(g), opt);
    const auto out = net->run({{"x", testing::make_tensor({2, 3}, {1, 2, 3, 4, 5, 6})}});
    testing::check_close(out.at("s"), {2, 3}, {11, 22, 33, 14, 25, 36}, 0, 0);
    const kernel::host_tensor& i = out.at("i");
    REQUIRE(i.shape == sdk::shape({4}, sdk::dtype::i64));
    const auto* iv = reinterpret_cast<const std::int64_t*>(i.bytes.data());
    CHECK(std::vector<std::int64_t>(iv, iv + 4) == std::vector<std::int64_t>{0, 5, 7, 16777216});
}
