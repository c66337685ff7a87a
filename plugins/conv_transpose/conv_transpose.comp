// conv_transpose.comp: transposed convolution as a gather, one invocation per output element:
// y[oc, oy, ox] = bias + sum over the group's input channels and the taps that land on it.
#version 450
layout(local_size_x = 256) in;
layout(constant_id = 0) const int KH = 1;
layout(constant_id = 1) const int KW = 1;
layout(constant_id = 2) const int SH = 1;
layout(constant_id = 3) const int SW = 1;
layout(constant_id = 4) const int DH = 1;
layout(constant_id = 5) const int DW = 1;
layout(constant_id = 6) const bool HAS_BIAS = false;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };  // [C, ocg, KH, KW]
layout(std430, binding = 2) readonly buffer B { float bias[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform P { int cg, h, w, oh, ow, ocg, groups, pad_t, pad_l, total; } p;

void main() {
    const int o = int(gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 256u);
    if (o >= p.total) return;
    const int ox = o % p.ow, oy = (o / p.ow) % p.oh;
    const int oc = (o / (p.ow * p.oh)) % (p.groups * p.ocg), img = o / (p.ow * p.oh * p.groups * p.ocg);
    const int g = oc / p.ocg, m = oc % p.ocg;
    float acc = HAS_BIAS ? bias[oc] : 0.0;
    for (int ky = 0; ky < KH; ++ky) {
        const int ty = oy + p.pad_t - ky * DH;
        if (ty < 0 || ty % SH != 0 || ty / SH >= p.h) continue;
        const int iy = ty / SH;
        for (int kx = 0; kx < KW; ++kx) {
            const int tx = ox + p.pad_l - kx * DW;
            if (tx < 0 || tx % SW != 0 || tx / SW >= p.w) continue;
            const int ix = tx / SW;
            for (int ci = 0; ci < p.cg; ++ci) {
                const int c = g * p.cg + ci;
                acc += x[((img * p.groups * p.cg + c) * p.h + iy) * p.w + ix] *
                       w[((c * p.ocg + m) * KH + ky) * KW + kx];
            }
        }
    }
    y[o] = acc;
}
