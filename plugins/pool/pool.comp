// pool.comp: max / avg / l2 pooling (ONNX semantics: dilation, pads, count_include_pad, argmax
// as a flat NCHW index written as two 32-bit words), one invocation per output element.
#version 450
layout(local_size_x = 256) in;
layout(constant_id = 0) const int MODE = 0;  // max, avg, l2
layout(constant_id = 1) const bool INCLUDE_PAD = false;
layout(constant_id = 2) const bool INDICES = false;
layout(constant_id = 3) const bool COLUMN_MAJOR = false;  // indices count h + w * H (ONNX storage_order 1)
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(std430, binding = 2) writeonly buffer I { uint idx[]; };
layout(push_constant) uniform P {
    int h, w, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, total;
} p;

void main() {
    const int o = int(gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 256u);
    if (o >= p.total) return;
    const int ox = o % p.ow, oy = (o / p.ow) % p.oh, plane = o / (p.ow * p.oh);
    const int ys = oy * p.sh - p.pt, xs = ox * p.sw - p.pl;
    const int base = plane * p.h * p.w;
    float best = -1.0 / 0.0, acc = 0.0;
    int at = -1, taps = 0, padded_y = 0, padded_x = 0;
    for (int ky = 0; ky < p.kh; ++ky) {
        const int iy = ys + ky * p.dh;
        if (iy < p.h + p.pb) ++padded_y;
        if (iy < 0 || iy >= p.h) continue;
        for (int kx = 0; kx < p.kw; ++kx) {
            const int ix = xs + kx * p.dw;
            if (ix < 0 || ix >= p.w) continue;
            const int i = iy * p.w + ix;
            const float v = x[base + i];
            if (at < 0) at = i;
            if (v > best) { best = v; at = i; }
            acc += MODE == 2 ? v * v : v;
            ++taps;
        }
    }
    for (int kx = 0; kx < p.kw; ++kx)
        if (xs + kx * p.dw < p.w + p.pr) ++padded_x;
    if (MODE == 0) {
        y[o] = best;
        const int rel = COLUMN_MAJOR && at >= 0 ? (at / p.w) + (at % p.w) * p.h : at;
        if (INDICES) { idx[2 * o] = uint(base + rel); idx[2 * o + 1] = 0u; }
    } else if (MODE == 2) {
        y[o] = sqrt(acc);
    } else {
        y[o] = acc / float(INCLUDE_PAD ? padded_y * padded_x : taps);
    }
}
