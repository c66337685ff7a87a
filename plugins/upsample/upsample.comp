// upsample.comp: nearest / bilinear resize with ONNX coordinate transforms and nearest modes,
// one invocation per output element.
#version 450
layout(local_size_x = 256) in;
layout(constant_id = 0) const bool BILINEAR = false;
layout(constant_id = 1) const int COORD = 0;    // asymmetric, half_pixel, pytorch_half_pixel, align_corners
layout(constant_id = 2) const int NEAREST = 0;  // floor, round_prefer_floor, round_prefer_ceil, ceil
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform P { int h, w, oh, ow, total; float scale_h, scale_w; } p;

float source(int o, int n, int on, float scale) {
    const float f = float(o);
    if (COORD == 1) return (f + 0.5) / scale - 0.5;
    if (COORD == 2) return on > 1 ? (f + 0.5) / scale - 0.5 : 0.0;
    // ONNX divides by n * scale - 1 (not on - 1): they differ when a scale gives a fractional size.
    if (COORD == 3) return on == 1 ? 0.0 : f * float(n - 1) / (float(n) * scale - 1.0);
    return f / scale;
}

int nearest(float s, int n) {
    float r = NEAREST == 1 ? ceil(s - 0.5) : NEAREST == 2 ? floor(s + 0.5) : NEAREST == 3 ? ceil(s) : floor(s);
    return clamp(int(r), 0, n - 1);
}

void main() {
    const int o = int(gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 256u);
    if (o >= p.total) return;
    const int ox = o % p.ow, oy = (o / p.ow) % p.oh, plane = o / (p.ow * p.oh);
    const float sy = source(oy, p.h, p.oh, p.scale_h), sx = source(ox, p.w, p.ow, p.scale_w);
    const int base = plane * p.h * p.w;
    if (!BILINEAR) {
        y[o] = x[base + nearest(sy, p.h) * p.w + nearest(sx, p.w)];
        return;
    }
    const float cy = clamp(sy, 0.0, float(p.h - 1)), cx = clamp(sx, 0.0, float(p.w - 1));
    const int y0 = min(int(cy), p.h - 1), x0 = min(int(cx), p.w - 1);
    const int y1 = min(y0 + 1, p.h - 1), x1 = min(x0 + 1, p.w - 1);
    const float v = cy - float(y0), u = cx - float(x0);
    const float a = x[base + y0 * p.w + x0], b = x[base + y0 * p.w + x1];
    const float c = x[base + y1 * p.w + x0], d = x[base + y1 * p.w + x1];
    const float top = a + u * (b - a), bottom = c + u * (d - c);
    y[o] = top + v * (bottom - top);
}
