// batch_norm.comp: y = (x - mean) * gamma / sqrt(var + eps) + beta per channel (dim 1). VEC4 (when
// the per-channel extent is a multiple of 4): one invocation per 4 elements of one channel.
#version 450
layout(local_size_x = 256) in;
layout(constant_id = 0) const bool VEC4 = false;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer G { float gamma[]; };
layout(std430, binding = 2) readonly buffer B { float beta[]; };
layout(std430, binding = 3) readonly buffer M { float mean[]; };
layout(std430, binding = 4) readonly buffer V { float var[]; };
layout(std430, binding = 5) writeonly buffer Y { float y[]; };
layout(std430, binding = 6) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 7) writeonly buffer Y4 { vec4 y4[]; };
layout(push_constant) uniform P { int channels, inner, total; float epsilon; } p;  // quads: VEC4

void main() {
    const int i = int(gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 256u);
    if (i >= p.total) return;
    const int c = (i / p.inner) % p.channels;
    const float scale = gamma[c] / sqrt(var[c] + p.epsilon);
    const float shift = beta[c] - mean[c] * scale;
    if (VEC4)
        y4[i] = x4[i] * scale + shift;
    else
        y[i] = x[i] * scale + shift;
}
