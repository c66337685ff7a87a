// bias.comp: y = x + b, with b ([dims 1..]) repeated over the batch; may run in place. VEC4 (when
// b's length is a multiple of 4): one invocation per 4 elements through vec4 views (3 to 5).
#version 450
layout(local_size_x = 256) in;
layout(constant_id = 0) const bool VEC4 = false;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(std430, binding = 3) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 4) readonly buffer B4 { vec4 b4[]; };
layout(std430, binding = 5) writeonly buffer Y4 { vec4 y4[]; };
layout(push_constant) uniform P { int per, total; } p;  // in quads with VEC4

void main() {
    const int i = int(gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 256u);
    if (i >= p.total) return;
    if (VEC4)
        y4[i] = x4[i] + b4[i % p.per];
    else
        y[i] = x[i] + b[i % p.per];
}
