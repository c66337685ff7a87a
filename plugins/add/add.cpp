// add.cpp: elementwise add / mul (1..N inputs, like ONNX Sum / Mul) and sub / div (2 inputs)
// with multidirectional numpy broadcasting. The kernel walks output rows (all dims but the last)
// and reads each input through strides that are 0 along its broadcast dims.
#include "add.hpp"

#include <cnnkit/input_ref.hpp>
#include <cnnkit/layer.hpp>

#include <algorithm>
#include <array>
#include <limits>

namespace cnnkit::plugins::add {
namespace {

using strides = std::array<std::int64_t, CNNKIT_MAX_RANK>;

// The numpy broadcast of shapes a and b (right-aligned; a dim of 1 stretches), or an error
// naming input i (shape b) and input j (shape a), the earlier input it conflicts with.
sdk::shape broadcast(const sdk::shape& a, const sdk::shape& b, std::size_t i, std::size_t j) {
    const std::uint32_t rank = std::max(a.rank(), b.rank());
    sdk::shape out = sdk::shape::of_rank(rank);
    for (std::uint32_t d = 0; d < rank; ++d) {
        const std::int64_t da = d + a.rank() >= rank ? a[d + a.rank() - rank] : 1;
        const std::int64_t db = d + b.rank() >= rank ? b[d + b.rank() - rank] : 1;
        sdk::expect(da == db || da == 1 || db == 1, sdk::input_ref{i, b},
                    " does not broadcast with ", sdk::input_ref{j, a}, ": dim ", d,
                    " (right-aligned) is ", db, " vs ", da);
        out[d] = da == 1 ? db : da;
    }
    return out;
}

// Element strides of `in` read as a tensor of `out`'s shape: 0 where `in` broadcasts.
strides strides_in(const sdk::shape& in, const sdk::shape& out) {
    strides s{};
    std::int64_t step = 1;
    for (std::uint32_t k = 0; k < in.rank(); ++k) {
        const std::uint32_t d_in = in.rank() - 1 - k, d_out = out.rank() - 1 - k;
        s[d_out] = in[d_in] == 1 ? 0 : step;
        step *= in[d_in];
    }
    return s;
}

// Op supplies type, doc, min_inputs, max_inputs and a static `float f(float, float)`.
template <class Op>
struct binary {
    using params = add::params;
    static constexpr const char* type = Op::type;
    static constexpr const char* doc = Op::doc;
    static constexpr bool in_place = true;  // output i reads input 0 only at i when same size

    static sdk::shape infer(const params&, std::span<const sdk::shape> in) {
        sdk::expect(in.size() >= Op::min_inputs && in.size() <= Op::max_inputs, type, " takes ",
                    Op::min_inputs == Op::max_inputs ? "exactly " : "at least ", Op::min_inputs,
                    " inputs, got ", in.size());
        sdk::shape out = in[0];
        for (std::size_t i = 0; i < in.size(); ++i) {
            sdk::expect(in[i].type() == sdk::dtype::f32, type, " needs float32 inputs, got ",
                        sdk::input_ref{i, in[i]});
            for (std::size_t j = 0; j < i; ++j) (void)broadcast(in[j], in[i], i, j);  // pairwise
            if (i > 0) out = broadcast(out, in[i], i, 0);
        }
        return out;
    }
    static std::vector<sdk::gpu::dispatch> vulkan(const params&, const sdk::gpu::call& c) {
        return add::vulkan(type, c);
    }
    static void run(const params&, const sdk::call& c) {
        const sdk::shape out = c.out(0).shape();
        const std::uint32_t rank = out.rank();
        const std::int64_t last = out[rank - 1];
        const std::size_t n = c.n_in();
        std::vector<strides> st(n);
        for (std::size_t k = 0; k < n; ++k) st[k] = strides_in(c.in(k).shape(), out);
        float* y = c.out(0).f32();
        const std::int64_t grain =
            std::max<std::int64_t>(1, 8192 / std::max<std::int64_t>(last, 1));
        c.host.parallel_for(
            0, out.prod(0, rank - 1),
            [&](std::int64_t b, std::int64_t e) {
                for (std::int64_t row = b; row < e; ++row) {
                    float* yr = y + row * last;
                    for (std::size_t k = 0; k < n; ++k) {
                        std::int64_t off = 0;
                        for (std::int64_t r = row, d = rank - 1; d-- > 0; r /= out[d])
                            off += (r % out[d]) * st[k][d];
                        const float* x = c.in(k).f32() + off;
                        const std::int64_t s = st[k][rank - 1];
                        if (k == 0)
                            for (std::int64_t j = 0; j < last; ++j) yr[j] = x[j * s];
                        else
                            for (std::int64_t j = 0; j < last; ++j) yr[j] = Op::f(yr[j], x[j * s]);
                    }
                }
            },
            grain);
    }
};

constexpr std::size_t any = std::numeric_limits<std::size_t>::max();

struct add_op {
    static constexpr const char* type = "add";
    static constexpr const char* doc = "elementwise sum of 1..N inputs, numpy broadcasting";
    static constexpr std::size_t min_inputs = 1, max_inputs = any;
    static float f(float a, float b) { return a + b; }
};
struct mul_op {
    static constexpr const char* type = "mul";
    static constexpr const char* doc = "elementwise product of 1..N inputs, numpy broadcasting";
    static constexpr std::size_t min_inputs = 1, max_inputs = any;
    static float f(float a, float b) { return a * b; }
};
struct sub_op {
    static constexpr const char* type = "sub";
    static constexpr const char* doc = "input 0 - input 1, numpy broadcasting";
    static constexpr std::size_t min_inputs = 2, max_inputs = 2;
    static float f(float a, float b) { return a - b; }
};
struct div_op {
    static constexpr const char* type = "div";
    static constexpr const char* doc = "input 0 / input 1, numpy broadcasting";
    static constexpr std::size_t min_inputs = 2, max_inputs = 2;
    static float f(float a, float b) { return a / b; }
};

}  // namespace
}  // namespace cnnkit::plugins::add

namespace add_ns = cnnkit::plugins::add;
CNNKIT_REGISTER_PLUGIN("add", "1.0", add_ns::binary<add_ns::add_op>,
                       add_ns::binary<add_ns::mul_op>, add_ns::binary<add_ns::sub_op>,
                       add_ns::binary<add_ns::div_op>)
