// flatten.cpp: flatten, reshape, dropout and identity: shape rules only; the data is copied
// unchanged, and not at all when the planner lets the output alias the input (in_place). constant
// outputs its weight (an ONNX initializer or Constant used as a data input).
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

struct identity_layer {
    using params = sdk::no_params;
    static constexpr const char* type = "identity";
    static constexpr const char* doc = "identity: output = input (ONNX Identity)";
    static constexpr bool in_place = true;

    static sdk::shape infer(const params&, std::span<const sdk::shape> in) {
        expect_one_input(type, in);
        return in[0];
    }
    static void run(const params&, const sdk::call& c) { copy_through(c); }
};

struct constant_layer {
    using params = constant_params;
    static constexpr const char* type = "constant";
    static constexpr const char* doc =
        "a constant tensor: its weight 'value' (float32), output as f32 or i64; no inputs";

    static sdk::shape infer(const params& p, std::span<const sdk::shape> in) {
        sdk::expect(in.empty(), "constant takes no inputs, got ", in.size());
        sdk::expect(p.rank >= 1 && p.rank <= 8, "constant rank must be in 1..8, got ", p.rank);
        sdk::shape s = sdk::shape::of_rank(static_cast<std::uint32_t>(p.rank),
                                           p.dtype == element::i64 ? sdk::dtype::i64
                                                                   : sdk::dtype::f32);
        for (int i = 0; i < p.rank; ++i) {
            sdk::expect(p.shape[static_cast<std::size_t>(i)] >= 1, "constant shape dim ", i,
                        " must be >= 1, got ", p.shape[static_cast<std::size_t>(i)]);
            s[static_cast<std::uint32_t>(i)] = p.shape[static_cast<std::size_t>(i)];
        }
        return s;
    }
    static std::vector<sdk::weight> weights(const params& p, std::span<const sdk::shape> in) {
        sdk::shape s = infer(p, in);
        s.raw.dtype = CNNKIT_DTYPE_F32;
        return {{"value", s, CNNKIT_INIT_FAN_IN}};
    }
    static void run(const params& p, const sdk::call& c) {
        const float* v = c.w(0).f32();
        const std::int64_t n = c.w(0).numel();
        if (p.dtype == element::i64) {
            std::int64_t* y = c.out(0).i64();
            for (std::int64_t i = 0; i < n; ++i) y[i] = static_cast<std::int64_t>(v[i]);
        } else {
            std::copy(v, v + n, c.out(0).f32());
        }
    }
};

}  // namespace
}  // namespace cnnkit::plugins::flatten

CNNKIT_REGISTER_PLUGIN("flatten", "1.0", cnnkit::plugins::flatten::flatten_layer,
                       cnnkit::plugins::flatten::reshape_layer,
                       cnnkit::plugins::flatten::dropout_layer,
                       cnnkit::plugins::flatten::identity_layer,
                       cnnkit::plugins::flatten::constant_layer)
