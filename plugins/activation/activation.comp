// activation.comp: y = f(x) elementwise (may run in place); f and its two params are
// specialization constants, so each activation is its own branch-free pipeline.
#version 450
layout(local_size_x = 256) in;
layout(constant_id = 0) const int OP = 0;  // relu, leaky_relu, elu, selu, clip, hard_sigmoid, tanh, sigmoid
layout(constant_id = 1) const float A = 0.0;
layout(constant_id = 2) const float B = 0.0;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform P { uint n; } p;

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
    if (i < p.n) y[i] = f(x[i]);
}
