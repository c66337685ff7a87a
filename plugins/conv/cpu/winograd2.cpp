// winograd2.cpp: 3x3 stride-1 convolution by Winograd F(2x2, 3x3) (Lavin & Gray, 2015) for
// batches of the small planes F(4x4, 3x3) (winograd.cpp) leaves to the direct path: ResNet's 7x7
// layer4 and GoogLeNet's inception5 3x3s. There F(4x4) computes 8x8 outputs for 49, and its
// transformed filters (36 per filter pair, 4x the weights) serve 4 tiles each; F(2x2) covers 7x7
// with 16 tiles of 2x2 and 16 products (1.8x the weights), 0.58x the direct path's
// multiply-adds. The tiles of every image in the batch go in groups of 16, in the vector lanes,
// and the filters are broadcast (28 output channels per micro-kernel call), so that each filter
// value is read once per run for up to 128 tiles. Filters are transformed at load into such
// panels; a first pass transforms every input tile; each job (a block of tile groups times a
// block of output channels) runs the 16 products and transforms them back with the fused bias,
// residual and activation. The transforms are adds only and cost little next to the products at
// these sizes, so they are plain loops over 16 lanes that the vectoriser widens.
#include "../conv.hpp"

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

namespace cnnkit::plugins::conv {
namespace {

constexpr int lanes = 16;  // tiles side by side
constexpr int xis = 16;    // products: the 4x4 transformed tile

// Output channels per micro-kernel call: AVX-512 keeps 28 rows of 16 tiles in registers
// (one more for the tiles' vector; the filters are broadcast from memory); elsewhere 4.
int rows_max(std::int32_t isa) { return isa == isa_avx512 ? 28 : 4; }

struct layout {
    std::int64_t n, c, k, h, w, oh, ow, pad_t, pad_l;
    // 2x2 output tiles per image, and every image's in groups of 16 (image after image, so
    // that a group may hold two images' tiles).
    std::int64_t tiles_x, tiles_y, tiles, groups;
    blocks ob;    // output channels in micro-kernel rows
    blocks jobs;  // ob's blocks in jobs
    blocks gb;    // groups in jobs: each reads the filters once for all of its groups
    // Padded input plane of one channel: every tile's 4x4 patch an unchecked read.
    std::int64_t pw() const { return tiles_x * 2 + 2; }
    std::int64_t ph() const { return tiles_y * 2 + 2; }
    // Floats from one product's transformed inputs ([group][c][16]) to the next, a cache line
    // more so that the 16 rows a tile's transform writes do not share one set of L1
    // (winograd.cpp).
    std::int64_t v_stride() const { return groups * c * lanes + 16; }
    // The same for a job's products ([group][channel][16]) of at most `most` channels.
    std::int64_t m_stride(std::int64_t most) const { return gb.rows(0) * most * lanes + 16; }
    // The most output channels in one job: the first job's, since `blocks` puts the larger
    // blocks first (of jobs, and of ob within them).
    std::int64_t most_channels() const { return ob.offset(jobs.rows(0)); }
};

layout layout_of(const geometry& g, std::int32_t isa) {
    const std::int64_t tx = (g.ow + 1) / 2, ty = (g.oh + 1) / 2;
    layout q{g.n, g.c, g.oc, g.h, g.w, g.oh, g.ow, g.pad_t, g.pad_l, tx, ty, tx * ty,
             (g.n * tx * ty + lanes - 1) / lanes, blocks(g.oc, rows_max(isa)), blocks(1, 1),
             blocks(1, 1)};
    // Groups in blocks of at most 8 (128 tiles: each filter value read from memory feeds 128
    // FMA lanes, and a job's products stay within 512 KiB), output channels in about 8 jobs
    // per group block, so that both threads have work and finish together.
    q.gb = blocks(q.groups, 8);
    const std::int64_t want = std::max<std::int64_t>(1, (8 + q.gb.count - 1) / q.gb.count);
    q.jobs = blocks(q.ob.count, static_cast<int>((q.ob.count + want - 1) / want));
    return q;
}

// One channel's 16 tiles of group g, [(B^T d B)[xi]][lane], from the padded planes `buf` (one
// per image); lanes past the last tile repeat it.
[[gnu::always_inline]] inline void input_group(const layout& q, const float* buf, std::int64_t g,
                                               float (&d)[4][4][lanes]) {
    std::int64_t off[lanes];
    for (int l = 0; l < lanes; ++l) {
        const std::int64_t all = std::min(g * lanes + l, q.n * q.tiles - 1), t = all % q.tiles;
        off[l] = all / q.tiles * q.ph() * q.pw() + t / q.tiles_x * 2 * q.pw() + t % q.tiles_x * 2;
    }
    float e[4][4][lanes];
    for (int r = 0; r < 4; ++r)
        for (int j = 0; j < 4; ++j)
            for (int l = 0; l < lanes; ++l) d[r][j][l] = buf[off[l] + r * q.pw() + j];
    // Rows: B^T d, B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
    for (int j = 0; j < 4; ++j)
        for (int l = 0; l < lanes; ++l) {
            e[0][j][l] = d[0][j][l] - d[2][j][l];
            e[1][j][l] = d[1][j][l] + d[2][j][l];
            e[2][j][l] = d[2][j][l] - d[1][j][l];
            e[3][j][l] = d[1][j][l] - d[3][j][l];
        }
    // Columns: (B^T d) B.
    for (int i = 0; i < 4; ++i)
        for (int l = 0; l < lanes; ++l) {
            d[i][0][l] = e[i][0][l] - e[i][2][l];
            d[i][1][l] = e[i][1][l] + e[i][2][l];
            d[i][2][l] = e[i][2][l] - e[i][1][l];
            d[i][3][l] = e[i][1][l] - e[i][3][l];
        }
}

// Input channels [c0, c1) of every image (x) into v; buf: one padded plane per image.
[[gnu::always_inline]] inline void transform_input(const layout& q, const float* x,
                                                   std::int64_t c0, std::int64_t c1, float* v,
                                                   float* buf) {
    for (std::int64_t ci = c0; ci < c1; ++ci) {
        for (std::int64_t img = 0; img < q.n; ++img) {
            const float* plane = x + (img * q.c + ci) * q.h * q.w;
            for (std::int64_t r = 0; r < q.ph(); ++r) {
                const std::int64_t iy = r - q.pad_t;
                float* row = buf + (img * q.ph() + r) * q.pw();
                for (std::int64_t col = 0; col < q.pw(); ++col) {
                    const std::int64_t ix = col - q.pad_l;
                    row[col] =
                        iy >= 0 && iy < q.h && ix >= 0 && ix < q.w ? plane[iy * q.w + ix] : 0.0f;
                }
            }
        }
        for (std::int64_t g = 0; g < q.groups; ++g) {
            float d[4][4][lanes];
            input_group(q, buf, g, d);
            for (int xi = 0; xi < xis; ++xi)
                std::copy_n(d[xi / 4][xi % 4], lanes,
                            v + xi * q.v_stride() + (g * q.c + ci) * lanes);
        }
    }
}

// C(R x 16) = A(kc x R) * B(kc x 16), A and B packed: output channels broadcast, tiles in lanes.
template <int R>
__attribute__((target("avx512f,fma"))) void products_avx512(std::int64_t kc, const float* a,
                                                            const float* b, float* c,
                                                            bool accumulate) {
    __m512 acc[R];
#pragma GCC unroll 28
    for (int r = 0; r < R; ++r)
        acc[r] = accumulate ? _mm512_loadu_ps(c + r * lanes) : _mm512_setzero_ps();
    for (std::int64_t k = 0; k < kc; ++k, a += R, b += lanes) {
        const __m512 x = _mm512_loadu_ps(b);
#pragma GCC unroll 28
        for (int r = 0; r < R; ++r) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(a[r]), x, acc[r]);
    }
#pragma GCC unroll 28
    for (int r = 0; r < R; ++r) _mm512_storeu_ps(c + r * lanes, acc[r]);
}

// The same in plain loops (AVX2 and the baseline: the vectoriser widens the lanes).
template <int R>
[[gnu::always_inline]] inline void products_loop(std::int64_t kc, const float* a, const float* b,
                                                 float* c, bool accumulate) {
    float acc[R][lanes] = {};
    if (accumulate)
        for (int r = 0; r < R; ++r) std::copy_n(c + r * lanes, lanes, acc[r]);
    for (std::int64_t k = 0; k < kc; ++k, a += R, b += lanes)
        for (int r = 0; r < R; ++r)
            for (int l = 0; l < lanes; ++l) acc[r][l] += a[r] * b[l];
    for (int r = 0; r < R; ++r) std::copy_n(acc[r], lanes, c + r * lanes);
}
template <int R>
__attribute__((target("avx2,fma"))) void products_avx2(std::int64_t kc, const float* a,
                                                       const float* b, float* c, bool accumulate) {
    products_loop<R>(kc, a, b, c, accumulate);
}
template <int R>
void products_generic(std::int64_t kc, const float* a, const float* b, float* c, bool accumulate) {
    products_loop<R>(kc, a, b, c, accumulate);
}

using products_fn = void (*)(std::int64_t, const float*, const float*, float*, bool);
template <int... R>
constexpr std::array<products_fn, 29> products_table(std::int32_t isa,
                                                     std::integer_sequence<int, R...>) {
    if (isa == isa_avx512) return {nullptr, &products_avx512<R + 1>...};
    std::array<products_fn, 29> t{nullptr,
                                  isa == isa_avx2 ? &products_avx2<1> : &products_generic<1>,
                                  isa == isa_avx2 ? &products_avx2<2> : &products_generic<2>,
                                  isa == isa_avx2 ? &products_avx2<3> : &products_generic<3>,
                                  isa == isa_avx2 ? &products_avx2<4> : &products_generic<4>};
    return t;
}

struct job_args {
    const params* p;
    const float *x, *u, *bias, *res;
    float* y;
    float* v;  // every image's transformed input (first pass)
    const products_fn* products;
};

// A^T m A of channel o's 16 tiles of group g (m[xi * mstride + lane]), then ((acc + bias) +
// residual) and the activation: the epilogue order of the GEMM paths.
[[gnu::always_inline]] inline void output_group(const layout& q, const job_args& a,
                                                std::int64_t g, std::int64_t o, const float* m,
                                                std::int64_t mstride) {
    float s[4][4][lanes], r[2][4][lanes], y[2][2][lanes];
    for (int xi = 0; xi < xis; ++xi)
        for (int l = 0; l < lanes; ++l) s[xi / 4][xi % 4][l] = m[xi * mstride + l];
    // A^T = [1 1 1 0; 0 1 -1 -1].
    for (int j = 0; j < 4; ++j)
        for (int l = 0; l < lanes; ++l) {
            r[0][j][l] = s[0][j][l] + s[1][j][l] + s[2][j][l];
            r[1][j][l] = s[1][j][l] - s[2][j][l] - s[3][j][l];
        }
    const float b = a.bias ? a.bias[o] : 0.0f;
    for (int i = 0; i < 2; ++i)
        for (int l = 0; l < lanes; ++l) {
            y[i][0][l] = (r[i][0][l] + r[i][1][l] + r[i][2][l]) + b;
            y[i][1][l] = (r[i][1][l] - r[i][2][l] - r[i][3][l]) + b;
        }
    const std::int64_t plane = q.oh * q.ow;
    const act_fn f = a.p->activation;
    const int nt = static_cast<int>(std::min<std::int64_t>(lanes, q.n * q.tiles - g * lanes));
    for (int l = 0; l < nt; ++l) {
        const std::int64_t all = g * lanes + l, t = all % q.tiles;
        const std::int64_t first = (all / q.tiles * q.k + o) * plane;
        const std::int64_t ty = t / q.tiles_x * 2, tx = t % q.tiles_x * 2;
        for (int i = 0; i < 2 && ty + i < q.oh; ++i)
            for (int j = 0; j < 2 && tx + j < q.ow; ++j) {
                const std::int64_t at = first + (ty + i) * q.ow + tx + j;
                float out = y[i][j][l];
                if (a.res) out += a.res[at];
                a.y[at] = f == act_fn::none ? out : activate(f, out);
            }
    }
}

// Input channels per products call: a call's filters (28 x 128 floats) stay in L1 over the job's
// groups, and each group's inputs over the job's channel blocks.
constexpr std::int64_t kc_max = 128;

// One job: output-channel blocks [jobs.offset(j), + jobs.rows(j)) of the groups of group
// block gb.
[[gnu::always_inline]] inline void run_job(const layout& q, const job_args& a, std::int64_t job,
                                           float* m) {
    const std::int64_t gblk = job / q.jobs.count, j = job % q.jobs.count;
    const std::int64_t g0 = q.gb.offset(gblk), ng = q.gb.rows(gblk);
    const std::int64_t b0 = q.jobs.offset(j), b1 = b0 + q.jobs.rows(j);
    const std::int64_t o0 = q.ob.offset(b0), nk = q.ob.offset(b1) - o0;
    const std::int64_t ms = q.m_stride(q.most_channels());
    for (int xi = 0; xi < xis; ++xi)
        for (std::int64_t k0 = 0; k0 < q.c; k0 += kc_max)
            for (std::int64_t b = b0; b < b1; ++b) {
                const int rows = q.ob.rows(b);
                const float* u = a.u + (xi * q.k + q.ob.offset(b)) * q.c + k0 * rows;
                for (std::int64_t g = 0; g < ng; ++g)
                    a.products[rows](std::min(kc_max, q.c - k0), u,
                                     a.v + xi * q.v_stride() + ((g0 + g) * q.c + k0) * lanes,
                                     m + xi * ms + (g * nk + q.ob.offset(b) - o0) * lanes, k0 > 0);
            }
    for (std::int64_t g = 0; g < ng; ++g)
        for (std::int64_t o = 0; o < nk; ++o)
            output_group(q, a, g0 + g, o0 + o, m + (g * nk + o) * lanes, ms);
}

// The same code compiled for three instruction sets.
using job_fn = void (*)(const layout&, const job_args&, std::int64_t, float*);
using input_fn = void (*)(const layout&, const float*, std::int64_t, std::int64_t, float*, float*);
__attribute__((target(CNNKIT_CONV_AVX512_TARGET))) void
job_avx512(const layout& q, const job_args& a, std::int64_t job, float* m) {
    run_job(q, a, job, m);
}
__attribute__((target("avx2,fma"))) void job_avx2(const layout& q, const job_args& a,
                                                  std::int64_t job, float* m) {
    run_job(q, a, job, m);
}
void job_generic(const layout& q, const job_args& a, std::int64_t job, float* m) {
    run_job(q, a, job, m);
}
__attribute__((target(CNNKIT_CONV_AVX512_TARGET))) void
input_avx512(const layout& q, const float* x, std::int64_t c0, std::int64_t c1, float* v,
             float* buf) {
    transform_input(q, x, c0, c1, v, buf);
}
__attribute__((target("avx2,fma"))) void input_avx2(const layout& q, const float* x,
                                                    std::int64_t c0, std::int64_t c1, float* v,
                                                    float* buf) {
    transform_input(q, x, c0, c1, v, buf);
}
void input_generic(const layout& q, const float* x, std::int64_t c0, std::int64_t c1, float* v,
                   float* buf) {
    transform_input(q, x, c0, c1, v, buf);
}

constexpr std::int64_t input_chunk = 32;  // input channels per first-pass task

}  // namespace

bool winograd2_applies(const params& p, const geometry& g, algo mode) {
    if (mode == algo::gemm || mode == algo::im2col || mode == algo::winograd ||
        p.kernel != glm::ivec2{3, 3} || p.stride != glm::ivec2{1, 1} ||
        p.dilation != glm::ivec2{1, 1} || p.groups != 1)
        return false;
    if (mode == algo::winograd2) return true;
    // Batches of small planes on AVX-512, where F(4x4) does not apply: from 64 tiles (ResNet's
    // 7x7 layer4 at batch 4 and up). At batch 1 the transformed filters (16 x c x k floats, 1.8x
    // the weights) are read from memory for 16 tiles, and the direct path, which reads the
    // weights alone, is faster: ResNet-18 at 1 thread took 1.10x the time with F(2x2) on its
    // layer4 (README, CPU speed).
    const std::int64_t tiles = (g.oh + 1) / 2 * ((g.ow + 1) / 2);
    return isa_for_cpu() == isa_avx512 && g.c >= 32 && g.oc >= 32 && g.n * tiles >= 64 &&
           !winograd_applies(p, g, mode);
}

std::int64_t winograd2_workspace_floats(const geometry& g) {
    const layout q = layout_of(g, isa_generic);  // v does not depend on the kernels' rows
    return xis * q.v_stride();
}

void winograd2_prepare(const params& p, const sdk::shape& in, const float* w, winograd_weights& s) {
    s = winograd_weights{};
    const geometry geo = geometry_of(p, in);
    s.k = geo.oc, s.c = geo.c, s.tile = 2;
    s.isa = isa_for_cpu();
    const layout q = layout_of(geo, s.isa);
    static const double g[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    // [xi][output-channel block][c][rows]: each block's A panel in the order a call reads it.
    s.u.assign(static_cast<std::size_t>(xis * q.k * q.c), 0.0f);
    for (std::int64_t b = 0; b < q.ob.count; ++b)
        for (int r = 0; r < q.ob.rows(b); ++r)
            for (std::int64_t ci = 0; ci < q.c; ++ci) {
                const std::int64_t o = q.ob.offset(b) + r;
                double t[4][4];
                winograd_filter(g, w + (o * q.c + ci) * 9, t);
                for (int xi = 0; xi < xis; ++xi)
                    s.u[static_cast<std::size_t>((xi * q.k + q.ob.offset(b)) * q.c +
                                                 ci * q.ob.rows(b) + r)] =
                        static_cast<float>(t[xi / 4][xi % 4]);
            }
}

bool winograd2_run(const params& p, const winograd_weights& s, const sdk::call& c) {
    const geometry g = geometry_of(p, c.in(0).shape());
    if (g.c != s.c || g.oc != s.k) return false;
    const layout q = layout_of(g, s.isa);
    static const std::array<products_fn, 29> avx512 =
        products_table(isa_avx512, std::make_integer_sequence<int, 28>{});
    static const std::array<products_fn, 29> avx2 =
        products_table(isa_avx2, std::make_integer_sequence<int, 28>{});
    static const std::array<products_fn, 29> generic =
        products_table(isa_generic, std::make_integer_sequence<int, 28>{});
    const bool is512 = s.isa == isa_avx512, is2 = s.isa == isa_avx2;
    const job_args a{&p, c.in(0).f32(), s.u.data(), p.bias ? c.w(1).f32() : nullptr,
                     p.residual ? c.in(1).f32() : nullptr, c.out(0).f32(),
                     static_cast<float*>(c.workspace),
                     (is512 ? avx512 : is2 ? avx2 : generic).data()};
    // Per thread, grown once to the largest layer (a job runs no nested parallel work).
    const auto scratch = [](std::size_t floats) {
        thread_local line_vector<float> buf;
        if (buf.size() < floats) buf.resize(std::max<std::size_t>(floats, 1 << 16));
        return buf.data();
    };
    const input_fn input = is512 ? input_avx512 : is2 ? input_avx2 : input_generic;
    const std::int64_t chunks = (q.c + input_chunk - 1) / input_chunk;
    c.host.parallel_for(0, chunks, [&](std::int64_t t) {
        const std::int64_t c0 = t * input_chunk;
        input(q, a.x, c0, std::min(q.c, c0 + input_chunk), a.v,
              scratch(static_cast<std::size_t>(q.n * q.pw() * q.ph())));
    });
    const job_fn fn = is512 ? job_avx512 : is2 ? job_avx2 : job_generic;
    const auto m_floats = static_cast<std::size_t>(xis * q.m_stride(q.most_channels()));
    c.host.parallel_for(0, q.gb.count * q.jobs.count,
                        [&](std::int64_t job) { fn(q, a, job, scratch(m_floats)); });
    return true;
}

}  // namespace cnnkit::plugins::conv
