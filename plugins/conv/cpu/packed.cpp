// packed.cpp: the conv paths with filters packed at load into 32-channel panels. Per image and
// group, out^T (pixels x channels) = A (pixels x K) * B (K x channels), vectorised over output
// channels with pixels broadcast, so a 7x7 or 14x14 layer fills every lane:
// - direct (horizontal stride 1, 2 or 4): the kernels broadcast A straight from the input rows
//   (a zero-padded copy when the conv has pads), no im2col at all;
// - packed A (other strides): A gathered from the input into micro-panels first.
// B is split into K blocks of whole input channels (direct) or 256 rows (packed A) so a block's
// panel stays in L1; C accumulates per block in the job's tile (in the workspace), and the
// epilogue transposes it into NCHW with the fused bias, residual and activation.
#include "../conv.hpp"

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
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
constexpr std::int64_t KC = 256;  // K block: C is updated once per block (order fixed by K only)
constexpr std::int64_t max_chunk = 512;  // output pixels per job

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
        // Rows per chunk: a C tile within 2048 x 32 floats; but a 1x1 conv over a small plane
        // (7x7: ResNet-50's layer4, 2-8 MiB of filters each) takes it whole, so that each filter
        // is read once (jobs split the panels instead): 0.85-0.9x the time of 4-row chunks.
        const std::int64_t rows = taps == 1 && g.oh * g.ow <= 64
                                      ? g.oh
                                      : std::clamp<std::int64_t>(2048 / (q.panels * g.ow), 1, g.oh);
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
CNNKIT_CONV_AVX512_BEGIN
#define PACKED_AVX512 1
#define PACKED_AVX2 0
namespace avx512 {
#include "packed_job.inc"
}  // namespace avx512
#undef PACKED_AVX512
CNNKIT_CONV_ISA_END
CNNKIT_CONV_AVX2_BEGIN
#define PACKED_AVX512 0
#undef PACKED_AVX2
#define PACKED_AVX2 1
namespace avx2 {
#include "packed_job.inc"
}  // namespace avx2
#undef PACKED_AVX2
#define PACKED_AVX2 0
CNNKIT_CONV_ISA_END
namespace generic {
#include "packed_job.inc"
}  // namespace generic
#undef PACKED_AVX512
#undef PACKED_AVX2

using job_fn = void (*)(const job_args&, std::int64_t, float*);
using pack_fn = void (*)(const job_args&, std::int64_t, std::int64_t);
using pad_fn = void (*)(const job_args&, std::int64_t);

}  // namespace

algo algo_from_env() {
    const char* v = std::getenv("CNNKIT_CONV_ALGO");
    if (!v || !*v || std::strcmp(v, "auto") == 0) return algo::automatic;
    if (std::strcmp(v, "gemm") == 0) return algo::gemm;
    if (std::strcmp(v, "im2col") == 0) return algo::im2col;
    if (std::strcmp(v, "winograd2") == 0) return algo::winograd2;
    sdk::expect(std::strcmp(v, "winograd") == 0,
                "CNNKIT_CONV_ALGO must be auto, winograd, winograd2, gemm or im2col, got '", v, "'");
    return algo::winograd;
}



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
