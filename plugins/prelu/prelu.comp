// prelu.comp: y = x >= 0 ? x : slope * x, slope read through rank-8 strides (0 = broadcast).
#version 450
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer S { float s[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform P { ivec4 dims[2]; ivec4 ss[2]; int total; } p;

void main() {
    const int i = int(gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 256u);
    if (i >= p.total) return;
    int r = i, o = 0;
    for (int d = 7; d >= 0; --d) {
        const int dim = p.dims[d / 4][d % 4];
        o += (r % dim) * p.ss[d / 4][d % 4];
        r /= dim;
    }
    const float v = x[i];
    y[i] = v >= 0.0 ? v : s[o] * v;
}
