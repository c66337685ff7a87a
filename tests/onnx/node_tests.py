#!/usr/bin/python3
"""ONNX backend node tests through `cnnkit run model.onnx`.

Debian's python3-onnx ships the generators, not the data: this script generates the data,
selects every 2-D float32 inference case of the ops cnnkit maps, turns each graph input but the
first into an initializer (cnnkit's layers take weights, shapes, pads and scales as constants,
and cnnkit networks have float32 inputs only), runs the model and compares every output with
rtol 1e-3 / atol 1e-5. Prints `N passed, M failed` and the failures; exits 1 on any failure that
is not in OUT_OF_SCOPE, or on an out-of-scope case that passes (so the list stays honest).
usage: node_tests.py CNNKIT WORKDIR [CNNKIT RUN OPTIONS...]  (e.g. --backend vulkan)
"""
import os
import subprocess
import sys

import numpy as np

# onnx 1.12's generators still use numpy's removed aliases.
np.float, np.int, np.bool, np.object = float, int, bool, object

import onnx  # noqa: E402
from onnx import numpy_helper  # noqa: E402
from onnx.backend.test import cmd_tools  # noqa: E402

OPS = {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
       "LpPool", "MaxUnpool", "BatchNormalization", "LRN", "Relu", "LeakyRelu", "Elu", "PRelu",
       "Selu", "Clip", "HardSigmoid", "Tanh", "Sigmoid", "Softmax", "LogSoftmax", "Gemm", "MatMul",
       "Concat", "Add", "Sum", "Mul", "Sub", "Div", "Dropout", "Flatten", "Reshape", "Pad",
       "Upsample", "Resize", "Identity", "Constant"}
SPATIAL = {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool",
           "GlobalMaxPool", "LpPool", "MaxUnpool", "Pad", "Upsample", "Resize"}
FLOAT, INT64 = onnx.TensorProto.FLOAT, onnx.TensorProto.INT64

# Cases that are selected but out of scope, with the reason (also listed in the README).
OUT_OF_SCOPE = {
    "test_batchnorm_epsilon_training_mode": "training mode (batch statistics, running-stat outputs)",
    "test_batchnorm_example_training_mode": "training mode (batch statistics, running-stat outputs)",
    "test_constant": "a network without inputs (a cnnkit network has at least one)",
    "test_matmul_3d": "batched MatMul: cnnkit maps MatMul to fc ([M, K] x constant [K, N])",
    "test_matmul_4d": "batched MatMul: cnnkit maps MatMul to fc ([M, K] x constant [K, N])",
    "test_maxunpool_export_with_output_shape": "its expected output places index i at "
        "(i / 4, i % 4) of the 5x5 output, i.e. in the un-padded 4x4 frame; cnnkit, like "
        "PyTorch and the spec, indexes the output itself",
    "test_reshape_allowzero_reordered": "a tensor with a zero-sized dimension",
    "test_resize_tf_crop_and_resize": "coordinate_transformation_mode tf_crop_and_resize (roi)",
}


def generate(workdir):
    out = os.path.join(workdir, "data")
    if not os.path.isdir(os.path.join(out, "node")):
        old = sys.argv
        sys.argv = ["cmd_tools", "generate-data", "-o", out]
        cmd_tools.main()
        sys.argv = old
    return os.path.join(out, "node")


def elem(v):
    t = v.type
    return t.tensor_type.elem_type if t.HasField("tensor_type") else None


def selected(model):
    """Why the case is not a 2-D float32 case of our ops, or None when it is."""
    ops = {n.op_type for n in model.graph.node}
    if not ops <= OPS:
        return "other ops"
    g = model.graph
    if g.input and elem(g.input[0]) != FLOAT:
        return "not float32"
    if any(elem(v) not in (FLOAT, INT64) for v in list(g.input) + list(g.output)):
        return "not float32"
    if any(elem(v) == INT64 and n.op_type != "MaxPool" for v in g.output for n in g.node):
        return "not float32"
    if ops & SPATIAL:
        rank = len(g.input[0].type.tensor_type.shape.dim) if g.input else 4
        if rank != 4:
            return "not 2-D"
    return None


def freeze(model, inputs):
    """Every graph input but the first becomes an initializer holding its test value."""
    g = model.graph
    for v, value in list(zip(g.input, inputs))[1:]:
        g.initializer.append(numpy_helper.from_array(value, v.name))
    keep = [v for v in g.input][:1]
    del g.input[:]
    g.input.extend(keep)
    return model


def read_pbs(folder, prefix):
    files = sorted(f for f in os.listdir(folder) if f.startswith(prefix))
    out = []
    for f in sorted(files, key=lambda s: int(s[len(prefix):-3])):
        t = onnx.TensorProto()
        with open(os.path.join(folder, f), "rb") as fh:
            t.ParseFromString(fh.read())
        out.append(numpy_helper.to_array(t))
    return out


def run_case(cnnkit, case_dir, work, extra):
    model = onnx.load(os.path.join(case_dir, "model.onnx"))
    data = os.path.join(case_dir, "test_data_set_0")
    inputs, refs = read_pbs(data, "input_"), read_pbs(data, "output_")
    freeze(model, inputs)
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, "model.onnx")
    onnx.save(model, path)
    cmd = [cnnkit, "run", path, "--output-dir", os.path.join(work, "out"), "--threads", "1"] + extra
    if model.graph.input:
        np.save(os.path.join(work, "x.npy"), inputs[0])
        cmd += ["--input", "%s=%s" % (model.graph.input[0].name, os.path.join(work, "x.npy"))]
    r = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if r.returncode != 0:
        return (r.stderr.strip() or r.stdout.strip()).splitlines()[-1][:300]
    for v, ref in zip(model.graph.output, refs):
        got = np.load(os.path.join(work, "out", v.name + ".npy"))
        if got.size != ref.size:
            return "output %s: shape %s, expected %s" % (v.name, got.shape, ref.shape)
        got = got.reshape(ref.shape).astype(np.float64)
        want = ref.astype(np.float64)
        bad = np.abs(got - want) > 1e-5 + 1e-3 * np.abs(want)
        if bad.any():
            i = np.argwhere(bad)[0]
            return "output %s: %d of %d differ; at %s got %g, expected %g" % (
                v.name, bad.sum(), bad.size, tuple(i), got[tuple(i)], want[tuple(i)])
    return None


def main():
    cnnkit, workdir, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
    node_dir = generate(workdir)
    passed, failed, unexpected = [], [], []
    for name in sorted(os.listdir(node_dir)):
        model = onnx.load(os.path.join(node_dir, name, "model.onnx"))
        if selected(model) is not None:
            continue
        err = run_case(cnnkit, os.path.join(node_dir, name), os.path.join(workdir, "run", name), extra)
        if err is None:
            passed.append(name)
            if name in OUT_OF_SCOPE:
                unexpected.append("%s: passes but is listed as out of scope" % name)
        else:
            failed.append((name, err))
            if name not in OUT_OF_SCOPE:
                unexpected.append("%s: %s" % (name, err))
    print("%d passed, %d failed%s" % (len(passed), len(failed), " (" + " ".join(extra) + ")" if extra else ""))
    for name, err in failed:
        why = OUT_OF_SCOPE.get(name)
        print("  failed: %s: %s" % (name, ("out of scope: " + why) if why else err))
    if unexpected:
        print("UNEXPECTED:")
        for u in unexpected:
            print("  " + u)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
