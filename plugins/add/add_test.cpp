// add_test.cpp: add / mul / sub / div broadcast shapes and errors, and the CPU kernel against
// a reference that maps every output index back to each input by hand.
#include "testing.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <random>

using namespace cnnkit;

namespace {
// Index into x of output element `flat` of shape `out`, numpy broadcasting (right-aligned).
std::int64_t source_index(const sdk::shape& x, const sdk::shape& out, std::int64_t flat) {
    std::int64_t idx = 0, step = 1;
    for (std::uint32_t k = 0; k < x.rank(); ++k) {
        const std::uint32_t dx = x.rank() - 1 - k, dout = out.rank() - 1 - k;
        std::int64_t rest = flat;
        for (std::uint32_t d = out.rank() - 1; d > dout; --d) rest /= out[d];
        const std::int64_t coord = rest % out[dout];
        idx += (x[dx] == 1 ? 0 : coord) * step;
        step *= x[dx];
    }
    return idx;
}

std::vector<float> reference(const std::vector<kernel::host_tensor>& xs, const sdk::shape& out,
                             const std::function<double(double, double)>& f) {
    std::vector<float> y(static_cast<std::size_t>(out.numel()));
    for (std::int64_t i = 0; i < out.numel(); ++i) {
        double acc = xs[0].f32()[source_index(xs[0].shape, out, i)];
        for (std::size_t k = 1; k < xs.size(); ++k)
            acc = f(acc, xs[k].f32()[source_index(xs[k].shape, out, i)]);
        y[static_cast<std::size_t>(i)] = static_cast<float>(acc);
    }
    return y;
}

void check_op(const std::string& type, const std::vector<sdk::shape>& in, const sdk::shape& out,
              const std::function<double(double, double)>& f, std::uint64_t seed) {
    std::vector<kernel::host_tensor> xs;
    for (std::size_t i = 0; i < in.size(); ++i)
        xs.push_back(testing::random_tensor(in[i], seed + i, 0.5f, 2.0f));  // no division by ~0
    INFO(type << " on " << in.size() << " inputs, out " << out);
    CHECK(testing::infer_layer(type, "{}", in)[0] == out);
    const auto r = testing::run_layer(type, "{}", xs);
    testing::check_close(r.outputs[0], out, reference(xs, out, f));
}

const auto plus = [](double a, double b) { return a + b; };
const auto times = [](double a, double b) { return a * b; };
}  // namespace

TEST_CASE("add: [2,3,4,5] + [3,1,5] broadcasts to [2,3,4,5]", "[add][shape]") {
    CHECK(testing::infer_layer("add", "{}", {{2, 3, 4, 5}, {3, 1, 5}})[0] ==
          sdk::shape{2, 3, 4, 5});
}

TEST_CASE("add: [1] + [2,3] gives [2,3], and [2,1,4] * [1,3,1] gives [2,3,4]", "[add][shape]") {
    CHECK(testing::infer_layer("add", "{}", {{1}, {2, 3}})[0] == sdk::shape{2, 3});
    CHECK(testing::infer_layer("mul", "{}", {{2, 1, 4}, {1, 3, 1}})[0] == sdk::shape{2, 3, 4});
}

TEST_CASE("add: shapes that do not broadcast are refused, naming both", "[add][shape]") {
    REQUIRE_THROWS_WITH(testing::infer_layer("add", "{}", {{2, 3}, {4}}),
                        Catch::Contains("shape mismatch in layer 'layer' (add): 'x1' {4} does not "
                                        "broadcast with 'x0' {2, 3}: dim 1 (right-aligned) is 4 "
                                        "vs 3"));
    REQUIRE_THROWS_WITH(testing::infer_layer("mul", "{}", {{2, 3}, {1, 3}, {5, 1, 2}}),
                        Catch::Contains("(mul): 'x2' {5, 1, 2} does not broadcast with 'x0' "
                                        "{2, 3}: dim 2 (right-aligned) is 2 vs 3"));
    // The conflict is named against the input it conflicts with, not the running broadcast.
    REQUIRE_THROWS_WITH(testing::infer_layer("add", "{}", {{1, 3}, {2, 1}, {4, 3}}),
                        Catch::Contains("'x2' {4, 3} does not broadcast with 'x1' {2, 1}: dim 0 "
                                        "(right-aligned) is 4 vs 2"));
}

TEST_CASE("add: sub and div take exactly two inputs", "[add][shape]") {
    REQUIRE_THROWS_WITH(testing::infer_layer("sub", "{}", {{2, 3}, {2, 3}, {2, 3}}),
                        Catch::Contains("sub takes exactly 2 inputs, got 3"));
    REQUIRE_THROWS_WITH(testing::infer_layer("div", "{}", {{2, 3}}),
                        Catch::Contains("div takes exactly 2 inputs, got 1"));
}

TEST_CASE("add: CPU add and mul match the reference on the broadcast examples",
          "[add][cpu]") {
    check_op("add", {{2, 3, 4, 5}, {3, 1, 5}}, {2, 3, 4, 5}, plus, 1);
    check_op("add", {{1}, {2, 3}}, {2, 3}, plus, 2);
    check_op("mul", {{2, 1, 4}, {1, 3, 1}}, {2, 3, 4}, times, 3);
    check_op("add", {{3, 1, 5}, {2, 3, 4, 5}}, {2, 3, 4, 5}, plus, 4);
    check_op("add", {{2, 3}}, {2, 3}, plus, 5);
}

TEST_CASE("add: CPU sum and product of N inputs match the reference on random shapes",
          "[add][cpu]") {
    std::mt19937 rng(31);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    for (int trial = 0; trial < 12; ++trial) {
        const int rank = pick(1, 5), n_in = pick(1, 4);
        sdk::shape out = sdk::shape::of_rank(static_cast<std::uint32_t>(rank));
        for (int d = 0; d < rank; ++d) out[d] = pick(1, 6);
        std::vector<sdk::shape> in;
        for (int i = 0; i < n_in; ++i) {  // a suffix of out's dims, each kept or set to 1
            const int r = pick(1, rank);
            sdk::shape s = sdk::shape::of_rank(static_cast<std::uint32_t>(r));
            for (int d = 0; d < r; ++d) s[d] = pick(0, 2) ? out[rank - r + d] : 1;
            in.push_back(s);
        }
        in.push_back(out);  // so the broadcast is exactly out
        std::shuffle(in.begin(), in.end(), rng);
        check_op(trial % 2 ? "add" : "mul", in, out, trial % 2 ? plus : times, 500 + trial * 10);
    }
}

TEST_CASE("add: CPU sub and div keep the operand order under broadcasting", "[add][cpu]") {
    const auto minus = [](double a, double b) { return a - b; };
    const auto over = [](double a, double b) { return a / b; };
    check_op("sub", {{2, 3, 4}, {4}}, {2, 3, 4}, minus, 6);
    check_op("sub", {{3, 1}, {2, 1, 5}}, {2, 3, 5}, minus, 7);
    check_op("div", {{1, 4}, {3, 1}}, {3, 4}, over, 8);
    check_op("div", {{2, 3, 4, 5}, {3, 1, 5}}, {2, 3, 4, 5}, over, 9);
}
