// winograd.cpp: 3x3 stride-1 convolution by Winograd F(4x4, 3x3) (Lavin & Gray, 2015). Filters
// are transformed once at load into 32-channel panels; each job (image, block of 4x4 output
// tiles, block of output channels) transforms its input tiles into micro-kernel panels (tiles
// broadcast), runs the 36 products on kernels.cpp's micro-kernels (output channels in the vector
// lanes) and transforms the products back with the fused bias, residual and activation.
#include "../conv.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

// GCC 12 warns that the AVX-512 mask builtins' _mm512_undefined_ps() operand "may be used
// uninitialized" (GCC bug 105593) once they are inlined here; it is never read.
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace cnnkit::plugins::conv {
namespace {

constexpr int lanes = 16;  // tiles transformed side by side: one AVX-512 register per value

// How one conv is cut into jobs.
struct layout {
    std::int64_t n, c, k, h, w, oh, ow, pad_t, pad_l;
    std::int64_t tiles_x, tiles;  // 4x4 output tiles per row, per image
    std::int64_t tb, kb;          // tiles (a multiple of `lanes`) and channels (of 32) per job
    std::int64_t tile_blocks, k_blocks;
    // Floats from one of the 36 products' rows of transformed inputs (v) or of products (m,
    // ldc floats a tile) to the next: tb x c or tb x ldc, one cache line more. Without the line
    // those strides are multiples of 16 KiB on the deep layers (16 tiles x 256 channels), so
    // that the 36 rows a tile's output transform reads, and its input transform writes, share
    // one set of the 8-way L1 (and of L2): every access missed (ResNet-50 layer3 on Zen 3:
    // the transforms took 35% of the layer).
    std::int64_t v_stride() const { return tb * c + 16; }
    std::int64_t m_stride(std::int64_t ldc) const { return tb * ldc + 16; }
    std::int64_t groups() const { return (tiles + lanes - 1) / lanes; }
    // Tiles [t0, t0 + nt) of tile block b.
    std::int64_t first_tile(std::int64_t b) const {
        return blocks(groups(), static_cast<int>(tb / lanes)).offset(b) * lanes;
    }
    std::int64_t tiles_in(std::int64_t b) const {
        return std::min<std::int64_t>(blocks(groups(), static_cast<int>(tb / lanes)).rows(b) * lanes,
                        tiles - first_tile(b));
    }
};

std::int64_t round_up(std::int64_t x, std::int64_t m) { return (x + m - 1) / m * m; }

layout layout_of(const geometry& g) {
    layout q{g.n, g.c, g.oc, g.h, g.w, g.oh, g.ow, g.pad_t, g.pad_l, 0, 0, 0, 0, 0, 0};
    q.tiles_x = (g.ow + 3) / 4;
    q.tiles = q.tiles_x * ((g.oh + 3) / 4);
    // The transformed input block (36 x c x tb floats) stays within about 1 MiB.
    q.tb = std::clamp<std::int64_t>(262144 / (36 * q.c) / lanes * lanes, lanes, 64);
    q.tb = std::min(q.tb, round_up(q.tiles, lanes));
    // At least 8 blocks where there are tiles enough, of near-equal numbers of 16-tile groups
    // (196 tiles: 6 x 32 + 16), so that the threads finish together; tb is the largest.
    const std::int64_t most = std::min(q.tb / lanes, std::max<std::int64_t>(1, (q.groups() + 7) / 8));
    const blocks groups(q.groups(), static_cast<int>(most));
    q.tile_blocks = groups.count;
    q.tb = groups.rows(0) * lanes;
    // Few tile blocks (deep layers): split the output channels too, so threads have work.
    const std::int64_t spatial = q.n * q.tile_blocks;
    const std::int64_t split =
        channel_split(spatial, (q.k + pack_nr - 1) / pack_nr);
    q.kb = round_up((q.k + split - 1) / split, pack_nr);
    q.kb = std::min(q.kb, std::max<std::int64_t>(pack_nr, 8192 / q.tb / pack_nr * pack_nr));
    q.k_blocks = (q.k + q.kb - 1) / q.kb;
    return q;
}

// One dimension of B^T d B: six rows (s, stride ss floats) of `lanes` tiles into six rows of d.
[[gnu::always_inline]] inline void input_1d(const float* __restrict s, std::int64_t ss,
                                            float* __restrict d, std::int64_t ds) {
    for (int l = 0; l < lanes; ++l) {
        const float d0 = s[l], d1 = s[ss + l], d2 = s[2 * ss + l], d3 = s[3 * ss + l],
                    d4 = s[4 * ss + l], d5 = s[5 * ss + l];
        d[l] = 4.0f * d0 - 5.0f * d2 + d4;
        d[ds + l] = -4.0f * (d1 + d2) + (d3 + d4);
        d[2 * ds + l] = 4.0f * (d1 - d2) + (d4 - d3);
        d[3 * ds + l] = 2.0f * (d3 - d1) + (d4 - d2);
        d[4 * ds + l] = 2.0f * (d1 - d3) + (d4 - d2);
        d[5 * ds + l] = 4.0f * d1 - 5.0f * d3 + d5;
    }
}

// One dimension of A^T m A: six rows into four.
[[gnu::always_inline]] inline void output_1d(const float* __restrict s, std::int64_t ss,
                                             float* __restrict d, std::int64_t ds) {
    for (int l = 0; l < lanes; ++l) {
        const float m0 = s[l], m5 = s[5 * ss + l];
        const float a = s[ss + l] + s[2 * ss + l], b = s[ss + l] - s[2 * ss + l];
        const float c = s[3 * ss + l] + s[4 * ss + l], e = s[3 * ss + l] - s[4 * ss + l];
        d[l] = m0 + a + c;
        d[ds + l] = b + 2.0f * e;
        d[2 * ds + l] = a + 4.0f * c;
        d[3 * ds + l] = b + 8.0f * e + m5;
    }
}

// The input rows a block of tiles reads, copied with their zero padding so that every tile's
// 6x6 patch is an unchecked read: rows [row0, row0 + rows), columns [-pad_l, width - pad_l).
struct padded_rows {
    std::int64_t tile_row0, rows, width;
};

padded_rows rows_of(const layout& q, std::int64_t t0, std::int64_t nt) {
    const std::int64_t first = t0 / q.tiles_x, last = (t0 + nt - 1) / q.tiles_x;
    return {first, (last - first) * 4 + 6, q.tiles_x * 4 + 2};
}

std::int64_t padded_floats(const layout& q) {
    return (((q.tb - 1) / q.tiles_x + 1) * 4 + 6) * (q.tiles_x * 4 + 2);
}

[[gnu::always_inline]] inline void pad_rows(const layout& q, const padded_rows& pr,
                                            const float* plane, float* buf) {
    for (std::int64_t r = 0; r < pr.rows; ++r) {
        const std::int64_t iy = pr.tile_row0 * 4 - q.pad_t + r;
        simd::padded_row_scalar(buf + r * pr.width, pr.width,
                                iy >= 0 && iy < q.h ? plane + iy * q.w : nullptr, q.w, -q.pad_l);
    }
}

// (B^T d B)[xi] of tile t0 + j, channel ci, for j < round_up(nt), packed for the micro-kernels
// as blocks of MR tiles: v[((xi * tb / MR + j / MR) * c + ci) * MR + j % MR].
template <int MR>
[[gnu::always_inline]] inline void transform_input(const layout& q, const float* x,
                                                   std::int64_t t0, std::int64_t nt, float* v,
                                                   float* buf, std::int64_t c0, std::int64_t c1) {
    const padded_rows pr = rows_of(q, t0, nt);
    std::int32_t offs[64];  // each tile's patch corner in buf; spare lanes read tile t0
    for (std::int64_t j = 0; j < round_up(nt, lanes); ++j) {
        const std::int64_t t = j < nt ? t0 + j : t0;
        offs[j] = static_cast<std::int32_t>((t / q.tiles_x - pr.tile_row0) * 4 * pr.width +
                                            t % q.tiles_x * 4);
    }
    for (std::int64_t ci = c0; ci < c1; ++ci) {
        pad_rows(q, pr, x + ci * q.h * q.w, buf);
        for (std::int64_t j0 = 0; j0 < nt; j0 += lanes) {
            const std::int32_t* off = offs + j0;
            alignas(64) float d[36][lanes], tmp[36][lanes];
            for (int r = 0; r < 6; ++r)
                for (int j = 0; j < 6; ++j)
                    for (int l = 0; l < lanes; ++l)
                        d[r * 6 + j][l] = buf[off[l] + r * pr.width + j];
            for (int j = 0; j < 6; ++j) input_1d(d[j], 6 * lanes, tmp[j], 6 * lanes);
            for (int i = 0; i < 6; ++i) input_1d(tmp[i * 6], lanes, d[i * 6], lanes);
            for (int xi = 0; xi < 36; ++xi) {
                float* dst = v + xi * q.v_stride() + j0 * q.c + ci * MR;
                for (int h = 0; h < lanes / MR; ++h)
                    for (int l = 0; l < MR; ++l) dst[h * q.c * MR + l] = d[xi][h * MR + l];
            }
        }
    }
}

// AVX-512 transforms: 16 tiles side by side, one register per value.
#define WINO_AVX512 [[gnu::always_inline]] __attribute__((target("avx512f,avx512vl,avx512dq,fma"))) inline

// One dimension of B^T d B on registers (input_1d's formulas), for __m512 (AVX-512) and __m256
// (AVX2): inlined into the callers, which carry the target attributes.
template <class V>
[[gnu::always_inline]] inline void input_1d(const V (&d)[6], V (&o)[6]) {
    o[0] = 4.0f * d[0] - 5.0f * d[2] + d[4];
    o[1] = -4.0f * (d[1] + d[2]) + (d[3] + d[4]);
    o[2] = 4.0f * (d[1] - d[2]) + (d[4] - d[3]);
    o[3] = 2.0f * (d[3] - d[1]) + (d[4] - d[2]);
    o[4] = 2.0f * (d[1] - d[3]) + (d[4] - d[2]);
    o[5] = 4.0f * d[1] - 5.0f * d[3] + d[5];
}

// One dimension of A^T m A on registers (output_1d's formulas), as input_1d above.
template <class V>
[[gnu::always_inline]] inline void output_1d(const V (&m)[6], V (&o)[4]) {
    const V s1 = m[1] + m[2], d1 = m[1] - m[2], s3 = m[3] + m[4], d3 = m[3] - m[4];
    o[0] = m[0] + s1 + s3;
    o[1] = d1 + 2.0f * d3;
    o[2] = s1 + 4.0f * s3;
    o[3] = d1 + 8.0f * d3 + m[5];
}

// A^T m A of the products of one tile (m[xi * mstride], channels side by side in V), plus the
// bias: e[4 i + j] is output (i, j).
template <class V>
[[gnu::always_inline]] inline void output_2d(const float* m, std::int64_t mstride, const V& bias,
                                             V (&e)[16]) {
    V c[6][4];  // c[j][i]: (A^T m)[i][j], column j of the products transformed
    for (int j = 0; j < 6; ++j) {
        V col[6];
        for (int i = 0; i < 6; ++i)
            __builtin_memcpy(&col[i], m + (i * 6 + j) * mstride, sizeof(V));  // unaligned loads
        output_1d(col, c[j]);
    }
    for (int i = 0; i < 4; ++i) {
        const V row[6] = {c[0][i], c[1][i], c[2][i], c[3][i], c[4][i], c[5][i]};
        V o[4];
        output_1d(row, o);
        for (int j = 0; j < 4; ++j) e[4 * i + j] = o[j] + bias;
    }
}

// pad_rows in masked vector loads and stores: per row, a std::copy (a memmove call) and two
// fills took 2% of ResNet-18's time on rows of 28 and 56 floats (0.965-0.98x the layers' time).
WINO_AVX512 void pad_rows_avx512(const layout& q, const padded_rows& pr, const float* plane,
                                 float* buf) {
    for (std::int64_t r = 0; r < pr.rows; ++r) {
        const std::int64_t iy = pr.tile_row0 * 4 - q.pad_t + r;
        simd::padded_row(buf + r * pr.width, pr.width,
                         iy >= 0 && iy < q.h ? plane + iy * q.w : nullptr, q.w, -q.pad_l);
    }
}

// p[k][l] = s[4 l + k], k < 6: the patch row of 16 tiles that start 4 floats apart
// (s[0, 82) is read).
WINO_AVX512 void patch_row(const float* s, __m512 (&p)[6]) {
    const __m512i even = _mm512_load_si512(simd::even_floats);
    const __m512i odd = _mm512_load_si512(simd::odd_floats);
    const __m512 a0 = _mm512_loadu_ps(s), a1 = _mm512_loadu_ps(s + 16);
    const __m512 a2 = _mm512_loadu_ps(s + 32), a3 = _mm512_loadu_ps(s + 48);
    const __m512 e01 = _mm512_permutex2var_ps(a0, even, a1), o01 = _mm512_permutex2var_ps(a0, odd, a1);
    const __m512 e23 = _mm512_permutex2var_ps(a2, even, a3), o23 = _mm512_permutex2var_ps(a2, odd, a3);
    p[0] = _mm512_permutex2var_ps(e01, even, e23);
    p[1] = _mm512_permutex2var_ps(o01, even, o23);
    p[2] = _mm512_permutex2var_ps(e01, odd, e23);
    p[3] = _mm512_permutex2var_ps(o01, odd, o23);
    // Tile l's columns 4 and 5 are tile l + 1's columns 0 and 1; lane 15 takes s[64], s[65].
    p[4] = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(_mm512_loadu_ps(s + 64)),
                                                   _mm512_castps_si512(p[0]), 1));
    p[5] = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(_mm512_loadu_ps(s + 65)),
                                                   _mm512_castps_si512(p[1]), 1));
}

// Tiles of a 16-tile group that lie in one row of tiles: lanes [lane, next segment's lane) read
// their patches at rows + base + 4 x lane (lanes outside are read, then discarded).
struct segment {
    int lane;
    std::int64_t base;
};

// transform_input for AVX-512: the patch rows are loaded as vectors and deinterleaved (no
// per-float gathers); `buf` has guard_before floats before the padded rows and guard_after after.
constexpr std::int64_t guard_before = 64, guard_after = 96;

// The segments of a block's 16-tile groups: at most 4 groups (tb <= 64) of at most 16 segments
// (one per lane), group after group (group g's: [first[g], first[g + 1])).
struct tile_groups {
    segment segs[4 * lanes];
    int first[5] = {};
};

// The segments of tiles [t0, t0 + nt), and the zero guards around the padded rows in `buf`.
inline void group_tiles(const layout& q, const padded_rows& pr, std::int64_t t0, std::int64_t nt,
                        float* buf, tile_groups& gr) {
    float* rows = buf + guard_before;
    std::fill(buf, rows, 0.0f);
    std::fill(rows + pr.rows * pr.width, rows + pr.rows * pr.width + guard_after, 0.0f);
    int count = 0;
    for (std::int64_t j0 = 0, g = 0; j0 < nt; j0 += lanes, ++g) {
        gr.first[g] = count;
        for (std::int64_t l = 0; l < lanes && j0 + l < nt;) {
            const std::int64_t t = t0 + j0 + l, cx = t % q.tiles_x;
            gr.segs[count++] = {static_cast<int>(l),
                                (t / q.tiles_x - pr.tile_row0) * 4 * pr.width + (cx - l) * 4};
            l += q.tiles_x - cx;
        }
        gr.first[g + 1] = count;
    }
}

template <int MR>
__attribute__((target("avx512f,avx512vl,avx512dq,fma"))) void transform_input_avx512(const layout& q, const float* x, std::int64_t t0,
                                        std::int64_t nt, float* v, float* buf, std::int64_t c0,
                                        std::int64_t c1) {
    const padded_rows pr = rows_of(q, t0, nt);
    float* rows = buf + guard_before;
    tile_groups gr;
    group_tiles(q, pr, t0, nt, buf, gr);
    const segment* segs = gr.segs;
    const int* first = gr.first;
    for (std::int64_t ci = c0; ci < c1; ++ci) {
        pad_rows_avx512(q, pr, x + ci * q.h * q.w, rows);
        for (std::int64_t j0 = 0, g = 0; j0 < nt; j0 += lanes, ++g) {
            __m512 h[6][6];  // h[r][j]: patch row r after the column transform
            for (int r = 0; r < 6; ++r) {
                __m512 p[6];
                patch_row(rows + segs[first[g]].base + r * pr.width, p);
                for (int s = first[g] + 1; s < first[g + 1]; ++s) {
                    __m512 o[6];
                    patch_row(rows + segs[s].base + r * pr.width, o);
                    const __mmask16 m = simd::lane_range(segs[s].lane, 16);
                    for (int k = 0; k < 6; ++k) p[k] = _mm512_mask_blend_ps(m, p[k], o[k]);
                }
                input_1d(p, h[r]);
            }
            for (int j = 0; j < 6; ++j) {
                const __m512 col[6] = {h[0][j], h[1][j], h[2][j], h[3][j], h[4][j], h[5][j]};
                __m512 o[6];
                input_1d(col, o);
                for (int i = 0; i < 6; ++i) {
                    float* dst = v + (i * 6 + j) * q.v_stride() + j0 * q.c + ci * MR;
                    static_assert(MR == 8, "two 8-tile halves per register");
                    _mm256_storeu_ps(dst, _mm512_castps512_ps256(o[i]));
                    _mm256_storeu_ps(dst + q.c * MR, _mm512_extractf32x8_ps(o[i], 1));
                }
            }
        }
    }
}

// AVX2 transforms: 8 tiles side by side, one register per value.
#define WINO_AVX2 [[gnu::always_inline]] __attribute__((target("avx2,fma"))) inline

// p[k][x] = s[4 t + k], k < 6, for the 8 tiles t that start 4 floats apart, tile t in lane x =
// position(t) (0, 2, 4, 6 in the low half, 1, 3, 5, 7 in the high: a 4x4 transpose within each
// 128-bit half; s[0, 36) is read). Columns 4 and 5 are columns 0 and 1 of the rows 4 floats on.
WINO_AVX2 void patch_row8(const float* s, __m256 (&p)[6]) {
    for (int h = 0; h < 2; ++h) {
        const float* b = s + 4 * h;
        // r0 = [tile 0 columns 0-3 | tile 1], r1 = [2 | 3], r2 = [4 | 5], r3 = [6 | 7].
        const __m256 r0 = _mm256_loadu_ps(b), r1 = _mm256_loadu_ps(b + 8);
        const __m256 r2 = _mm256_loadu_ps(b + 16), r3 = _mm256_loadu_ps(b + 24);
        const __m256 lo01 = _mm256_unpacklo_ps(r0, r1), hi01 = _mm256_unpackhi_ps(r0, r1);
        const __m256 lo23 = _mm256_unpacklo_ps(r2, r3), hi23 = _mm256_unpackhi_ps(r2, r3);
        p[4 * h] = _mm256_shuffle_ps(lo01, lo23, _MM_SHUFFLE(1, 0, 1, 0));
        p[4 * h + 1] = _mm256_shuffle_ps(lo01, lo23, _MM_SHUFFLE(3, 2, 3, 2));
        if (h == 0) {
            p[2] = _mm256_shuffle_ps(hi01, hi23, _MM_SHUFFLE(1, 0, 1, 0));
            p[3] = _mm256_shuffle_ps(hi01, hi23, _MM_SHUFFLE(3, 2, 3, 2));
        }
    }
}

// transform_input for AVX2 (MR = 4): each 16-tile group as two halves of 8, the patch rows
// loaded as vectors and transposed (no per-float gathers: those took as long as the products
// on ResNet-18's Winograd layers); segments as in transform_input_avx512, whose guards `buf`
// has.
template <int MR>
__attribute__((target("avx2,fma"))) void transform_input_avx2(const layout& q, const float* x,
                                                              std::int64_t t0, std::int64_t nt,
                                                              float* v, float* buf,
                                                              std::int64_t c0, std::int64_t c1) {
    static_assert(MR == 4, "two 4-tile blocks per register");
    const padded_rows pr = rows_of(q, t0, nt);
    float* rows = buf + guard_before;
    tile_groups gr;
    group_tiles(q, pr, t0, nt, buf, gr);
    const segment* segs = gr.segs;
    const int* first = gr.first;
    const __m256i tile_of = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);  // lane x's tile
    const __m256i in_order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);  // tile t's lane
    for (std::int64_t ci = c0; ci < c1; ++ci) {
        pad_rows(q, pr, x + ci * q.h * q.w, rows);
        for (std::int64_t j0 = 0, g = 0; j0 < nt; j0 += lanes, ++g)
            for (int half = 0; half < 2 && j0 + 8 * half < nt; ++half) {
                const __m256i tiles = _mm256_add_epi32(tile_of, _mm256_set1_epi32(8 * half));
                __m256 h[6][6];  // h[r][j]: patch row r after the column transform
                for (int r = 0; r < 6; ++r) {
                    __m256 p[6];
                    patch_row8(rows + segs[first[g]].base + 32 * half + r * pr.width, p);
                    for (int s = first[g] + 1; s < first[g + 1]; ++s) {
                        if (segs[s].lane >= 8 * half + 8) break;
                        if (s + 1 < first[g + 1] && segs[s + 1].lane <= 8 * half) continue;
                        __m256 o[6];
                        patch_row8(rows + segs[s].base + 32 * half + r * pr.width, o);
                        // Lanes whose tile is at or after the segment's first.
                        const __m256 m = _mm256_castsi256_ps(_mm256_cmpgt_epi32(
                            tiles, _mm256_set1_epi32(segs[s].lane - 1)));
                        for (int k = 0; k < 6; ++k) p[k] = _mm256_blendv_ps(p[k], o[k], m);
                    }
                    input_1d(p, h[r]);
                }
                for (int j = 0; j < 6; ++j) {
                    const __m256 col[6] = {h[0][j], h[1][j], h[2][j], h[3][j], h[4][j], h[5][j]};
                    __m256 o[6];
                    input_1d(col, o);
                    for (int i = 0; i < 6; ++i) {
                        float* dst = v + (i * 6 + j) * q.v_stride() + (j0 + 8 * half) * q.c + ci * MR;
                        const __m256 t = _mm256_permutevar8x32_ps(o[i], in_order);
                        _mm_storeu_ps(dst, _mm256_castps256_ps128(t));
                        _mm_storeu_ps(dst + q.c * MR, _mm256_extractf128_ps(t, 1));
                    }
                }
            }
    }
}

struct job_args {
    const params* p;
    const micro_kernels* mk;
    const float *x, *u, *bias, *res;
    float* y;
    // Every tile block's transformed input (36 x v_stride floats each, image by image), made
    // once by the first pass when output channels are split over jobs; null: each job makes
    // its own.
    float* shared;
};

// Output channels [o0, o0 + nl) (nl <= lanes) of tile t from the products m (m[xi * mstride + l]
// is channel o0 + l): A^T m A, then ((acc + bias) + residual), then the activation: the
// epilogue order of the GEMM paths.
[[gnu::always_inline]] inline void transform_output(const layout& q, const job_args& a,
                                                    std::int64_t img, std::int64_t t,
                                                    std::int64_t o0, std::int64_t nl,
                                                    const float* m, std::int64_t mstride) {
    const std::int64_t ty = t / q.tiles_x * 4, tx = t % q.tiles_x * 4, plane = q.oh * q.ow;
    const std::int64_t first = (img * q.k + o0) * plane;
    float* out = a.y + first;
    const float* res = a.res ? a.res + first : nullptr;
    alignas(64) float s[16][lanes], tmp[36][lanes], b[lanes];
    for (int j = 0; j < 6; ++j) output_1d(m + j * mstride, 6 * mstride, tmp[j], 6 * lanes);
    for (int i = 0; i < 4; ++i) output_1d(tmp[i * 6], lanes, s[i * 4], lanes);
    for (int l = 0; l < lanes; ++l) b[l] = a.bias && l < nl ? a.bias[o0 + l] : 0.0f;
    for (int e = 0; e < 16; ++e)
        for (int l = 0; l < lanes; ++l) s[e][l] += b[l];
    const int rows = static_cast<int>(std::min<std::int64_t>(4, q.oh - ty));
    const int cols = static_cast<int>(std::min<std::int64_t>(4, q.ow - tx));
    if (res)
        for (int e = 0; e < 16; ++e) {
            if (e / 4 >= rows || e % 4 >= cols) continue;
            const std::int64_t at = (ty + e / 4) * q.ow + tx + e % 4;
            for (int l = 0; l < nl; ++l) s[e][l] += res[l * plane + at];
        }
    const act_fn f = a.p->activation;
    if (f == act_fn::relu || f == act_fn::relu6)
        for (int e = 0; e < 16; ++e)
            for (int l = 0; l < lanes; ++l)
                s[e][l] = std::min(std::max(s[e][l], 0.0f), f == act_fn::relu6 ? 6.0f : HUGE_VALF);
    else if (f != act_fn::none)
        for (int e = 0; e < 16; ++e)
            for (int l = 0; l < lanes; ++l) s[e][l] = activate(f, s[e][l]);
    for (int e = 0; e < 16; ++e) {
        if (e / 4 >= rows || e % 4 >= cols) continue;
        const std::int64_t at = (ty + e / 4) * q.ow + tx + e % 4;
        for (int l = 0; l < nl; ++l) out[l * plane + at] = s[e][l];
    }
}

// transform_output for AVX-512, for no activation, relu and relu6: the 16 channels' 4x4
// results are transposed so that each channel's rows are stored (and its residual loaded) as
// 4-float vectors instead of one float at a time.
WINO_AVX512 void transform_output_avx512(const layout& q, const job_args& a, std::int64_t img,
                                         std::int64_t t, std::int64_t o0, std::int64_t nl,
                                         const float* m, std::int64_t mstride) {
    const std::int64_t ty = t / q.tiles_x * 4, tx = t % q.tiles_x * 4, plane = q.oh * q.ow;
    const std::int64_t first = (img * q.k + o0) * plane + ty * q.ow + tx;
    const __mmask16 lanes_in = simd::first_lanes(nl);
    const __m512 bias = a.bias ? _mm512_maskz_loadu_ps(lanes_in, a.bias + o0) : _mm512_setzero_ps();
    __m512 e[16];  // e[4i + j]: output (ty + i, tx + j) of the 16 channels
    output_2d(m, mstride, bias, e);
    transpose16(e);  // e[l]: channel o0 + l, its rows of four one after another
    const int rows = static_cast<int>(std::min<std::int64_t>(4, q.oh - ty));
    const auto cols = static_cast<__mmask8>((1u << std::min<std::int64_t>(4, q.ow - tx)) - 1);
    const act_fn f = a.p->activation;
    const __m512 lo = _mm512_setzero_ps(), hi = _mm512_set1_ps(6.0f);
    for (int l = 0; l < nl; ++l) {
        alignas(64) float out[16];
        __m512 v = e[l];
        if (a.res) {
            alignas(64) float res[16] = {};
            const float* src = a.res + first + l * plane;
            for (int i = 0; i < rows; ++i)
                _mm_store_ps(res + 4 * i, _mm_maskz_loadu_ps(cols, src + i * q.ow));
            v = v + _mm512_load_ps(res);
        }
        // max(lo, v) and min(hi, v) return v when it is NaN, as std::max(v, 0) does.
        if (f != act_fn::none) v = _mm512_max_ps(lo, v);
        if (f == act_fn::relu6) v = _mm512_min_ps(hi, v);
        _mm512_store_ps(out, v);
        float* dst = a.y + first + l * plane;
        for (int i = 0; i < rows; ++i) _mm_mask_storeu_ps(dst + i * q.ow, cols, _mm_load_ps(out + 4 * i));
    }
}

// Tiles [t0, t0 + nt) times output channels [k0, k0 + nk) of the job's products (row stride ldc).
__attribute__((target("avx512f,avx512vl,avx512dq,fma"))) void output_tiles_avx512(
    const layout& q, const job_args& a, std::int64_t img, std::int64_t t0, std::int64_t nt,
    std::int64_t k0, std::int64_t nk, const float* m, std::int64_t ldc) {
    for (std::int64_t j = 0; j < nt; ++j)
        for (std::int64_t o = 0; o < nk; o += lanes)
            transform_output_avx512(q, a, img, t0 + j, k0 + o, std::min<std::int64_t>(lanes, nk - o),
                                    m + j * ldc + o, q.m_stride(ldc));
}

// transform_output for AVX2, for no activation, relu and relu6, 8 channels (nl <= 8) at a time:
// the 8 channels' 4x4 results are transposed so that each channel's rows are stored (and its
// residual loaded) as 4-float vectors instead of one float at a time.
WINO_AVX2 void transform_output_avx2(const layout& q, const job_args& a, std::int64_t img,
                                     std::int64_t t, std::int64_t o0, std::int64_t nl,
                                     const float* m, std::int64_t mstride) {
    const std::int64_t ty = t / q.tiles_x * 4, tx = t % q.tiles_x * 4, plane = q.oh * q.ow;
    const std::int64_t first = (img * q.k + o0) * plane + ty * q.ow + tx;
    alignas(32) float bias_lanes[8] = {};
    for (int l = 0; l < nl && a.bias; ++l) bias_lanes[l] = a.bias[o0 + l];
    __m256 e[16];  // e[4i + j]: output (ty + i, tx + j) of the 8 channels
    output_2d(m, mstride, _mm256_load_ps(bias_lanes), e);
    transpose8(e);  // e[8h + l]: channel o0 + l, its rows 2h and 2h + 1
    transpose8(e + 8);
    const int rows = static_cast<int>(std::min<std::int64_t>(4, q.oh - ty));
    const __m128i cols = _mm_cmpgt_epi32(
        _mm_set1_epi32(static_cast<int>(std::min<std::int64_t>(4, q.ow - tx))),
        _mm_setr_epi32(0, 1, 2, 3));
    // Masked stores are microcoded on AMD Zen (one every 10-20 cycles): whole rows of four,
    // every tile but a plane's last column when the width is not a multiple of 4, take plain ones.
    const bool full = q.ow - tx >= 4;
    const act_fn f = a.p->activation;
    const __m128 lo = _mm_setzero_ps(), hi = _mm_set1_ps(6.0f);
    for (int l = 0; l < nl; ++l)
        for (int i = 0; i < rows; ++i) {
            const __m256 pair = e[8 * (i / 2) + l];
            __m128 v = i % 2 ? _mm256_extractf128_ps(pair, 1) : _mm256_castps256_ps128(pair);
            const std::int64_t at = first + l * plane + i * q.ow;
            if (a.res) v = v + (full ? _mm_loadu_ps(a.res + at) : _mm_maskload_ps(a.res + at, cols));
            // max(lo, v) and min(hi, v) return v when it is NaN, as std::max(v, 0) does.
            if (f != act_fn::none) v = _mm_max_ps(lo, v);
            if (f == act_fn::relu6) v = _mm_min_ps(hi, v);
            if (full)
                _mm_storeu_ps(a.y + at, v);
            else
                _mm_maskstore_ps(a.y + at, cols, v);
        }
}

// Tiles [t0, t0 + nt) times output channels [k0, k0 + nk) of the job's products (row stride ldc).
__attribute__((target("avx2,fma"))) void output_tiles_avx2(const layout& q, const job_args& a,
                                                           std::int64_t img, std::int64_t t0,
                                                           std::int64_t nt, std::int64_t k0,
                                                           std::int64_t nk, const float* m,
                                                           std::int64_t ldc) {
    for (std::int64_t j = 0; j < nt; ++j)
        for (std::int64_t o = 0; o < nk; o += 8)
            transform_output_avx2(q, a, img, t0 + j, k0 + o, std::min<std::int64_t>(8, nk - o),
                                  m + j * ldc + o, q.m_stride(ldc));
}

// Input channels [c0, c1) of tile block tblk of image img, transformed into v (`buf`: the
// padded rows' scratch).
template <int MR, bool AVX512, bool AVX2>
[[gnu::always_inline]] inline void transform_block(const layout& q, const job_args& a,
                                                   std::int64_t img, std::int64_t tblk,
                                                   std::int64_t c0, std::int64_t c1, float* v,
                                                   float* buf) {
    const std::int64_t t0 = q.first_tile(tblk), nt = q.tiles_in(tblk);
    const float* x = a.x + img * q.c * q.h * q.w;
    if constexpr (AVX512)
        transform_input_avx512<MR>(q, x, t0, nt, v, buf, c0, c1);
    else if constexpr (AVX2)
        transform_input_avx2<MR>(q, x, t0, nt, v, buf, c0, c1);
    else
        transform_input<MR>(q, x, t0, nt, v, buf, c0, c1);
}

// The first pass when jobs share the input transform: task t is channel chunk t % chunks of
// tile block t / chunks (image by image) into a.shared.
constexpr std::int64_t shared_chunk = 32;  // input channels per task
template <int MR, bool AVX512, bool AVX2 = false>
[[gnu::always_inline]] inline void run_shared(const layout& q, const job_args& a, std::int64_t t,
                                              float* buf) {
    const std::int64_t chunks = (q.c + shared_chunk - 1) / shared_chunk, c0 = t % chunks * shared_chunk;
    const std::int64_t block = t / chunks, img = block / q.tile_blocks, tblk = block % q.tile_blocks;
    transform_block<MR, AVX512, AVX2>(q, a, img, tblk, c0, std::min(q.c, c0 + shared_chunk),
                                      a.shared + block * 36 * q.v_stride(), buf);
}

// One job: input transform, the 36 products on the micro-kernels (tiles broadcast, output
// channels in the vector lanes), output transform. `v` and `m` are the caller's scratch.
template <int MR, bool AVX512, bool AVX2 = false>
[[gnu::always_inline]] inline void run_job(const layout& q, const job_args& a, std::int64_t job,
                                           float* v, float* m) {
    const std::int64_t kblk = job % q.k_blocks, tblk = job / q.k_blocks % q.tile_blocks,
                       img = job / q.k_blocks / q.tile_blocks;
    const std::int64_t t0 = q.first_tile(tblk), nt = q.tiles_in(tblk);
    const std::int64_t k0 = kblk * q.kb, nk = std::min(q.kb, q.k - k0);
    const std::int64_t panels = (q.k + pack_nr - 1) / pack_nr, pa = k0 / pack_nr;
    const std::int64_t pn = (nk + pack_nr - 1) / pack_nr, ldc = pn * pack_nr;
    const std::int64_t blocks = (nt + MR - 1) / MR;
    if (a.shared)
        v = a.shared + (img * q.tile_blocks + tblk) * 36 * q.v_stride();
    else
        transform_block<MR, AVX512, AVX2>(q, a, img, tblk, 0, q.c, v, v + 36 * q.v_stride());
    const auto kernel = a.mk->fn[MR];
    for (int xi = 0; xi < 36; ++xi)
        for (std::int64_t pl = 0; pl < pn; ++pl) {
            const float* u = a.u + ((xi * panels + pa + pl) * q.c) * pack_nr;
            for (std::int64_t blk = 0; blk < blocks; ++blk)
                kernel(q.c, v + xi * q.v_stride() + blk * MR * q.c, u,
                       m + xi * q.m_stride(ldc) + blk * MR * ldc + pl * pack_nr, ldc, false);
        }
    const act_fn f = a.p->activation;
    if constexpr (AVX512)
        if (f == act_fn::none || f == act_fn::relu || f == act_fn::relu6)
            return output_tiles_avx512(q, a, img, t0, nt, k0, nk, m, ldc);
    if constexpr (AVX2)
        if (f == act_fn::none || f == act_fn::relu || f == act_fn::relu6)
            return output_tiles_avx2(q, a, img, t0, nt, k0, nk, m, ldc);
    for (std::int64_t j = 0; j < nt; ++j)
        for (std::int64_t o = 0; o < nk; o += lanes)
            transform_output(q, a, img, t0 + j, k0 + o, std::min<std::int64_t>(lanes, nk - o),
                             m + j * ldc + o, q.m_stride(ldc));
}

// The same code compiled for three instruction sets; the vectoriser widens the lane loops.
using job_fn = void (*)(const layout&, const job_args&, std::int64_t, float*, float*);
__attribute__((target(CNNKIT_CONV_AVX512_TARGET))) void
job_avx512(const layout& q, const job_args& a, std::int64_t job, float* v, float* m) {
    run_job<8, true>(q, a, job, v, m);
}
__attribute__((target("avx2,fma"))) void job_avx2(const layout& q, const job_args& a,
                                                  std::int64_t job, float* v, float* m) {
    run_job<4, false, true>(q, a, job, v, m);
}
using shared_fn = void (*)(const layout&, const job_args&, std::int64_t, float*);
__attribute__((target(CNNKIT_CONV_AVX512_TARGET))) void
shared_avx512(const layout& q, const job_args& a, std::int64_t t, float* buf) {
    run_shared<8, true>(q, a, t, buf);
}
__attribute__((target("avx2,fma"))) void shared_avx2(const layout& q, const job_args& a,
                                                     std::int64_t t, float* buf) {
    run_shared<4, false, true>(q, a, t, buf);
}
void shared_generic(const layout& q, const job_args& a, std::int64_t t, float* buf) {
    run_shared<4, false>(q, a, t, buf);
}
void job_generic(const layout& q, const job_args& a, std::int64_t job, float* v, float* m) {
    run_job<4, false>(q, a, job, v, m);
}

}  // namespace

bool winograd_applies(const params& p, const geometry& g, algo mode) {
    if (mode == algo::gemm || mode == algo::im2col || mode == algo::winograd2 ||
        p.kernel != glm::ivec2{3, 3} || p.stride != glm::ivec2{1, 1} ||
        p.dilation != glm::ivec2{1, 1} || p.groups != 1)
        return false;
    const layout q = layout_of(g);
    // Measured on VGG-16, ResNet-18 and GoogLeNet layers (README, CPU speed): Winograd beats the
    // direct path (packed.cpp) by 1.2-1.8x from 56x56 outputs up, and by 1.25-1.45x on 28x28 from
    // 32 input channels up. At 14x14 (16 tiles) it wins too since the products' rows were put a
    // cache line apart and the input transform is shared between output-channel jobs:
    // 0.70-0.83x the time on ResNet-18/50, GoogLeNet and VGG-16 layers at 1 and 2 threads on
    // AVX-512 (Xeon, 2026-11-23), 0.57-0.82x on AVX2 (AMD EPYC, Zen 3). At 7x7 it loses
    // (1.9x on AVX-512, 1.1-1.25x on AVX2: the products become thin and the transformed filters,
    // 4x the weights, stream from memory), and on 28x28 at 16 input channels.
    const std::int64_t few_tiles = 16;
    return mode == algo::winograd ||
           (q.c >= 16 && q.k >= 16 && (q.tiles >= 196 || (q.c >= 32 && q.tiles >= few_tiles)));
}

void winograd_prepare(const params& p, const sdk::shape& in, const float* w, winograd_weights& s) {
    s = winograd_weights{};
    const geometry geo = geometry_of(p, in);
    if (winograd2_applies(p, geo, algo_from_env())) return winograd2_prepare(p, in, w, s);
    if (!winograd_applies(p, geo, algo_from_env())) return;
    const layout q = layout_of(geo);
    static const double g[6][3] = {{1.0 / 4, 0, 0},
                                   {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                   {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                   {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                   {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                   {0, 0, 1}};
    s.k = q.k, s.c = q.c;
    s.isa = isa_for_cpu();
    const std::int64_t panels = (q.k + pack_nr - 1) / pack_nr;
    s.u_skip = s.isa == isa_avx2 ? 4 : 0;
    s.u.assign(static_cast<std::size_t>(s.u_skip + 36 * panels * pack_nr * q.c), 0.0f);
    float* u = s.u.data() + s.u_skip;
    for (std::int64_t o = 0; o < q.k; ++o)
        for (std::int64_t ci = 0; ci < q.c; ++ci) {
            double t[6][6];
            winograd_filter(g, w + (o * q.c + ci) * 9, t);
            for (int i = 0; i < 6; ++i)
                for (int j = 0; j < 6; ++j)
                    u[(((i * 6 + j) * panels + o / pack_nr) * q.c + ci) * pack_nr +
                      o % pack_nr] = static_cast<float>(t[i][j]);
        }
}

bool winograd_run(const params& p, const winograd_weights& s, const sdk::call& c) {
    if (s.u.empty()) return false;
    if (s.tile == 2) return winograd2_run(p, s, c);
    const geometry g = geometry_of(p, c.in(0).shape());
    if (g.c != s.c || g.oc != s.k) return false;
    const layout q = layout_of(g);
    const job_args a{&p, &micro_kernels_for(s.isa), c.in(0).f32(), s.u.data() + s.u_skip,
                     p.bias ? c.w(1).f32() : nullptr,
                     p.residual ? c.in(1).f32() : nullptr, c.out(0).f32(),
                     q.k_blocks > 1 ? static_cast<float*>(c.workspace) : nullptr};
    const bool avx512 = s.isa == isa_avx512, avx2 = s.isa == isa_avx2;
    const job_fn fn = avx512 ? job_avx512 : avx2 ? job_avx2 : job_generic;
    const auto v_size =
        static_cast<std::size_t>(36 * q.v_stride() + guard_before + padded_floats(q) + guard_after);
    const auto m_size = static_cast<std::size_t>(36 * q.m_stride(q.kb));
    // Per thread, grown once to the largest layer (a job runs no nested parallel work).
    const auto scratch = [&]() -> std::pair<float*, float*> {
        thread_local line_vector<float> v, m;
        if (v.size() < v_size) v.resize(std::max<std::size_t>(v_size, 1 << 20));
        if (m.size() < m_size) m.resize(std::max<std::size_t>(m_size, 36 * 8192));
        return {v.data(), m.data()};
    };
    if (a.shared) {
        const shared_fn first = avx512 ? shared_avx512 : avx2 ? shared_avx2 : shared_generic;
        const std::int64_t chunks = (q.c + shared_chunk - 1) / shared_chunk;
        c.host.parallel_for(0, q.n * q.tile_blocks * chunks, [&](std::int64_t t) {
            first(q, a, t, scratch().first + 36 * q.v_stride());
        });
    }
    c.host.parallel_for(0, q.n * q.tile_blocks * q.k_blocks, [&](std::int64_t job) {
        const auto [v, m] = scratch();
        fn(q, a, job, v, m);
    });
    return true;
}

std::int64_t winograd_workspace_floats(const geometry& g) {
    const layout q = layout_of(g);
    return q.k_blocks > 1 ? q.n * q.tile_blocks * 36 * q.v_stride() : 0;
}

}  // namespace cnnkit::plugins::conv
