// rows.cpp: convs over at most 4 input channels (a network's first layer, on RGB or gray images)
// on AVX-512: any kernel, pads and dilation, horizontal stride 1 or 2, one group. Output rows are
// computed 16 pixels to a vector, for 8 output channels at a time: each filter tap is broadcast and
// multiplies 16 consecutive output pixels' inputs, so the results are stored straight into the
// NCHW output with bias, residual and activation applied in registers (the direct path,
// packed.cpp, vectorises over output channels and transposes every tile into NCHW instead, which
// took a sixth of the 7x7/2 stem's time). Consecutive output pixels read inputs `stride` apart:
// a pre-pass splits each zero-padded input row into `stride` phases (columns j * stride + phase),
// in the workspace, so that every tap reads 16 consecutive floats (strides 1 and 2: at 4, AlexNet's
// conv1 took 1.23x the direct path's time).
#include <algorithm>
#include <cstring>

#include "../conv.hpp"

// GCC 12 warns that the AVX-512 mask builtins' _mm512_undefined_ps() operand "may be used
// uninitialized" (GCC bug 105593) once they are inlined here; it is never read.
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace cnnkit::plugins::conv {
namespace {

constexpr int MR = 8;                 // output channels per tile
constexpr int NV = 3;                 // 16-pixel vectors per tile, at most
constexpr std::int64_t job_rows = 6;  // output rows per job: a multiple of NV

// The workspace's phase planes, per image [channel][phase][row][column], rows pw floats.
struct layout {
    std::int64_t sw, hp, pw, vecs;  // vecs: 16-pixel vectors per output row
    std::int64_t phase() const { return hp * pw; }
    std::int64_t channel() const { return sw * phase(); }
};

layout layout_of(const params& p, const geometry& g) {
    layout l{};
    l.sw = p.stride[1];
    l.hp = (g.oh - 1) * p.stride[0] + std::int64_t{p.kernel[0] - 1} * p.dilation[0] + 1;
    l.vecs = (g.ow + 15) / 16;
    // The last vector of a row reads 16 floats from its tap's column, the last tap's
    // (kw - 1) * dw / sw columns on; whole vectors, so rows stay 64-byte aligned.
    const std::int64_t reach = std::int64_t{p.kernel[1] - 1} * p.dilation[1] / l.sw;
    l.pw = (l.vecs * 16 + reach + 15) / 16 * 16;
    return l;
}

// Phase rows [r0, r1) of channel `ci` of image `img`: row iy, phase ph, column j holds input
// (iy - pad_t, j * sw + ph - pad_l), or zero outside the input (sw is 1 or 2: masked loads,
// and for 2 a permute of each 32 floats into the even and odd phases).
__attribute__((target(CNNKIT_CONV_AVX512_TARGET))) void fill_phases(
    const geometry& g, const layout& l, const float* x, float* ws, std::int64_t img,
    std::int64_t ci, std::int64_t r0, std::int64_t r1) {
    const float* plane = x + (img * g.c + ci) * g.h * g.w;
    float* dst = ws + (img * g.c + ci) * l.channel();
    const __m512i even = _mm512_load_si512(simd::even_floats);
    const __m512i odd = _mm512_load_si512(simd::odd_floats);
    for (std::int64_t iy = r0; iy < r1; ++iy) {
        const std::int64_t sy = iy - g.pad_t;
        float* d = dst + iy * l.pw;
        if (sy < 0 || sy >= g.h) {
            for (std::int64_t ph = 0; ph < l.sw; ++ph)
                std::memset(d + ph * l.phase(), 0, static_cast<std::size_t>(l.pw) * sizeof(float));
            continue;
        }
        const float* row = plane + sy * g.w;
        if (l.sw == 1) {
            simd::padded_row(d, l.pw, row, g.w, -g.pad_l);
        } else {  // sw == 2
            for (std::int64_t j = 0; j < l.pw; j += 16) {
                const __m512 lo = simd::columns(row, g.w, 2 * j - g.pad_l);
                const __m512 hi = simd::columns(row, g.w, 2 * j + 16 - g.pad_l);
                _mm512_storeu_ps(d + j, _mm512_permutex2var_ps(lo, even, hi));
                _mm512_storeu_ps(d + l.phase() + j, _mm512_permutex2var_ps(lo, odd, hi));
            }
        }
    }
}

struct tile_args {
    const float* a;            // the block's filters, [k][MR]
    const std::int64_t* taps;  // per k: its first input's offset in the image's phase planes
    std::int64_t kk, plane;    // taps; floats between output planes
    const float* bias;         // the block's first channel's, or null
    act_fn act;
};

// 16 output pixels of one row: their first tap's input, their offset in an output plane and
// which of them are in the row.
struct spot {
    const float* src;
    std::int64_t at;
    __mmask16 mask;
};

// W vectors of output pixels, anywhere in the planes (the row ends of a 112-pixel row, 7
// vectors, share tiles with the next row's starts), for `rows` <= MR channels: out[r][j] =
// act((sum_k a[k][r] * src[taps[k] + j] + bias[r]) + res[r][j]), y and res at the first
// channel's plane.
template <int W>
__attribute__((target(CNNKIT_CONV_AVX512_TARGET))) void tile(const tile_args& t, const spot* sp,
                                                             float* y, const float* res, int rows) {
    __m512 acc[MR][W];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
        for (int v = 0; v < W; ++v) acc[r][v] = _mm512_setzero_ps();
    const float* a = t.a;
    for (std::int64_t k = 0; k < t.kk; ++k, a += MR) {
        const std::int64_t tap = t.taps[k];
        __m512 x[W];
#pragma GCC unroll 4
        for (int v = 0; v < W; ++v) x[v] = _mm512_loadu_ps(sp[v].src + tap);
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
            const __m512 w = _mm512_set1_ps(a[r]);
#pragma GCC unroll 4
            for (int v = 0; v < W; ++v) acc[r][v] = _mm512_fmadd_ps(w, x[v], acc[r][v]);
        }
    }
    // max(lo, v) and min(hi, v) return v when it is NaN, as std::max(v, 0) does.
    const __m512 lo = _mm512_setzero_ps(), hi = _mm512_set1_ps(6.0f);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
        if (r >= rows) break;
        const __m512 b = _mm512_set1_ps(t.bias ? t.bias[r] : 0.0f);
#pragma GCC unroll 4
        for (int v = 0; v < W; ++v) {
            const std::int64_t at = r * t.plane + sp[v].at;
            __m512 o = _mm512_add_ps(acc[r][v], b);
            if (res) o = _mm512_add_ps(o, _mm512_maskz_loadu_ps(sp[v].mask, res + at));
            if (t.act == act_fn::relu) o = _mm512_max_ps(lo, o);
            if (t.act == act_fn::relu6) o = _mm512_min_ps(hi, _mm512_max_ps(lo, o));
            _mm512_mask_storeu_ps(y + at, sp[v].mask, o);
        }
    }
    // After every store: the sums live across no call (else GCC kept a row of them on the stack
    // through the loop).
    if (t.act == act_fn::tanh || t.act == act_fn::sigmoid)
        for (int r = 0; r < rows; ++r)
            for (int v = 0; v < W; ++v)
                for (int j = 0, n = __builtin_popcount(sp[v].mask); j < n; ++j) {
                    float& o = y[r * t.plane + sp[v].at + j];
                    o = activate(t.act, o);
                }
}

using tile_fn = void (*)(const tile_args&, const spot*, float*, const float*, int);
constexpr tile_fn tiles[NV + 1] = {nullptr, &tile<1>, &tile<2>, &tile<3>};

}  // namespace

bool rows_applies(const params& p, const geometry& g, algo mode) {
    // From 16 output pixels a row and 8 channels (a tile's width and height), and only over few
    // input channels: with more, the direct and GEMM paths' reuse of each input wins. Not at
    // horizontal stride 4 (AlexNet's conv1: 1.23x the direct path's time, its 55-pixel rows
    // leaving 9 of 64 lanes idle and its phases gathered). CNNKIT_CONV_ALGO=gemm turns it off,
    // so that the tests reach the direct kernels with few channels too.
    return mode == algo::automatic && isa_for_cpu() == isa_avx512 && p.groups == 1 &&
           p.stride[1] <= 2 && g.c <= 4 && g.ow >= 16 && g.oc >= MR &&
           g.c * p.kernel[0] * p.kernel[1] <= 4096;
}

std::int64_t rows_workspace_floats(const params& p, const geometry& g) {
    return g.n * g.c * layout_of(p, g).channel();
}

void rows_prepare(const params& p, const sdk::shape& in, const float* w, rows_weights& s) {
    s = rows_weights{};
    const geometry g = geometry_of(p, in);
    if (!rows_applies(p, g, algo_from_env())) return;
    const layout l = layout_of(p, g);
    const std::int64_t kh = p.kernel[0], kw = p.kernel[1], kk = g.c * kh * kw;
    const std::int64_t blocks = (g.oc + MR - 1) / MR;
    s.c = g.c, s.h = g.h, s.w = g.w;
    s.a.assign(static_cast<std::size_t>(blocks * kk * MR), 0.0f);
    for (std::int64_t o = 0; o < g.oc; ++o)
        for (std::int64_t k = 0; k < kk; ++k)
            s.a[static_cast<std::size_t>((o / MR * kk + k) * MR + o % MR)] = w[o * kk + k];
    for (std::int64_t ci = 0; ci < g.c; ++ci)
        for (std::int64_t ky = 0; ky < kh; ++ky)
            for (std::int64_t kx = 0; kx < kw; ++kx) {
                const std::int64_t col = kx * p.dilation[1];  // padded column of output column 0
                s.taps.push_back(ci * l.channel() + col % l.sw * l.phase() +
                                 ky * p.dilation[0] * l.pw + col / l.sw);
            }
}

bool rows_run(const params& p, const rows_weights& s, const sdk::call& c) {
    if (s.a.empty()) return false;
    const geometry g = geometry_of(p, c.in(0).shape());
    if (g.c != s.c || g.h != s.h || g.w != s.w) return false;
    const layout l = layout_of(p, g);
    const float* x = c.in(0).f32();
    float* ws = static_cast<float*>(c.workspace);
    constexpr std::int64_t fill_rows = 32;
    const std::int64_t fill_chunks = (l.hp + fill_rows - 1) / fill_rows;
    c.host.parallel_for(0, g.n * g.c * fill_chunks, [&](std::int64_t t) {
        const std::int64_t r0 = t % fill_chunks * fill_rows, plane = t / fill_chunks;
        fill_phases(g, l, x, ws, plane / g.c, plane % g.c, r0, std::min(l.hp, r0 + fill_rows));
    });
    const std::int64_t kk = static_cast<std::int64_t>(s.taps.size());
    const std::int64_t blocks = (g.oc + MR - 1) / MR, chunks = (g.oh + job_rows - 1) / job_rows;
    const std::int64_t plane = g.oh * g.ow;
    const float* bias = p.bias ? c.w(1).f32() : nullptr;
    const float* res = p.residual ? c.in(1).f32() : nullptr;
    float* y = c.out(0).f32();
    const __mmask16 last = simd::first_lanes(g.ow - (l.vecs - 1) * 16);  // a row's last vector
    c.host.parallel_for(0, g.n * chunks * blocks, [&](std::int64_t job) {
        const std::int64_t blk = job % blocks, chunk = job / blocks % chunks;
        const std::int64_t img = job / blocks / chunks, o0 = blk * MR;
        const tile_args t{s.a.data() + blk * kk * MR, s.taps.data(), kk, plane,
                          bias ? bias + o0 : nullptr, p.activation};
        const int rows = static_cast<int>(std::min<std::int64_t>(MR, g.oc - o0));
        const float* src = ws + img * g.c * l.channel();
        const std::int64_t at = (img * g.oc + o0) * plane;
        // The job's rows' vectors in order, NV to a tile.
        const std::int64_t oy1 = std::min(g.oh, (chunk + 1) * job_rows);
        std::int64_t oy = chunk * job_rows, x0 = 0;
        while (oy < oy1) {
            spot sp[NV];
            int w = 0;
            for (; w < NV && oy < oy1; ++w) {
                sp[w] = {src + oy * p.stride[0] * l.pw + x0, oy * g.ow + x0,
                         x0 + 16 > g.ow ? last : __mmask16{0xffff}};
                if ((x0 += 16) >= g.ow) x0 = 0, ++oy;
            }
            tiles[w](t, sp, y + at, res ? res + at : nullptr, rows);
        }
    });
    return true;
}

}  // namespace cnnkit::plugins::conv
