// softmax.cpp: softmax and log_softmax over one axis. The tensor is viewed as [outer, len, inner];
// jobs are (outer, block of inner) so rows stay contiguous; the max is subtracted for stability.
#include "softmax.hpp"

#include <cnnkit/layer.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace cnnkit::plugins::softmax {
namespace {

struct view {
    std::int64_t outer, len, inner;
};

view view_of(const char* type, const params& p, std::span<const sdk::shape> in) {
    sdk::expect(in.size() == 1, type, " takes 1 input, got ", in.size());
    const sdk::shape& s = in[0];
    sdk::expect(s.type() == sdk::dtype::f32, type, " needs a float32 input, got ", s);
    const auto r = static_cast<std::int32_t>(s.rank());
    sdk::expect(p.axis >= -r && p.axis < r, type, " axis ", p.axis, " is outside [", -r, ", ",
                r - 1, "] for input ", s);
    const auto a = static_cast<std::uint32_t>(p.axis < 0 ? p.axis + r : p.axis);
    return {s.prod(0, a), s[a], s.prod(a + 1, s.rank())};
}

constexpr std::int64_t block = 64;  // inner positions per job

// One job: `count` inner positions of one outer slice, all `len` steps of the axis.
template <bool Log>
void softmax_block(const float* x, float* y, const view& v, std::int64_t count) {
    float mx[block];
    double sum[block];
    std::fill(mx, mx + count, -std::numeric_limits<float>::infinity());
    std::fill(sum, sum + count, 0.0);
    for (std::int64_t l = 0; l < v.len; ++l)
        for (std::int64_t i = 0; i < count; ++i) mx[i] = std::max(mx[i], x[l * v.inner + i]);
    for (std::int64_t l = 0; l < v.len; ++l)
        for (std::int64_t i = 0; i < count; ++i) {
            const float e = std::exp(x[l * v.inner + i] - mx[i]);
            if (!Log) y[l * v.inner + i] = e;
            sum[i] += e;
        }
    // log: (x - max) - log(sum), kept apart so a large max does not round the small log away.
    for (std::int64_t i = 0; i < count; ++i) sum[i] = Log ? std::log(sum[i]) : 1.0 / sum[i];
    for (std::int64_t l = 0; l < v.len; ++l)
        for (std::int64_t i = 0; i < count; ++i) {
            const std::int64_t at = l * v.inner + i;
            y[at] = Log ? static_cast<float>((x[at] - mx[i]) - sum[i])
                        : static_cast<float>(y[at] * sum[i]);
        }
}

template <bool Log>
struct softmax_layer {
    using params = softmax::params;
    static constexpr const char* type = Log ? "log_softmax" : "softmax";
    static constexpr const char* doc =
        Log ? "log(softmax(x)) over one axis, computed as x - max - log(sum(exp(x - max)))"
            : "exp(x - max) / sum(exp(x - max)) over one axis (ONNX opset 13)";

    static sdk::shape infer(const params& p, std::span<const sdk::shape> in) {
        view_of(type, p, in);
        return in[0];
    }
    static std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c) {
        return softmax::vulkan(Log, p, c);
    }
    static void run(const params& p, const sdk::call& c) {
        const sdk::shape s = c.in(0).shape();
        const view v = view_of(type, p, std::span<const sdk::shape>(&s, 1));
        const float* x = c.in(0).f32();
        float* y = c.out(0).f32();
        const std::int64_t blocks = (v.inner + block - 1) / block;
        const std::int64_t grain = std::max<std::int64_t>(1, 16384 / (v.len * block));
        c.host.parallel_for(
            0, v.outer * blocks,
            [&](std::int64_t b, std::int64_t e) {
                for (std::int64_t job = b; job < e; ++job) {
                    const std::int64_t o = job / blocks, i0 = job % blocks * block;
                    const std::int64_t at = o * v.len * v.inner + i0;
                    softmax_block<Log>(x + at, y + at, v, std::min(block, v.inner - i0));
                }
            },
            grain);
    }
};

}  // namespace
}  // namespace cnnkit::plugins::softmax

CNNKIT_REGISTER_PLUGIN("softmax", "1.0", cnnkit::plugins::softmax::softmax_layer<false>,
                       cnnkit::plugins::softmax::softmax_layer<true>)
