// depthwise.cpp: convs whose groups each read one input channel (depthwise: MobileNet's and
// EfficientNet's 3x3 and 5x5s, with any channel multiplier, stride, dilation and pads). The GEMM
// paths are built for many channels per group; here each task is a run of output planes (image,
// output channel): a plane's input channel is copied with its pads into a per-thread scratch,
// split into column phases when the horizontal stride is above 1 (phase q holds padded columns
// q, q + s, q + 2s, ...), so that every tap of a chunk of outputs reads consecutive floats. The
// outputs are summed tap by tap in chunks of 64 held in registers: at stride 1 the whole plane
// as one flat run (see plan), else row by row. Plain loops that the vectoriser widens per
// instruction set, compiled with FMA contraction and without turning copies into library calls
// (CMakeLists.txt). Then ((sum + bias) + residual) and the activation, the GEMM paths' order.
#include "../conv.hpp"

#include <algorithm>
#include <cmath>

namespace cnnkit::plugins::conv {
namespace {

constexpr std::int64_t chunk = 64;  // output pixels summed in registers at a time
constexpr std::int64_t max_kw = 64;  // kernel columns this path takes

// Stride 1 (flat): output pixel (y, x) reads padded element (y + ky dh) pw + x + kx dw, so the
// plane's outputs on a grid of pw columns (ow of them kept) are one run of consecutive floats:
// chunks of 64 of them cross rows, and a 7x7 plane with pads 1 takes 4 vectors (63 outputs, 49
// kept) rather than 7 of 16 lanes (7 kept) per row. Other strides go row by row.
struct plan {
    std::int64_t kh, kw, sh, sw, dh, dw, mult;  // mult: output channels per input channel
    std::int64_t ph, pw;   // padded rows and columns the outputs read
    // Floats per phase of a padded row: rows, a vector of zeros past each; flat, pw.
    std::int64_t pq;
    bool flat;
    std::int64_t row() const { return sw * pq; }
    // The padded input; flat: then the reach of the last chunk's taps past it in zeros.
    std::int64_t floats() const { return ph * row() + (flat ? (kw - 1) * dw + chunk + 16 : 0); }
    std::int64_t grid() const { return (ph - (kh - 1) * dh) * pw; }  // flat outputs, oh x pw
};

plan plan_of(const params& p, const geometry& g) {
    plan q{p.kernel[0], p.kernel[1], p.stride[0], p.stride[1], p.dilation[0], p.dilation[1],
           g.oc / p.groups, 0, 0, 0, false};
    q.ph = (g.oh - 1) * q.sh + (q.kh - 1) * q.dh + 1;
    q.pw = (g.ow - 1) * q.sw + (q.kw - 1) * q.dw + 1;
    q.flat = q.sh == 1 && q.sw == 1;
    q.pq = q.flat ? q.pw : (q.pw + q.sw - 1) / q.sw + 16;
    return q;
}

struct job {
    const params* p;
    const geometry* g;
    const plan* q;
    const float *x, *w, *bias, *res;
    float* y;
};

// Padded rows [r0, r1) of input channel ci of image img into buf, phase by phase, where they
// lie in the input: the pads and the zeros past each phase are written once per task and stay.
// Rows are copied as the output rows first need them, so that reading the input (from L3 or
// memory) overlaps the sums.
[[gnu::always_inline]] inline void fill(const job& j, std::int64_t img, std::int64_t ci,
                                        float* buf, std::int64_t r0, std::int64_t r1) {
    const geometry& g = *j.g;
    const plan& q = *j.q;
    const float* plane = j.x + (img * g.c + ci) * g.h * g.w;
    r0 = std::max(r0, g.pad_t), r1 = std::min(r1, g.pad_t + g.h);
    for (std::int64_t ph = 0; ph < q.sw; ++ph) {
        // Phase ph's element t is padded column t * sw + ph, input column that - pad_l:
        // [lo, hi) of them lie in the input row (and within the padded width).
        const std::int64_t first = g.pad_l - ph, cols = std::min(g.w + g.pad_l, q.pw) - ph;
        const std::int64_t lo = std::clamp<std::int64_t>((first + q.sw - 1) / q.sw, 0, q.pq);
        const std::int64_t hi =
            std::clamp<std::int64_t>(cols > 0 ? (cols + q.sw - 1) / q.sw : 0, lo, q.pq);
        const std::int64_t n = hi - lo;
        for (std::int64_t r = r0; r < r1; ++r) {
            float* d = buf + r * q.row() + ph * q.pq + lo;
            const float* s = plane + (r - g.pad_t) * g.w + lo * q.sw + ph - g.pad_l;
            if (q.sw == 1)  // the strides as constants, so that the loads vectorise
                for (std::int64_t t = 0; t < n; ++t) d[t] = s[t];
            else if (q.sw == 2)
                for (std::int64_t t = 0; t < n; ++t) d[t] = s[2 * t];
            else
                for (std::int64_t t = 0; t < n; ++t) d[t] = s[t * q.sw];
        }
    }
}

// Padded rows [0, need) of plane o's input channel in buf, `filled` of them already there:
// the missing ones and a few beyond, so that fewer, longer copies run.
[[gnu::always_inline]] inline void fill_through(const job& j, std::int64_t img, std::int64_t o,
                                                float* buf, std::int64_t need,
                                                std::int64_t& filled) {
    if (need <= filled) return;
    const std::int64_t upto = std::min(j.q->ph, need + 3);
    fill(j, img, o / j.q->mult, buf, filled, upto);
    filled = upto;
}

// Output pixels [x0, x0 + n) (n <= chunk) of output row oy of plane (img, o). The sums are GCC
// vectors of 16 floats: registers of the instruction set the caller is compiled for.
using vec = float __attribute__((vector_size(64)));
constexpr int vec_floats = 16;

// Where tap column kx reads in a padded row: its phase, then its offset in the phase.
inline std::int64_t tap_offset(const plan& q, std::int64_t kx) {
    return kx * q.dw % q.sw * q.pq + kx * q.dw / q.sw;
}

// acc += the taps of plane o's filter over NV vectors of outputs whose tap (0, 0) reads `at` in
// the padded input (`taps`: tap_offset of each kernel column).
template <int NV>
[[gnu::always_inline]] inline void sum_taps(const job& j, const float* at,
                                            const std::int64_t* taps, std::int64_t o,
                                            vec (&acc)[NV]) {
    const plan& q = *j.q;
    const float* w = j.w + o * q.kh * q.kw;
    for (std::int64_t ky = 0; ky < q.kh; ++ky) {
        const float* r = at + ky * q.dh * q.row();
        for (std::int64_t kx = 0; kx < q.kw; ++kx) {
            const float* s = r + taps[kx];
            const float wv = w[ky * q.kw + kx];
            for (int v = 0; v < NV; ++v) {
                vec x;
                __builtin_memcpy(&x, s + v * vec_floats, sizeof x);
                acc[v] += wv * x;
            }
        }
    }
}

// `taps`: tap_offset of each kernel column; NV: vectors of 16 pixels that cover the n.
template <int NV>
[[gnu::always_inline]] inline void row_chunk(const job& j, const float* buf,
                                             const std::int64_t* taps, std::int64_t img,
                                             std::int64_t o, std::int64_t oy, std::int64_t x0,
                                             std::int64_t n) {
    const geometry& g = *j.g;
    const plan& q = *j.q;
    vec acc[NV] = {};
    sum_taps(j, buf + oy * q.sh * q.row() + x0, taps, o, acc);
    const float b = j.bias ? j.bias[o] : 0.0f;
    const std::int64_t at = ((img * g.oc + o) * g.oh + oy) * g.ow + x0;
    const act_fn f = j.p->activation;
    const vec zero = {}, six = zero + 6.0f;
    for (int v = 0; v < NV; ++v) {  // in registers
        const std::int64_t first = at + v * vec_floats;
        const int m = static_cast<int>(std::min<std::int64_t>(vec_floats, n - v * vec_floats));
        vec y = acc[v] + b;
        if (j.res) {
            vec r = zero;
            if (m == vec_floats)
                __builtin_memcpy(&r, j.res + first, sizeof r);
            else
                for (int l = 0; l < m; ++l) r[l] = j.res[first + l];
            y += r;
        }
        // y < 0 and y > 6 are false for NaN, which stays (as std::max(y, 0.0f) keeps it).
        if (f == act_fn::relu || f == act_fn::relu6) y = y < zero ? zero : y;
        if (f == act_fn::relu6) y = y > six ? six : y;
        if (f == act_fn::tanh || f == act_fn::sigmoid)
            for (int l = 0; l < vec_floats; ++l) y[l] = activate(f, y[l]);
        if (m == vec_floats)
            __builtin_memcpy(j.y + first, &y, sizeof y);
        else
            for (int l = 0; l < m; ++l) j.y[first + l] = y[l];
    }
}

// Flat outputs [c0, c0 + NV x 16) of plane o, plus the bias, into tmp (see plan).
template <int NV>
[[gnu::always_inline]] inline void flat_chunk(const job& j, const float* buf,
                                              const std::int64_t* taps, std::int64_t o,
                                              std::int64_t c0, float* tmp) {
    vec acc[NV] = {};
    sum_taps(j, buf + c0, taps, o, acc);
    const float b = j.bias ? j.bias[o] : 0.0f;
    for (int v = 0; v < NV; ++v) {
        const vec y = acc[v] + b;
        __builtin_memcpy(tmp + c0 + v * vec_floats, &y, sizeof y);
    }
}

// Plane (img, o) of a stride-1 conv: the flat sums into tmp, then each output row's ow of them
// plus the residual, through the activation, into the output. `fresh`: fill buf with the
// plane's input channel (else it holds it).
[[gnu::always_inline]] inline void flat_plane(const job& j, float* buf, float* tmp,
                                              const std::int64_t* taps, std::int64_t img,
                                              std::int64_t o, bool fresh) {
    const geometry& g = *j.g;
    const plan& q = *j.q;
    std::int64_t filled = 0;  // padded rows [0, filled) hold this channel
    for (std::int64_t c0 = 0; c0 < q.grid(); c0 += chunk) {
        const std::int64_t n = std::min(chunk, q.grid() - c0);
        // The taps of the chunk's last output reach this row; its spare columns one more.
        const std::int64_t need = std::min(q.ph, (c0 + n - 1) / q.pw + (q.kh - 1) * q.dh + 2);
        if (fresh) fill_through(j, img, o, buf, need, filled);
        switch ((n + vec_floats - 1) / vec_floats) {
            case 1: flat_chunk<1>(j, buf, taps, o, c0, tmp); break;
            case 2: flat_chunk<2>(j, buf, taps, o, c0, tmp); break;
            case 3: flat_chunk<3>(j, buf, taps, o, c0, tmp); break;
            default: flat_chunk<4>(j, buf, taps, o, c0, tmp); break;
        }
    }
    const act_fn f = j.p->activation;
    const float hi = f == act_fn::relu6 ? 6.0f : HUGE_VALF;
    for (std::int64_t oy = 0; oy < g.oh; ++oy) {
        float* y = j.y + ((img * g.oc + o) * g.oh + oy) * g.ow;
        const float* t = tmp + oy * q.pw;
        if (j.res) {
            const float* r = j.res + (y - j.y);
            for (std::int64_t x = 0; x < g.ow; ++x) y[x] = t[x] + r[x];
        } else {
            for (std::int64_t x = 0; x < g.ow; ++x) y[x] = t[x];
        }
        // (y < 0 and y > hi are false for NaN, which stays, as std::max(y, 0.0f) keeps it.)
        if (f == act_fn::relu || f == act_fn::relu6)
            for (std::int64_t x = 0; x < g.ow; ++x) y[x] = y[x] < 0.0f ? 0.0f : y[x] > hi ? hi : y[x];
        else if (f != act_fn::none)
            for (std::int64_t x = 0; x < g.ow; ++x) y[x] = activate(f, y[x]);
    }
}

// Output planes [b, e) of the n x oc planes.
[[gnu::always_inline]] inline void planes(const job& j, std::int64_t b, std::int64_t e,
                                          float* buf) {
    const geometry& g = *j.g;
    const plan& q = *j.q;
    std::int64_t taps[max_kw];
    for (std::int64_t kx = 0; kx < q.kw; ++kx) taps[kx] = tap_offset(q, kx);
    for (std::int64_t i = 0; i < q.floats(); ++i) buf[i] = 0.0f;
    for (std::int64_t t = b; t < e; ++t) {
        const std::int64_t img = t / g.oc, o = t % g.oc;
        // Planes of one input channel follow each other (channel multiplier): fill it once.
        const bool fresh = t == b || o % q.mult == 0;
        if (q.flat) {
            flat_plane(j, buf, buf + q.floats(), taps, img, o, fresh);
            continue;
        }
        std::int64_t filled = 0;  // padded rows [0, filled) hold this channel
        for (std::int64_t oy = 0; oy < g.oh; ++oy) {
            const std::int64_t need = std::min(q.ph, oy * q.sh + (q.kh - 1) * q.dh + 1);
            if (fresh) fill_through(j, img, o, buf, need, filled);
            for (std::int64_t x0 = 0; x0 < g.ow; x0 += chunk) {
                const std::int64_t n = std::min(chunk, g.ow - x0);
                switch ((n + vec_floats - 1) / vec_floats) {
                    case 1: row_chunk<1>(j, buf, taps, img, o, oy, x0, n); break;
                    case 2: row_chunk<2>(j, buf, taps, img, o, oy, x0, n); break;
                    case 3: row_chunk<3>(j, buf, taps, img, o, oy, x0, n); break;
                    default: row_chunk<4>(j, buf, taps, img, o, oy, x0, n); break;
                }
            }
        }
    }
}

// The same code compiled for three instruction sets; the vectoriser widens the pixel loops.
using planes_fn = void (*)(const job&, std::int64_t, std::int64_t, float*);
__attribute__((target(CNNKIT_CONV_AVX512_TARGET))) void planes_avx512(const job& j, std::int64_t b,
                                                                     std::int64_t e, float* buf) {
    planes(j, b, e, buf);
}
__attribute__((target("avx2,fma"))) void planes_avx2(const job& j, std::int64_t b,
                                                     std::int64_t e, float* buf) {
    planes(j, b, e, buf);
}
void planes_generic(const job& j, std::int64_t b, std::int64_t e, float* buf) {
    planes(j, b, e, buf);
}

}  // namespace

bool depthwise_applies(const params& p, const geometry& g, algo mode) {
    return mode != algo::im2col && p.groups > 1 && g.c == p.groups && p.kernel[1] <= max_kw;
}

void depthwise_run(const params& p, const sdk::call& c) {
    const geometry g = geometry_of(p, c.in(0).shape());
    const plan q = plan_of(p, g);
    const job j{&p, &g, &q, c.in(0).f32(), c.w(0).f32(), p.bias ? c.w(1).f32() : nullptr,
                p.residual ? c.in(1).f32() : nullptr, c.out(0).f32()};
    const std::int32_t isa = isa_for_cpu();
    const planes_fn fn = isa == isa_avx512 ? planes_avx512 : isa == isa_avx2 ? planes_avx2
                                                                             : planes_generic;
    // The padded input, then (flat) the plane's sums.
    const auto floats = static_cast<std::size_t>(q.floats() + (q.flat ? q.grid() + chunk : 0));
    // About 16k outputs per task, whole planes.
    const std::int64_t grain = std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(1, g.oh * g.ow));
    c.host.parallel_for(
        0, g.n * g.oc,
        [&](std::int64_t b, std::int64_t e) {
            // Per thread, grown once to the largest layer (a task runs no nested parallel work).
            thread_local line_vector<float> buf;
            if (buf.size() < floats) buf.resize(std::max<std::size_t>(floats, 1 << 14));
            fn(j, b, e, buf.data());
        },
        grain);
}

}  // namespace cnnkit::plugins::conv
