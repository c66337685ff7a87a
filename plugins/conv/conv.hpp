// conv.hpp: parameters of a 2-D convolution (NCHW, float32).
#pragma once

#include <cnnkit/gpu.hpp>
#include <cnnkit/layer.hpp>
#include <cnnkit/params.hpp>

#include "../common/simd.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <new>
#include <vector>

namespace cnnkit::plugins::conv {

// Allocates on cache lines: the kernels load 32-float rows of packed filters and scratch as
// whole vectors, and std::allocator's blocks start 16 bytes past a line (glibc), so that every
// other AVX2 load of such a row crossed two lines.
template <class T>
struct line_allocator {
    using value_type = T;
    line_allocator() = default;
    template <class U>
    line_allocator(const line_allocator<U>&) {}
    T* allocate(std::size_t n) {
        return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{64}));
    }
    void deallocate(T* p, std::size_t) { ::operator delete(p, std::align_val_t{64}); }
    template <class U>
    bool operator==(const line_allocator<U>&) const { return true; }
};
template <class T>
using line_vector = std::vector<T, line_allocator<T>>;

enum class act_fn : std::uint8_t { none, relu, relu6, tanh, sigmoid };  // fused activation
enum class auto_pad_mode : std::uint8_t { explicit_pads, same_upper, same_lower, valid };

struct params {
    std::int32_t out_channels = 0;
    glm::ivec2 kernel{3, 3};               // {h, w}
    glm::ivec2 stride{1, 1};
    std::array<std::int32_t, 4> pad{};     // {top, left, bottom, right}; "pad: 1" sets all four
    glm::ivec2 dilation{1, 1};
    std::int32_t groups = 1;
    bool bias = true;
    act_fn activation = act_fn::none;
    auto_pad_mode auto_pad = auto_pad_mode::explicit_pads;
    bool residual = false;  // a 2nd input of the output's shape is added before the activation
};

// The fused activation of one value (the GEMM epilogue and the Winograd output transform).
inline float activate(act_fn f, float x) {
    switch (f) {
        case act_fn::relu: return x > 0 ? x : 0;
        case act_fn::relu6: return std::min(std::max(x, 0.0f), 6.0f);
        case act_fn::tanh: return std::tanh(x);
        case act_fn::sigmoid: return 1.0f / (1.0f + std::exp(-x));
        default: return x;
    }
}

// The extents of a conv: auto_pad resolved into the leading pads (conv.cpp; also conv_vk.cpp).
struct geometry {
    std::int64_t n, c, h, w, oc, oh, ow;
    std::int64_t pad_t, pad_l;
};
geometry geometry_of(const params& p, const sdk::shape& in);

// Rows [r0, r1) of the (ci, ky, kx) im2col matrix of one image and group (`xin` its first
// channel) for output pixels [c0, c0 + nc): col[(r - r0) * nc + j], zeros where the kernel
// reads pads.
void im2col(const params& p, const geometry& g, const float* xin, std::int64_t r0, std::int64_t r1,
            std::int64_t c0, std::int64_t nc, float* col);

// How convs are computed, from CNNKIT_CONV_ALGO (read at load): auto (unset) leaves Winograd and
// the rows path to size rules, winograd forces Winograd on every conv it supports (tests), gemm
// turns both off, im2col also turns off the packed GEMM and depthwise paths (the im2col + host
// SGEMM path everywhere, for comparisons).
enum class algo : std::uint8_t { automatic, winograd, winograd2, gemm, im2col };
algo algo_from_env();

// The AVX-512 job code's target attribute: GCC also takes the preferred vector width; clang
// ignores a target attribute that names it (the code built for the baseline), so it gets the
// instruction sets alone.
#if defined(__clang__)
#define CNNKIT_CONV_AVX512_TARGET "avx512f,avx512vl,avx512dq,avx2,fma"
#else
#define CNNKIT_CONV_AVX512_TARGET "avx512f,avx512vl,avx512dq,avx2,fma,prefer-vector-width=512"
#endif

// Code between CNNKIT_CONV_AVX512_BEGIN (or _AVX2_BEGIN) and CNNKIT_CONV_ISA_END is compiled for
// that instruction set: GCC takes `#pragma GCC target`, clang (the TSan and fuzz builds)
// `#pragma clang attribute`.
#if defined(__clang__)
#define CNNKIT_CONV_AVX512_BEGIN                                                                 \
    _Pragma("clang attribute push(__attribute__((target(\"avx512f,avx512vl,avx512dq,avx2,fma\"))), apply_to = function)")
#define CNNKIT_CONV_AVX2_BEGIN                                                                   \
    _Pragma("clang attribute push(__attribute__((target(\"avx2,fma\"))), apply_to = function)")
#define CNNKIT_CONV_ISA_END _Pragma("clang attribute pop")
#else
#define CNNKIT_CONV_AVX512_BEGIN                                                                 \
    _Pragma("GCC push_options")                                                                  \
        _Pragma("GCC target(\"avx512f,avx512vl,avx512dq,avx2,fma,prefer-vector-width=512\")")
#define CNNKIT_CONV_AVX2_BEGIN _Pragma("GCC push_options") _Pragma("GCC target(\"avx2,fma\")")
#define CNNKIT_CONV_ISA_END _Pragma("GCC pop_options")
#endif

// The best compiled kernels this CPU runs; CNNKIT_CONV_ISA=avx2|generic asks for less (tests).
enum cpu_isa : std::int32_t { isa_generic = 1, isa_avx2, isa_avx512 };
cpu_isa isa_for_cpu();

// Register-blocked micro-kernels (cpu/kernels.cpp): C(mr x 32, ldc) = A(kc x mr) * B(kc x 32), or
// C + that when accumulating, A and B packed contiguously. fn[mr] for 1 <= mr <= mr_max.
constexpr int pack_nr = 32;
// What a micro-kernel applies to its tile after the sum: C = act((C + bias[r]) + res[r, j]),
// the order of the unfused nodes. bias (per C row) and res (laid out like C) may be null.
struct tile_epilogue {
    const float* bias;
    const float* res;
    act_fn act;
};
struct micro_kernels {
    int mr_max;
    void (*fn[15])(std::int64_t kc, const float* a, const float* b, float* c, std::int64_t ldc,
                   bool accumulate);
    // The same, then the epilogue `e` over the tile (the last K block of pointwise.cpp).
    void (*fused[15])(std::int64_t kc, const float* a, const float* b, float* c, std::int64_t ldc,
                      bool accumulate, const tile_epilogue& e);
    // B read in place, row k at b + k * ldb, then `e` when not null (AVX-512 only; else null).
    void (*strided[15])(std::int64_t kc, const float* a, const float* b, std::int64_t ldb, float* c,
                        std::int64_t ldc, bool accumulate, const tile_epilogue* e);
    // The packed entries (`e` when not null) over B's first 16 columns only, columns 16-31 of C
    // holding the epilogue of zero sums (AVX-512 only; else null).
    void (*half[15])(std::int64_t kc, const float* a, const float* b, float* c, std::int64_t ldc,
                     bool accumulate, const tile_epilogue* e);
    // A last pixel panel `width` < 32 wide straight into C (`e` when not null): nothing past
    // `width` read or written (AVX2 only; else null).
    void (*tail[15])(std::int64_t kc, const float* a, const float* b, float* c, std::int64_t ldc,
                     bool accumulate, const tile_epilogue* e, int width);
};
const micro_kernels& micro_kernels_for(std::int32_t isa);

// The direct kernels: C(MR x 32) (+)= the taps of `t.channels` input channels times B, A read
// from the input, pixel r of the block at in[r * SW] for tap (0, 0) of channel 0.
struct taps {
    std::int64_t channels, kh, kw, plane, dy, dx;  // dy, dx: floats between taps (dilation)
    std::int64_t next_row;  // floats between the inputs of two output rows
    // A block that crosses into the next output row (two-row and crossing kernels): pixels from
    // the split on read in[wrap + r * SW], wrap = next_row - ow * SW.
    std::int64_t wrap;
};
using direct_fn = void (*)(const taps& t, const float* in, const float* b, float* c,
                           std::int64_t ldc, bool accumulate);
constexpr int direct_strides[3] = {1, 2, 4};  // the horizontal strides with direct kernels
struct direct_kernels {
    int mr_max;
    direct_fn fn[3][15];  // [stride index][rows]
    direct_fn two_rows[3];  // 14-pixel blocks over two 7-pixel output rows, or null
    // [stride index][rows][split]: blocks whose pixels from `split` on lie on the next output
    // row (AVX2; null elsewhere), so that the job's pixels go in blocks of mr_max whatever the
    // row width.
    direct_fn crossing[3][7][6];
};
const direct_kernels& direct_kernels_for(std::int32_t isa);

// The GEMM path with filters packed at load into 32-channel panels (cpu/packed.cpp); empty `b` = this
// conv takes the im2col path (conv.cpp).
struct packed_weights {
    line_vector<float> b;  // [group][K block][panel][kc][32], channels past the group's end zero
    std::int64_t groups = 0, ocg = 0, kk = 0, panels = 0;
    std::int32_t isa = 0;
    bool pointwise = false;  // `b` holds pointwise.cpp's layout instead
};

// How many ways a conv splits its output channels (at most `units` of them) so that `spatial`
// jobs become at least 4 and both threads have work on deep layers: 1 when there are enough.
inline std::int64_t channel_split(std::int64_t spatial, std::int64_t units) {
    return spatial >= 4 ? 1 : std::min(units, (4 + spatial - 1) / spatial);
}

// `n` rows in near-equal blocks of at most `most` (49 by 14: 13, 12, 12, 12), so that no
// micro-kernel call leaves most accumulators idle.
struct blocks {
    std::int64_t count, base, extra;
    blocks(std::int64_t n, int most)
        : count((n + most - 1) / most), base(n / count), extra(n % count) {}
    std::int64_t offset(std::int64_t b) const { return b * base + std::min(b, extra); }
    int rows(std::int64_t b) const { return static_cast<int>(base + (b < extra ? 1 : 0)); }
};

// 1x1 convs without pads over at least 128 output pixels, 32 on AVX2, except on AVX-512 14x14
// ones that reduce channels, which take the direct path (cpu/pointwise.cpp): the
// filters packed at load as micro-kernel A panels (output channels broadcast), the input packed
// per K block into 32-pixel B panels (in the workspace), results stored straight into the NCHW
// output.
bool pointwise_applies(const params& p, const geometry& g, algo mode);
std::int64_t pointwise_workspace_floats(const params& p, const geometry& g);
void pointwise_prepare(const params& p, const sdk::shape& in, const float* w, packed_weights& s);
bool pointwise_run(const params& p, const packed_weights& s, const sdk::call& c);
bool packed_applies(const params& p, const geometry& g, algo mode);
std::int64_t packed_workspace_floats(const params& p, const geometry& g);
void packed_prepare(const params& p, const sdk::shape& in, const float* w, packed_weights& s);
// Runs the conv and returns true, or returns false (not prepared for this input).
bool packed_run(const params& p, const packed_weights& s, const sdk::call& c);

// Winograd F(4x4, 3x3) for 3x3, stride 1, dilation 1, one group (cpu/winograd.cpp). The filters,
// transformed once by winograd_prepare (empty `u` = this conv takes a GEMM path), live in the
// layer object.
struct winograd_weights {
    // [36][32-channel panel][in_channels][32]: G g G^T per filter, from u.data() + u_skip. On
    // AVX2 they start 16 bytes past a cache line: line-aligned, a chain of ResNet's 14x14 3x3s
    // took 1.11-1.20x the time (AMD Zen 3; +16 or +48 bytes equal, +32 in between).
    line_vector<float> u;
    std::int64_t u_skip = 0;
    std::int64_t k = 0, c = 0;
    std::int32_t isa = 0;  // which compiled transform code runs (winograd.cpp)
    std::int32_t tile = 4;  // output tile: F(4x4, 3x3), or F(2x2, 3x3) (winograd2.cpp, u [16][..])
};
// G f G^T of one 3x3 filter f (row-major) for a Winograd filter matrix G (T x 3), in double.
template <int T>
void winograd_filter(const double (&g)[T][3], const float* f, double (&u)[T][T]) {
    double gf[T][3] = {};  // G f
    for (int i = 0; i < T; ++i)
        for (int j = 0; j < 3; ++j)
            for (int r = 0; r < 3; ++r) gf[i][j] += g[i][r] * f[r * 3 + j];
    for (int i = 0; i < T; ++i)
        for (int j = 0; j < T; ++j) {
            u[i][j] = 0;
            for (int r = 0; r < 3; ++r) u[i][j] += gf[i][r] * g[j][r];
        }
}
bool winograd_applies(const params& p, const geometry& g, algo mode);
void winograd_prepare(const params& p, const sdk::shape& in, const float* w, winograd_weights& s);
// Runs the conv by Winograd and returns true, or returns false (not prepared for this input).
bool winograd_run(const params& p, const winograd_weights& s, const sdk::call& c);
// The workspace winograd_run needs: where output channels are split over jobs (few tiles),
// every tile block's transformed input, made once for all of them.
std::int64_t winograd_workspace_floats(const geometry& g);
// F(2x2, 3x3) (cpu/winograd2.cpp) for the small planes F(4x4) leaves to the direct path; its
// filters live in winograd_weights too (tile 2). winograd_prepare and winograd_run take it
// where it applies.
bool winograd2_applies(const params& p, const geometry& g, algo mode);
void winograd2_prepare(const params& p, const sdk::shape& in, const float* w, winograd_weights& s);
bool winograd2_run(const params& p, const winograd_weights& s, const sdk::call& c);
std::int64_t winograd2_workspace_floats(const geometry& g);

// Convs over at most 4 input channels on AVX-512 (cpu/rows.cpp): output rows vectorised over
// pixels, the input split into stride phases in the workspace. Empty `a` = not this path.
struct rows_weights {
    line_vector<float> a;               // [8-channel block][tap][8]
    std::vector<std::int64_t> taps;     // per tap: its offset in an image's phase planes
    std::int64_t c = 0, h = 0, w = 0;   // the input extents they were prepared for
};
bool rows_applies(const params& p, const geometry& g, algo mode);
std::int64_t rows_workspace_floats(const params& p, const geometry& g);
void rows_prepare(const params& p, const sdk::shape& in, const float* w, rows_weights& s);
bool rows_run(const params& p, const rows_weights& s, const sdk::call& c);

// Convs whose groups each read one input channel (cpu/depthwise.cpp: depthwise, any channel
// multiplier): a direct path over output planes, with nothing prepared at load.
bool depthwise_applies(const params& p, const geometry& g, algo mode);
void depthwise_run(const params& p, const sdk::call& c);
// What a depthwise path's task reads and writes, with the path's plan.
template <class Plan>
struct depthwise_job {
    const params* p;
    const geometry* g;
    const Plan* q;
    const float *x, *w, *bias, *res;
    float* y;
};
// Of those, the ones with one output channel per input channel on AVX-512 and AVX2, up to 64
// taps (cpu/depthwise_lanes.cpp: 16 or 8 channels in the vector lanes), which depthwise_run
// hands on.
bool depthwise_lanes_applies(const params& p, const geometry& g);
void depthwise_lanes_run(const params& p, const geometry& g, const sdk::call& c);

// What a conv layer derives from its weights at load: one of them is filled, or none (or the
// depthwise path, which needs nothing).
struct prepared {
    winograd_weights winograd;
    rows_weights rows;
    packed_weights packed;
    bool depthwise = false;
};

// The first n of 8 lanes (n <= 0: none, n >= 8: all), for masked loads and stores.
[[gnu::always_inline]] __attribute__((target("avx2"))) inline __m256i first8(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Transposes an 8 x 8 block held as 8 rows (row i, float j -> row j, float i).
[[gnu::always_inline]] __attribute__((target("avx2"))) inline void transpose8(__m256* r) {
    __m256 t[8], u[8];
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
#pragma GCC unroll 2
    for (int i = 0; i < 2; ++i) {  // rows 4i .. 4i + 3, columns (c, c + 4) for c < 4
        u[4 * i] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
        r[c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x20);
        r[c + 4] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x31);
    }
}

// Transposes a 16 x 16 block held as 16 rows (row i, float j -> row j, float i).
[[gnu::always_inline]] __attribute__((target("avx512f"))) inline void transpose16(__m512 (&r)[16]) {
    // Every loop fully unrolled, so that the arrays live in registers (rolled, GCC kept them on
    // the stack: each row stored after its load and read back, twice the memory operations).
    __m512 t[16], u[16];
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {  // u[4i + k]: rows 4i..4i+3, columns k + 4 x (128-bit lane)
        const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
        const __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
        u[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        u[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        u[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        u[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {  // a 4 x 4 transpose of 128-bit lanes
        const __m512 w0 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0x44);
        const __m512 w1 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0xee);
        const __m512 w2 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0x44);
        const __m512 w3 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0xee);
        r[k] = _mm512_shuffle_f32x4(w0, w2, 0x88);
        r[k + 4] = _mm512_shuffle_f32x4(w0, w2, 0xdd);
        r[k + 8] = _mm512_shuffle_f32x4(w1, w3, 0x88);
        r[k + 12] = _mm512_shuffle_f32x4(w1, w3, 0xdd);
    }
}

// Vulkan kernels (conv_vk.cpp).
std::vector<sdk::gpu::dispatch> vulkan(const params& p, const sdk::gpu::call& c);

}  // namespace cnnkit::plugins::conv

CNNKIT_PARAM_FIELDS(cnnkit::plugins::conv::params, out_channels, kernel, stride, pad, dilation,
                    groups, bias, activation, auto_pad, residual);
CNNKIT_ENUM_NAMES(cnnkit::plugins::conv::act_fn, none, relu, relu6, tanh, sigmoid);
CNNKIT_ENUM_NAMES(cnnkit::plugins::conv::auto_pad_mode, explicit_pads, same_upper, same_lower,
                  valid);
