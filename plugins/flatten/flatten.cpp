// flatten.cpp: flatten, reshape and dropout: shape rules only; the data is copied unchanged, and
// not at all when the planner lets the output alias the input (in_place).
#include "flatten.hpp"

#include <cnnkit/layer.hpp>

#include <algorithm>
#include <cstring>

namespace cnnkit::plugins::flatten {
namespace {

// Copies input 0 to output 0 byte for byte, unless they share a buffer.
void copy_through(const sdk::call& c) {
    const void* src = c.in_[0].data;
    void* dst = c.out_[0].data;
    if (src == dst) return;
    const std::int64_t size = c.in(0).numel() * (c.in(0).shape().type() == sdk::dtype::i64 ? 8 : 4);
    const std::int64_t chunk = 1 << 20;
    c.host.parallel_for(0, (size + chunk - 1) / chunk, [&](std::int64_t i) {
        const std::int64_t at = i * chunk;
        std::memcpy(static_cast<char*>(dst) + at, static_cast<const char*>(src) + at,
                    static_cast<std::size_t>(std::min(chunk, size - at)));
    });
}

void expect_one_input(const char* type, std::span<const sdk::shape> in) {
    sdk::expect(in.size() == 1, type, " takes 1 input, got ", in.size());
}

struct flatten_layer {
    using params = flatten::params;
    static constexpr const char* type = "flatten";
    static constexpr const char* doc = "ONNX Flatten: [prod(dims[:axis]), prod(dims[axis:])]";
    static constexpr bool in_place = true;

    static sdk::shape infer(const params& p, std::span<const sdk::shape> in) {
        expect_one_input(type, in);
        const sdk::shape& s = in[0];
        const auto r = static_cast<std::int32_t>(s.rank());
        sdk::expect(p.axis >= -r && p.axis <= r, "flatten axis ", p.axis, " is outside [", -r,
                    ", ", r, "] for input ", s);
        const auto a = static_cast<std::uint32_t>(p.axis < 0 ? p.axis + r : p.axis);
        return sdk::shape({s.prod(0, a), s.prod(a, s.rank())}, s.type());
    }
    static void run(const params&, const sdk::call& c) { copy_through(c); }
    static std::vector<sdk::gpu::dispatch> vulkan(const params&, const sdk::gpu::call& c) {
        return vulkan_copy(c);
    }
};

struct reshape_layer {
    using params = reshape_params;
    static constexpr const char* type = "reshape";
    static constexpr const char* doc =
        "ONNX Reshape (allowzero 0): shape[0:rank], 0 copies the input dim, -1 is inferred";
    static constexpr bool in_place = true;

    static sdk::shape infer(const params& p, std::span<const sdk::shape> in) {
        expect_one_input(type, in);
        const sdk::shape& s = in[0];
        sdk::expect(p.rank >= 1 && p.rank <= 8, "reshape rank must be in 1..8, got ", p.rank);
        const std::span<const std::int32_t> want(p.shape.data(), static_cast<std::size_t>(p.rank));
        sdk::shape out = sdk::shape::of_rank(static_cast<std::uint32_t>(p.rank), s.type());
        int infer_at = -1;
        std::int64_t known = 1;
        for (int i = 0; i < p.rank; ++i) {
            const std::int32_t d = want[static_cast<std::size_t>(i)];
            sdk::expect(d >= -1, "reshape shape ", want, " holds ", d, " (dims are >= -1)");
            sdk::expect(d != 0 || i < static_cast<int>(s.rank()), "reshape shape ", want,
                        " copies dim ", i, " (0) that input ", s, " lacks");
            sdk::expect(d != -1 || infer_at < 0, "reshape shape ", want, " has more than one -1");
            if (d == -1) {
                infer_at = i;
                continue;
            }
            out[i] = d == 0 ? s[i] : d;
            known *= out[i];
        }
        if (infer_at >= 0) {
            sdk::expect(known > 0 && s.numel() % known == 0, "reshape of ", s, " (", s.numel(),
                        " elements) cannot infer the -1 in ", want);
            out[infer_at] = s.numel() / known;
        }
        sdk::expect(out.numel() == s.numel(), "reshape of ", s, " (", s.numel(), " elements) to ",
                    want, " gives ", out, " (", out.numel(), " elements)");
        return out;
    }
    static void run(const params&, const sdk::call& c) { copy_through(c); }
    static std::vector<sdk::gpu::dispatch> vulkan(const params&, const sdk::gpu::call& c) {
        return vulkan_copy(c);
    }
};

struct dropout_layer {
    using params = dropout_params;
    static constexpr const char* type = "dropout";
    static constexpr const char* doc = "dropout: the identity at inference";
    static constexpr bool in_place = true;

    static sdk::shape infer(const params& p, std::span<const sdk::shape> in) {
        expect_one_input(type, in);
        sdk::expect(p.ratio >= 0.0f && p.ratio < 1.0f, "dropout ratio must be in [0, 1), got ",
                    p.ratio);
        return in[0];
    }
    static void run(const params&, const sdk::call& c) { copy_through(c); }
    static std::vector<sdk::gpu::dispatch> vulkan(const params&, const sdk::gpu::call& c) {
        return vulkan_copy(c);
    }
};

}  // namespace
}  // namespace cnnkit::plugins::flatten

CNNKIT_REGISTER_PLUGIN("flatten", "1.0", cnnkit::plugins::flatten::flatten_layer,
                       cnnkit::plugins::flatten::reshape_layer,
                       cnnkit::plugins::flatten::dropout_layer)
