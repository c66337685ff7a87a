// activation.comp: y = f(x) elementwise (may run in place); f and its two params are
// specialization constants, so each activation is its own branch-free pipeline. VEC4 (when the
// element count is a multiple of 4): one invocation per 4 elements through vec4 views of the
// same buffers (bindings 2 and 3).
#version 450
layout(local_size_x = 256) in;
layout(constant_id = 0) const int OP = 0;  // relu, leaky_relu, elu, selu, clip, hard_sigmoid, tanh, sigmoid
layout(constant_id = 1) const float A = 0.0;
layout(constant_id = 2) const float B = 0.0;
layout(constant_id = 3) const bool VEC4 = false;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(std430, binding = 2) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 3) writeonly buffer Y4 { vec4 y4[]; };
layout(push_constant) uniform P { uint n; } p;  // elements, or quads with VEC4

float f(float v) {
    if (OP == 0) return max(v, 0.0);
    if (OP == 1) return v >= 0.0 ? v : A * v;
    if (OP == 2) return v > 0.0 ? v : A * (exp(v) - 1.0);
    if (OP == 3) return B * (v > 0.0 ? v : A * (exp(v) - 1.0));
    if (OP == 4) return min(max(v, A), B);
    if (OP == 5) return max(0.0, min(1.0, A * v + B));
    if (OP == 6) {  // tanh without overflow for large |v|
        float t = exp(-2.0 * abs(v));
        return sign(v) * (1.0 - t) / (1.0 + t);
    }
    return 1.0 / (1.0 + exp(-v));
}

void main() {
    uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 256u;
    if (i >= p.n) return;
    if (VEC4) {
        const vec4 v = x4[i];
        y4[i] = vec4(f(v.x), f(v.y), f(v.z), f(v.w));
    } else {
        y[i] = f(x[i]);
    }
}
