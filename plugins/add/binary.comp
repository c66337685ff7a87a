// binary.comp: y = a op b with numpy broadcasting: dims padded to rank 8, and a and b read
// through strides that are 0 along their broadcast dims. Inputs beyond two are folded in by
// further dispatches with a = y. VEC4 (no broadcast, a count that is a multiple of 4): one
// invocation per 4 elements through vec4 views of the same buffers (bindings 3 to 5).
#version 450
layout(local_size_x = 256) in;
layout(constant_id = 0) const int OP = 0;  // add, mul, sub, div, copy a
layout(constant_id = 1) const bool VEC4 = false;
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(std430, binding = 3) readonly buffer A4 { vec4 a4[]; };
layout(std430, binding = 4) readonly buffer B4 { vec4 b4[]; };
layout(std430, binding = 5) writeonly buffer Y4 { vec4 y4[]; };
layout(push_constant) uniform P { ivec4 dims[2]; ivec4 sa[2]; ivec4 sb[2]; int total; } p;

void main() {
    const int i = int(gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 256u);
    if (i >= p.total) return;
    if (VEC4) {  // total counts quads
        const vec4 x = a4[i];
        if (OP == 4) { y4[i] = x; return; }
        const vec4 z = b4[i];
        y4[i] = OP == 0 ? x + z : OP == 1 ? x * z : OP == 2 ? x - z : x / z;
        return;
    }
    int r = i, oa = 0, ob = 0;
    for (int d = 7; d >= 0; --d) {
        const int dim = p.dims[d / 4][d % 4], c = r % dim;
        r /= dim;
        oa += c * p.sa[d / 4][d % 4];
        ob += c * p.sb[d / 4][d % 4];
    }
    const float x = a[oa];
    if (OP == 4) { y[i] = x; return; }
    const float z = b[ob];
    y[i] = OP == 0 ? x + z : OP == 1 ? x * z : OP == 2 ? x - z : x / z;
}
