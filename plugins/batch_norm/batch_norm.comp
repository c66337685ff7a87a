// batch_norm.comp: y = (x - mean) * gamma / sqrt(var + eps) + beta per channel (dim 1).
#version 450
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer G { float gamma[]; };
layout(std430, binding = 2) readonly buffer B { float beta[]; };
layout(std430, binding = 3) readonly buffer M { float mean[]; };
layout(std430, binding = 4) readonly buffer V { float var[]; };
layout(std430, binding = 5) writeonly buffer Y { float y[]; };
layout(push_constant) uniform P { int channels, inner, total; float epsilon; } p;

void main() {
    const int i = int(gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 256u);
    if (i >= p.total) return;
    const int c = (i / p.inner) % p.channels;
    const float scale = gamma[c] / sqrt(var[c] + p.epsilon);
    y[i] = x[i] * scale + (beta[c] - mean[c] * scale);
}
