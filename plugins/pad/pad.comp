// pad.comp: constant / reflect / edge padding of H and W, one invocation per output element.
#version 450
layout(local_size_x = 256) in;
layout(constant_id = 0) const int MODE = 0;  // constant, reflect, edge
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform P { int h, w, oh, ow, pt, pl, total; float value; } p;

int source(int i, int n) {  // -1: constant fill
    if (i >= 0 && i < n) return i;
    if (MODE == 1) return i < 0 ? -i : 2 * (n - 1) - i;
    if (MODE == 2) return i < 0 ? 0 : n - 1;
    return -1;
}

void main() {
    const int o = int(gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 256u);
    if (o >= p.total) return;
    const int ox = o % p.ow, oy = (o / p.ow) % p.oh, plane = o / (p.ow * p.oh);
    const int iy = source(oy - p.pt, p.h), ix = source(ox - p.pl, p.w);
    y[o] = (iy < 0 || ix < 0) ? p.value : x[(plane * p.h + iy) * p.w + ix];
}
