// conv.comp: 2-D convolution as an implicit GEMM per (image, group): rows = output channels,
// columns = output pixels, K = Cg * KH * KW. A 16x16 workgroup computes a 64x64 output tile,
// each invocation a 4x4 register block, with K staged through shared memory 16 at a time. The
// kernel geometry is specialised, so a 1x1 stride-1 convolution compiles to a plain GEMM.
#version 450
layout(local_size_x = 16, local_size_y = 16) in;
layout(constant_id = 0) const int KH = 1;
layout(constant_id = 1) const int KW = 1;
layout(constant_id = 2) const int SH = 1;
layout(constant_id = 3) const int SW = 1;
layout(constant_id = 4) const int DH = 1;
layout(constant_id = 5) const int DW = 1;
layout(constant_id = 6) const int ACT = 0;  // none, relu, relu6, tanh, sigmoid
layout(constant_id = 7) const bool HAS_BIAS = false;
layout(constant_id = 8) const bool HAS_RES = false;  // fused residual: y = act(conv + r)
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) readonly buffer B { float bias[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
layout(std430, binding = 4) readonly buffer R { float r[]; };  // the residual (x when unused)
layout(push_constant) uniform P { int cg, h, w, oh, ow, ocg, groups, pad_t, pad_l; } p;

shared float As[16][64];
shared float Bs[16][64];

float act(float v) {
    if (ACT == 1) return max(v, 0.0);
    if (ACT == 2) return clamp(v, 0.0, 6.0);
    if (ACT == 3) { float t = exp(-2.0 * abs(v)); return sign(v) * (1.0 - t) / (1.0 + t); }
    if (ACT == 4) return 1.0 / (1.0 + exp(-v));
    return v;
}

void main() {
    const int tx = int(gl_LocalInvocationID.x), ty = int(gl_LocalInvocationID.y);
    const int tid = ty * 16 + tx;
    const int n0 = int(gl_WorkGroupID.x) * 64, m0 = int(gl_WorkGroupID.y) * 64;
    const int img = int(gl_WorkGroupID.z) / p.groups, g = int(gl_WorkGroupID.z) % p.groups;
    const int K = p.cg * KH * KW, N = p.oh * p.ow;
    const int xbase = (img * p.groups + g) * p.cg * p.h * p.w;
    const int wbase = g * p.ocg * K;
    float acc[4][4];
    for (int i = 0; i < 4; ++i) for (int j = 0; j < 4; ++j) acc[i][j] = 0.0;
    for (int k0 = 0; k0 < K; k0 += 16) {
        for (int r = 0; r < 4; ++r) {
            const int idx = tid + 256 * r;
            const int kk = idx % 16, mm = idx / 16, m = m0 + mm, k = k0 + kk;
            As[kk][mm] = (m < p.ocg && k < K) ? w[wbase + m * K + k] : 0.0;
        }
        for (int r = 0; r < 4; ++r) {
            const int idx = tid + 256 * r;
            const int nn = idx % 64, kk = idx / 64, n = n0 + nn, k = k0 + kk;
            float v = 0.0;
            if (n < N && k < K) {
                const int ci = k / (KH * KW), rem = k % (KH * KW);
                const int iy = (n / p.ow) * SH - p.pad_t + (rem / KW) * DH;
                const int ix = (n % p.ow) * SW - p.pad_l + (rem % KW) * DW;
                if (iy >= 0 && iy < p.h && ix >= 0 && ix < p.w)
                    v = x[xbase + (ci * p.h + iy) * p.w + ix];
            }
            Bs[kk][nn] = v;
        }
        barrier();
        for (int kk = 0; kk < 16; ++kk) {
            float a[4], b[4];
            for (int i = 0; i < 4; ++i) a[i] = As[kk][ty + 16 * i];
            for (int j = 0; j < 4; ++j) b[j] = Bs[kk][tx + 16 * j];
            for (int i = 0; i < 4; ++i) for (int j = 0; j < 4; ++j) acc[i][j] += a[i] * b[j];
        }
        barrier();
    }
    for (int i = 0; i < 4; ++i) {
        const int m = m0 + ty + 16 * i;
        if (m >= p.ocg) continue;
        const int oc = g * p.ocg + m;
        const float b = HAS_BIAS ? bias[oc] : 0.0;
        for (int j = 0; j < 4; ++j) {
            const int n = n0 + tx + 16 * j;
            if (n >= N) continue;
            const int at = (img * p.groups * p.ocg + oc) * N + n;
            y[at] = act(acc[i][j] + b + (HAS_RES ? r[at] : 0.0));
        }
    }
}
