// pool.cpp: shape rule and CPU kernel of pool (ONNX MaxPool / AveragePool / LpPool p=2 and their
// Global forms), parallel over output rows; windows are precomputed per axis.
#include "pool.hpp"

#include "../common/simd.hpp"

#include <cnnkit/layer.hpp>

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

// GCC 12 warns that the AVX-512 mask builtins' _mm512_undefined_ps() operand "may be used
// uninitialized" (GCC bug 105593) once they are inlined here; it is never read.
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace cnnkit::plugins::pool {
namespace {

// One spatial axis: input extent, output extent, kernel, stride, dilation, pads.
struct axis {
    std::int64_t in, out, k, s, d, pb, pe;
};

// Per output position on one axis: valid taps [j0, j1) and the taps inside the padded input.
struct window {
    std::int64_t j0, j1, padded;
};

struct geometry {
    std::int64_t n, c;
    axis ax[2];  // h, w
};

// Output extent per ONNX: floor or ceil, and with ceil the last window must start inside the
// input or the left pad.
std::int64_t extent(const axis& a, bool ceil_mode, const params& p, const sdk::shape& in) {
    const std::int64_t span = a.in + a.pb + a.pe - (a.d * (a.k - 1) + 1);
    sdk::expect(span >= 0, "pool kernel ", p.kernel, " (dilation ", p.dilation,
                ") does not fit input ", in, " with pads ", p.pad);
    if (!ceil_mode) return span / a.s + 1;
    std::int64_t out = (span + a.s - 1) / a.s + 1;
    if ((out - 1) * a.s >= a.in + a.pb) --out;
    return out;
}

// The taps of output position o that fall inside the input and inside input plus pads.
window window_at(const axis& a, std::int64_t o) {
    const std::int64_t start = o * a.s - a.pb;
    window w{0, 0, 0};
    for (std::int64_t j = 0; j < a.k; ++j) {
        const std::int64_t pos = start + j * a.d;
        if (pos < 0) w.j0 = j + 1;
        if (pos < a.in) w.j1 = j + 1;
        if (pos < a.in + a.pe) ++w.padded;
    }
    return w;
}

geometry geometry_of(const params& p, const sdk::shape& in) {
    sdk::expect(in.rank() == 4 && in.type() == sdk::dtype::f32,
                "pool takes a float32 NCHW input, got ", in);
    geometry g{in.n(), in.c(), {}};
    if (p.global) {
        g.ax[0] = {in.h(), 1, in.h(), 1, 1, 0, 0};
        g.ax[1] = {in.w(), 1, in.w(), 1, 1, 0, 0};
        return g;
    }
    sdk::expect(p.kernel[0] > 0 && p.kernel[1] > 0 && p.stride[0] >= 0 && p.stride[1] >= 0 &&
                    p.dilation[0] > 0 && p.dilation[1] > 0,
                "pool kernel ", p.kernel, " and dilation ", p.dilation,
                " must be positive, stride ", p.stride, " >= 0");
    sdk::expect(p.pad[0] >= 0 && p.pad[1] >= 0 && p.pad[2] >= 0 && p.pad[3] >= 0,
                "pool pads must be >= 0, got ", p.pad);
    for (int d = 0; d < 2; ++d) {
        axis& a = g.ax[d];
        a = {d == 0 ? in.h() : in.w(), 0, p.kernel[d], p.stride[d] ? p.stride[d] : p.kernel[d],
             p.dilation[d], p.pad[d], p.pad[d + 2]};
        a.out = extent(a, p.ceil_mode, p, in);
        for (std::int64_t o = 0; o < a.out; ++o) {
            const window w = window_at(a, o);
            sdk::expect(w.j0 < w.j1, "pool pads ", p.pad, " with kernel ", p.kernel,
                        " and dilation ", p.dilation, " leave a window of input ", in,
                        " with no input element");
        }
    }
    return g;
}

struct pool_layer {
    using params = pool::params;
    static constexpr const char* type = "pool";
    static constexpr const char* doc =
        "2-D max/avg/l2 pooling: stride, pads, dilation, ceil_mode, count_include_pad, global, "
        "argmax indices (ONNX)";
    static std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c) {
        return pool::vulkan(p, c);
    }

    static sdk::shapes infer(const params& p, std::span<const sdk::shape> in) {
        sdk::expect(in.size() == 1, "pool takes 1 input, got ", in.size());
        sdk::expect(!p.indices || p.mode == pool_mode::max,
                    "pool indices need mode max, got mode ", sdk::enum_names<pool_mode>::names
                        [static_cast<std::size_t>(p.mode)]);
        const geometry g = geometry_of(p, in[0]);
        sdk::shapes out{{g.n, g.c, g.ax[0].out, g.ax[1].out}};
        if (p.indices) out.push_back(sdk::shape({g.n, g.c, g.ax[0].out, g.ax[1].out},
                                                sdk::dtype::i64));
        return out;
    }
    static std::int64_t macs(const params& p, std::span<const sdk::shape> in) {
        const geometry g = geometry_of(p, in[0]);
        return g.n * g.c * g.ax[0].out * g.ax[1].out * g.ax[0].k * g.ax[1].k;
    }
    // The window tables of both axes and the taps of the w axis, so that a run allocates nothing.
    static std::uint64_t workspace(const params& p, std::span<const sdk::shape> in) {
        const geometry g = geometry_of(p, in[0]);
        return static_cast<std::uint64_t>(g.ax[0].out + g.ax[1].out) * sizeof(window) +
               static_cast<std::uint64_t>(g.ax[1].out) * sizeof(double);
    }
    static void run(const params& p, const sdk::call& c);
};

// An average divides by the product over both axes of the taps inside the padded input, or of
// the valid ones (small integers: exact in double).
double taps(const params& p, const window& w) {
    return static_cast<double>(p.count_include_pad && !p.global ? w.padded : w.j1 - w.j0);
}

// One output row of one plane, one window at a time: every mode, optional argmax. The fast paths
// below compute the same taps in the same order.
void pool_row(const params& p, const geometry& g, const window& wy, const window* wx,
              const float* plane, std::int64_t plane_base, std::int64_t ys, float* y,
              std::int64_t* idx) {
    const axis &ah = g.ax[0], &aw = g.ax[1];
    for (std::int64_t ox = 0; ox < aw.out; ++ox) {
        const window& w = wx[ox];
        const std::int64_t xs = ox * aw.s - aw.pb;
        if (p.mode == pool_mode::max) {
            float best = -std::numeric_limits<float>::infinity();
            std::int64_t at = (ys + wy.j0 * ah.d) * aw.in + xs + w.j0 * aw.d;
            for (std::int64_t ky = wy.j0; ky < wy.j1; ++ky)
                for (std::int64_t kx = w.j0; kx < w.j1; ++kx) {
                    const std::int64_t i = (ys + ky * ah.d) * aw.in + xs + kx * aw.d;
                    if (plane[i] > best) best = plane[i], at = i;
                }
            y[ox] = best;
            if (idx) idx[ox] = plane_base + (p.column_major ? at % aw.in * ah.in + at / aw.in : at);
            continue;
        }
        double acc = 0;
        for (std::int64_t ky = wy.j0; ky < wy.j1; ++ky)
            for (std::int64_t kx = w.j0; kx < w.j1; ++kx) {
                const double v = plane[(ys + ky * ah.d) * aw.in + xs + kx * aw.d];
                acc += p.mode == pool_mode::l2 ? v * v : v;
            }
        y[ox] = p.mode == pool_mode::l2
                    ? static_cast<float>(std::sqrt(acc))
                    : static_cast<float>(acc / (taps(p, wy) * taps(p, w)));
    }
}

// Fast rows. An input row is laid in a buffer framed by its left pad and, on the
// right, its pad and the ceil overhang, which hold the fold's identity (-inf for max, 0 for the
// sums); every output then has all kw taps, and each tap is one pass over the outputs of the
// row: contiguous for stride 1, every other element for stride 2, so both vectorize. Per output
// the taps are pool_row's in its order plus identities, so the bits are pool_row's: max never
// takes a -inf tap (nor a NaN) and a sum never starts at -0, so + 0 leaves it alone. Max runs
// separably, as it did before this path: the column maxima over the window's rows, then the taps
// of that row (for ties of -0 and +0 this order, not pool_row's, decides which is kept). Sums
// frame the row as double (squared for l2: exact), as pool_row converts each tap.
constexpr std::int64_t row_cap = 4096;  // elements of a framed row, on the stack

std::int64_t framed_width(const axis& a) {
    return std::max((a.out - 1) * a.s + (a.k - 1) * a.d + 1, a.pb + a.in);
}

struct max_op {
    using type = float;
    static constexpr float identity = -std::numeric_limits<float>::infinity();
    float operator()(float acc, float v) const { return v > acc ? v : acc; }
};
struct add_op {
    using type = double;
    static constexpr double identity = 0.0;
    double operator()(double acc, double v) const { return acc + v; }
};

// Folds k taps into each of n outputs, in order: y[o] = f(... f(y[o], x[o * s]) ...,
// x[o * s + (k - 1) * step]), starting from f's identity instead of y[o] when fresh. Up to three
// taps a pass over y; S > 0 is s known at compile time (the inner loop vectorizes).
template <std::int64_t S, class F, class T = typename F::type>
[[gnu::always_inline]] inline void fold_run(T* __restrict y, const T* __restrict x,
                                            std::int64_t n, std::int64_t s, std::int64_t step,
                                            std::int64_t k, bool fresh, F f) {
    const std::int64_t st = S ? S : s;
    const T init = F::identity;
    for (std::int64_t t = 0; t < k; t += 3, fresh = false, x += 3 * step) {
        const T *a = x, *b = x + step, *c = x + 2 * step;
        switch (std::min<std::int64_t>(k - t, 3) + (fresh ? 3 : 0)) {
        case 1:
            for (std::int64_t o = 0; o < n; ++o) y[o] = f(y[o], a[o * st]);
            break;
        case 2:
            for (std::int64_t o = 0; o < n; ++o) y[o] = f(f(y[o], a[o * st]), b[o * st]);
            break;
        case 3:
            for (std::int64_t o = 0; o < n; ++o)
                y[o] = f(f(f(y[o], a[o * st]), b[o * st]), c[o * st]);
            break;
        case 4:
            for (std::int64_t o = 0; o < n; ++o) y[o] = f(init, a[o * st]);
            break;
        case 5:
            for (std::int64_t o = 0; o < n; ++o) y[o] = f(f(init, a[o * st]), b[o * st]);
            break;
        default:
            for (std::int64_t o = 0; o < n; ++o)
                y[o] = f(f(f(init, a[o * st]), b[o * st]), c[o * st]);
        }
    }
}

// The taps of one framed row along w, for every output of the row.
template <class F, class T = typename F::type>
[[gnu::always_inline]] inline void fold_taps(T* y, const T* framed, const axis& a, bool fresh,
                                             F f) {
    if (a.s == 1)
        fold_run<1>(y, framed, a.out, 1, a.d, a.k, fresh, f);
    else if (a.s == 2)
        fold_run<2>(y, framed, a.out, 2, a.d, a.k, fresh, f);
    else
        fold_run<0>(y, framed, a.out, a.s, a.d, a.k, fresh, f);
}

bool full(const window& w, const axis& a) { return w.j0 == 0 && w.j1 == a.k; }

// One run: its geometry, window tables (workspace), tensors; rows are split among threads.
struct job {
    const params& p;
    geometry g;
    const window *wy, *wx;
    const double* taps_x;
    const float* x;
    float* y;
    std::int64_t* idx;  // null without indices
};

// Max whose input is exactly stride_w outputs wide, stride_w 1 or 2 (GoogLeNet's 3x3/1 pad 1
// and 3x3/2 ceil pools, ResNet's 3x3/2 pad 1), output rows [b, e), when the input width fits
// row_cap. The column maxima of a block of rows go to one buffer, a run of full windows in one
// pass when stride_h is 1 (their rows are whole input rows apart); then, as a block row of
// maxima is exactly stride_w block rows of outputs wide, the taps of every column with a full
// window are one pass over the block's outputs (it also writes the border columns, which are
// then redone column by column over their valid taps). Same taps, same order as fast_rows' max.
template <std::int64_t S>
[[gnu::always_inline]] inline void max_block_rows(const job& j, std::int64_t b, std::int64_t e) {
    const axis &ah = j.g.ax[0], &aw = j.g.ax[1];
    const window *wy = j.wy, *wx = j.wx;
    const std::int64_t w_in = aw.in, w_out = aw.out;
    std::int64_t c0 = 0;  // the full columns are [c0, c1)
    while (c0 < w_out && !full(wx[c0], aw)) ++c0;
    std::int64_t c1 = c0;
    while (c1 < w_out && full(wx[c1], aw)) ++c1;
    alignas(64) float maxima[row_cap];
    const std::int64_t block = row_cap / w_in;  // rows of column maxima at a time
    for (std::int64_t r = b; r < e;) {
        const std::int64_t plane = r / ah.out, oy0 = r % ah.out;
        const std::int64_t rows = std::min({ah.out - oy0, block, e - r});
        const float* in = j.x + plane * ah.in * w_in;
        for (std::int64_t oy = oy0, end; oy < oy0 + rows; oy = end) {
            const window& w = wy[oy];
            end = oy + 1;
            if (ah.s == 1 && full(w, ah))
                while (end < oy0 + rows && full(wy[end], ah)) ++end;
            fold_run<1>(maxima + (oy - oy0) * w_in,
                        in + (oy * ah.s - ah.pb + w.j0 * ah.d) * w_in, (end - oy) * w_in, 1,
                        ah.d * w_in, w.j1 - w.j0, true, max_op{});
        }
        float* out = j.y + r * w_out;
        if (c0 < c1)
            fold_run<S>(out + c0, maxima + c0 * S - aw.pb, (rows - 1) * w_out + c1 - c0, S,
                        aw.d, aw.k, true, max_op{});
        auto border = [&](std::int64_t from, std::int64_t to) {
            for (std::int64_t ox = from; ox < to; ++ox) {
                const float* m = maxima + ox * S - aw.pb + wx[ox].j0 * aw.d;
                const std::int64_t n = wx[ox].j1 - wx[ox].j0;
                for (std::int64_t q = 0; q < rows; ++q) {
                    float best = max_op::identity;
                    for (std::int64_t kx = 0; kx < n; ++kx)
                        best = max_op{}(best, m[q * w_in + kx * aw.d]);
                    out[q * w_out + ox] = best;
                }
            }
        };
        border(0, c0);
        border(c1, w_out);
        r += rows;
    }
}

// Max with indices, output rows [b, e), when framed_width fits row_cap and a plane has fewer
// than 2^31 - row_cap elements. Each window row framed in turn, and per tap one pass over the row's outputs
// that keeps the first strictly greater value and its index in the plane (int32, so that value
// and index lanes match): pool_row's taps and order, so its values and indices.
[[gnu::always_inline]] inline void argmax_rows(const job& j, std::int64_t b, std::int64_t e) {
    const axis &ah = j.g.ax[0], &aw = j.g.ax[1];
    alignas(64) float framed[row_cap];
    alignas(64) std::int32_t at[row_cap], first_x[row_cap];  // first_x: first valid tap's column
    std::fill(framed, framed + framed_width(aw), max_op::identity);
    for (std::int64_t ox = 0; ox < aw.out; ++ox)
        first_x[ox] = static_cast<std::int32_t>(ox * aw.s - aw.pb + j.wx[ox].j0 * aw.d);
    const auto s = static_cast<std::int32_t>(aw.s), d = static_cast<std::int32_t>(aw.d);
    for (std::int64_t r = b, plane = b / ah.out, oy = b % ah.out; r < e; ++r) {
        const window& w = j.wy[oy];
        const std::int64_t ys = oy * ah.s - ah.pb, plane_base = plane * ah.in * aw.in;
        if (++oy == ah.out) oy = 0, ++plane;
        float* __restrict best = j.y + r * aw.out;
        std::int32_t* __restrict where = at;
        const float* __restrict f = framed;
        const auto first_row = static_cast<std::int32_t>((ys + w.j0 * ah.d) * aw.in);
        for (std::int64_t ox = 0; ox < aw.out; ++ox)
            best[ox] = max_op::identity, where[ox] = first_row + first_x[ox];
        for (std::int64_t ky = w.j0; ky < w.j1; ++ky) {
            const float* row = j.x + plane_base + (ys + ky * ah.d) * aw.in;
            std::copy(row, row + aw.in, framed + aw.pb);
            const auto row_at = static_cast<std::int32_t>((ys + ky * ah.d) * aw.in - aw.pb);
            for (std::int32_t kx = 0; kx < aw.k; ++kx) {
                const std::int32_t tap = row_at + kx * d;
                auto pass = [&](auto st) {
                    for (std::int32_t ox = 0; ox < aw.out; ++ox) {
                        const float v = f[ox * st + kx * d], old = best[ox];
                        const std::int32_t taken = -static_cast<std::int32_t>(v > old);
                        best[ox] = max_op{}(old, v);  // stores both lanes: no masked stores
                        where[ox] = (taken & (tap + ox * st)) | (~taken & where[ox]);
                    }
                };
                if (s == 1)
                    pass(std::integral_constant<std::int32_t, 1>{});
                else if (s == 2)
                    pass(std::integral_constant<std::int32_t, 2>{});
                else
                    pass(s);
            }
        }
        std::int64_t* idx = j.idx + r * aw.out;
        if (j.p.column_major)
            for (std::int64_t ox = 0; ox < aw.out; ++ox)
                idx[ox] = plane_base + at[ox] % aw.in * ah.in + at[ox] / aw.in;
        else
            for (std::int64_t ox = 0; ox < aw.out; ++ox) idx[ox] = plane_base + at[ox];
    }
}

// Output rows [b, e) of every mode (row r is plane r / oh, output row r % oh), when
// framed_width fits row_cap; compiled per instruction set below.
[[gnu::always_inline]] inline void fast_rows(const job& j, std::int64_t b, std::int64_t e) {
    const params& p = j.p;
    const axis &ah = j.g.ax[0], &aw = j.g.ax[1];
    if (j.idx) return argmax_rows(j, b, e);
    if (p.mode == pool_mode::max && aw.in == aw.s * aw.out) {
        if (aw.s == 1) return max_block_rows<1>(j, b, e);
        if (aw.s == 2) return max_block_rows<2>(j, b, e);
    }
    alignas(64) float framed[row_cap];
    alignas(64) double framed_sum[row_cap], acc[row_cap];
    const bool max = p.mode == pool_mode::max, l2 = p.mode == pool_mode::l2;
    if (max)
        std::fill(framed, framed + framed_width(aw), max_op::identity);
    else
        std::fill(framed_sum, framed_sum + framed_width(aw), add_op::identity);
    for (std::int64_t r = b, plane = b / ah.out, oy = b % ah.out; r < e; ++r) {
        const window& w = j.wy[oy];
        const float* first = j.x + (plane * ah.in + oy * ah.s - ah.pb + w.j0 * ah.d) * aw.in;
        if (++oy == ah.out) oy = 0, ++plane;
        const std::int64_t rows = w.j1 - w.j0;
        float* out = j.y + r * aw.out;
        if (max) {
            fold_run<1>(framed + aw.pb, first, aw.in, 1, ah.d * aw.in, rows, true, max_op{});
            fold_taps(out, framed, aw, true, max_op{});
            continue;
        }
        double* inside = framed_sum + aw.pb;
        for (std::int64_t ky = 0; ky < rows; ++ky) {
            const float* row = first + ky * ah.d * aw.in;
            if (l2)
                for (std::int64_t i = 0; i < aw.in; ++i)
                    inside[i] = static_cast<double>(row[i]) * static_cast<double>(row[i]);
            else
                for (std::int64_t i = 0; i < aw.in; ++i) inside[i] = static_cast<double>(row[i]);
            fold_taps(acc, framed_sum, aw, ky == 0, add_op{});
        }
        if (l2) {
            for (std::int64_t ox = 0; ox < aw.out; ++ox)
                out[ox] = static_cast<float>(std::sqrt(acc[ox]));
        } else {
            const double ty = taps(p, w);
            for (std::int64_t ox = 0; ox < aw.out; ++ox)
                out[ox] = static_cast<float>(acc[ox] / (ty * j.taps_x[ox]));
        }
    }
}

// AVX-512 max without indices, dilation 1, output rows [b, e). Per output row the column maxima
// of its window rows, then per output the fold of its window's columns with every tap outside
// the row replaced by the row's nearest column: a left pad and the ceil overhang repeat the
// window's first or last valid tap, and a repeated tap changes no fold (max(max(a, x), x) =
// max(a, x); a leading repeat of the first tap meets -inf first). So every output has
// max_block_rows' taps in its order, column maxima over the window's rows, then the window's
// columns, each fold from -inf, and vmaxps(v, acc) is max_op's v > acc ? v : acc (it keeps acc
// for NaN and for -0 against +0). Rows of up to 32 columns stay in two registers and each tap is
// one permute of them (GoogLeNet's 28x28 to 7x7 pools, where max_block_rows' per-plane calls and
// scalar border columns cost most); wider rows with horizontal stride 1 or 2 go through a framed
// row in memory.
constexpr std::int64_t frame_slack = 64;  // floats past framed_width that the vectors may read
// Output rows ahead whose new input row a wide row prefetches: on 112x112 planes (GoogLeNet's and
// ResNet's first pools) 8 took 0.33 to 0.23 ms, 2 and 4 less.
constexpr std::int64_t prefetch_rows = 8;

bool max_rows_avx512_applies(const job& j) {
    const axis &ah = j.g.ax[0], &aw = j.g.ax[1];
    return !j.idx && j.p.mode == pool_mode::max && ah.d == 1 && aw.d == 1 && aw.k <= 16 &&
           ((aw.in <= 32 && aw.out <= 32) || aw.s == 1 || aw.s == 2);
}

// The column maxima of output row r's window rows, 16 columns from x, into acc.
__attribute__((target("avx512f"))) inline __m512 column_max(const float* first, std::int64_t rows,
                                                            std::int64_t w_in, std::int64_t x) {
    const __mmask16 m = simd::first_lanes(w_in - x);
    __m512 acc = _mm512_set1_ps(max_op::identity);
    for (std::int64_t ky = 0; ky < rows; ++ky)
        acc = _mm512_max_ps(_mm512_maskz_loadu_ps(m, first + ky * w_in + x), acc);
    return acc;
}

__attribute__((target("avx512f"))) void max_rows_avx512(const job& j, std::int64_t b,
                                                        std::int64_t e) {
    const axis &ah = j.g.ax[0], &aw = j.g.ax[1];
    const std::int64_t w_in = aw.in, w_out = aw.out;
    const __m512 lowest = _mm512_set1_ps(max_op::identity);
    if (w_in <= 32 && w_out <= 32) {
        // tap[h][k], lane l: the column output 16h + l reads at tap k, clamped into the row.
        __m512i tap[2][16];
        for (int h = 0; h < 2; ++h)
            for (std::int64_t k = 0; k < aw.k; ++k) {
                alignas(64) std::int32_t at[16];
                for (int l = 0; l < 16; ++l)
                    at[l] = static_cast<std::int32_t>(
                        std::clamp<std::int64_t>((16 * h + l) * aw.s - aw.pb + k, 0, w_in - 1));
                tap[h][k] = _mm512_load_si512(at);
            }
        for (std::int64_t r = b, plane = b / ah.out, oy = b % ah.out; r < e; ++r) {
            const window& w = j.wy[oy];
            const float* first = j.x + (plane * ah.in + oy * ah.s - ah.pb + w.j0) * w_in;
            if (++oy == ah.out) oy = 0, ++plane;
            const std::int64_t rows = w.j1 - w.j0;
            const __m512 lo = column_max(first, rows, w_in, 0);
            const __m512 hi = w_in > 16 ? column_max(first, rows, w_in, 16) : lo;
            float* out = j.y + r * w_out;
            for (int h = 0; h < 2 && 16 * h < w_out; ++h) {
                __m512 acc = lowest;
                for (std::int64_t k = 0; k < aw.k; ++k)
                    acc = _mm512_max_ps(_mm512_permutex2var_ps(lo, tap[h][k], hi), acc);
                _mm512_mask_storeu_ps(out + 16 * h, simd::first_lanes(w_out - 16 * h), acc);
            }
        }
        return;
    }
    const std::int64_t fw = framed_width(aw);
    alignas(64) float frame[row_cap + frame_slack];
    std::fill(frame + fw, frame + fw + frame_slack, max_op::identity);  // never stored
    float* row = frame + aw.pb;
    const __m512i even = _mm512_load_si512(simd::even_floats);
    for (std::int64_t r = b, plane = b / ah.out, oy = b % ah.out; r < e; ++r) {
        const window& w = j.wy[oy];
        const float* first = j.x + (plane * ah.in + oy * ah.s - ah.pb + w.j0) * w_in;
        if (++oy == ah.out) oy = 0, ++plane;
        const std::int64_t ahead = (prefetch_rows * ah.s + w.j1 - w.j0 - 1) * w_in;
        for (std::int64_t x = 0; x < w_in; x += 16) {
            _mm_prefetch(simd::ahead(first, ahead + x), _MM_HINT_T0);
            _mm512_mask_storeu_ps(row + x, simd::first_lanes(w_in - x),
                                  column_max(first, w.j1 - w.j0, w_in, x));
        }
        for (std::int64_t i = 0; i < aw.pb; ++i) frame[i] = row[0];
        for (std::int64_t i = aw.pb + w_in; i < fw; ++i) frame[i] = row[w_in - 1];
        float* out = j.y + r * w_out;
        for (std::int64_t o = 0; o < w_out; o += 16) {
            __m512 acc = lowest;
            const float* f = frame + o * aw.s;
            if (aw.s == 1)
                for (std::int64_t k = 0; k < aw.k; ++k)
                    acc = _mm512_max_ps(_mm512_loadu_ps(f + k), acc);
            else
                for (std::int64_t k = 0; k < aw.k; ++k)
                    acc = _mm512_max_ps(_mm512_permutex2var_ps(_mm512_loadu_ps(f + k), even,
                                                               _mm512_loadu_ps(f + k + 16)),
                                        acc);
            _mm512_mask_storeu_ps(out + o, simd::first_lanes(w_out - o), acc);
        }
    }
}

// The same code for AVX-512 (max_rows_avx512 where it applies), AVX2 (no FMA: nothing to
// contract) and the baseline; the vectorizer widens the fold loops. CNNKIT_POOL_ISA=avx2 or
// generic asks for less (tests).
using rows_fn = void (*)(const job&, std::int64_t, std::int64_t);
__attribute__((target("avx512f,avx512vl,avx512dq,avx2"))) void fast_rows_avx512(const job& j,
                                                                                std::int64_t b,
                                                                                std::int64_t e) {
    if (max_rows_avx512_applies(j)) return max_rows_avx512(j, b, e);
    fast_rows(j, b, e);
}
__attribute__((target("avx2"))) void fast_rows_avx2(const job& j, std::int64_t b,
                                                    std::int64_t e) {
    fast_rows(j, b, e);
}
void fast_rows_generic(const job& j, std::int64_t b, std::int64_t e) { fast_rows(j, b, e); }

rows_fn fast_rows_for_cpu() {
    static const bool avx2 = (__builtin_cpu_init(), __builtin_cpu_supports("avx2"));
    static const bool avx512 = __builtin_cpu_supports("avx512f") &&
                               __builtin_cpu_supports("avx512vl") &&
                               __builtin_cpu_supports("avx512dq");
    const char* v = std::getenv("CNNKIT_POOL_ISA");
    if (v && std::strcmp(v, "generic") == 0) return fast_rows_generic;
    if (v && std::strcmp(v, "avx2") == 0) return avx2 ? fast_rows_avx2 : fast_rows_generic;
    return avx512 ? fast_rows_avx512 : avx2 ? fast_rows_avx2 : fast_rows_generic;
}

// Global avg / l2 of planes [b, e): eight planes at a time, each summed in pool_row's order (the
// plane's elements in turn) but as eight independent chains rather than one.
template <bool L2>
void global_sums(std::int64_t size, const float* x, float* y, std::int64_t b, std::int64_t e) {
    constexpr std::int64_t lanes = 8;
    auto term = [](float v) {
        const double d = static_cast<double>(v);
        return L2 ? d * d : d;
    };
    for (std::int64_t q = b; q < e; q += lanes) {
        double acc[lanes] = {};
        const float* src = x + q * size;
        const std::int64_t m = std::min(lanes, e - q);
        if (m == lanes) {
            for (std::int64_t i = 0; i < size; ++i)
                for (std::int64_t l = 0; l < lanes; ++l) acc[l] += term(src[l * size + i]);
        } else {
            for (std::int64_t l = 0; l < m; ++l)
                for (std::int64_t i = 0; i < size; ++i) acc[l] += term(src[l * size + i]);
        }
        for (std::int64_t l = 0; l < m; ++l)
            y[q + l] = L2 ? static_cast<float>(std::sqrt(acc[l]))
                          : static_cast<float>(acc[l] / static_cast<double>(size));
    }
}

void pool_layer::run(const params& p, const sdk::call& c) {
    const geometry g = geometry_of(p, c.in(0).shape());
    const axis &ah = g.ax[0], &aw = g.ax[1];
    window* wy = static_cast<window*>(c.workspace);
    window* wx = wy + ah.out;
    for (std::int64_t o = 0; o < ah.out; ++o) wy[o] = window_at(ah, o);
    double* taps_x = reinterpret_cast<double*>(wx + aw.out);
    for (std::int64_t o = 0; o < aw.out; ++o) wx[o] = window_at(aw, o), taps_x[o] = taps(p, wx[o]);
    const float* x = c.in(0).f32();
    float* y = c.out(0).f32();
    std::int64_t* idx = p.indices ? c.out(1).i64() : nullptr;
    const std::int64_t rows = g.n * g.c * ah.out;
    if (p.global && p.mode != pool_mode::max) {
        const std::int64_t size = ah.in * aw.in;
        c.host.parallel_for(
            0, rows,
            [&](std::int64_t b, std::int64_t e) {
                if (p.mode == pool_mode::l2)
                    global_sums<true>(size, x, y, b, e);
                else
                    global_sums<false>(size, x, y, b, e);
            },
            std::max<std::int64_t>(8, 65536 / std::max<std::int64_t>(1, size)));
        return;
    }
    // argmax_rows' int32 tap positions reach past the plane by at most a framed row; on rows of
    // fewer than 8 outputs (a vector) pool_row's branches beat its passes (DeconvNet's pool5).
    const bool fast = framed_width(aw) <= row_cap &&
                      (!idx || (aw.out >= 8 && ah.in * aw.in + row_cap <=
                                                   std::numeric_limits<std::int32_t>::max()));
    const rows_fn fast_rows = fast_rows_for_cpu();
    const job j{p, g, wy, wx, taps_x, x, y, idx};
    // Elements a row reads and writes, for a grain of about 16k.
    const std::int64_t work =
        std::max<std::int64_t>(1, fast ? ah.k * aw.in + aw.k * aw.out : aw.out * ah.k * aw.k);
    c.host.parallel_for(
        0, rows,
        [&](std::int64_t b, std::int64_t e) {
            if (fast) return fast_rows(j, b, e);
            for (std::int64_t r = b; r < e; ++r) {
                const std::int64_t plane = r / ah.out, oy = r % ah.out;
                const std::int64_t base = plane * ah.in * aw.in;
                pool_row(p, g, wy[oy], wx, x + base, base,
                         oy * ah.s - ah.pb, y + r * aw.out, idx ? idx + r * aw.out : nullptr);
            }
        },
        std::max<std::int64_t>(1, 16384 / work));
}

}  // namespace
}  // namespace cnnkit::plugins::pool

CNNKIT_REGISTER_PLUGIN("pool", "1.0", cnnkit::plugins::pool::pool_layer)
