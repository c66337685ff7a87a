// packed.cpp: the conv paths with filters packed at load into 32-channel panels. Per image and
// group, out^T (pixels x channels) = A (pixels x K) * B (K x channels), vectorised over output
// channels with pixels broadcast, so a 7x7 or 14x14 layer fills every lane:
// - direct (horizontal stride 1, 2 or 4): the kernels broadcast A straight from the input rows
//   (a zero-padded copy when the conv has pads), no im2col at all;
// - packed A (other strides): A gathered from the input into micro-panels first.
// B is split into K blocks of whole input channels (direct) or 256 rows (packed A) so a block's
// panel stays in L1; C accumulates per block in the job's tile (in the workspace), and the
// epilogue transposes it into NCHW with the fused bias, residual and activation.
#include "conv.hpp"

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace cnnkit::plugins::conv {
namespace {

constexpr int NR = pack_nr;
constexpr std::int64_t KC = 256;  // K block: C is updated once per block (order fixed by K only)
constexpr std::int64_t max_chunk = 512;  // output pixels per job

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

// The rest of tile_epilogue after the vector part: other activations, one float at a time.
template <int MR, int W>
[[gnu::always_inline]] inline void finish_scalar(float* c, std::int64_t ldc, const tile_epilogue* e) {
    if (!e || e->act == act_fn::none || e->act == act_fn::relu || e->act == act_fn::relu6) return;
    for (int r = 0; r < MR; ++r)
        for (int j = 0; j < W; ++j) c[r * ldc + j] = activate(e->act, c[r * ldc + j]);
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
    finish_scalar<MR, 32>(c, ldc, e);
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

template <int MR>
[[gnu::always_inline]] __attribute__((target("avx2,fma"))) inline void store_avx2(
    __m256 (&c0)[MR], __m256 (&c1)[MR], float* c, std::int64_t ldc, bool accumulate,
    const tile_epilogue* e = nullptr, std::int64_t h = 0) {
    const __m256 zero = _mm256_setzero_ps(), six = _mm256_set1_ps(6.0f);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
        float* cr = c + r * ldc;
        if (accumulate) {
            c0[r] = _mm256_add_ps(_mm256_loadu_ps(cr), c0[r]);
            c1[r] = _mm256_add_ps(_mm256_loadu_ps(cr + 8), c1[r]);
        }
        if (e) {  // as store_avx512; h: the pass's first column within the tile
            if (e->bias) {
                const __m256 b = _mm256_set1_ps(e->bias[r]);
                c0[r] = _mm256_add_ps(c0[r], b);
                c1[r] = _mm256_add_ps(c1[r], b);
            }
            if (e->res) {
                c0[r] = _mm256_add_ps(c0[r], _mm256_loadu_ps(e->res + r * ldc + h));
                c1[r] = _mm256_add_ps(c1[r], _mm256_loadu_ps(e->res + r * ldc + h + 8));
            }
            if (e->act == act_fn::relu || e->act == act_fn::relu6) {
                c0[r] = _mm256_max_ps(zero, c0[r]);
                c1[r] = _mm256_max_ps(zero, c1[r]);
            }
            if (e->act == act_fn::relu6) {
                c0[r] = _mm256_min_ps(six, c0[r]);
                c1[r] = _mm256_min_ps(six, c1[r]);
            }
        }
        _mm256_storeu_ps(cr, c0[r]);
        _mm256_storeu_ps(cr + 8, c1[r]);
    }
    finish_scalar<MR, 16>(c, ldc, e);
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

// The packed-A micro-kernels: C(MR x 32, ldc) (+)= A(kc x MR) * B(kc x 32), then the epilogue
// `e` when given (the fused entries).
template <int MR>
__attribute__((target("avx512f,fma"))) void fused_avx512(std::int64_t kc, const float* a,
                                                         const float* b, float* c,
                                                         std::int64_t ldc, bool accumulate,
                                                         const tile_epilogue* e) {
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) c0[r] = c1[r] = _mm512_setzero_ps();
    for (std::int64_t k = 0; k < kc; ++k) {
        if (MR >= 8) {  // the panel read next (packed right after this one)
            _mm_prefetch(reinterpret_cast<const char*>(b + (k + kc) * NR), _MM_HINT_T1);
            _mm_prefetch(reinterpret_cast<const char*>(b + (k + kc) * NR + 16), _MM_HINT_T1);
        }
        fma_avx512<MR>([&](int r) { return a[k * MR + r]; }, b + k * NR, c0, c1);
    }
    store_avx512<MR>(c0, c1, c, ldc, accumulate, e);
}

template <int MR>
__attribute__((target("avx2,fma"))) void fused_avx2(std::int64_t kc, const float* a,
                                                    const float* b, float* c, std::int64_t ldc,
                                                    bool accumulate, const tile_epilogue* e) {
    for (int h = 0; h < NR; h += 16) {
        __m256 c0[MR], c1[MR];
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) c0[r] = c1[r] = _mm256_setzero_ps();
        for (std::int64_t k = 0; k < kc; ++k)
            fma_avx2<MR>([&](int r) { return a[k * MR + r]; }, b + k * NR + h, c0, c1);
        store_avx2<MR>(c0, c1, c + h, ldc, accumulate, e, h);
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
template <int MR, auto F>
void plain(std::int64_t kc, const float* a, const float* b, float* c, std::int64_t ldc,
           bool accumulate) {
    F(kc, a, b, c, ldc, accumulate, nullptr);
}
template <int MR, auto F>
void with_epilogue(std::int64_t kc, const float* a, const float* b, float* c, std::int64_t ldc,
                   bool accumulate, const tile_epilogue& e) {
    F(kc, a, b, c, ldc, accumulate, &e);
}

template <int... R>
constexpr micro_kernels avx512_table(std::integer_sequence<int, R...>) {
    return {14, {nullptr, &plain<R + 1, &fused_avx512<R + 1>>...},
            {nullptr, &with_epilogue<R + 1, &fused_avx512<R + 1>>...}};
}
template <int... R>
constexpr micro_kernels avx2_table(std::integer_sequence<int, R...>) {
    return {6, {nullptr, &plain<R + 1, &fused_avx2<R + 1>>...},
            {nullptr, &with_epilogue<R + 1, &fused_avx2<R + 1>>...}};
}
template <int... R>
constexpr micro_kernels generic_table(std::integer_sequence<int, R...>) {
    return {4, {nullptr, &plain<R + 1, &fused_generic<R + 1>>...},
            {nullptr, &with_epilogue<R + 1, &fused_generic<R + 1>>...}};
}

// The direct kernels: C(MR x 32) (+)= the taps of `t.channels` input channels times B, A read
// from the input, pixel r of the block at in[r * SW] for tap (0, 0) of channel 0.
struct taps {
    std::int64_t channels, kh, kw, plane, dy, dx;  // dy, dx: floats between taps (dilation)
    std::int64_t next_row;  // floats between the inputs of two output rows (two-row kernels)
};
using direct_fn = void (*)(const taps& t, const float* in, const float* b, float* c,
                           std::int64_t ldc, bool accumulate);

// Pixel r's input: r * SW along the row, or with SPLIT > 0 pixels [SPLIT, MR) on the next
// output row (7x7 outputs: 14-pixel blocks of two rows keep every accumulator busy).
template <int SW, int SPLIT>
[[gnu::always_inline]] inline float pixel(const taps& t, const float* s, int r) {
    return SPLIT > 0 && r >= SPLIT ? s[t.next_row + (r - SPLIT) * SW] : s[r * SW];
}

template <int MR, int SW, int SPLIT = 0>
__attribute__((target("avx512f,fma"))) void direct_avx512(const taps& t, const float* in,
                                                          const float* b, float* c,
                                                          std::int64_t ldc, bool accumulate) {
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) c0[r] = c1[r] = _mm512_setzero_ps();
    for (std::int64_t ci = 0; ci < t.channels; ++ci, in += t.plane)
        for (std::int64_t ky = 0; ky < t.kh; ++ky)
            for (std::int64_t kx = 0; kx < t.kw; ++kx, b += NR) {
                const float* s = in + ky * t.dy + kx * t.dx;
                // B's rows come from L2 once the job's input and C tile have cycled through L1.
                _mm_prefetch(reinterpret_cast<const char*>(b + 16 * NR), _MM_HINT_T0);
                _mm_prefetch(reinterpret_cast<const char*>(b + 16 * NR + 16), _MM_HINT_T0);
                fma_avx512<MR>([&](int r) { return pixel<SW, SPLIT>(t, s, r); }, b, c0, c1);
            }
    store_avx512<MR>(c0, c1, c, ldc, accumulate);
}

template <int MR, int SW>
__attribute__((target("avx2,fma"))) void direct_avx2(const taps& t, const float* in,
                                                     const float* b, float* c, std::int64_t ldc,
                                                     bool accumulate) {
    for (int h = 0; h < NR; h += 16) {
        __m256 c0[MR], c1[MR];
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) c0[r] = c1[r] = _mm256_setzero_ps();
        const float* bk = b + h;
        for (std::int64_t ci = 0; ci < t.channels; ++ci)
            for (std::int64_t ky = 0; ky < t.kh; ++ky)
                for (std::int64_t kx = 0; kx < t.kw; ++kx, bk += NR) {
                    const float* s = in + ci * t.plane + ky * t.dy + kx * t.dx;
                    fma_avx2<MR>([&](int r) { return s[r * SW]; }, bk, c0, c1);
                }
        store_avx2<MR>(c0, c1, c + h, ldc, accumulate);
    }
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

constexpr int direct_strides[3] = {1, 2, 4};  // the horizontal strides with direct kernels
struct direct_kernels {
    int mr_max;
    direct_fn fn[3][15];  // [stride index][rows]
    direct_fn two_rows[3];  // 14-pixel blocks over two 7-pixel output rows, or null
};

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
    direct_kernels t{mr_max, {}, {}};
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
constexpr direct_kernels avx2_direct_kernels = direct_table(6, avx2_rows);
constexpr direct_kernels generic_direct_kernels = direct_table(4, generic_rows);

constexpr micro_kernels avx512_kernels = avx512_table(std::make_integer_sequence<int, 14>{});
constexpr micro_kernels avx2_kernels = avx2_table(std::make_integer_sequence<int, 6>{});
constexpr micro_kernels generic_kernels = generic_table(std::make_integer_sequence<int, 4>{});

// How a conv is cut into jobs: chunks of output pixels (packed A: their A block of 256 rows
// stays in L2) or of output rows (direct), their C tile within 256 KiB, and panel ranges when
// there are too few chunks to keep threads busy. Only the shape decides it; each output's
// reduction order never depends on it.
struct plan {
    std::int64_t cg, ocg, kk, panels, cols, kc;  // kc: rows of a K block
    int stride_index;                            // direct kernels' stride, or -1: packed A
    bool one_by_one;  // 1x1, stride 1, no pads: A's rows are the input's channel planes
    // Direct: what the kernels read, the input itself or a zero-padded copy (ph x pw per
    // channel, in the workspace) when the conv has pads.
    bool padded;
    std::int64_t ph, pw, row, plane, ow;
    std::int64_t chunk, chunks, spatial_jobs, pan_step, pan_jobs;  // chunk: pixels or rows
    std::int64_t images;                                           // n x groups
    bool direct() const { return stride_index >= 0; }
    // Direct: the padded copies. Packed A: one packing of A for every job of a chunk.
    std::int64_t shared_floats() const {
        if (direct()) return padded ? images * cg * plane : 0;
        return spatial_jobs * chunk * kk;
    }
    std::int64_t tile_floats() const { return chunk * (direct() ? ow : 1) * pan_step * pack_nr; }
    // The workspace: the shared part, then each job's C tile.
    std::int64_t workspace_floats() const {
        return shared_floats() + spatial_jobs * pan_jobs * tile_floats();
    }
};

plan plan_of(const params& p, const geometry& g) {
    plan q{};
    q.cg = g.c / p.groups;
    q.ocg = g.oc / p.groups;
    const std::int64_t taps = std::int64_t{p.kernel[0]} * p.kernel[1];
    q.kk = q.cg * taps;
    q.panels = (q.ocg + NR - 1) / NR;
    q.cols = g.oh * g.ow;
    q.images = g.n * p.groups;
    q.ow = g.ow;
    q.one_by_one = p.kernel[0] == 1 && p.kernel[1] == 1 && p.stride[0] == 1 &&
                   p.stride[1] == 1 && g.pad_t == 0 && g.pad_l == 0 && g.oh == g.h && g.ow == g.w;
    q.stride_index = -1;
    for (int i = 0; i < 3; ++i)
        if (p.stride[1] == direct_strides[i]) q.stride_index = i;
    if (q.direct()) {
        q.kc = std::max<std::int64_t>(1, 128 / taps) * taps;  // whole channels
        q.ph = (g.oh - 1) * p.stride[0] + std::int64_t{p.dilation[0]} * (p.kernel[0] - 1) + 1;
        q.pw = (g.ow - 1) * p.stride[1] + std::int64_t{p.dilation[1]} * (p.kernel[1] - 1) + 1;
        q.padded = g.pad_t > 0 || g.pad_l > 0 || q.ph > g.h || q.pw > g.w;
        q.row = q.padded ? q.pw : g.w;
        q.plane = q.padded ? q.ph * q.pw : g.h * g.w;
        const std::int64_t rows = std::clamp<std::int64_t>(2048 / (q.panels * g.ow), 1, g.oh);
        q.chunks = (g.oh + rows - 1) / rows;
        q.chunk = (g.oh + q.chunks - 1) / q.chunks;
    } else {
        q.kc = KC;
        std::int64_t chunk = std::clamp<std::int64_t>(24576 / std::min(q.kk, KC), 16, max_chunk);
        chunk = std::min(chunk, std::max<std::int64_t>(16, 65536 / (q.panels * NR)));
        q.chunks = (q.cols + chunk - 1) / chunk;
        q.chunk = (q.cols + q.chunks - 1) / q.chunks;
    }
    q.spatial_jobs = q.images * q.chunks;
    const std::int64_t split =
        channel_split(q.spatial_jobs, q.panels);
    q.pan_step = (q.panels + split - 1) / split;
    q.pan_jobs = (q.panels + q.pan_step - 1) / q.pan_step;
    return q;
}

// Output pixels of a job: [p0, p0 + np) (a direct job's chunk is whole output rows).
std::int64_t first_pixel(const plan& q, const geometry& g, std::int64_t sj) {
    return sj % q.chunks * q.chunk * (q.direct() ? g.ow : 1);
}
std::int64_t pixels(const plan& q, const geometry& g, std::int64_t sj) {
    return std::min(q.chunk * (q.direct() ? g.ow : 1), q.cols - first_pixel(q, g, sj));
}

// Where filter o's tap k lies in its group's packed B: K blocks of kc rows, each holding every
// panel (kc x 32) in turn, so a job streams B in the order it reads it.
std::int64_t offset_in_group(const plan& q, std::int64_t o, std::int64_t k) {
    const std::int64_t k0 = k / q.kc * q.kc, kc = std::min(q.kc, q.kk - k0);
    return k0 * q.panels * NR + (o / NR * kc + (k - k0)) * NR + o % NR;
}


// A run of a block's pixels within one output row: block rows [r, r + len), whose first pixel
// reads input row iy + ky * dilation and column ix + kx * dilation at tap (ky, kx).
struct segment {
    int r, len;
    std::int64_t iy, ix;
};

struct job_args {
    const params* p;
    const geometry* g;
    const plan* q;
    const float *x, *w, *bias, *res;
    float* y;
    const float* shared;  // the first pass's padded input (direct) or packed A, or null
    const micro_kernels* mk;
    const direct_kernels* dk;
};

const float* input_of(const job_args& a, std::int64_t sj) {
    const std::int64_t grp = sj / a.q->chunks % a.p->groups, img = sj / a.q->chunks / a.p->groups;
    return a.x + (img * a.g->c + grp * a.q->cg) * a.g->h * a.g->w;
}

// The job code compiled for three instruction sets (the micro-kernels are chosen apart).
// GCC takes `#pragma GCC target`, clang (the TSan and fuzz builds) `#pragma clang attribute`.
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma"))), \
                             apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx2,fma,prefer-vector-width=512")
#endif
#define PACKED_AVX512 1
namespace avx512 {
#include "packed_job.inc"
}  // namespace avx512
#undef PACKED_AVX512
#if defined(__clang__)
#pragma clang attribute pop
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#define PACKED_AVX512 0
namespace avx2 {
#include "packed_job.inc"
}  // namespace avx2
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
namespace generic {
#include "packed_job.inc"
}  // namespace generic
#undef PACKED_AVX512

using job_fn = void (*)(const job_args&, std::int64_t, float*);
using pack_fn = void (*)(const job_args&, std::int64_t, std::int64_t);
using pad_fn = void (*)(const job_args&, std::int64_t);

}  // namespace

algo algo_from_env() {
    const char* v = std::getenv("CNNKIT_CONV_ALGO");
    if (!v || !*v || std::strcmp(v, "auto") == 0) return algo::automatic;
    if (std::strcmp(v, "gemm") == 0) return algo::gemm;
    if (std::strcmp(v, "im2col") == 0) return algo::im2col;
    sdk::expect(std::strcmp(v, "winograd") == 0,
                "CNNKIT_CONV_ALGO must be auto, winograd, gemm or im2col, got '", v, "'");
    return algo::winograd;
}

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

namespace {
const direct_kernels& direct_kernels_for(std::int32_t isa) {
    return isa == isa_avx512 ? avx512_direct_kernels
           : isa == isa_avx2 ? avx2_direct_kernels
                             : generic_direct_kernels;
}
}  // namespace

bool packed_applies(const params& p, const geometry& g, algo mode) {
    // Few channels per group (depthwise): a 32-channel panel would be mostly padding.
    return mode != algo::im2col && g.oc / p.groups >= 16;
}

std::int64_t packed_workspace_floats(const params& p, const geometry& g) {
    return plan_of(p, g).workspace_floats();
}

void packed_prepare(const params& p, const sdk::shape& in, const float* w, packed_weights& s) {
    s = packed_weights{};
    const geometry g = geometry_of(p, in);
    if (!packed_applies(p, g, algo_from_env())) return;
    const plan q = plan_of(p, g);
    s.groups = p.groups, s.ocg = q.ocg, s.kk = q.kk, s.panels = q.panels;
    s.isa = isa_for_cpu();
    s.b.assign(static_cast<std::size_t>(p.groups * q.panels * q.kk * NR), 0.0f);
    for (std::int64_t grp = 0; grp < p.groups; ++grp)
        for (std::int64_t o = 0; o < q.ocg; ++o)
            for (std::int64_t k = 0; k < q.kk; ++k)
                s.b[static_cast<std::size_t>(grp * q.panels * q.kk * NR + offset_in_group(q, o, k))] =
                    w[(grp * q.ocg + o) * q.kk + k];
}

bool packed_run(const params& p, const packed_weights& s, const sdk::call& c) {
    if (s.b.empty() || s.pointwise) return false;
    const geometry g = geometry_of(p, c.in(0).shape());
    const plan q = plan_of(p, g);
    if (q.kk != s.kk || q.ocg != s.ocg || p.groups != s.groups) return false;
    const job_args a{&p,
                     &g,
                     &q,
                     c.in(0).f32(),
                     s.b.data(),
                     p.bias ? c.w(1).f32() : nullptr,
                     p.residual ? c.in(1).f32() : nullptr,
                     c.out(0).f32(),
                     q.shared_floats() > 0 ? static_cast<const float*>(c.workspace) : nullptr,
                     &micro_kernels_for(s.isa),
                     &direct_kernels_for(s.isa)};
    const bool avx512 = s.isa == isa_avx512, avx2 = s.isa == isa_avx2;
    if (a.shared && q.direct()) {  // the zero-padded input, a few channels per task
        const pad_fn pad = avx512 ? avx512::pad_input : avx2 ? avx2::pad_input : generic::pad_input;
        const std::int64_t per = std::max<std::int64_t>(1, 65536 / q.plane);
        const std::int64_t tasks = (q.cg + per - 1) / per;
        c.host.parallel_for(0, q.images * tasks, [&](std::int64_t t) {
            const std::int64_t img = t / tasks, c0 = t % tasks * per;
            for (std::int64_t ci = c0; ci < std::min(q.cg, c0 + per); ++ci)
                pad(a, img * q.cg + ci);
        });
    } else if (a.shared) {
        const pack_fn pack = avx512 ? avx512::pack_shared : avx2 ? avx2::pack_shared
                                                                 : generic::pack_shared;
        const std::int64_t kblocks = (q.kk + KC - 1) / KC;
        c.host.parallel_for(0, q.spatial_jobs * kblocks, [&](std::int64_t job) {
            pack(a, job / kblocks, job % kblocks * KC);
        });
    }
    const job_fn fn = q.direct() ? (avx512 ? avx512::run_direct
                                   : avx2  ? avx2::run_direct
                                           : generic::run_direct)
                                 : (avx512 ? avx512::run_job
                                   : avx2  ? avx2::run_job
                                           : generic::run_job);
    float* tiles = static_cast<float*>(c.workspace) + q.shared_floats();
    c.host.parallel_for(0, q.spatial_jobs * q.pan_jobs, [&](std::int64_t job) {
        fn(a, job, tiles + job * q.tile_floats());
    });
    return true;
}

}  // namespace cnnkit::plugins::conv
