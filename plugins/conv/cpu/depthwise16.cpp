// depthwise16.cpp: depthwise convs with one output channel per input channel (MobileNet's), on
// AVX-512. depthwise.cpp sums one plane at a time, which leaves most lanes and cycles to
// per-plane and per-row work on small planes (7x7 and 14x14, stride 2). Here 16 channels go
// side by side in the vector lanes instead: each task takes a band of output rows of 16
// channels; output row by output row, it transposes the input rows the row reads first (16x16
// blocks in registers, transpose16 in conv.hpp) into a padded [row][column][16 channels]
// scratch and sums the row's pixels as one FMA per tap (8 pixels at a time in registers, the 16
// channels' filter taps one vector each); then it transposes the band's [pixel][16] sums back
// into the 16 NCHW output planes. The epilogue is the other paths' ((sum + bias) + residual),
// then the activation.
#include "../conv.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cmath>

#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC bug 105593, as in kernels.cpp
#endif

namespace cnnkit::plugins::conv {
namespace {

constexpr int lanes = 16;                   // channels per block
constexpr std::int64_t max_taps = 64;       // kernel taps (kh x kw) this path takes
constexpr std::int64_t band_pixels = 2048;  // output pixels per task (x 16 channels: 128 KiB)
constexpr int px = 8;                       // output pixels summed in registers at a time

struct plan {
    std::int64_t kh, kw, sh, sw, dh, dw;
    std::int64_t blocks;      // channel blocks per image
    std::int64_t band, bands;  // output rows per task, tasks per block
    std::int64_t pw;          // padded columns the outputs read
    // Padded rows that `rows` output rows read.
    std::int64_t in_rows(std::int64_t rows) const { return (rows - 1) * sh + (kh - 1) * dh + 1; }
    std::int64_t in_floats() const { return in_rows(band) * pw * lanes; }
};

plan plan_of(const params& p, const geometry& g) {
    plan q{p.kernel[0], p.kernel[1], p.stride[0], p.stride[1], p.dilation[0], p.dilation[1],
           (g.c + lanes - 1) / lanes, 0, 0, 0};
    q.pw = (g.ow - 1) * q.sw + (q.kw - 1) * q.dw + 1;
    const std::int64_t most = std::max<std::int64_t>(1, band_pixels / g.ow);
    q.bands = (g.oh + most - 1) / most;
    q.band = (g.oh + q.bands - 1) / q.bands;
    return q;
}

// relu and relu6 as max and min (they return v when it is NaN, as std::max(v, 0.0f) does),
// tanh and sigmoid lane by lane.
[[gnu::always_inline]] __attribute__((target("avx512f"))) inline void activate16(act_fn f,
                                                                                 __m512& v) {
    if (f == act_fn::relu || f == act_fn::relu6) v = _mm512_max_ps(_mm512_setzero_ps(), v);
    if (f == act_fn::relu6) v = _mm512_min_ps(_mm512_set1_ps(6.0f), v);
    if (f == act_fn::tanh || f == act_fn::sigmoid) {
        alignas(64) float t[lanes];
        _mm512_store_ps(t, v);
        for (float& x : t) x = activate(f, x);
        v = _mm512_load_ps(t);
    }
}

using job = depthwise_job<plan>;

// Padded rows [r0, r1) of the band starting at output row oy0, of channel block cb of image
// img, into xb: [padded row][padded column][16 channels], pads zero.
[[gnu::always_inline]] __attribute__((target(CNNKIT_CONV_AVX512_TARGET))) inline void fill(
    const job& j, std::int64_t img, std::int64_t cb, std::int64_t oy0, std::int64_t r0,
    std::int64_t r1, float* xb) {
    const geometry& g = *j.g;
    const plan& q = *j.q;
    const std::int64_t nc = std::min<std::int64_t>(lanes, g.c - cb * lanes);
    const float* planes = j.x + (img * g.c + cb * lanes) * g.h * g.w;
    const std::int64_t cols = std::clamp<std::int64_t>(q.pw - g.pad_l, 0, g.w);  // read columns
    const __m512 zero = _mm512_setzero_ps();
    for (std::int64_t r = r0; r < r1; ++r) {
        float* d = xb + r * q.pw * lanes;
        const std::int64_t iy = oy0 * q.sh + r - g.pad_t;
        if (iy < 0 || iy >= g.h || cols == 0) {
            for (std::int64_t c = 0; c < q.pw; ++c) _mm512_storeu_ps(d + c * lanes, zero);
            continue;
        }
        const std::int64_t left = std::min(g.pad_l, q.pw);
        for (std::int64_t c = 0; c < left; ++c) _mm512_storeu_ps(d + c * lanes, zero);
        for (std::int64_t c = left + cols; c < q.pw; ++c) _mm512_storeu_ps(d + c * lanes, zero);
        d += left * lanes;
        const float* s = planes + iy * g.w;
        for (std::int64_t x0 = 0; x0 < cols; x0 += lanes) {
            const std::int64_t n = std::min<std::int64_t>(lanes, cols - x0);
            const __mmask16 m = static_cast<__mmask16>((1u << n) - 1);
            __m512 v[16];
            for (int l = 0; l < lanes; ++l)
                v[l] = l < nc ? _mm512_maskz_loadu_ps(m, s + l * g.h * g.w + x0) : zero;
            transpose16(v);
            for (std::int64_t i = 0; i < n; ++i) _mm512_storeu_ps(d + (x0 + i) * lanes, v[i]);
        }
    }
}

// N output pixels from ob's place: taps from xb (their tap (0, 0)), sums plus the bias, then
// the activation when `act`, stored [pixel][16].
template <int N>
[[gnu::always_inline]] __attribute__((target(CNNKIT_CONV_AVX512_TARGET))) inline void pixels(
    const plan& q, const float* xb, const __m512* wv, __m512 bias, act_fn f, bool act,
    float* ob) {
    __m512 acc[N];
    for (int i = 0; i < N; ++i) acc[i] = _mm512_setzero_ps();
    const std::int64_t step = q.sw * lanes;
    for (std::int64_t ky = 0; ky < q.kh; ++ky)
        for (std::int64_t kx = 0; kx < q.kw; ++kx) {
            const float* s = xb + (ky * q.dh * q.pw + kx * q.dw) * lanes;
            const __m512 w = wv[ky * q.kw + kx];
            for (int i = 0; i < N; ++i) acc[i] = _mm512_fmadd_ps(w, _mm512_loadu_ps(s + i * step), acc[i]);
        }
    for (int i = 0; i < N; ++i) {
        __m512 v = _mm512_add_ps(acc[i], bias);
        if (act) activate16(f, v);
        _mm512_storeu_ps(ob + i * lanes, v);
    }
}

// The sums of the band of `rows` output rows from oy0, [pixel][16] into ob (rows x ow pixels),
// each output row's input rows filled into xb just before it (so that they are in L1).
__attribute__((target(CNNKIT_CONV_AVX512_TARGET))) void band(const job& j, std::int64_t img,
                                                             std::int64_t cb, std::int64_t oy0,
                                                             std::int64_t rows, float* xb,
                                                             float* ob) {
    const geometry& g = *j.g;
    const plan& q = *j.q;
    const std::int64_t nc = std::min<std::int64_t>(lanes, g.c - cb * lanes), taps = q.kh * q.kw;
    alignas(64) float w[max_taps * lanes] = {}, b[lanes] = {};
    for (std::int64_t l = 0; l < nc; ++l) {
        for (std::int64_t t = 0; t < taps; ++t) w[t * lanes + l] = j.w[(cb * lanes + l) * taps + t];
        b[l] = j.bias ? j.bias[cb * lanes + l] : 0.0f;
    }
    __m512 wv[max_taps];
    for (std::int64_t t = 0; t < taps; ++t) wv[t] = _mm512_load_ps(w + t * lanes);
    const __m512 bias = _mm512_load_ps(b);
    const act_fn f = j.p->activation;
    const bool act = !j.res;  // else after the residual, in store
    std::int64_t filled = 0;  // padded rows of the band in xb
    for (std::int64_t oy = 0; oy < rows; ++oy) {
        const std::int64_t need = oy * q.sh + (q.kh - 1) * q.dh + 1;
        if (need > filled) fill(j, img, cb, oy0, filled, need, xb);
        filled = std::max(filled, need);
        const float* row = xb + oy * q.sh * q.pw * lanes;
        float* o = ob + oy * g.ow * lanes;
        std::int64_t ox = 0;
        for (; ox + px <= g.ow; ox += px)
            pixels<px>(q, row + ox * q.sw * lanes, wv, bias, f, act, o + ox * lanes);
        const float* s = row + ox * q.sw * lanes;
        switch (g.ow - ox) {
            case 1: pixels<1>(q, s, wv, bias, f, act, o + ox * lanes); break;
            case 2: pixels<2>(q, s, wv, bias, f, act, o + ox * lanes); break;
            case 3: pixels<3>(q, s, wv, bias, f, act, o + ox * lanes); break;
            case 4: pixels<4>(q, s, wv, bias, f, act, o + ox * lanes); break;
            case 5: pixels<5>(q, s, wv, bias, f, act, o + ox * lanes); break;
            case 6: pixels<6>(q, s, wv, bias, f, act, o + ox * lanes); break;
            case 7: pixels<7>(q, s, wv, bias, f, act, o + ox * lanes); break;
            default: break;
        }
    }
}

// ob's n pixels x 16 channels into the output planes from pixel p0 (of image img, block cb),
// the residual added and the activation applied on the way when there is one.
__attribute__((target(CNNKIT_CONV_AVX512_TARGET))) void store(const job& j, std::int64_t img,
                                                              std::int64_t cb, std::int64_t p0,
                                                              std::int64_t n, const float* ob) {
    const geometry& g = *j.g;
    const std::int64_t nc = std::min<std::int64_t>(lanes, g.oc - cb * lanes), plane = g.oh * g.ow;
    const std::int64_t first = (img * g.oc + cb * lanes) * plane + p0;
    const act_fn f = j.p->activation;
    for (std::int64_t x0 = 0; x0 < n; x0 += lanes) {
        const std::int64_t m = std::min<std::int64_t>(lanes, n - x0);
        const __mmask16 k = static_cast<__mmask16>((1u << m) - 1);
        __m512 v[16];
        for (int i = 0; i < lanes; ++i)
            v[i] = i < m ? _mm512_loadu_ps(ob + (x0 + i) * lanes) : _mm512_setzero_ps();
        transpose16(v);
        for (std::int64_t l = 0; l < nc; ++l) {
            const std::int64_t at = first + l * plane + x0;
            __m512 y = v[l];
            if (j.res) {
                y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(k, j.res + at));
                activate16(f, y);
            }
            _mm512_mask_storeu_ps(j.y + at, k, y);
        }
    }
}

}  // namespace

bool depthwise16_applies(const params& p, const geometry& g) {
    return isa_for_cpu() == isa_avx512 && g.oc == g.c && p.kernel[0] * p.kernel[1] <= max_taps;
}

void depthwise16_run(const params& p, const sdk::call& c) {
    const geometry g = geometry_of(p, c.in(0).shape());
    const plan q = plan_of(p, g);
    const job j{&p, &g, &q, c.in(0).f32(), c.w(0).f32(), p.bias ? c.w(1).f32() : nullptr,
                p.residual ? c.in(1).f32() : nullptr, c.out(0).f32()};
    const auto floats = static_cast<std::size_t>(q.in_floats() + q.band * g.ow * lanes);
    c.host.parallel_for(0, g.n * q.blocks * q.bands, [&](std::int64_t t) {
        // Per thread, grown once to the largest layer (a task runs no nested parallel work).
        thread_local line_vector<float> buf;
        if (buf.size() < floats) buf.resize(floats);
        const std::int64_t img = t / (q.blocks * q.bands), cb = t / q.bands % q.blocks;
        const std::int64_t oy0 = t % q.bands * q.band, rows = std::min(q.band, g.oh - oy0);
        if (rows <= 0) return;
        float* xb = buf.data();
        float* ob = xb + q.in_floats();
        band(j, img, cb, oy0, rows, xb, ob);
        store(j, img, cb, oy0 * g.ow, rows * g.ow, ob);
    });
}

}  // namespace cnnkit::plugins::conv
