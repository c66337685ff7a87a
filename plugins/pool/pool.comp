// pool.comp: max / avg / l2 pooling (ONNX semantics: dilation, pads, count_include_pad, argmax
// as a flat NCHW index written as two 32-bit words). VEC: 0 = one invocation per output element;
// 1 (output width a multiple of 4) = one invocation per 4 adjacent outputs along the width,
// stored as one vec4 (binding 3); 2 (global pooling, plane a multiple of 4) = one invocation per
// plane, reading it as vec4 (binding 4). Taps are visited in the same order on every path, so the
// first maximum (and its index) is the CPU's.
#version 450
layout(local_size_x = 256) in;
layout(constant_id = 0) const int MODE = 0;  // max, avg, l2
layout(constant_id = 1) const bool INCLUDE_PAD = false;
layout(constant_id = 2) const bool INDICES = false;
layout(constant_id = 3) const bool COLUMN_MAJOR = false;  // indices count h + w * H (ONNX storage_order 1)
layout(constant_id = 4) const int VEC = 0;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(std430, binding = 2) writeonly buffer I { uint idx[]; };
layout(std430, binding = 3) writeonly buffer Y4 { vec4 y4[]; };
layout(std430, binding = 4) readonly buffer X4 { vec4 x4[]; };
layout(push_constant) uniform P {
    int h, w, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, total;  // total: invocations
} p;

struct window {
    float best, acc;
    int at, taps;
};

window start() { return window(-1.0 / 0.0, 0.0, -1, 0); }

void tap(inout window s, float v, int i) {
    if (s.at < 0) s.at = i;
    if (v > s.best) { s.best = v; s.at = i; }
    s.acc += MODE == 2 ? v * v : v;
    ++s.taps;
}

// The value of one output and, for max with indices, its index (o: flat output, base: plane start).
float finish(window s, int o, int base, int padded) {
    if (MODE == 0) {
        if (INDICES) {
            const int rel = COLUMN_MAJOR && s.at >= 0 ? (s.at / p.w) + (s.at % p.w) * p.h : s.at;
            idx[2 * o] = uint(base + rel);
            idx[2 * o + 1] = 0u;
        }
        return s.best;
    }
    if (MODE == 2) return sqrt(s.acc);
    return s.acc / float(INCLUDE_PAD ? padded : s.taps);
}

int padded_x(int xs) {
    int n = 0;
    for (int kx = 0; kx < p.kw; ++kx)
        if (xs + kx * p.dw < p.w + p.pr) ++n;
    return n;
}

void main() {
    const int g = int(gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 256u);
    if (g >= p.total) return;
    if (VEC == 2) {  // global: the whole plane g, 4 elements a load
        const int base = g * p.h * p.w, quads = p.h * p.w / 4;
        window s = start();
        for (int q = 0; q < quads; ++q) {
            const vec4 v = x4[base / 4 + q];
            tap(s, v.x, 4 * q);
            tap(s, v.y, 4 * q + 1);
            tap(s, v.z, 4 * q + 2);
            tap(s, v.w, 4 * q + 3);
        }
        y[g] = finish(s, g, base, p.h * p.w);
        return;
    }
    const int n = VEC == 1 ? 4 : 1;
    const int o = g * n;  // the first output (the row's outputs o .. o + n - 1 share oy and plane)
    const int ox = o % p.ow, oy = (o / p.ow) % p.oh, plane = o / (p.ow * p.oh);
    const int ys = oy * p.sh - p.pt;
    const int base = plane * p.h * p.w;
    window s[4] = window[4](start(), start(), start(), start());
    int padded_y = 0;
    for (int ky = 0; ky < p.kh; ++ky) {
        const int iy = ys + ky * p.dh;
        if (iy < p.h + p.pb) ++padded_y;
        if (iy < 0 || iy >= p.h) continue;
        for (int j = 0; j < n; ++j) {
            const int xs = (ox + j) * p.sw - p.pl;
            for (int kx = 0; kx < p.kw; ++kx) {
                const int ix = xs + kx * p.dw;
                if (ix < 0 || ix >= p.w) continue;
                tap(s[j], x[base + iy * p.w + ix], iy * p.w + ix);
            }
        }
    }
    if (VEC == 1) {
        vec4 r;
        for (int j = 0; j < 4; ++j)
            r[j] = finish(s[j], o + j, base, padded_y * padded_x((ox + j) * p.sw - p.pl));
        y4[g] = r;
    } else {
        y[o] = finish(s[0], o, base, padded_y * padded_x(ox * p.sw - p.pl));
    }
}
