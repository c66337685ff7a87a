// fc.cpp: shape rules and CPU kernels of fc and gemm: the host's single-threaded SGEMM on
// (row tile, column tile) blocks of the output, spread over the host's threads; under
// `--precision bf16`, fc's weights as bfloat16 (bf16.cpp).
#include "bf16.hpp"
#include "fc.hpp"
#include "rows.hpp"

#include <cnnkit/input_ref.hpp>
#include <cnnkit/layer.hpp>

#include <algorithm>

namespace cnnkit::plugins::fc {
namespace {

constexpr std::int64_t row_tile = 64, col_tile = 128;

// Calls f(r0, rows, c0, cols) for each output tile of an m x n result, in parallel.
template <class F>
void for_each_tile(const sdk::host& host, std::int64_t m, std::int64_t n, F&& f) {
    const std::int64_t rt = (m + row_tile - 1) / row_tile, ct = (n + col_tile - 1) / col_tile;
    host.parallel_for(0, rt * ct, [&](std::int64_t job) {
        const std::int64_t r0 = job / ct * row_tile, c0 = job % ct * col_tile;
        f(r0, std::min(row_tile, m - r0), c0, std::min(col_tile, n - c0));
    });
}

// What fc keeps from its weights: its own kernels for this CPU (rows.hpp; unset when the host
// never called prepare: then the host's GEMV and GEMM serve) and, under bf16 precision, the
// weight rows rounded and packed (pack_bf16_rows).
struct fc_state {
    fc_rows f32{nullptr}, bf16{nullptr};
    std::vector<std::uint16_t> w16;
};

// Output rows per job of the own-kernel paths: about 256 KiB of weights (at least 4 rows), read
// from memory for the first 4 batch rows and again from L2 for each further 4.
std::int64_t block_rows(std::int64_t k, std::int64_t bytes_per_weight) {
    return std::clamp<std::int64_t>((256 << 10) / std::max<std::int64_t>(1, k * bytes_per_weight)
                                        / 4 * 4, 4, 256);
}
// Float32 batches of 2 to own_batch rows take the own kernels, bigger ones OpenBLAS's GEMM
// (SkylakeX kernels): AlexNet's fc6 at 1 thread took 0.5x the GEMM's time at batch 2-4, 0.4x at
// 8, 0.9-1.0x at 16 (2 threads: 0.45-0.75x at 8, 0.77-1.0x at 16) and 1.0-1.2x at 32.
constexpr std::int64_t own_batch = 16;

// Runs `kernel` over blocks of weight rows in parallel, all m input rows per block.
void own_rows(const sdk::host& host, const fc_rows& kernel, const void* w, std::int64_t bytes,
              std::int64_t m, std::int64_t n, std::int64_t k, const float* x, const float* b,
              float* y) {
    const std::int64_t block = block_rows(k, bytes);
    host.parallel_for(0, (n + block - 1) / block, [&](std::int64_t job) {
        const std::int64_t r0 = job * block, rows = std::min(block, n - r0);
        kernel(rows, m, k, static_cast<const char*>(w) + r0 * k * bytes, x, k,
               b ? b + r0 : nullptr, y + r0, n);
    });
}

struct fc_layer {
    using params = fc::params;
    using state = fc_state;
    static constexpr const char* type = "fc";
    static constexpr const char* doc =
        "fully connected: [N, ...] flattened from dim 1 times weight^T [K, out] plus bias";
    static std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c) {
        return fc::vulkan(p, c);
    }

    static std::int64_t k_of(const sdk::shape& s) { return s.prod(1, s.rank()); }

    static sdk::shape infer(const params& p, std::span<const sdk::shape> in) {
        sdk::expect(in.size() == 1, "fc takes 1 input, got ", in.size());
        sdk::expect(in[0].rank() >= 2 && in[0].type() == sdk::dtype::f32,
                    "fc takes a float32 [N, ...] input of rank >= 2, got ", in[0]);
        sdk::expect(p.out_features > 0, "fc out_features must be > 0, got ", p.out_features);
        return {in[0][0], p.out_features};
    }
    static std::vector<sdk::weight> weights(const params& p, std::span<const sdk::shape> in) {
        std::vector<sdk::weight> w{{"weight", {p.out_features, k_of(in[0])}}};
        if (p.bias) w.push_back({"bias", {p.out_features}});
        return w;
    }
    static std::int64_t macs(const params& p, std::span<const sdk::shape> in) {
        return in[0][0] * p.out_features * k_of(in[0]);
    }
    static void prepare(const params& p, state& st, std::span<const sdk::shape> in,
                        std::span<const cnnkit_tensor> w, const sdk::prepare_options& o) {
        st = {};
        st.f32 = fc_rows_for_cpu(false);
        if (o.precision != CNNKIT_PRECISION_BF16) return;
        st.w16 = pack_bf16_rows(static_cast<const float*>(w[0].data), p.out_features,
                                k_of(in[0]));
        st.bf16 = fc_rows_for_cpu(true);
    }
    static void run(const params& p, const sdk::call& c) {
        const std::int64_t m = c.in(0).shape()[0], k = k_of(c.in(0).shape()), n = p.out_features;
        const float* x = c.in(0).f32();
        const float* wt = c.w(0).f32();
        const float* b = p.bias ? c.w(1).f32() : nullptr;
        float* y = c.out(0).f32();
        const fc_state& st = c.state<fc_state>();
        if (st.bf16.table_ && static_cast<std::int64_t>(st.w16.size()) == n * k) {
            own_rows(c.host, st.bf16, st.w16.data(), 2, m, n, k, x, b, y);
            return;
        }
        if (st.f32.table_ && m > 1 && m <= own_batch) {
            own_rows(c.host, st.f32, wt, 4, m, n, k, x, b, y);
            return;
        }
        for_each_tile(c.host, m, n, [&](std::int64_t r0, std::int64_t rows, std::int64_t c0,
                                        std::int64_t cols) {
            float* out = y + r0 * n + c0;
            c.host.sgemm(false, true, rows, cols, k, 1.0f, x + r0 * k, k, wt + c0 * k, k, 0.0f,
                         out, n);
            if (b)
                for (std::int64_t i = 0; i < rows; ++i)
                    for (std::int64_t j = 0; j < cols; ++j) out[i * n + j] += b[c0 + j];
        });
    }
};

// M, N, K of a gemm, and how C (if any) broadcasts: c_rows x c_cols, each 1 or full.
struct gemm_dims {
    std::int64_t m, n, k, c_rows = 0, c_cols = 0;
};

gemm_dims gemm_dims_of(const gemm_params& p, std::span<const sdk::shape> in) {
    sdk::expect(in.size() == 2 || in.size() == 3, "gemm takes 2 or 3 inputs (A, B, C), got ",
                in.size());
    for (std::size_t i = 0; i < 2; ++i)
        sdk::expect(in[i].rank() == 2 && in[i].type() == sdk::dtype::f32, "gemm ",
                    i ? "B " : "A ", sdk::input_ref{i, in[i]}, " must be a float32 matrix");
    const sdk::shape &a = in[0], &b = in[1];
    gemm_dims g{p.trans_a ? a[1] : a[0], p.trans_b ? b[0] : b[1], p.trans_a ? a[0] : a[1]};
    const std::int64_t kb = p.trans_b ? b[1] : b[0];
    const auto yes_no = [](bool v) { return v ? "true" : "false"; };
    sdk::expect(g.k == kb, "gemm inner dims differ: A ", sdk::input_ref{0, a}, " (trans_a ",
                yes_no(p.trans_a), ") has K = ", g.k, ", B ", sdk::input_ref{1, b}, " (trans_b ",
                yes_no(p.trans_b), ") has K = ", kb);
    if (in.size() == 3) {
        const sdk::shape& cs = in[2];
        g.c_rows = cs.rank() == 2 ? cs[0] : 1;
        g.c_cols = cs[cs.rank() - 1];
        sdk::expect(cs.type() == sdk::dtype::f32 && cs.rank() <= 2 &&
                        (g.c_rows == 1 || g.c_rows == g.m) && (g.c_cols == 1 || g.c_cols == g.n),
                    "gemm C ", sdk::input_ref{2, cs}, " does not broadcast to {", g.m, ", ", g.n,
                    "} (A ", sdk::input_ref{0, a}, " times B ", sdk::input_ref{1, b}, ")");
    }
    return g;
}

struct gemm_layer {
    using params = gemm_params;
    static constexpr const char* type = "gemm";
    static constexpr const char* doc = "ONNX Gemm: alpha * op(A) op(B) + beta * C (C broadcast)";
    static std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c) {
        return fc::vulkan(p, c);
    }

    static sdk::shape infer(const params& p, std::span<const sdk::shape> in) {
        const gemm_dims g = gemm_dims_of(p, in);
        return {g.m, g.n};
    }
    static std::int64_t macs(const params& p, std::span<const sdk::shape> in) {
        const gemm_dims g = gemm_dims_of(p, in);
        return g.m * g.n * g.k;
    }
    static void run(const params& p, const sdk::call& c) {
        std::vector<sdk::shape> shapes;
        for (std::size_t i = 0; i < c.n_in(); ++i) shapes.push_back(c.in(i).shape());
        const gemm_dims g = gemm_dims_of(p, shapes);
        const float* a = c.in(0).f32();
        const float* b = c.in(1).f32();
        const float* cm = c.n_in() == 3 ? c.in(2).f32() : nullptr;
        float* y = c.out(0).f32();
        const std::int64_t lda = p.trans_a ? g.m : g.k, ldb = p.trans_b ? g.k : g.n;
        for_each_tile(c.host, g.m, g.n, [&](std::int64_t r0, std::int64_t rows, std::int64_t c0,
                                            std::int64_t cols) {
            float* out = y + r0 * g.n + c0;
            for (std::int64_t i = 0; i < rows; ++i)  // beta * C, broadcast, or zeros
                for (std::int64_t j = 0; j < cols; ++j) {
                    const std::int64_t ci = g.c_rows == 1 ? 0 : r0 + i;
                    const std::int64_t cj = g.c_cols == 1 ? 0 : c0 + j;
                    out[i * g.n + j] = cm ? p.beta * cm[ci * g.c_cols + cj] : 0.0f;
                }
            c.host.sgemm(p.trans_a, p.trans_b, rows, cols, g.k, p.alpha,
                         a + (p.trans_a ? r0 : r0 * g.k), lda,
                         b + (p.trans_b ? c0 * g.k : c0), ldb, 1.0f, out, g.n);
        });
    }
};

}  // namespace
}  // namespace cnnkit::plugins::fc

CNNKIT_REGISTER_PLUGIN("fc", "1.0", cnnkit::plugins::fc::fc_layer, cnnkit::plugins::fc::gemm_layer)
