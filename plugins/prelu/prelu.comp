// prelu.comp: y = x >= 0 ? x : slope * x, slope read through rank-8 strides (0 = broadcast).
// VEC4 (every run of elements sharing one slope a multiple of 4 long): one invocation per 4
// elements through vec4 views of x and y (bindings 3 and 4), one slope for the 4.
#version 450
layout(local_size_x = 256) in;
layout(constant_id = 0) const bool VEC4 = false;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer S { float s[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(std430, binding = 3) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 4) writeonly buffer Y4 { vec4 y4[]; };
layout(push_constant) uniform P { ivec4 dims[2]; ivec4 ss[2]; int total; } p;  // total: invocations

void main() {
    const int i = int(gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 256u);
    if (i >= p.total) return;
    int r = VEC4 ? 4 * i : i, o = 0;
    for (int d = 7; d >= 0; --d) {
        const int dim = p.dims[d / 4][d % 4];
        o += (r % dim) * p.ss[d / 4][d % 4];
        r /= dim;
    }
    if (VEC4) {
        const vec4 v = x4[i];
        y4[i] = mix(s[o] * v, v, greaterThanEqual(v, vec4(0.0)));
    } else {
        const float v = x[i];
        y[i] = v >= 0.0 ? v : s[o] * v;
    }
}
