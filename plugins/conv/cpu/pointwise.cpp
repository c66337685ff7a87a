// pointwise.cpp: 1x1 convs without pads over at least 128 output pixels, 32 on AVX2 (ResNet
// bottlenecks, inception branches; on AVX-512 not 14x14 ones that reduce channels: see
// pointwise_applies). Per image and group, out (channels x pixels) = W (channels x
// K) * X (K x pixels): W is packed at load into micro-kernel A panels (rows of output channels
// broadcast), X is packed once per run into 32-pixel B panels of 256-row K blocks (any stride)
// or, at stride 1 with few output channels, read in place from the input planes
// (only a partial last panel packed), and the micro-kernels (kernels.cpp) store straight into
// the NCHW output, so nothing is transposed; on the last K block their stores also apply bias,
// residual and activation.
#include "../conv.hpp"

#include <algorithm>
#include <cmath>

namespace cnnkit::plugins::conv {
namespace {

constexpr int NR = pack_nr;
constexpr std::int64_t KC = 256;       // K block rows: C is updated once per block
constexpr std::int64_t job_panels = 8;  // at most 256 pixels per job: its B block stays in L2

struct plan {
    std::int64_t cg, ocg, cols, kblocks, npan, images, spatial_jobs;
    blocks ob;  // output channels in micro-kernel rows
    blocks split;  // ob's blocks in near-equal jobs (more than one when there are few chunks)
    // Pixel panels in near-equal jobs (25 by 8: 7, 6, 6, 6, not 8, 8, 8, 1, which left one of
    // two threads 16 panels and the other 9).
    blocks chunk;
    std::int64_t image_floats() const { return cg * npan * NR; }  // one image's B panels
};

plan plan_of(const params& p, const geometry& g, int mr_max) {
    const std::int64_t ocg = g.oc / p.groups;
    const std::int64_t cols = g.oh * g.ow, npan = (cols + NR - 1) / NR;
    plan q{g.c / p.groups, ocg, cols, 0, npan, 0, 0, blocks(ocg, mr_max), blocks(1, 1),
           blocks(npan, job_panels)};
    q.kblocks = (q.cg + KC - 1) / KC;
    q.images = g.n * p.groups;
    q.spatial_jobs = q.images * q.chunk.count;
    const std::int64_t split =
        channel_split(q.spatial_jobs, q.ob.count);
    q.split = blocks(q.ob.count, static_cast<int>((q.ob.count + split - 1) / split));
    return q;
}

struct job_args {
    const params* p;
    const geometry* g;
    const plan* q;
    const float *x, *w, *bias, *res;
    float* y;
    float* bpack;
    const micro_kernels* mk;
    bool in_place;  // full panels read B from the input (in_place below)
};

// Where K block k0 of pixel panel j of image `image` (n x groups order) lies in the workspace:
// every panel in turn, or, when full panels are read in place, the partial last one alone (one
// panel of every K block per image).
[[gnu::always_inline]] inline float* panel_of(const job_args& a, std::int64_t image,
                                              std::int64_t k0, std::int64_t j) {
    const plan& q = *a.q;
    if (a.in_place) return a.bpack + (image * q.cg + k0) * NR;
    return a.bpack + image * q.image_floats() + (k0 * q.npan + j * std::min(KC, q.cg - k0)) * NR;
}

// K block k0 of pixel panel j of image `image` (n x groups order) into its B panel (kc x 32,
// zeros past the last pixel).
[[gnu::always_inline]] inline void pack_b(const job_args& a, std::int64_t image,
                                          std::int64_t k0, std::int64_t j) {
    const plan& q = *a.q;
    const geometry& g = *a.g;
    const std::int64_t grp = image % a.p->groups, img = image / a.p->groups;
    const std::int64_t kc = std::min(KC, q.cg - k0);
    float* dst = panel_of(a, image, k0, j);
    // The panel's pixels as runs within output rows: destination column, source offset, length.
    struct run {
        std::int64_t col, src, len;
    } runs[NR];
    int nruns = 0;
    const std::int64_t width = std::min<std::int64_t>(NR, q.cols - j * NR);
    for (std::int64_t t = 0; t < width;) {
        const std::int64_t px = j * NR + t, ox = px % g.ow;
        const std::int64_t len = std::min(width - t, g.ow - ox);
        runs[nruns++] = {t, px / g.ow * a.p->stride[0] * g.w + ox * a.p->stride[1], len};
        t += len;
    }
    const std::int64_t sw = a.p->stride[1];
    const float* src = a.x + ((img * g.c + grp * q.cg + k0) * g.h) * g.w;
    for (std::int64_t k = 0; k < kc; ++k, src += g.h * g.w, dst += NR) {
        for (int i = 0; i < nruns; ++i) {
            const float* s = src + runs[i].src;
            float* d = dst + runs[i].col;
            if (sw == 1)
                for (std::int64_t t = 0; t < runs[i].len; ++t) d[t] = s[t];
            else
                for (std::int64_t t = 0; t < runs[i].len; ++t) d[t] = s[t * sw];
        }
        for (std::int64_t t = width; t < NR; ++t) dst[t] = 0.0f;
    }
}

// Channel rows [k0 + r0, k0 + r1) of K block k0 into every panel at once, each input row read
// front to back (the prefetcher follows it; a panel at a time reads 32 floats from each of kc
// rows a plane apart, which waits on memory). Stride 1: output pixels are input pixels, so a
// channel row is one run. Other strides (ResNet's 1x1 stride-2 downsamples): each output row's
// pixels are taken from its input row and dealt into the panels they fall in.
[[gnu::always_inline]] inline void pack_rows(const job_args& a, std::int64_t image,
                                             std::int64_t k0, std::int64_t r0, std::int64_t r1) {
    const plan& q = *a.q;
    const geometry& g = *a.g;
    const std::int64_t grp = image % a.p->groups, img = image / a.p->groups;
    const std::int64_t kc = std::min(KC, q.cg - k0), sh = a.p->stride[0], sw = a.p->stride[1];
    const std::int64_t tail = q.cols % NR;
    float* base = panel_of(a, image, k0, 0);
    for (std::int64_t r = r0; r < r1; ++r) {
        const float* plane = a.x + (img * g.c + grp * q.cg + k0 + r) * g.h * g.w;
        float* dst = base + r * NR;
        if (sh == 1 && sw == 1) {
            const std::int64_t full = q.cols / NR;
            for (std::int64_t j = 0; j < full; ++j)
                for (int t = 0; t < NR; ++t) dst[j * kc * NR + t] = plane[j * NR + t];
            for (std::int64_t t = 0; t < tail; ++t) dst[full * kc * NR + t] = plane[full * NR + t];
        } else {
            std::int64_t px = 0;  // output pixel
            for (std::int64_t oy = 0; oy < g.oh; ++oy) {
                const float* row = plane + oy * sh * g.w;
                for (std::int64_t ox = 0; ox < g.ow;) {
                    const std::int64_t t0 = px % NR, len = std::min(g.ow - ox, NR - t0);
                    float* d = dst + px / NR * kc * NR + t0;
                    const float* s = row + ox * sw;
                    if (sw == 2)  // vectorised as two loads and a permute
                        for (std::int64_t t = 0; t < len; ++t) d[t] = s[2 * t];
                    else
                        for (std::int64_t t = 0; t < len; ++t) d[t] = s[t * sw];
                    ox += len, px += len;
                }
            }
        }
        for (std::int64_t t = tail; t > 0 && t < NR; ++t) dst[(q.npan - 1) * kc * NR + t] = 0.0f;
    }
}

// Whether full panels read B from the input instead of a packed copy (stride 1). Packing costs
// a pass over the input whatever the output channels, the strided reads cost on every tile:
// measured (ResNet-50, GoogLeNet), reading in place wins up to 128 output channels on 28x28
// and larger planes (0.68-0.94x the time of the packed layer) and loses from 256 (1.03-1.13x);
// on 14x14 it loses from 96 channels and wins at 16-24. On AVX2 (AMD EPYC, Zen 3) it wins at
// 16-32 channels (GoogLeNet's inception3 1x1s to 16 and 32: 0.77-0.93x) and ties from 64
// (0.95-1.07x on GoogLeNet and ResNet-50, within the runs' drift).
bool in_place(const params& p, const plan& q, std::int32_t isa) {
    if (p.stride[0] != 1 || p.stride[1] != 1) return false;
    if (isa == isa_avx512) return q.ocg <= (q.cols >= 784 ? 128 : 32);
    return isa == isa_avx2 && q.ocg <= 32;
}

// One job: pixel panels [j0, j1) of one image times output-channel blocks [b0, b1).
[[gnu::always_inline]] inline void run_job(const job_args& a, std::int64_t job) {
    const plan& q = *a.q;
    const geometry& g = *a.g;
    const std::int64_t sj = job / q.split.count, bj = job % q.split.count;
    const std::int64_t image = sj / q.chunk.count, grp = image % a.p->groups, img = image / a.p->groups;
    const std::int64_t ch = sj % q.chunk.count, j0 = q.chunk.offset(ch), j1 = j0 + q.chunk.rows(ch);
    const std::int64_t b0 = q.split.offset(bj), b1 = b0 + q.split.rows(bj);
    const std::int64_t first = (img * g.oc + grp * q.ocg) * q.cols;  // the group's output
    float* out = a.y + first;
    const act_fn f = a.p->activation;
    for (std::int64_t k0 = 0; k0 < q.cg; k0 += KC) {
        const std::int64_t kc = std::min(KC, q.cg - k0);
        const bool last = k0 + KC >= q.cg;
        const float* wk = a.w + grp * q.ocg * q.cg + k0 * q.ocg;
        for (std::int64_t b = b0; b < b1; ++b) {
            const int mr = q.ob.rows(b);
            const std::int64_t o0 = q.ob.offset(b);
            const float* ap = wk + o0 * kc;
            float* c = out + o0 * q.cols;
            const float* bias = a.bias ? a.bias + grp * q.ocg + o0 : nullptr;
            const float* res = a.res ? a.res + first + o0 * q.cols : nullptr;
            for (std::int64_t j = j0; j < j1; ++j) {
                const std::int64_t width = std::min<std::int64_t>(NR, q.cols - j * NR);
                const float* bj_ = panel_of(a, image, k0, j);
                if (width == NR && a.in_place) {
                    const tile_epilogue e{bias, res ? res + j * NR : nullptr, f};
                    a.mk->strided[mr](kc, ap, a.x + (img * g.c + grp * q.cg + k0) * q.cols + j * NR,
                                      q.cols, c + j * NR, q.cols, k0 > 0, last ? &e : nullptr);
                    continue;
                }
                if (width == NR && last) {  // out = act((sum + bias) + res): the unfused order
                    const tile_epilogue e{bias, res ? res + j * NR : nullptr, f};
                    a.mk->fused[mr](kc, ap, bj_, c + j * NR, q.cols, k0 > 0, e);
                    continue;
                }
                if (width == NR) {
                    a.mk->fn[mr](kc, ap, bj_, c + j * NR, q.cols, k0 > 0);
                    continue;
                }
                if (a.mk->tail[mr]) {  // straight into C
                    const tile_epilogue e{bias, res ? res + j * NR : nullptr, f};
                    a.mk->tail[mr](kc, ap, bj_, c + j * NR, q.cols, k0 > 0, last ? &e : nullptr,
                                   static_cast<int>(width));
                    continue;
                }
                // The last, partial panel through a full tile (its residual copied in too), or
                // a half one (its first 16 columns) where the ISA has them.
                const bool half = width <= 16 && a.mk->half[mr];
                alignas(64) float t[16 * NR], r[16 * NR];
                for (int i = 0; i < mr; ++i)
                    for (std::int64_t x = 0; x < (half ? 16 : NR); ++x) {
                        const bool in = x < width;
                        t[i * NR + x] = in && k0 > 0 ? c[i * q.cols + j * NR + x] : 0.0f;
                        r[i * NR + x] = in && res ? res[i * q.cols + j * NR + x] : 0.0f;
                    }
                const tile_epilogue e{bias, res ? r : nullptr, f};
                if (half)  // half the FMAs (14x14 planes end in 4 pixels)
                    a.mk->half[mr](kc, ap, bj_, t, NR, k0 > 0, last ? &e : nullptr);
                else if (last)
                    a.mk->fused[mr](kc, ap, bj_, t, NR, k0 > 0, e);
                else
                    a.mk->fn[mr](kc, ap, bj_, t, NR, k0 > 0);
                for (int i = 0; i < mr; ++i)
                    for (std::int64_t x = 0; x < width; ++x)
                        c[i * q.cols + j * NR + x] = t[i * NR + x];
            }
        }
    }
}

// The same code compiled for three instruction sets (the micro-kernels are chosen apart).
using job_fn = void (*)(const job_args&, std::int64_t);
using pack_fn = void (*)(const job_args&, std::int64_t, std::int64_t, std::int64_t);
using rows_fn = void (*)(const job_args&, std::int64_t, std::int64_t, std::int64_t, std::int64_t);
__attribute__((target(CNNKIT_CONV_AVX512_TARGET))) void
rows_avx512(const job_args& a, std::int64_t image, std::int64_t k0, std::int64_t r0,
            std::int64_t r1) {
    pack_rows(a, image, k0, r0, r1);
}
__attribute__((target("avx2,fma"))) void rows_avx2(const job_args& a, std::int64_t image,
                                                   std::int64_t k0, std::int64_t r0,
                                                   std::int64_t r1) {
    pack_rows(a, image, k0, r0, r1);
}
void rows_generic(const job_args& a, std::int64_t image, std::int64_t k0, std::int64_t r0,
                  std::int64_t r1) {
    pack_rows(a, image, k0, r0, r1);
}
__attribute__((target(CNNKIT_CONV_AVX512_TARGET))) void
job_avx512(const job_args& a, std::int64_t job) {
    run_job(a, job);
}
__attribute__((target("avx2,fma"))) void job_avx2(const job_args& a, std::int64_t job) {
    run_job(a, job);
}
void job_generic(const job_args& a, std::int64_t job) { run_job(a, job); }
__attribute__((target(CNNKIT_CONV_AVX512_TARGET))) void
pack_avx512(const job_args& a, std::int64_t image, std::int64_t k0, std::int64_t j) {
    pack_b(a, image, k0, j);
}
__attribute__((target("avx2,fma"))) void pack_avx2(const job_args& a, std::int64_t image,
                                                   std::int64_t k0, std::int64_t j) {
    pack_b(a, image, k0, j);
}
void pack_generic(const job_args& a, std::int64_t image, std::int64_t k0, std::int64_t j) {
    pack_b(a, image, k0, j);
}

}  // namespace

// Smaller planes take the direct path (packed.cpp), which on AVX-512 reads each filter once
// in 14-pixel two-row blocks; AVX2 has no such kernel, and its 7-pixel rows in blocks of 4 and
// 3 read ResNet-50's layer4 filters (2-8 MiB) 14 times: here they take 0.5-0.8x the time.
// On AVX-512, 14x14 planes (196 pixels: 6 B panels of 32 and one of 4, so 12.5% of the FMAs
// idle) that reduce channels (at least 64 out, at least twice as many in) take the direct path
// as well, whose 14-pixel blocks and 32-channel panels fit them exactly: GoogLeNet's inception4
// 1x1s 0.67-0.91x the time at 1 and 2 threads (its 1x1s to 16-32 channels lost, 1.15-1.4x).
// ResNet-50's 1024-channel ones were 0.89x at 1 thread but 1.05-1.09x at 2, so from 1024 input
// channels they stay here (2026-11-23, Xeon; median of 6 alternating rounds per node).
bool pointwise_applies(const params& p, const geometry& g, algo mode) {
    if (mode == algo::im2col || p.kernel[0] != 1 || p.kernel[1] != 1 || g.pad_t != 0 ||
        g.pad_l != 0 || g.oc / p.groups < 16)
        return false;
    const std::int64_t pixels = g.oh * g.ow, in = g.c / p.groups, out = g.oc / p.groups;
    if (isa_for_cpu() != isa_avx512) return pixels >= 32;
    const bool reduces_small_plane = pixels < 256 && out >= 64 && in >= 2 * out && in < 1024;
    return pixels >= 128 && !reduces_small_plane;
}

std::int64_t pointwise_workspace_floats(const params& p, const geometry& g) {
    const plan q = plan_of(p, g, 1);  // the B panels do not depend on the micro-kernel rows
    return q.images * (in_place(p, q, isa_for_cpu()) ? q.cg * NR : q.image_floats());
}

void pointwise_prepare(const params& p, const sdk::shape& in, const float* w, packed_weights& s) {
    s = packed_weights{};
    const geometry g = geometry_of(p, in);
    s.isa = isa_for_cpu();
    const plan q = plan_of(p, g, micro_kernels_for(s.isa).mr_max);
    s.groups = p.groups, s.ocg = q.ocg, s.kk = q.cg, s.pointwise = true;
    // [group][K block][channel block][kc][rows]: A panels in the order a job reads them.
    s.b.resize(static_cast<std::size_t>(p.groups * q.ocg * q.cg));
    for (std::int64_t grp = 0; grp < p.groups; ++grp)
        for (std::int64_t k0 = 0; k0 < q.cg; k0 += KC) {
            const std::int64_t kc = std::min(KC, q.cg - k0);
            float* dst = s.b.data() + grp * q.ocg * q.cg + k0 * q.ocg;
            for (std::int64_t b = 0; b < q.ob.count; ++b)
                for (std::int64_t k = 0; k < kc; ++k)
                    for (int r = 0; r < q.ob.rows(b); ++r)
                        dst[q.ob.offset(b) * kc + k * q.ob.rows(b) + r] =
                            w[(grp * q.ocg + q.ob.offset(b) + r) * q.cg + k0 + k];
        }
}

bool pointwise_run(const params& p, const packed_weights& s, const sdk::call& c) {
    if (!s.pointwise) return false;
    const geometry g = geometry_of(p, c.in(0).shape());
    const micro_kernels& mk = micro_kernels_for(s.isa);
    const plan q = plan_of(p, g, mk.mr_max);
    if (q.cg != s.kk || q.ocg != s.ocg || p.groups != s.groups) return false;
    const job_args a{&p, &g, &q, c.in(0).f32(), s.b.data(), p.bias ? c.w(1).f32() : nullptr,
                     p.residual ? c.in(1).f32() : nullptr, c.out(0).f32(),
                     static_cast<float*>(c.workspace), &mk,
                     in_place(p, q, s.isa)};
    const bool avx512 = s.isa == isa_avx512, avx2 = s.isa == isa_avx2;
    const pack_fn pack = avx512 ? pack_avx512 : avx2 ? pack_avx2 : pack_generic;
    if (a.in_place) {
        if (q.cols % NR)
            c.host.parallel_for(0, q.images * q.kblocks, [&](std::int64_t t) {
                pack(a, t / q.kblocks, t % q.kblocks * KC, q.npan - 1);
            });
    } else {
        constexpr std::int64_t rows = 16;  // channel rows per task
        const rows_fn pack_r = avx512 ? rows_avx512 : avx2 ? rows_avx2 : rows_generic;
        const std::int64_t per_block = KC / rows, tasks = q.images * q.kblocks * per_block;
        c.host.parallel_for(0, tasks, [&](std::int64_t t) {
            const std::int64_t image = t / (q.kblocks * per_block), k0 = t / per_block % q.kblocks * KC;
            const std::int64_t r0 = t % per_block * rows, kc = std::min(KC, q.cg - k0);
            if (r0 < kc) pack_r(a, image, k0, r0, std::min(kc, r0 + rows));
        });
    }
    const job_fn fn = avx512 ? job_avx512 : avx2 ? job_avx2 : job_generic;
    c.host.parallel_for(0, q.spatial_jobs * q.split.count, [&](std::int64_t job) { fn(a, job); });
    return true;
}

}  // namespace cnnkit::plugins::conv
