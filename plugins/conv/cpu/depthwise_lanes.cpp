// depthwise_lanes.cpp: depthwise convs with one output channel per input channel (MobileNet's),
// on AVX-512 and AVX2. depthwise.cpp sums one plane at a time, which leaves most lanes and
// cycles to per-plane and per-row work on small planes (7x7 and 14x14, stride 2). Here a
// vector's worth of channels (L: 16 on AVX-512, 8 on AVX2) go side by side in the lanes
// instead: each task takes a band of output rows of L channels; output row by output row, it
// transposes the input rows the row reads first (LxL blocks in registers: transpose16 and
// transpose8 in conv.hpp) into a padded [row][column][L channels] scratch and sums the row's
// pixels as one FMA per tap (8 pixels at a time in registers, the L channels' filter taps one
// vector each); then it transposes the band's [pixel][L] sums back into the NCHW output
// planes. The epilogue is the other paths' ((sum + bias) + residual), then the activation. The
// job code (depthwise_lanes.inc) is compiled once per instruction set.
#include "../conv.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cmath>

#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC bug 105593, as in kernels.cpp
#endif

namespace cnnkit::plugins::conv {
namespace {

constexpr std::int64_t max_taps = 64;       // kernel taps (kh x kw) this path takes
constexpr std::int64_t band_pixels = 2048;  // output pixels per task (sums: 128 KiB at L 16)
constexpr int px = 8;                       // output pixels summed in registers at a time

struct plan {
    std::int64_t lanes;  // channels per block (L)
    std::int64_t kh, kw, sh, sw, dh, dw;
    std::int64_t blocks;       // channel blocks per image
    std::int64_t band, bands;  // output rows per task, tasks per block
    std::int64_t pw;           // padded columns the outputs read
    // Padded rows that `rows` output rows read.
    std::int64_t in_rows(std::int64_t rows) const { return (rows - 1) * sh + (kh - 1) * dh + 1; }
    std::int64_t in_floats() const { return in_rows(band) * pw * lanes; }
};

plan plan_of(const params& p, const geometry& g, std::int64_t lanes) {
    plan q{lanes, p.kernel[0], p.kernel[1], p.stride[0], p.stride[1], p.dilation[0],
           p.dilation[1], (g.c + lanes - 1) / lanes, 0, 0, 0};
    q.pw = (g.ow - 1) * q.sw + (q.kw - 1) * q.dw + 1;
    const std::int64_t most = std::max<std::int64_t>(1, band_pixels / g.ow);
    q.bands = (g.oh + most - 1) / most;
    q.band = (g.oh + q.bands - 1) / q.bands;
    return q;
}

using job = depthwise_job<plan>;

CNNKIT_CONV_AVX512_BEGIN
namespace avx512 {
constexpr int L = 16;
using V = __m512;
[[gnu::always_inline]] inline V vzero() { return _mm512_setzero_ps(); }
[[gnu::always_inline]] inline V vset(float x) { return _mm512_set1_ps(x); }
[[gnu::always_inline]] inline V vload(const float* p) { return _mm512_loadu_ps(p); }
[[gnu::always_inline]] inline void vstore(float* p, V v) { _mm512_storeu_ps(p, v); }
[[gnu::always_inline]] inline __mmask16 first(std::int64_t n) {
    return static_cast<__mmask16>((1u << n) - 1);
}
// The first n < L floats (the rest zero), and a store of them.
[[gnu::always_inline]] inline V vload_n(const float* p, std::int64_t n) {
    return _mm512_maskz_loadu_ps(first(n), p);
}
[[gnu::always_inline]] inline void vstore_n(float* p, V v, std::int64_t n) {
    _mm512_mask_storeu_ps(p, first(n), v);
}
[[gnu::always_inline]] inline V vfma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
[[gnu::always_inline]] inline V vadd(V a, V b) { return _mm512_add_ps(a, b); }
[[gnu::always_inline]] inline V vmax(V a, V b) { return _mm512_max_ps(a, b); }
[[gnu::always_inline]] inline V vmin(V a, V b) { return _mm512_min_ps(a, b); }
[[gnu::always_inline]] inline void transpose(V (&r)[L]) { transpose16(r); }
#include "depthwise_lanes.inc"
}  // namespace avx512
CNNKIT_CONV_ISA_END
CNNKIT_CONV_AVX2_BEGIN
namespace avx2 {
constexpr int L = 8;
using V = __m256;
[[gnu::always_inline]] inline V vzero() { return _mm256_setzero_ps(); }
[[gnu::always_inline]] inline V vset(float x) { return _mm256_set1_ps(x); }
[[gnu::always_inline]] inline V vload(const float* p) { return _mm256_loadu_ps(p); }
[[gnu::always_inline]] inline void vstore(float* p, V v) { _mm256_storeu_ps(p, v); }
[[gnu::always_inline]] inline V vload_n(const float* p, std::int64_t n) {
    return _mm256_maskload_ps(p, first8(static_cast<int>(n)));
}
// Masked stores are microcoded on AMD Zen (kernels.cpp): the n floats one by one.
[[gnu::always_inline]] inline void vstore_n(float* p, V v, std::int64_t n) {
    alignas(32) float t[L];
    _mm256_store_ps(t, v);
    for (std::int64_t i = 0; i < n; ++i) p[i] = t[i];
}
[[gnu::always_inline]] inline V vfma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
[[gnu::always_inline]] inline V vadd(V a, V b) { return _mm256_add_ps(a, b); }
[[gnu::always_inline]] inline V vmax(V a, V b) { return _mm256_max_ps(a, b); }
[[gnu::always_inline]] inline V vmin(V a, V b) { return _mm256_min_ps(a, b); }
[[gnu::always_inline]] inline void transpose(V (&r)[L]) { transpose8(r); }
#include "depthwise_lanes.inc"
}  // namespace avx2
CNNKIT_CONV_ISA_END

}  // namespace

bool depthwise_lanes_applies(const params& p, const geometry& g) {
    const std::int32_t isa = isa_for_cpu();
    return (isa == isa_avx512 || isa == isa_avx2) && g.oc == g.c &&
           p.kernel[0] * p.kernel[1] <= max_taps;
}

void depthwise_lanes_run(const params& p, const geometry& g, const sdk::call& c) {
    const bool avx512 = isa_for_cpu() == isa_avx512;
    const plan q = plan_of(p, g, avx512 ? avx512::L : avx2::L);
    const job j{&p, &g, &q, c.in(0).f32(), c.w(0).f32(), p.bias ? c.w(1).f32() : nullptr,
                p.residual ? c.in(1).f32() : nullptr, c.out(0).f32()};
    const auto floats = static_cast<std::size_t>(q.in_floats() + q.band * g.ow * q.lanes);
    c.host.parallel_for(0, g.n * q.blocks * q.bands, [&](std::int64_t t) {
        // Per thread, grown once to the largest layer (a task runs no nested parallel work).
        thread_local line_vector<float> buf;
        if (buf.size() < floats) buf.resize(floats);
        if (avx512)
            avx512::task(j, t, buf.data());
        else
            avx2::task(j, t, buf.data());
    });
}

}  // namespace cnnkit::plugins::conv
