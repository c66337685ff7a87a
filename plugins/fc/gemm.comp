// gemm.comp: Y = alpha * op(A) op(B) + beta * C (C broadcast through strides; fc passes its
// bias as C). A 16x16 workgroup computes a 64x64 tile of Y, each invocation a 4x4 register
// block, K staged through shared memory 16 at a time.
#version 450
layout(local_size_x = 16, local_size_y = 16) in;
layout(constant_id = 0) const bool TRANS_A = false;
layout(constant_id = 1) const bool TRANS_B = false;
layout(constant_id = 2) const bool HAS_C = false;
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) readonly buffer C { float c[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform P { int m, n, k, c_sm, c_sn; float alpha, beta; } p;

shared float As[16][64];
shared float Bs[16][64];

void main() {
    const int tx = int(gl_LocalInvocationID.x), ty = int(gl_LocalInvocationID.y);
    const int tid = ty * 16 + tx;
    const int n0 = int(gl_WorkGroupID.x) * 64, m0 = int(gl_WorkGroupID.y) * 64;
    float acc[4][4];
    for (int i = 0; i < 4; ++i) for (int j = 0; j < 4; ++j) acc[i][j] = 0.0;
    for (int k0 = 0; k0 < p.k; k0 += 16) {
        for (int r = 0; r < 4; ++r) {
            const int idx = tid + 256 * r;
            // Walk along memory: k fastest unless A is transposed (then m is contiguous).
            const int kk = TRANS_A ? idx / 64 : idx % 16, mm = TRANS_A ? idx % 64 : idx / 16;
            const int i = m0 + mm, k = k0 + kk;
            As[kk][mm] = (i < p.m && k < p.k) ? a[TRANS_A ? k * p.m + i : i * p.k + k] : 0.0;
        }
        for (int r = 0; r < 4; ++r) {
            const int idx = tid + 256 * r;
            const int nn = TRANS_B ? idx / 16 : idx % 64, kk = TRANS_B ? idx % 16 : idx / 64;
            const int j = n0 + nn, k = k0 + kk;
            Bs[kk][nn] = (j < p.n && k < p.k) ? b[TRANS_B ? j * p.k + k : k * p.n + j] : 0.0;
        }
        barrier();
        for (int kk = 0; kk < 16; ++kk) {
            float av[4], bv[4];
            for (int i = 0; i < 4; ++i) av[i] = As[kk][ty + 16 * i];
            for (int j = 0; j < 4; ++j) bv[j] = Bs[kk][tx + 16 * j];
            for (int i = 0; i < 4; ++i) for (int j = 0; j < 4; ++j) acc[i][j] += av[i] * bv[j];
        }
        barrier();
    }
    for (int i = 0; i < 4; ++i) {
        const int row = m0 + ty + 16 * i;
        if (row >= p.m) continue;
        for (int j = 0; j < 4; ++j) {
            const int col = n0 + tx + 16 * j;
            if (col >= p.n) continue;
            float v = p.alpha * acc[i][j];
            if (HAS_C) v += p.beta * c[row * p.c_sm + col * p.c_sn];
            y[row * p.n + col] = v;
        }
    }
}
