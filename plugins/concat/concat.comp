// concat.comp: copies one input into its slice of the output, viewed as rows of 32-bit words.
#version 450
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer X { uint x[]; };
layout(std430, binding = 1) writeonly buffer Y { uint y[]; };
layout(push_constant) uniform P { int rows, row_in, row_out, offset; } p;

void main() {
    const int i = int(gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 256u);
    if (i >= p.rows * p.row_in) return;
    const int r = i / p.row_in, j = i % p.row_in;
    y[r * p.row_out + p.offset + j] = x[i];
}
