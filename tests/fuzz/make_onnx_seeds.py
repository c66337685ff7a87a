#!/usr/bin/python3
# make_onnx_seeds.py: writes the seed corpus of fuzz_onnx (tests/fuzz/onnx/): small valid models
# (conv, gemm, pools, a Reshape whose shape comes from a Shape/Gather/Concat subgraph, Constant
# nodes, ConstantOfShape, Slice, Resize) and a few truncated or corrupted copies. Kept small
# (scripts/fuzz caps inputs at 16 KiB). Run: /usr/bin/python3 tests/fuzz/make_onnx_seeds.py
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "onnx")
rng = np.random.default_rng(6)


def init(name, shape, dtype=np.float32):
    return numpy_helper.from_array(rng.standard_normal(shape).astype(dtype), name)


def ints(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def model(name, nodes, inputs, outputs, inits=(), opset=13):
    g = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="cnnkit-seeds")
    onnx.checker.check_model(m)
    return m.SerializeToString()


def vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


seeds = {}
seeds["conv_relu"] = model("conv", [
    helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                     strides=[1, 1], name="conv"),
    helper.make_node("Relu", ["c"], ["y"]),
], [vi("x", [1, 2, 6, 6])], [vi("y", [1, 3, 6, 6])], [init("w", (3, 2, 3, 3)), init("b", (3,))])

seeds["gemm"] = model("gemm", [
    helper.make_node("Flatten", ["x"], ["f"], axis=1),
    helper.make_node("Gemm", ["f", "w", "b"], ["g"], transB=1, alpha=0.5, beta=2.0),
    helper.make_node("Softmax", ["g"], ["y"], axis=1),
], [vi("x", ["N", 2, 2, 2])], [vi("y", ["N", 4])], [init("w", (4, 8)), init("b", (4,))])

seeds["pools"] = model("pools", [
    helper.make_node("MaxPool", ["x"], ["m"], kernel_shape=[2, 2], strides=[2, 2]),
    helper.make_node("AveragePool", ["x"], ["a"], kernel_shape=[3, 3], strides=[2, 2],
                     pads=[1, 1, 1, 1], count_include_pad=1),
    helper.make_node("Concat", ["m", "a"], ["c"], axis=1),
    helper.make_node("GlobalAveragePool", ["c"], ["y"]),
], [vi("x", [1, 2, 8, 8])], [vi("y", [1, 4, 1, 1])])

seeds["reshape_shape_subgraph"] = model("reshape", [
    helper.make_node("Shape", ["x"], ["s"]),
    helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
    helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"]),
    helper.make_node("Concat", ["n1", "minus1"], ["shape"], axis=0),
    helper.make_node("Reshape", ["x", "shape"], ["r"]),
    helper.make_node("MatMul", ["r", "w"], ["y"]),
], [vi("x", [2, 3, 4])], [vi("y", [2, 5])],
    [ints("zero", 0), ints("axes0", [0]), ints("minus1", [-1]), init("w", (12, 5))])

seeds["constant_nodes"] = model("consts", [
    helper.make_node("Constant", [], ["k"], value=numpy_helper.from_array(
        np.array([[1.5, -2.0, 0.25]], dtype=np.float32), "k")),
    helper.make_node("Constant", [], ["two"], value_float=2.0),
    helper.make_node("Mul", ["x", "k"], ["m"]),
    helper.make_node("Add", ["m", "two"], ["a"]),
    helper.make_node("Clip", ["a", "lo", "hi"], ["y"]),
], [vi("x", [2, 3])], [vi("y", [2, 3])],
    [numpy_helper.from_array(np.array(-1, np.float32), "lo"),
     numpy_helper.from_array(np.array(3, np.float32), "hi")])

seeds["fold_slice_cos"] = model("fold", [
    helper.make_node("Shape", ["x"], ["s"]),
    helper.make_node("Slice", ["s", "st", "en"], ["hw"]),
    helper.make_node("Cast", ["hw"], ["hwf"], to=TensorProto.FLOAT),
    helper.make_node("ConstantOfShape", ["two1"], ["ones"],
                     value=numpy_helper.from_array(np.array([1], np.float32), "v")),
    helper.make_node("Transpose", ["ones"], ["t"], perm=[1, 0]),
    helper.make_node("Squeeze", ["t", "ax1"], ["sq"]),
    helper.make_node("Div", ["hwf", "sq"], ["q"]),
    helper.make_node("Concat", ["one2", "q"], ["scales"], axis=0),
    helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="nearest"),
], [vi("x", [1, 1, 2, 2])], [vi("y", [1, 1, 4, 4])],
    [ints("st", [2]), ints("en", [4]), ints("two1", [1, 2]), ints("ax1", [1]),
     numpy_helper.from_array(np.array([1, 1], np.float32), "one2")])

seeds["bn_pad_lrelu"] = model("bn", [
    helper.make_node("BatchNormalization", ["x", "g", "b", "m", "v"], ["n"], epsilon=1e-3),
    helper.make_node("Pad", ["n", "pads"], ["p"], mode="reflect"),
    helper.make_node("LeakyRelu", ["p"], ["l"], alpha=0.2),
    helper.make_node("ConvTranspose", ["l", "wt"], ["y"], strides=[2, 2], kernel_shape=[2, 2]),
], [vi("x", [1, 2, 3, 3])], [vi("y", [1, 1, 10, 10])],
    [init("g", (2,)), init("b", (2,)), init("m", (2,)),
     numpy_helper.from_array(np.array([1.0, 2.0], np.float32), "v"),
     ints("pads", [0, 0, 1, 1, 0, 0, 1, 1]), init("wt", (2, 1, 2, 2))])

for name, data in seeds.items():
    with open(os.path.join(out_dir, name + ".onnx"), "wb") as f:
        f.write(data)
# Broken copies: cut mid-message, a flipped length byte, garbage after a valid model.
conv = seeds["conv_relu"]
broken = {
    "truncated_conv": conv[: len(conv) // 2],
    "truncated_reshape": seeds["reshape_shape_subgraph"][:-7],
    "corrupt_length": conv[:20] + bytes([0xFF]) + conv[21:],
    "trailing_garbage": seeds["pools"] + b"\x08\xff\xff\xff\xff\xff\xff\xff\xff\x01",
    "empty": b"",
}
for name, data in broken.items():
    with open(os.path.join(out_dir, name + ".onnx"), "wb") as f:
        f.write(data)
