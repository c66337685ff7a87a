// gemv.comp: fc at a batch of at most 4 (Y = X W^T + bias, X m x k, W n x k): a matrix-vector
// product has too few rows for gemm.comp's 64x64 tiles (one useful row in 64, and n / 64
// workgroups), so here each workgroup reads ROWS rows of W front to back, its 256 invocations
// striding along k (reads coalesced), and sums their partial products in shared memory.
#version 450
layout(local_size_x = 256) in;
layout(constant_id = 0) const bool HAS_C = false;
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) readonly buffer C { float c[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform P { int m, n, k; } p;

const int ROWS = 4, MMAX = 4;  // fc_vk.cpp's gemv_rows and gemv_batch
shared float part[ROWS * MMAX][256];

void main() {
    const int t = int(gl_LocalInvocationID.x), j0 = int(gl_WorkGroupID.x) * ROWS;
    float acc[ROWS][MMAX];
    for (int r = 0; r < ROWS; ++r) for (int i = 0; i < MMAX; ++i) acc[r][i] = 0.0;
    for (int kk = t; kk < p.k; kk += 256) {
        float xv[MMAX];
        for (int i = 0; i < MMAX; ++i) xv[i] = i < p.m ? a[i * p.k + kk] : 0.0;
        for (int r = 0; r < ROWS; ++r) {
            if (j0 + r >= p.n) break;
            const float w = b[(j0 + r) * p.k + kk];
            for (int i = 0; i < MMAX; ++i) acc[r][i] += w * xv[i];
        }
    }
    for (int r = 0; r < ROWS; ++r) for (int i = 0; i < MMAX; ++i) part[r * MMAX + i][t] = acc[r][i];
    barrier();
    for (int s = 128; s > 0; s >>= 1) {
        if (t < s)
            for (int q = 0; q < ROWS * MMAX; ++q) part[q][t] += part[q][t + s];
        barrier();
    }
    if (t < ROWS * MMAX) {
        const int i = t % MMAX, j = j0 + t / MMAX;
        if (i < p.m && j < p.n) y[i * p.n + j] = part[t][0] + (HAS_C ? c[j] : 0.0);
    }
}
