// max_unpool.comp: ZERO = true clears y; otherwise y[idx[i]] = x[i] (int64 indices read as two
// words; an index outside y is skipped). Duplicate indices come from overlapping pool windows
// and carry the same value, so the order of writes does not matter.
#version 450
layout(local_size_x = 256) in;
layout(constant_id = 0) const bool ZERO = false;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer I { uint idx[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform P { uint n, total; } p;

void main() {
    const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 256u;
    if (ZERO) {
        if (i < p.total) y[i] = 0.0;
        return;
    }
    if (i >= p.n) return;
    const uint at = idx[2u * i];
    if (idx[2u * i + 1u] == 0u && at < p.total) y[at] = x[i];
}
