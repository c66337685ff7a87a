// concat.cpp: shape rule and CPU kernel of concat: each output row (the dims before the axis)
// is the inputs' rows laid end to end, so the kernel is one memcpy per (row, input).
#include "concat.hpp"

#include <cnnkit/input_ref.hpp>
#include <cnnkit/layer.hpp>

#include <cstring>

namespace cnnkit::plugins::concat {
namespace {

// The axis in [0, rank), or an error naming the axis and the shape.
std::uint32_t axis_of(const params& p, const sdk::shape& s) {
    const std::int64_t rank = s.rank();
    const std::int64_t a = p.axis < 0 ? p.axis + rank : p.axis;
    sdk::expect(a >= 0 && a < rank, "axis ", p.axis, " is outside [", -rank, ", ", rank,
                ") for input ", s);
    return static_cast<std::uint32_t>(a);
}

struct concat_layer {
    using params = concat::params;
    static constexpr const char* type = "concat";
    static constexpr const char* doc =
        "concatenates 1..N inputs along axis (negative from the end)";

    static sdk::shape infer(const params& p, std::span<const sdk::shape> in) {
        sdk::expect(!in.empty(), "concat takes at least 1 input, got 0");
        const std::uint32_t axis = axis_of(p, in[0]);
        sdk::shape out = in[0];
        for (std::size_t i = 1; i < in.size(); ++i) {
            sdk::expect(in[i].rank() == in[0].rank() && in[i].type() == in[0].type(),
                        sdk::input_ref{i, in[i]}, " cannot be concatenated with ",
                        sdk::input_ref{0, in[0]}, ": rank or element type differs");
            for (std::uint32_t d = 0; d < in[0].rank(); ++d)
                sdk::expect(d == axis || in[i][d] == in[0][d], sdk::input_ref{i, in[i]},
                            " does not match ", sdk::input_ref{0, in[0]}, " outside axis ", axis,
                            ": dim ", d, " is ", in[i][d], " vs ", in[0][d]);
            out[axis] += in[i][axis];
        }
        return out;
    }
    static std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c) {
        return concat::vulkan(p, c);
    }
    static void run(const params& p, const sdk::call& c) {
        const sdk::shape s0 = c.in(0).shape();
        const std::uint32_t axis = axis_of(p, s0);
        const std::size_t elem = s0.type() == sdk::dtype::i64 ? 8 : 4;
        const std::int64_t rows = s0.prod(0, axis);
        const std::int64_t row_bytes = c.out(0).shape().prod(axis, s0.rank()) * elem;
        auto* y = static_cast<unsigned char*>(c.out_[0].data);
        const auto n_in = static_cast<std::int64_t>(c.n_in());
        c.host.parallel_for(0, rows * n_in, [&](std::int64_t job) {
            const std::int64_t row = job / n_in, i = job % n_in;
            std::int64_t offset = 0;  // bytes of the inputs before i within one row
            for (std::int64_t k = 0; k < i; ++k)
                offset += c.in(k).shape().prod(axis, s0.rank()) * elem;
            const std::int64_t bytes = c.in(i).shape().prod(axis, s0.rank()) * elem;
            const auto* x = static_cast<const unsigned char*>(c.in_[i].data);
            unsigned char* to = y + row * row_bytes + offset;
            // The CPU planner may have had the input's producer write it in place already.
            if (to != x + row * bytes) std::memcpy(to, x + row * bytes, bytes);
        });
    }
};

}  // namespace
}  // namespace cnnkit::plugins::concat

CNNKIT_REGISTER_PLUGIN("concat", "1.0", cnnkit::plugins::concat::concat_layer)
