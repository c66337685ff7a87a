// depthwise.cpp: convs whose groups each read one input channel (depthwise: MobileNet's and
// EfficientNet's 3x3 and 5x5s, with any channel multiplier, stride, dilation and pads). The GEMM
// paths are built for many channels per group; here each task is a run of output planes (image,
// output channel): a plane's input channel is copied with its pads into a per-thread scratch,
// split by the strides into sub-planes (see plan), so that every tap of a run of outputs reads
// consecutive floats and the whole plane's outputs are one flat run, summed tap by tap in
// chunks of 4 vectors held in registers (GCC vectors as wide as each instruction set's),
// compiled with FMA contraction and without turning copies into library calls
// (CMakeLists.txt). The sums plus the bias (then the activation, when no residual comes
// between) go to a scratch, whose rows are copied out; a residual is added over the whole
// plane, then the activation: ((sum + bias) + residual), the GEMM paths' order. On AVX2 and
// AVX-512, convs with one output channel per input channel go to depthwise_lanes.cpp instead
// (channels in the vector lanes); this path takes the others and the baseline ISA.
#include "../conv.hpp"

#include <algorithm>
#include <cmath>

namespace cnnkit::plugins::conv {
namespace {

constexpr std::int64_t chunk = 64;  // most output pixels summed in registers at a time (4 x W)
constexpr std::int64_t max_k = 64;  // kernel rows and columns this path takes

// The padded input plane is kept as sh x sw sub-planes (polyphase): sub-plane (a, b) holds the
// padded elements (r, c) with r % sh == a and c % sw == b, at row r / sh and column c / sw, rows
// of pq floats. Output pixel (y, x) then reads, for tap (ky, kx), element (y, x) of sub-plane
// (ky dh % sh, kx dw % sw) shifted by (ky dh / sh, kx dw / sw): every tap reads consecutive
// floats for consecutive outputs, and the plane's outputs on a grid of pq columns (ow of them
// kept) are one flat run. Chunks of it cross rows: on AVX-512 a 7x7 plane with pads 1 takes 4
// vectors (63 outputs, 49 kept) rather than 7 of 16 lanes (7 kept) per row.
struct plan {
    std::int64_t kh, kw, sh, sw, dh, dw, mult;  // mult: output channels per input channel
    std::int64_t ph, pw;   // padded rows and columns the outputs read
    std::int64_t rows, pq;  // rows and columns of a sub-plane
    std::int64_t sub() const { return rows * pq; }
    // The sub-planes, then the reach of the last chunk's taps past them in zeros.
    std::int64_t floats() const { return sh * sw * sub() + (kw - 1) * dw / sw + chunk + 16; }
    std::int64_t grid() const { return (ph - (kh - 1) * dh + sh - 1) / sh * pq; }  // oh x pq
    // Where padded row r's elements of column phase b begin.
    std::int64_t at(std::int64_t r, std::int64_t b) const {
        return (r % sh * sw + b) * sub() + r / sh * pq;
    }
};

plan plan_of(const params& p, const geometry& g) {
    plan q{p.kernel[0], p.kernel[1], p.stride[0], p.stride[1], p.dilation[0], p.dilation[1],
           g.oc / p.groups, 0, 0, 0, 0};
    q.ph = (g.oh - 1) * q.sh + (q.kh - 1) * q.dh + 1;
    q.pw = (g.ow - 1) * q.sw + (q.kw - 1) * q.dw + 1;
    q.rows = (q.ph + q.sh - 1) / q.sh;
    q.pq = (q.pw + q.sw - 1) / q.sw;
    return q;
}

using job = depthwise_job<plan>;

// Padded rows [r0, r1) of input channel ci of image img into their sub-planes, column phase by
// phase, where they lie in the input: the pads are zeroed once per task and stay.
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
            float* d = buf + q.at(r, ph) + lo;
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

// The sums are GCC vectors of W floats, a register of the instruction set the caller is
// compiled for: 16 for AVX-512, 8 for AVX2, 4 for the baseline (one 64-byte type for all three
// went through the stack lane by lane under AVX2: 5x the time of the whole layer). Concrete
// types: GCC drops vector_size from a typedef whose size depends on a template parameter.
using vec16 = float __attribute__((vector_size(64)));
using vec8 = float __attribute__((vector_size(32)));
using vec4 = float __attribute__((vector_size(16)));
template <int W>
struct simd;
template <>
struct simd<16> {
    using type = vec16;
};
template <>
struct simd<8> {
    using type = vec8;
};
template <>
struct simd<4> {
    using type = vec4;
};
template <int W>
using vec = typename simd<W>::type;

// Where tap (ky, kx) reads from an output's (tap (0, 0)'s) place: row[ky] + col[kx], its phases'
// sub-plane, then its shift within it.
struct tap_table {
    std::int64_t row[max_k], col[max_k];
    explicit tap_table(const plan& q) {
        for (std::int64_t ky = 0; ky < q.kh; ++ky) row[ky] = q.at(ky * q.dh, 0);
        for (std::int64_t kx = 0; kx < q.kw; ++kx)
            col[kx] = kx * q.dw % q.sw * q.sub() + kx * q.dw / q.sw;
    }
};

// acc += the taps of plane o's filter over NV vectors of outputs whose tap (0, 0) reads `at` in
// the padded input.
template <int W, int NV>
[[gnu::always_inline]] inline void sum_taps(const job& j, const float* at,
                                            const tap_table& taps, std::int64_t o,
                                            vec<W> (&acc)[NV]) {
    const plan& q = *j.q;
    const float* w = j.w + o * q.kh * q.kw;
    for (std::int64_t ky = 0; ky < q.kh; ++ky) {
        const float* r = at + taps.row[ky];
        for (std::int64_t kx = 0; kx < q.kw; ++kx) {
            const float* s = r + taps.col[kx];
            const float wv = w[ky * q.kw + kx];
            for (int v = 0; v < NV; ++v) {
                vec<W> x;
                __builtin_memcpy(&x, s + v * W, sizeof x);
                acc[v] += wv * x;
            }
        }
    }
}

// act(v) on a vector: relu and relu6 as max and min (v < 0 and v > 6 are false for NaN,
// which stays, as std::max(v, 0.0f) keeps it), the others lane by lane.
template <int W>
[[gnu::always_inline]] inline void act_vec(act_fn f, vec<W>& v) {
    const vec<W> zero = {}, six = zero + 6.0f;
    if (f == act_fn::relu || f == act_fn::relu6) v = v < zero ? zero : v;
    if (f == act_fn::relu6) v = v > six ? six : v;
    if (f == act_fn::tanh || f == act_fn::sigmoid)
        for (int l = 0; l < W; ++l) v[l] = activate(f, v[l]);
}

// NV vectors of outputs whose tap (0, 0) reads `at` in the padded input into tmp: the sums
// plus the bias, through the activation when `act` (no residual comes between).
template <int W, int NV>
[[gnu::always_inline]] inline void sum_chunk(const job& j, const float* at,
                                             const tap_table& taps, std::int64_t o, bool act,
                                             float* tmp) {
    vec<W> acc[NV] = {};
    sum_taps<W>(j, at, taps, o, acc);
    const float b = j.bias ? j.bias[o] : 0.0f;
    for (int v = 0; v < NV; ++v) {
        vec<W> y = acc[v] + b;
        if (act) act_vec<W>(j.p->activation, y);
        __builtin_memcpy(tmp + v * W, &y, sizeof y);
    }
}

// n (<= 4W) outputs into tmp, as sum_chunk with the vectors that cover them.
template <int W>
[[gnu::always_inline]] inline void sum_any(const job& j, const float* at,
                                           const tap_table& taps, std::int64_t o,
                                           std::int64_t n, bool act, float* tmp) {
    switch ((n + W - 1) / W) {
        case 1: sum_chunk<W, 1>(j, at, taps, o, act, tmp); break;
        case 2: sum_chunk<W, 2>(j, at, taps, o, act, tmp); break;
        case 3: sum_chunk<W, 3>(j, at, taps, o, act, tmp); break;
        default: sum_chunk<W, 4>(j, at, taps, o, act, tmp); break;
    }
}

// With a residual, output plane y (n floats, contiguous) = act(y + the residual's plane): once
// per plane, so that rows narrower than a vector do not each end in a scalar tail.
template <int W>
[[gnu::always_inline]] inline void finish_plane(const job& j, float* y, std::int64_t n) {
    const float* r = j.res + (y - j.y);
    const act_fn f = j.p->activation;
    std::int64_t x = 0;
    for (; x + W <= n; x += W) {
        vec<W> v, rv;
        __builtin_memcpy(&v, y + x, sizeof v);
        __builtin_memcpy(&rv, r + x, sizeof rv);
        v += rv;
        act_vec<W>(f, v);
        __builtin_memcpy(y + x, &v, sizeof v);
    }
    if (x == n) return;
    vec<W> v = {}, rv = {};
    for (std::int64_t l = 0; l < n - x; ++l) v[l] = y[x + l], rv[l] = r[x + l];
    v += rv;
    act_vec<W>(f, v);
    for (std::int64_t l = 0; l < n - x; ++l) y[x + l] = v[l];
}

// Plane (img, o): the flat sums into tmp (see plan), each output row's ow of them copied out,
// then the residual added over the whole plane. `fresh`: fill buf with the plane's input
// channel (else it holds it).
template <int W>
[[gnu::always_inline]] inline void plane(const job& j, float* buf, float* tmp,
                                         const tap_table& taps, std::int64_t img,
                                         std::int64_t o, bool fresh) {
    const geometry& g = *j.g;
    const plan& q = *j.q;
    float* out = j.y + (img * g.oc + o) * g.oh * g.ow;
    const bool act = !j.res;  // else after the residual, in finish_plane
    std::int64_t filled = 0;  // padded rows [0, filled) hold this channel
    constexpr std::int64_t step = 4 * W;  // outputs per chunk (at most `chunk`)
    for (std::int64_t c0 = 0; c0 < q.grid(); c0 += step) {
        const std::int64_t n = std::min(step, q.grid() - c0);
        // The taps of the chunk's last output reach this padded row (the spare columns past
        // ow read on into what the sub-planes held before: discarded).
        const std::int64_t need =
            std::min(q.ph, (c0 + n - 1) / q.pq * q.sh + (q.kh - 1) * q.dh + 1);
        if (fresh) fill_through(j, img, o, buf, need, filled);
        sum_any<W>(j, buf + c0, taps, o, n, act, tmp + c0);
    }
    for (std::int64_t oy = 0; oy < g.oh; ++oy) {
        float* y = out + oy * g.ow;
        const float* t = tmp + oy * q.pq;
        for (std::int64_t x = 0; x < g.ow; ++x) y[x] = t[x];
    }
    if (!act) finish_plane<W>(j, out, g.oh * g.ow);
}

// Output planes [b, e) of the n x oc planes, in vectors of W floats.
template <int W>
[[gnu::always_inline]] inline void planes(const job& j, std::int64_t b, std::int64_t e,
                                          float* buf) {
    const geometry& g = *j.g;
    const plan& q = *j.q;
    const tap_table taps(q);
    for (std::int64_t i = 0; i < q.floats(); ++i) buf[i] = 0.0f;
    for (std::int64_t t = b; t < e; ++t) {
        const std::int64_t img = t / g.oc, o = t % g.oc;
        // Planes of one input channel follow each other (channel multiplier): fill it once.
        const bool fresh = t == b || o % q.mult == 0;
        plane<W>(j, buf, buf + q.floats(), taps, img, o, fresh);
    }
}

// The same code compiled for three instruction sets, each with its own vector width.
using planes_fn = void (*)(const job&, std::int64_t, std::int64_t, float*);
__attribute__((target(CNNKIT_CONV_AVX512_TARGET))) void planes_avx512(const job& j, std::int64_t b,
                                                                     std::int64_t e, float* buf) {
    planes<16>(j, b, e, buf);
}
__attribute__((target("avx2,fma"))) void planes_avx2(const job& j, std::int64_t b,
                                                     std::int64_t e, float* buf) {
    planes<8>(j, b, e, buf);
}
void planes_generic(const job& j, std::int64_t b, std::int64_t e, float* buf) {
    planes<4>(j, b, e, buf);
}

}  // namespace

bool depthwise_applies(const params& p, const geometry& g, algo mode) {
    return mode != algo::im2col && p.groups > 1 && g.c == p.groups && p.kernel[0] <= max_k &&
           p.kernel[1] <= max_k;
}

void depthwise_run(const params& p, const sdk::call& c) {
    const geometry g = geometry_of(p, c.in(0).shape());
    if (depthwise_lanes_applies(p, g)) return depthwise_lanes_run(p, g, c);
    const plan q = plan_of(p, g);
    const job j{&p, &g, &q, c.in(0).f32(), c.w(0).f32(), p.bias ? c.w(1).f32() : nullptr,
                p.residual ? c.in(1).f32() : nullptr, c.out(0).f32()};
    const std::int32_t isa = isa_for_cpu();
    const planes_fn fn = isa == isa_avx512 ? planes_avx512 : isa == isa_avx2 ? planes_avx2
                                                                             : planes_generic;
    // The sub-planes, then the plane's sums.
    const auto floats = static_cast<std::size_t>(q.floats() + q.grid() + chunk);
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
