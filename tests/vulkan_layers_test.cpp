// vulkan_layers_test.cpp: every layer's Vulkan kernel against its CPU kernel on random shapes
// (rtol 1e-4), on whatever device the loader gives (lavapipe in CI), validation layer on.
#include <catch2/catch.hpp>

#include "testing.hpp"

using namespace cnnkit;
using testing::check_backends_agree;
using testing::random_tensor;

TEST_CASE("vulkan: every activation matches the CPU", "[activation][vulkan]") {
    const auto x = random_tensor({2, 3, 17, 5}, 11, -4.0f, 4.0f);
    for (const char* t : {"relu", "tanh", "sigmoid"}) check_backends_agree(t, "{}", {x});
    check_backends_agree("leaky_relu", "{alpha: 0.2}", {x});
    check_backends_agree("elu", "{alpha: 0.7}", {x});
    check_backends_agree("selu", "{}", {x});
    check_backends_agree("clip", "{min: -1, max: 2}", {x});
    check_backends_agree("hard_sigmoid", "{alpha: 0.3, beta: 0.4}", {x});
    // A count that is a multiple of 4: the vec4 path (510 above is the scalar one).
    const auto x4 = random_tensor({2, 3, 8, 5}, 12, -4.0f, 4.0f);
    for (const char* t : {"relu", "tanh", "sigmoid"}) check_backends_agree(t, "{}", {x4});
    check_backends_agree("elu", "{alpha: 0.7}", {x4});
}

TEST_CASE("vulkan: conv with stride, pads, dilation, groups, bias, activation matches the CPU",
          "[conv][vulkan]") {
    check_backends_agree("conv", "{out_channels: 8, kernel: 3, pad: 1}",
                         {random_tensor({2, 5, 11, 13}, 1)});
    check_backends_agree("conv", "{out_channels: 70, kernel: 1, bias: false}",
                         {random_tensor({1, 33, 9, 10}, 2)});
    check_backends_agree("conv",
                         "{out_channels: 6, kernel: [3, 5], stride: [2, 1], pad: [1, 2, 0, 1], "
                         "dilation: [2, 1], groups: 3, activation: relu6}",
                         {random_tensor({2, 9, 17, 12}, 3, -3.0f, 3.0f)});
    check_backends_agree("conv",
                         "{out_channels: 4, kernel: 3, stride: 2, auto_pad: same_lower, "
                         "activation: tanh}",
                         {random_tensor({1, 2, 8, 7}, 4)});
    check_backends_agree("conv",
                         "{out_channels: 3, kernel: 2, auto_pad: same_upper, "
                         "activation: sigmoid}",
                         {random_tensor({1, 2, 5, 6}, 5)});
    check_backends_agree("conv", "{out_channels: 16, kernel: 3, groups: 16, activation: relu}",
                         {random_tensor({1, 16, 20, 19}, 6)});
    // The residual epilogue that load-time fusion produces (conv + add + relu).
    check_backends_agree("conv", "{out_channels: 8, kernel: 3, pad: 1, residual: true, "
                                 "activation: relu}",
                         {random_tensor({2, 5, 11, 13}, 7), random_tensor({2, 8, 11, 13}, 8)});
}

TEST_CASE("vulkan: fc and gemm (transposes, broadcast C) match the CPU", "[fc][gemm][vulkan]") {
    check_backends_agree("fc", "{out_features: 70}", {random_tensor({3, 4, 5, 6}, 1)});
    check_backends_agree("fc", "{out_features: 5, bias: false}", {random_tensor({65, 17}, 2)});
    // Batch <= 4 takes gemv.comp: k not a multiple of 256, out_features not of 4, no bias.
    check_backends_agree("fc", "{out_features: 9}", {random_tensor({1, 1000}, 3)});
    check_backends_agree("fc", "{out_features: 6, bias: false}", {random_tensor({4, 300}, 4)});
    const auto a = random_tensor({7, 19}, 3), b = random_tensor({19, 66}, 4);
    check_backends_agree("gemm", "{}", {a, b});
    check_backends_agree(
        "gemm", "{trans_a: true, trans_b: true, alpha: 0.5, beta: 2}",
        {random_tensor({19, 7}, 5), random_tensor({66, 19}, 6), random_tensor({7, 1}, 7)});
    check_backends_agree("gemm", "{beta: -1}", {a, b, random_tensor({66}, 8)});
    check_backends_agree("gemm", "{}", {a, b, random_tensor({7, 66}, 9)});
}

TEST_CASE("vulkan: pool max/avg/l2, pads, dilation, ceil mode, global, indices match the CPU",
          "[pool][vulkan]") {
    const auto x = random_tensor({2, 3, 13, 11}, 1);
    check_backends_agree("pool", "{kernel: 2}", {x});
    check_backends_agree("pool", "{kernel: 3, stride: 2, pad: 1, indices: true}", {x});
    check_backends_agree("pool",
                         "{mode: avg, kernel: 3, stride: 2, pad: [1, 0, 1, 2], "
                         "ceil_mode: true}",
                         {x});
    check_backends_agree("pool",
                         "{mode: avg, kernel: 3, stride: 2, pad: 1, ceil_mode: true, "
                         "count_include_pad: true}",
                         {x});
    check_backends_agree("pool", "{mode: l2, kernel: [2, 3], dilation: [2, 1]}", {x});
    check_backends_agree("pool", "{mode: max, kernel: 3, dilation: 2, stride: 1, indices: true}",
                         {x});
    check_backends_agree("pool", "{mode: avg, global: true}", {x});
    check_backends_agree("pool", "{mode: max, global: true, indices: true}", {x});
    check_backends_agree("pool", "{kernel: 2, stride: 2, indices: true, column_major: true}", {x});
    // Output widths that are multiples of 4 (8, 16, 12): 4 outputs an invocation; planes of 160
    // (143 above is the scalar one): global pooling with vec4 loads.
    const auto x4 = random_tensor({2, 3, 10, 16}, 2);
    check_backends_agree("pool", "{kernel: 2, indices: true}", {x4});
    check_backends_agree("pool", "{kernel: 3, stride: 2, pad: 1, indices: true}", {x4});
    check_backends_agree("pool",
                         "{mode: avg, kernel: 3, stride: 1, pad: [1, 0, 1, 2], "
                         "count_include_pad: true}",
                         {x4});
    check_backends_agree("pool", "{mode: avg, kernel: 3, stride: 1, pad: [1, 0, 1, 2]}", {x4});
    check_backends_agree("pool", "{mode: l2, kernel: [2, 3], dilation: [1, 2]}", {x4});
    check_backends_agree("pool",
                         "{mode: max, kernel: 3, dilation: 2, stride: 1, indices: true, "
                         "column_major: true}",
                         {x4});
    check_backends_agree("pool", "{mode: avg, global: true}", {x4});
    check_backends_agree("pool", "{mode: l2, global: true}", {x4});
    check_backends_agree("pool", "{mode: max, global: true, indices: true}", {x4});
    // Ties: the first maximum's index on every path (values 0 or 1, most windows tied).
    std::vector<float> ties(2 * 3 * 10 * 16);
    for (std::size_t i = 0; i < ties.size(); ++i) ties[i] = static_cast<float>((i * 7 / 3) % 2);
    const auto t = testing::make_tensor({2, 3, 10, 16}, ties);
    check_backends_agree("pool", "{kernel: 3, stride: 1, pad: 1, indices: true}", {t});
    check_backends_agree("pool", "{kernel: [2, 3], indices: true}", {t});
    check_backends_agree("pool", "{mode: max, global: true, indices: true}", {t});
}

TEST_CASE("vulkan: softmax and log_softmax on any axis match the CPU", "[softmax][vulkan]") {
    check_backends_agree("softmax", "{}", {random_tensor({3, 1000}, 1, -8.0f, 8.0f)});
    check_backends_agree("softmax", "{axis: 1}", {random_tensor({2, 7, 5, 3}, 2, -8.0f, 8.0f)});
    check_backends_agree("log_softmax", "{axis: -1}", {random_tensor({2, 3, 300}, 3)});
    check_backends_agree("log_softmax", "{axis: 0}", {random_tensor({5, 4}, 4)});
}

TEST_CASE("vulkan: flatten, reshape and dropout copy through", "[flatten][vulkan]") {
    const auto x = random_tensor({2, 3, 4, 5}, 1);
    check_backends_agree("flatten", "{axis: 2}", {x});
    check_backends_agree("reshape", "{shape: [0, -1, 5, 0, 0, 0, 0, 0], rank: 3}", {x});
    check_backends_agree("dropout", "{ratio: 0.3}", {x});
}

TEST_CASE("vulkan: add, mul, sub, div with broadcasting match the CPU", "[add][vulkan]") {
    const auto a = random_tensor({2, 3, 4, 5}, 1), b = random_tensor({3, 1, 5}, 2);
    const auto c = random_tensor({1}, 3), d = random_tensor({2, 1, 4, 1}, 4);
    check_backends_agree("add", "{}", {a});
    check_backends_agree("add", "{}", {a, b, c, d});
    check_backends_agree("mul", "{}", {b, a, d});
    check_backends_agree("sub", "{}", {d, b});
    check_backends_agree("div", "{}", {a, random_tensor({5}, 5, 0.5f, 2.0f)});
    // Same shapes, 120 elements: the vec4 path.
    const auto e = random_tensor({2, 3, 4, 5}, 6, 0.5f, 2.0f);
    check_backends_agree("add", "{}", {a, e, a});
    check_backends_agree("sub", "{}", {e, a});
    check_backends_agree("mul", "{}", {a, e});
    check_backends_agree("div", "{}", {a, e});
}

TEST_CASE("vulkan: bias, prelu, batch_norm, lrn match the CPU",
          "[bias][prelu][batch_norm][lrn][vulkan]") {
    const auto x = random_tensor({2, 6, 5, 7}, 1);
    check_backends_agree("bias", "{}", {x});
    check_backends_agree("bias", "{}", {random_tensor({3, 11}, 2)});
    check_backends_agree("prelu", "{}", {x});
    check_backends_agree("prelu", "{}", {x, random_tensor({6, 1, 1}, 3)});
    check_backends_agree("prelu", "{}", {x, random_tensor({7}, 4)});
    // Slopes constant over 20 or 4 elements (H x W, or a slope over H broadcast over W): vec4;
    // a slope along W: scalar.
    const auto x20 = random_tensor({2, 3, 5, 4}, 7);
    check_backends_agree("prelu", "{}", {x20});
    check_backends_agree("prelu", "{}", {x20, random_tensor({3, 1, 1}, 8)});
    check_backends_agree("prelu", "{}", {x20, random_tensor({5, 1}, 9)});
    check_backends_agree("prelu", "{}", {x20, random_tensor({4}, 10)});
    check_backends_agree("batch_norm", "{epsilon: 0.001}", {x});
    check_backends_agree("lrn", "{}", {x});
    check_backends_agree("lrn", "{size: 4, alpha: 0.1, beta: 0.5, bias: 2}", {x});
    // Extents that are multiples of 4 (bias's 48 per sample, batch_norm's 24 per channel): vec4.
    const auto x4 = random_tensor({2, 3, 4, 4}, 5);
    check_backends_agree("bias", "{}", {x4});
    check_backends_agree("batch_norm", "{epsilon: 0.001}", {random_tensor({2, 3, 4, 6}, 6)});
}

TEST_CASE("vulkan: concat along any axis matches the CPU", "[concat][vulkan]") {
    const auto a = random_tensor({2, 3, 4, 5}, 1), b = random_tensor({2, 1, 4, 5}, 2);
    check_backends_agree("concat", "{}", {a, b, a});
    check_backends_agree("concat", "{axis: -1}", {a, random_tensor({2, 3, 4, 2}, 3)});
    check_backends_agree("concat", "{axis: 0}", {a, a});
}

TEST_CASE("vulkan: pad (constant, reflect, edge) and upsample (nearest, bilinear) match the CPU",
          "[pad][upsample][vulkan]") {
    const auto x = random_tensor({2, 3, 6, 7}, 1);
    check_backends_agree("pad", "{pad: [1, 2, 3, 0], value: 0.5}", {x});
    check_backends_agree("pad", "{mode: reflect, pad: [2, 1, 0, 3]}", {x});
    check_backends_agree("pad", "{mode: edge, pad: 4}", {x});
    check_backends_agree("upsample", "{}", {x});
    check_backends_agree("upsample", "{mode: bilinear, coordinate: half_pixel}", {x});
    check_backends_agree("upsample", "{mode: bilinear, size: [11, 5], coordinate: align_corners}",
                         {x});
    // A scale that gives a fractional extent: ONNX divides by in * scale - 1, not out - 1.
    check_backends_agree("upsample", "{mode: bilinear, scale: [0.6, 1.7], coordinate: align_corners}",
                         {x});
    check_backends_agree("upsample",
                         "{mode: bilinear, scale: [3, 2.5], "
                         "coordinate: pytorch_half_pixel}",
                         {x});
    check_backends_agree("upsample",
                         "{size: [12, 21], nearest_mode: round_prefer_ceil, "
                         "coordinate: half_pixel}",
                         {x});
}

TEST_CASE(
    "vulkan: conv_transpose with stride, pads, dilation, groups, output_size matches "
    "the CPU",
    "[conv_transpose][vulkan]") {
    const auto x = random_tensor({2, 4, 5, 6}, 1);
    check_backends_agree("conv_transpose", "{out_channels: 3, kernel: 3}", {x});
    check_backends_agree("conv_transpose",
                         "{out_channels: 6, kernel: [3, 2], stride: 2, "
                         "pad: [1, 0, 0, 1], output_padding: [1, 0], groups: 2}",
                         {x});
    check_backends_agree("conv_transpose",
                         "{out_channels: 2, kernel: 3, stride: 2, dilation: 2, "
                         "bias: false}",
                         {x});
    check_backends_agree("conv_transpose",
                         "{out_channels: 2, kernel: 2, stride: 2, "
                         "output_size: [13, 11]}",
                         {x});
}

TEST_CASE("vulkan: max_unpool undoes max pool with its indices as the CPU does",
          "[max_unpool][vulkan]") {
    const auto x = random_tensor({2, 3, 8, 6}, 1);
    const auto pooled = testing::run_layer("pool", "{kernel: 2, indices: true}", {x});
    check_backends_agree("max_unpool", "{kernel: 2}", pooled.outputs);
    check_backends_agree("max_unpool", "{kernel: 2, output_size: [9, 7]}", pooled.outputs);
    // 27 values and 108 or 147 outputs: scalar scatter, vec4 or scalar clear (above: 72 and 288,
    // both vec4, and 378, a scalar clear).
    const auto odd = testing::run_layer("pool", "{kernel: 2, indices: true}",
                                        {random_tensor({1, 3, 6, 6}, 2)});
    check_backends_agree("max_unpool", "{kernel: 2}", odd.outputs);
    check_backends_agree("max_unpool", "{kernel: 2, output_size: [7, 7]}", odd.outputs);
}
