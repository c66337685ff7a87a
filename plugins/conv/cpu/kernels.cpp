// kernels.cpp: the conv micro-kernels on packed panels (C(MR x 32) (+)= A(kc x MR) * B(kc x 32))
// and the direct kernels that read A straight from input rows, each built for AVX-512, AVX2 and
// the baseline, and the tables that conv picks from by cpuid at load (conv.hpp).
#include "../conv.hpp"

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>

// GCC 12 warns that the AVX-512 mask builtins' _mm512_undefined_ps() operand "may be used
// uninitialized" (GCC bug 105593) once they are inlined here; it is never read.
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace cnnkit::plugins::conv {
namespace {

constexpr int NR = pack_nr;

using simd::ahead;
template <auto Hint>
[[gnu::always_inline]] inline void prefetch_ahead(const float* p, std::int64_t floats) {
    _mm_prefetch(ahead(p, floats), Hint);
}

// Step k of a tile's first 2 x MR (then 4 x MR) k steps asks for one line of the next tile's C
// for writing (then of its residual): the tile 32 columns on, the next one pointwise.cpp's jobs
// compute. Stores that miss the caches all at once at a tile's end stall on the few line fill
// buffers, and rows a plane apart are too many streams for the L2 prefetcher; asked for a tile
// ahead, the lines arrive during the FMAs (ResNet-50's 56x56 1x1 convs to 256 channels: 0.78-0.85x
// the time; asking for the tile's own lines gained half of that, two tiles ahead nothing more).
template <int MR>
[[gnu::always_inline]] inline void prefetch_tile(std::int64_t k, float* c, std::int64_t ldc,
                                                 const tile_epilogue* e) {
    // Line i of the next tile: row i / 2, half i % 2 (the last tile's next one lies past the
    // tensor).
    const auto line = [&](std::int64_t i) { return (i >> 1) * ldc + (i & 1) * 16 + NR; };
    if (k < 2 * MR)
        __builtin_prefetch(ahead(c, line(k)), 1, 3);
    else if (e && e->res && k < 4 * MR)
        __builtin_prefetch(ahead(e->res, line(k - 2 * MR)), 0, 3);
}

// One k step of a tile: acc[r] += at(r) * b for the panel's 32 channels (AVX-512: two
// vectors), then the tile's store: C(MR x 32, ldc) = acc, or C + acc when accumulating. Every
// element is one FMA chain over a K block from zero, then added to C: the same order for any MR.
template <int MR, class At>
[[gnu::always_inline]] __attribute__((target("avx512f,fma"))) inline void fma_avx512(
    At at, const float* b, __m512 (&c0)[MR], __m512 (&c1)[MR]) {
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
        const __m512 x = _mm512_set1_ps(at(r));
        c0[r] = _mm512_fmadd_ps(x, b0, c0[r]);
        c1[r] = _mm512_fmadd_ps(x, b1, c1[r]);
    }
}

// The rest of tile_epilogue after the vector part: other activations, one float at a time,
// on the first w columns of MR rows.
template <int MR>
[[gnu::always_inline]] inline void finish_scalar(float* c, std::int64_t ldc, const tile_epilogue* e,
                                                 int w) {
    if (!e || e->act == act_fn::none || e->act == act_fn::relu || e->act == act_fn::relu6) return;
    for (int r = 0; r < MR; ++r)
        for (int j = 0; j < w; ++j) c[r * ldc + j] = activate(e->act, c[r * ldc + j]);
}

template <int MR>
[[gnu::always_inline]] __attribute__((target("avx512f,fma"))) inline void store_avx512(
    __m512 (&c0)[MR], __m512 (&c1)[MR], float* c, std::int64_t ldc, bool accumulate,
    const tile_epilogue* e = nullptr) {
    // max(0, v) and min(6, v) return v when it is NaN, as std::max(v, 0) does.
    const __m512 zero = _mm512_setzero_ps(), six = _mm512_set1_ps(6.0f);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
        float* cr = c + r * ldc;
        if (accumulate) {
            c0[r] = _mm512_add_ps(_mm512_loadu_ps(cr), c0[r]);
            c1[r] = _mm512_add_ps(_mm512_loadu_ps(cr + 16), c1[r]);
        }
        if (e) {
            if (e->bias) {
                const __m512 b = _mm512_set1_ps(e->bias[r]);
                c0[r] = _mm512_add_ps(c0[r], b);
                c1[r] = _mm512_add_ps(c1[r], b);
            }
            if (e->res) {
                c0[r] = _mm512_add_ps(c0[r], _mm512_loadu_ps(e->res + r * ldc));
                c1[r] = _mm512_add_ps(c1[r], _mm512_loadu_ps(e->res + r * ldc + 16));
            }
            if (e->act == act_fn::relu || e->act == act_fn::relu6) {
                c0[r] = _mm512_max_ps(zero, c0[r]);
                c1[r] = _mm512_max_ps(zero, c1[r]);
            }
            if (e->act == act_fn::relu6) {
                c0[r] = _mm512_min_ps(six, c0[r]);
                c1[r] = _mm512_min_ps(six, c1[r]);
            }
        }
        _mm512_storeu_ps(cr, c0[r]);
        _mm512_storeu_ps(cr + 16, c1[r]);
    }
    finish_scalar<MR>(c, ldc, e, 32);
}

// AVX2 has 16 registers: 16 of the panel's 32 channels per pass, two passes.
template <int MR, class At>
[[gnu::always_inline]] __attribute__((target("avx2,fma"))) inline void fma_avx2(
    At at, const float* b, __m256 (&c0)[MR], __m256 (&c1)[MR]) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
        const __m256 x = _mm256_set1_ps(at(r));
        c0[r] = _mm256_fmadd_ps(x, b0, c0[r]);
        c1[r] = _mm256_fmadd_ps(x, b1, c1[r]);
    }
}

// One 8-float vector of an AVX2 tile's row: c = x, or c + x when accumulating, then the
// epilogue's vector part as store_avx512 applies it (the row's bias, the residual at res, relu or
// relu6; each null or none when not applied, read out of tile_epilogue once per tile by the
// caller, since a store to C could alias it); with a mask, only its lanes are loaded and stored. Masked stores are microcoded on AMD Zen (one
// every 10-20 cycles: Winograd's 56x56 layers took 1.15-1.2x the time with them), so whole
// vectors take plain ones.
[[gnu::always_inline]] __attribute__((target("avx2,fma"))) inline void store8_avx2(
    __m256 x, float* c, bool accumulate, const float* bias, const float* res, act_fn act,
    const __m256i* mask = nullptr) {
    if (accumulate) x = _mm256_add_ps(mask ? _mm256_maskload_ps(c, *mask) : _mm256_loadu_ps(c), x);
    if (bias) x = _mm256_add_ps(x, _mm256_set1_ps(*bias));
    if (res) x = _mm256_add_ps(x, mask ? _mm256_maskload_ps(res, *mask) : _mm256_loadu_ps(res));
    // max(0, v) and min(6, v) return v when it is NaN, as std::max(v, 0) does.
    if (act == act_fn::relu || act == act_fn::relu6) x = _mm256_max_ps(_mm256_setzero_ps(), x);
    if (act == act_fn::relu6) x = _mm256_min_ps(_mm256_set1_ps(6.0f), x);
    if (mask)
        _mm256_maskstore_ps(c, *mask, x);
    else
        _mm256_storeu_ps(c, x);
}

// The tile's store: h, the pass's first column within the tile (for the residual).
template <int MR>
[[gnu::always_inline]] __attribute__((target("avx2,fma"))) inline void store_avx2(
    __m256 (&c0)[MR], __m256 (&c1)[MR], float* c, std::int64_t ldc, bool accumulate,
    const tile_epilogue* e = nullptr, std::int64_t h = 0) {
    const float *bias = e ? e->bias : nullptr, *res = e ? e->res : nullptr;
    const act_fn act = e ? e->act : act_fn::none;
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
        const float *b = bias ? bias + r : nullptr, *rr = res ? res + r * ldc + h : nullptr;
        store8_avx2(c0[r], c + r * ldc, accumulate, b, rr, act);
        store8_avx2(c1[r], c + r * ldc + 8, accumulate, b, rr ? rr + 8 : nullptr, act);
    }
    finish_scalar<MR>(c, ldc, e, 16);
}

template <int MR, class At>
[[gnu::always_inline]] inline void fma_generic(At at, const float* b, float (&acc)[MR][NR]) {
    for (int r = 0; r < MR; ++r)
        for (int j = 0; j < NR; ++j) acc[r][j] += at(r) * b[j];
}

template <int MR>
[[gnu::always_inline]] inline void store_generic(const float (&acc)[MR][NR], float* c,
                                                 std::int64_t ldc, bool accumulate,
                                                 const tile_epilogue* e = nullptr) {
    for (int r = 0; r < MR; ++r)
        for (int j = 0; j < NR; ++j) {
            float v = accumulate ? c[r * ldc + j] + acc[r][j] : acc[r][j];
            if (e) {
                if (e->bias) v += e->bias[r];
                if (e->res) v += e->res[r * ldc + j];
                v = e->act == act_fn::none ? v : e->act == act_fn::relu ? std::max(v, 0.0f)
                                                                        : activate(e->act, v);
            }
            c[r * ldc + j] = v;
        }
}

// The AVX-512 micro-kernels: C(MR x 32, ldc) (+)= A(kc x MR) * B(kc x 32), row k of B at
// b + k * ldb, then the epilogue `e` when given. W = 16: B's first 16 columns only (a last pixel
// panel at most 16 wide; half the FMAs), C's columns 16-31 getting the epilogue of zero sums.
// STRIDED: B read in place (a 1x1 conv's input planes, ldb the plane's floats), each row
// prefetched 8 k steps ahead (rows a plane apart defeat the hardware prefetchers); otherwise B
// is packed (ldb = 32) and, from 8 rows, the panel packed after this one is prefetched into L2.
template <int MR, int W, bool STRIDED>
[[gnu::always_inline]] __attribute__((target("avx512f,fma,prfchw"))) inline void tile_avx512(
    std::int64_t kc, const float* a, const float* b, std::int64_t ldb, float* c,
    std::int64_t ldc, bool accumulate, const tile_epilogue* e) {
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) c0[r] = c1[r] = _mm512_setzero_ps();
    for (std::int64_t k = 0; k < kc; ++k) {
        const float* bk = b + k * ldb;
        if constexpr (W == 16) {
            const __m512 b0 = _mm512_loadu_ps(bk);
#pragma GCC unroll 16
            for (int r = 0; r < MR; ++r)
                c0[r] = _mm512_fmadd_ps(_mm512_set1_ps(a[k * MR + r]), b0, c0[r]);
            continue;
        }
        prefetch_tile<MR>(k, c, ldc, e);
        if constexpr (STRIDED) {
            prefetch_ahead<_MM_HINT_T0>(bk, 8 * ldb);
            prefetch_ahead<_MM_HINT_T0>(bk, 8 * ldb + 16);
        } else if (MR >= 8) {
            prefetch_ahead<_MM_HINT_T1>(b, (k + kc) * NR);
            prefetch_ahead<_MM_HINT_T1>(b, (k + kc) * NR + 16);
        }
        fma_avx512<MR>([&](int r) { return a[k * MR + r]; }, bk, c0, c1);
    }
    store_avx512<MR>(c0, c1, c, ldc, accumulate, e);
}

// The table's AVX-512 entries: packed B (W = 32, or its first 16 columns) and B in place.
template <int MR, int W = 32>
__attribute__((target("avx512f,fma,prfchw"))) void fused_avx512(std::int64_t kc, const float* a,
                                                                const float* b, float* c,
                                                                std::int64_t ldc, bool accumulate,
                                                                const tile_epilogue* e) {
    tile_avx512<MR, W, false>(kc, a, b, NR, c, ldc, accumulate, e);
}
template <int MR>
__attribute__((target("avx512f,fma,prfchw"))) void strided_avx512(
    std::int64_t kc, const float* a, const float* b, std::int64_t ldb, float* c, std::int64_t ldc,
    bool accumulate, const tile_epilogue* e) {
    tile_avx512<MR, 32, true>(kc, a, b, ldb, c, ldc, accumulate, e);
}

// AVX2: C(MR x 32) in two passes of 16 columns, B's row k at b + k * ldb (packed: ldb = 32;
// STRIDED: a 1x1 conv's input planes read in place, each row's two lines prefetched 8 k steps
// ahead in the first pass, as tile_avx512 does).
template <int MR, bool STRIDED>
[[gnu::always_inline]] __attribute__((target("avx2,fma"))) inline void tile_avx2(
    std::int64_t kc, const float* a, const float* b, std::int64_t ldb, float* c,
    std::int64_t ldc, bool accumulate, const tile_epilogue* e) {
    for (int h = 0; h < NR; h += 16) {
        __m256 c0[MR], c1[MR];
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) c0[r] = c1[r] = _mm256_setzero_ps();
        for (std::int64_t k = 0; k < kc; ++k) {
            if (STRIDED && h == 0) {
                prefetch_ahead<_MM_HINT_T0>(b + k * ldb, 8 * ldb);
                prefetch_ahead<_MM_HINT_T0>(b + k * ldb, 8 * ldb + 16);
            }
            fma_avx2<MR>([&](int r) { return a[k * MR + r]; }, b + k * ldb + h, c0, c1);
        }
        store_avx2<MR>(c0, c1, c + h, ldc, accumulate, e, h);
    }
}
template <int MR>
__attribute__((target("avx2,fma"))) void fused_avx2(std::int64_t kc, const float* a,
                                                    const float* b, float* c, std::int64_t ldc,
                                                    bool accumulate, const tile_epilogue* e) {
    tile_avx2<MR, false>(kc, a, b, NR, c, ldc, accumulate, e);
}
template <int MR>
__attribute__((target("avx2,fma"))) void strided_avx2(std::int64_t kc, const float* a,
                                                      const float* b, std::int64_t ldb, float* c,
                                                      std::int64_t ldc, bool accumulate,
                                                      const tile_epilogue* e) {
    tile_avx2<MR, true>(kc, a, b, ldb, c, ldc, accumulate, e);
}

// One pass of tail_avx2: C's columns [h, h + 8 * NV) over B's, the first n of them loaded and
// stored (masked), with the epilogue of store_avx2.
template <int MR, int NV>
[[gnu::always_inline]] __attribute__((target("avx2,fma"))) inline void tail_pass_avx2(
    std::int64_t kc, const float* a, const float* b, float* c, std::int64_t ldc, bool accumulate,
    const tile_epilogue* e, int h, int n) {
    __m256 acc[NV][MR];
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
        for (int v = 0; v < NV; ++v) acc[v][r] = _mm256_setzero_ps();
    for (std::int64_t k = 0; k < kc; ++k) {
        const float* bk = b + k * NR + h;
        const __m256 b0 = _mm256_loadu_ps(bk), b1 = NV > 1 ? _mm256_loadu_ps(bk + 8) : b0;
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
            const __m256 x = _mm256_set1_ps(a[k * MR + r]);
            acc[0][r] = _mm256_fmadd_ps(x, b0, acc[0][r]);
            if constexpr (NV > 1) acc[1][r] = _mm256_fmadd_ps(x, b1, acc[1][r]);
        }
    }
    const __m256i mask[2] = {first8(n), first8(n - 8)};
    const float *bias = e ? e->bias : nullptr, *res = e ? e->res : nullptr;
    const act_fn act = e ? e->act : act_fn::none;
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
        for (int v = 0; v < NV; ++v) {
            const std::int64_t at = r * ldc + h + 8 * v;
            store8_avx2(acc[v][r], c + at, accumulate, bias ? bias + r : nullptr,
                        res ? res + at : nullptr, act, n - 8 * v >= 8 ? nullptr : &mask[v]);
        }
    finish_scalar<MR>(c + h, ldc, e, std::min(n, 8 * NV));
}

// AVX2, a last pixel panel `width` < 32 columns wide, straight into C (no tile copied in and
// out): passes of 16 columns, the last one 8 wide when at most 8 remain (a 7x7 plane's 17-pixel
// panel: 24 columns of FMAs, not 32; a 14x14 plane's 4: 8, not 32), nothing past `width` read
// from C or the residual, or written. Sums in the order of fused_avx2.
template <int MR>
__attribute__((target("avx2,fma"))) void tail_avx2(std::int64_t kc, const float* a,
                                                   const float* b, float* c, std::int64_t ldc,
                                                   bool accumulate, const tile_epilogue* e,
                                                   int width) {
    for (int h = 0; h < width; h += 16) {
        const int n = std::min(16, width - h);
        if (n > 8)
            tail_pass_avx2<MR, 2>(kc, a, b, c, ldc, accumulate, e, h, n);
        else
            tail_pass_avx2<MR, 1>(kc, a, b, c, ldc, accumulate, e, h, n);
    }
}

template <int MR>
void fused_generic(std::int64_t kc, const float* a, const float* b, float* c, std::int64_t ldc,
                   bool accumulate, const tile_epilogue* e) {
    float acc[MR][NR] = {};
    for (std::int64_t k = 0; k < kc; ++k)
        fma_generic<MR>([&](int r) { return a[k * MR + r]; }, b + k * NR, acc);
    store_generic<MR>(acc, c, ldc, accumulate, e);
}

// The table entries: without the epilogue, and with it.
template <auto F>
void plain(std::int64_t kc, const float* a, const float* b, float* c, std::int64_t ldc,
           bool accumulate) {
    F(kc, a, b, c, ldc, accumulate, nullptr);
}
template <auto F>
void with_epilogue(std::int64_t kc, const float* a, const float* b, float* c, std::int64_t ldc,
                   bool accumulate, const tile_epilogue& e) {
    F(kc, a, b, c, ldc, accumulate, &e);
}

template <int... R>
constexpr micro_kernels avx512_table(std::integer_sequence<int, R...>) {
    return {14, {nullptr, &plain<&fused_avx512<R + 1>>...},
            {nullptr, &with_epilogue<&fused_avx512<R + 1>>...},
            {nullptr, &strided_avx512<R + 1>...},
            {nullptr, &fused_avx512<R + 1, 16>...}, {}};
}
template <int... R>
constexpr micro_kernels avx2_table(std::integer_sequence<int, R...>) {
    return {6, {nullptr, &plain<&fused_avx2<R + 1>>...},
            {nullptr, &with_epilogue<&fused_avx2<R + 1>>...},
            {nullptr, &strided_avx2<R + 1>...}, {}, {nullptr, &tail_avx2<R + 1>...}};
}
template <int... R>
constexpr micro_kernels generic_table(std::integer_sequence<int, R...>) {
    return {4, {nullptr, &plain<&fused_generic<R + 1>>...},
            {nullptr, &with_epilogue<&fused_generic<R + 1>>...}, {}, {}, {}};
}

// Pixel r's input: r * SW along the row, or with SPLIT > 0 pixels [SPLIT, MR) on the next
// output row (7x7 outputs: 14-pixel blocks of two rows keep every accumulator busy).
template <int SW, int SPLIT>
[[gnu::always_inline]] inline float pixel(const taps& t, const float* s, int r) {
    return SPLIT > 0 && r >= SPLIT ? s[t.wrap + r * SW] : s[r * SW];
}

template <int MR, int SW, int SPLIT = 0>
__attribute__((target("avx512f,fma"))) void direct_avx512(const taps& t, const float* in,
                                                          const float* b, float* c,
                                                          std::int64_t ldc, bool accumulate) {
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) c0[r] = c1[r] = _mm512_setzero_ps();
    for (std::int64_t ci = 0; ci < t.channels; ++ci, in += t.plane) {
        // B into L2 96 rows ahead (and into L1 16 rows ahead, below): a 1x1 conv over 7x7
        // (ResNet-50's layer4) reads 2-8 MiB of filters from memory at a row per 14 cycles,
        // faster than the prefetchers follow (per channel, so that 3x3 kernels, whose filters
        // mostly sit in L2, issue few of these).
        prefetch_ahead<_MM_HINT_T1>(b, 96 * NR);
        prefetch_ahead<_MM_HINT_T1>(b, 96 * NR + 16);
        for (std::int64_t ky = 0; ky < t.kh; ++ky)
            for (std::int64_t kx = 0; kx < t.kw; ++kx, b += NR) {
                const float* s = in + ky * t.dy + kx * t.dx;
                // B's rows come from L2 once the job's input and C tile have cycled through L1.
                prefetch_ahead<_MM_HINT_T0>(b, 16 * NR);
                prefetch_ahead<_MM_HINT_T0>(b, 16 * NR + 16);
                fma_avx512<MR>([&](int r) { return pixel<SW, SPLIT>(t, s, r); }, b, c0, c1);
            }
    }
    store_avx512<MR>(c0, c1, c, ldc, accumulate);
}

// K > 0: a K x K kernel, its taps unrolled; K = 0: t.kh x t.kw.
template <int MR, int SW, int SPLIT, int K>
[[gnu::always_inline]] __attribute__((target("avx2,fma"))) inline void direct_avx2_taps(
    const taps& t, const float* in, const float* b, float* c, std::int64_t ldc, bool accumulate) {
    const std::int64_t kh = K ? K : t.kh, kw = K ? K : t.kw;
    for (int h = 0; h < NR; h += 16) {
        __m256 c0[MR], c1[MR];
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) c0[r] = c1[r] = _mm256_setzero_ps();
        const float* bk = b + h;
        for (std::int64_t ci = 0; ci < t.channels; ++ci)
#pragma GCC unroll 3
            for (std::int64_t ky = 0; ky < kh; ++ky)
#pragma GCC unroll 3
                for (std::int64_t kx = 0; kx < kw; ++kx, bk += NR) {
                    const float* s = in + ci * t.plane + ky * t.dy + kx * t.dx;
                    fma_avx2<MR>([&](int r) { return pixel<SW, SPLIT>(t, s, r); }, bk, c0, c1);
                }
        store_avx2<MR>(c0, c1, c + h, ldc, accumulate);
    }
}

template <int MR, int SW, int SPLIT = 0>
__attribute__((target("avx2,fma"))) void direct_avx2(const taps& t, const float* in,
                                                     const float* b, float* c, std::int64_t ldc,
                                                     bool accumulate) {
    // 3x3 with its nine taps unrolled: the loops' control and address arithmetic were a fifth
    // of the instructions per tap (7x7 3x3s: 0.83-0.87x the time). Unrolled rows of the stems'
    // 7x7 read 1.02-1.16x.
    if (t.kh == 3 && t.kw == 3)
        direct_avx2_taps<MR, SW, SPLIT, 3>(t, in, b, c, ldc, accumulate);
    else
        direct_avx2_taps<MR, SW, SPLIT, 0>(t, in, b, c, ldc, accumulate);
}

template <int MR, int SW>
void direct_generic(const taps& t, const float* in, const float* b, float* c, std::int64_t ldc,
                    bool accumulate) {
    float acc[MR][NR] = {};
    for (std::int64_t ci = 0; ci < t.channels; ++ci)
        for (std::int64_t ky = 0; ky < t.kh; ++ky)
            for (std::int64_t kx = 0; kx < t.kw; ++kx, b += NR) {
                const float* s = in + ci * t.plane + ky * t.dy + kx * t.dx;
                fma_generic<MR>([&](int r) { return s[r * SW]; }, b, acc);
            }
    store_generic<MR>(acc, c, ldc, accumulate);
}

template <int SW, int... R>
constexpr std::array<direct_fn, 15> avx512_direct(std::integer_sequence<int, R...>) {
    return {nullptr, &direct_avx512<R + 1, SW>...};
}
template <int SW, int... R>
constexpr std::array<direct_fn, 15> avx2_direct(std::integer_sequence<int, R...>) {
    return {nullptr, &direct_avx2<R + 1, SW>...};
}
template <int SW, int... R>
constexpr std::array<direct_fn, 15> generic_direct(std::integer_sequence<int, R...>) {
    return {nullptr, &direct_generic<R + 1, SW>...};
}
template <std::size_t N>
constexpr direct_kernels direct_table(int mr_max, const std::array<direct_fn, 15> (&rows)[N]) {
    direct_kernels t{mr_max, {}, {}, {}};
    for (std::size_t s = 0; s < N; ++s)
        for (int r = 0; r < 15; ++r) t.fn[s][r] = rows[s][r];
    return t;
}
constexpr std::array<direct_fn, 15> avx512_rows[3] = {
    avx512_direct<1>(std::make_integer_sequence<int, 14>{}),
    avx512_direct<2>(std::make_integer_sequence<int, 14>{}),
    avx512_direct<4>(std::make_integer_sequence<int, 14>{})};
constexpr std::array<direct_fn, 15> avx2_rows[3] = {
    avx2_direct<1>(std::make_integer_sequence<int, 6>{}),
    avx2_direct<2>(std::make_integer_sequence<int, 6>{}),
    avx2_direct<4>(std::make_integer_sequence<int, 6>{})};
constexpr std::array<direct_fn, 15> generic_rows[3] = {
    generic_direct<1>(std::make_integer_sequence<int, 4>{}),
    generic_direct<2>(std::make_integer_sequence<int, 4>{}),
    generic_direct<4>(std::make_integer_sequence<int, 4>{})};
constexpr direct_kernels with_two_rows(direct_kernels t) {
    t.two_rows[0] = &direct_avx512<14, 1, 7>;
    t.two_rows[1] = &direct_avx512<14, 2, 7>;
    t.two_rows[2] = &direct_avx512<14, 4, 7>;
    return t;
}
constexpr direct_kernels avx512_direct_kernels = with_two_rows(direct_table(14, avx512_rows));
// AVX2's crossing kernels: every split of 2-6 rows, for each stride.
template <int SW, int MR, int... S>
constexpr void crossing_row(direct_kernels& t, int si, std::integer_sequence<int, S...>) {
    ((t.crossing[si][MR][S + 1] = &direct_avx2<MR, SW, S + 1>), ...);
}
template <int SW, int... M>
constexpr void crossing_stride(direct_kernels& t, int si, std::integer_sequence<int, M...>) {
    (crossing_row<SW, M + 2>(t, si, std::make_integer_sequence<int, M + 1>{}), ...);
}
constexpr direct_kernels with_crossing(direct_kernels t) {
    crossing_stride<1>(t, 0, std::make_integer_sequence<int, 5>{});
    crossing_stride<2>(t, 1, std::make_integer_sequence<int, 5>{});
    crossing_stride<4>(t, 2, std::make_integer_sequence<int, 5>{});
    return t;
}
constexpr direct_kernels avx2_direct_kernels = with_crossing(direct_table(6, avx2_rows));
constexpr direct_kernels generic_direct_kernels = direct_table(4, generic_rows);

constexpr micro_kernels avx512_kernels = avx512_table(std::make_integer_sequence<int, 14>{});
constexpr micro_kernels avx2_kernels = avx2_table(std::make_integer_sequence<int, 6>{});
constexpr micro_kernels generic_kernels = generic_table(std::make_integer_sequence<int, 4>{});

}  // namespace

cpu_isa isa_for_cpu() {
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const bool avx512 = avx2 && __builtin_cpu_supports("avx512f");
    const char* v = std::getenv("CNNKIT_CONV_ISA");
    if (v && std::strcmp(v, "generic") == 0) return isa_generic;
    if (v && std::strcmp(v, "avx2") == 0) return avx2 ? isa_avx2 : isa_generic;
    return avx512 ? isa_avx512 : avx2 ? isa_avx2 : isa_generic;
}

const micro_kernels& micro_kernels_for(std::int32_t isa) {
    return isa == isa_avx512 ? avx512_kernels : isa == isa_avx2 ? avx2_kernels : generic_kernels;
}

const direct_kernels& direct_kernels_for(std::int32_t isa) {
    return isa == isa_avx512 ? avx512_direct_kernels
           : isa == isa_avx2 ? avx2_direct_kernels
                             : generic_direct_kernels;
}

}  // namespace cnnkit::plugins::conv
