// lrn.comp: y = x / (bias + alpha / size * sum of x^2 over the channel window)^beta.
#version 450
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform P { int channels, inner, total, before, after; float scale, beta, bias; } p;

void main() {
    const int i = int(gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 256u);
    if (i >= p.total) return;
    const int c = (i / p.inner) % p.channels;
    const int lo = max(0, c - p.before), hi = min(p.channels - 1, c + p.after);
    float sum = 0.0;
    for (int k = lo; k <= hi; ++k) {
        const float v = x[i + (k - c) * p.inner];
        sum += v * v;
    }
    y[i] = x[i] / pow(p.bias + p.scale * sum, p.beta);
}
