// max_unpool.comp: ZERO = true clears y; otherwise y[idx[i]] = x[i] (int64 indices read as two
// words; an index outside y is skipped). Duplicate indices come from overlapping pool windows
// and carry the same value, so the order of writes does not matter. VEC4 (the cleared or the
// scattered count a multiple of 4): one invocation per 4 elements, clearing through a vec4 view
// of y (binding 3), or reading 4 values (binding 4) and their 4 indices (2 uvec4, binding 5).
#version 450
layout(local_size_x = 256) in;
layout(constant_id = 0) const bool ZERO = false;
layout(constant_id = 1) const bool VEC4 = false;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer I { uint idx[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(std430, binding = 3) writeonly buffer Y4 { vec4 y4[]; };
layout(std430, binding = 4) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 5) readonly buffer I4 { uvec4 idx4[]; };
layout(push_constant) uniform P { uint n, total; } p;  // elements

void put(uint lo, uint hi, float v) {
    if (hi == 0u && lo < p.total) y[lo] = v;
}

void main() {
    const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 256u;
    if (ZERO) {
        if (VEC4) {
            if (i < p.total / 4u) y4[i] = vec4(0.0);
        } else if (i < p.total) {
            y[i] = 0.0;
        }
        return;
    }
    if (VEC4) {
        if (i >= p.n / 4u) return;
        const vec4 v = x4[i];
        const uvec4 a = idx4[2u * i], b = idx4[2u * i + 1u];
        put(a.x, a.y, v.x);
        put(a.z, a.w, v.y);
        put(b.x, b.y, v.z);
        put(b.z, b.w, v.w);
        return;
    }
    if (i < p.n) put(idx[2u * i], idx[2u * i + 1u], x[i]);
}
