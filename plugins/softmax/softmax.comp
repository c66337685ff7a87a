// softmax.comp: softmax / log_softmax along one axis of a tensor viewed as [outer, len, inner]:
// one workgroup per (outer, inner) column, max and sum reduced through shared memory.
#version 450
layout(local_size_x = 256) in;
layout(constant_id = 0) const bool LOG = false;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform P { int len, inner, columns; } p;

shared float red[256];

void main() {
    const int col = int(gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x);
    if (col >= p.columns) return;  // uniform across the workgroup
    const int t = int(gl_LocalInvocationID.x);
    const int base = (col / p.inner) * p.len * p.inner + col % p.inner;
    float m = -1.0 / 0.0;
    for (int l = t; l < p.len; l += 256) m = max(m, x[base + l * p.inner]);
    red[t] = m;
    barrier();
    for (int s = 128; s > 0; s >>= 1) {
        if (t < s) red[t] = max(red[t], red[t + s]);
        barrier();
    }
    m = red[0];
    barrier();
    float sum = 0.0;
    for (int l = t; l < p.len; l += 256) sum += exp(x[base + l * p.inner] - m);
    red[t] = sum;
    barrier();
    for (int s = 128; s > 0; s >>= 1) {
        if (t < s) red[t] += red[t + s];
        barrier();
    }
    sum = red[0];
    for (int l = t; l < p.len; l += 256) {
        const float v = x[base + l * p.inner] - m;
        y[base + l * p.inner] = LOG ? v - log(sum) : exp(v) / sum;
    }
}
