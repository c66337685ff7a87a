"""errors_test.py BUILD SOURCE: bad networks and weights read like a compiler's errors, as the
user sees them: "file:line:col: error: ...", the source line, a caret under the offending text,
exit 1. Shape mismatches name both tensors as the YAML (or the ONNX model) names them; unknown
types list the known types and the folders searched. (tests/hostile checks message fragments of
crafted files; this checks the whole rendering of the everyday mistakes.)"""
import json
import struct
import subprocess
from common import BUILD, cnnkit, check, temp_dir, write

d = temp_dir("errors")


def located(out, path, line, col, message, under):
    """out opens with path:line:col: error: message, then that source line and a caret under
    `under` (the text at line:col)."""
    lines = out.split("\n")
    check(lines[0] == f"{path}:{line}:{col}: error: {message}", f"first line:\n{out}")
    if under is None:  # at the end of the file: no source line to show
        check(out.count("\n") == 1, out)
        return
    source = open(path).read().split("\n")[line - 1]
    check(lines[1] == "  " + source, f"source line:\n{out}")
    check(lines[2] == "  " + " " * (col - 1) + "^", f"caret:\n{out}")
    check(source[col - 1:].startswith(under), f"caret is not under {under!r}:\n{out}")


def net(name, nodes, inputs="image: [1, 3, 32, 32]"):
    return write(f"{d}/{name}.yaml", f"name: {name}\ninputs:\n  {inputs}\nnodes:\n{nodes}")


# Shape mismatches: both tensors by their YAML names; the caret under the offending input.
two = ("  - {name: c1, type: conv, out_channels: 8, kernel: 3}\n"
       "  - {name: c2, type: conv, out_channels: 4, kernel: 3, inputs: [image]}\n")
p = net("add", two + "  - {name: a, type: add, inputs: [c1, c2]}\n")
located(cnnkit("check", p, code=1), p, 7, 39,
        "shape mismatch in layer 'a' (add): 'c2' {1, 4, 30, 30} does not broadcast with "
        "'c1' {1, 8, 30, 30}: dim 1 (right-aligned) is 4 vs 8", "c2]")
p = net("concat", two + "  - name: cat\n    type: concat\n    inputs:\n      - c2\n"
        "      - image\n    axis: 1\n")
located(cnnkit("check", p, code=1), p, 11, 9,
        "shape mismatch in layer 'cat' (concat): 'image' {1, 3, 32, 32} does not match 'c2' "
        "{1, 4, 30, 30} outside axis 1: dim 2 is 32 vs 30", "image")
# Inside a block the names are the full dotted paths, the caret on the block's own line.
p = write(f"{d}/block.yaml", """inputs: {x: [1, 4, 8, 8]}
blocks:
  down:
    nodes:
      - {name: a, type: pool, kernel: 2, stride: 2}
      - {name: s, type: add, inputs: [x, a]}
nodes:
  - {name: d, type: down}
""")
located(cnnkit("check", p, code=1), p, 6, 42,
        "shape mismatch in layer 'd.s' (add): 'd.a' {1, 4, 4, 4} does not broadcast with 'x' "
        "{1, 4, 8, 8}: dim 2 (right-aligned) is 4 vs 8", "a]")

# A composite's output is called by its node's name, as `inputs:` refers to it.
p = net("composite", "  - {name: l1, type: residual, channels: 8, stride: 2}\n"
        "  - {name: cat, type: concat, inputs: [image, l1]}\n")
located(cnnkit("check", p, code=1), p, 6, 47,
        "shape mismatch in layer 'cat' (concat): 'l1' {1, 8, 16, 16} does not match 'image' "
        "{1, 3, 32, 32} outside axis 1: dim 2 is 16 vs 32", "l1]")

# An ONNX model: the message names the ONNX node and the model's own tensor names.
onnx_path = f"{d}/mismatch.onnx"
subprocess.run(["/usr/bin/python3", "-c", f"""
import onnx
from onnx import helper, TensorProto as T
g = helper.make_graph(
    [helper.make_node("Relu", ["input.1"], ["onnx::Add_3"], name="relu_0"),
     helper.make_node("Add", ["onnx::Add_3", "skip.2"], ["out"], name="add_1")], "g",
    [helper.make_tensor_value_info("input.1", T.FLOAT, [1, 8, 4, 4]),
     helper.make_tensor_value_info("skip.2", T.FLOAT, [1, 3, 4, 4])],
    [helper.make_tensor_value_info("out", T.FLOAT, [1, 8, 4, 4])])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), "{onnx_path}")
"""], check=True)
out = cnnkit("check", onnx_path, code=1)
check(out == f"error: {onnx_path}: shape mismatch in node 'add_1' (Add): 'skip.2' {{1, 3, 4, 4}} "
      "does not broadcast with 'onnx::Add_3' {1, 8, 4, 4}: dim 1 (right-aligned) is 3 vs 8\n", out)

# Unknown layer types: a did-you-mean when one is close, always the known types and folders.
p = net("types", "  - {name: f, type: frobnicate}\n")
out = cnnkit("check", p, code=1)
head = out.split("\n")[0]
check(head.startswith(f"{p}:5:21: error: unknown layer type 'frobnicate' (known types: add, "
                      "batch_norm, bias,") and "did you mean" not in head, out)
check(head.endswith(f"; plugin folders searched: {BUILD}/plugins)"), out)
p = net("convv", "  - {name: c, type: convv, out_channels: 2}\n")
out = cnnkit("check", p, code=1)
located(out, p, 5, 21, out.split("\n")[0].split(": error: ", 1)[1], "convv")
check("unknown layer type 'convv'; did you mean 'conv'? (known types: " in out, out)

# The other everyday mistakes of a network file, each at its place.
cases = [
    ("malformed", "  - {name: c, type: relu\n", 6, 1, "end of map flow not found", None),
    ("unknown_key", "  - {name: c, type: conv, kernal: 3, out_channels: 2}\n", 5, 27,
     "unknown key 'kernal' in layer 'c' (conv); did you mean 'kernel'?", "kernal"),
    ("wrong_type", "  - {name: c, type: conv, kernel: \"three\", out_channels: 2}\n", 5, 35,
     "key 'kernel' of layer 'c' (conv): expected int[2], got 'three'", "\"three\""),
    ("dangling", "  - {name: c, type: relu, inputs: [imgae]}\n", 5, 36,
     "input 'imgae' is not defined; did you mean 'image'?", "imgae"),
    ("cycle", "  - {name: a, type: relu, inputs: [b]}\n  - {name: b, type: relu, inputs: [a]}\n",
     5, 5, "the inputs of nodes a, b form a cycle", "{name: a"),
    ("duplicate", "  - {name: a, type: relu}\n  - {name: a, type: sigmoid}\n", 6, 12,
     "duplicate node name 'a'", "a, type: sigmoid"),
]
for name, nodes, line, col, message, under in cases:
    p = net(name, nodes)
    located(cnnkit("check", p, code=1), p, line, col, message, under)


# Weights: the file and the tensor named; a wrong shape also names the layer, at its line.
def safetensors(path, tensors, cut=0):
    header, data = {}, b""
    for name, shape in tensors:
        n = 1
        for s in shape:
            n *= s
        header[name] = {"dtype": "F32", "shape": shape,
                        "data_offsets": [len(data), len(data) + 4 * n]}
        data += struct.pack(f"<{n}f", *([0.5] * n))
    h = json.dumps(header).encode()
    blob = struct.pack("<Q", len(h)) + h + data
    with open(path, "wb") as f:
        f.write(blob[:len(blob) - cut])
    return path


p = net("fc", "  - {name: flat, type: flatten}\n  - {name: fc, type: fc, out_features: 10}\n",
        inputs="image: [1, 4, 5, 5]")
run = ["run", p, "--input", "image=" + f"{d}/none.npy", "--output-dir", f"{d}/out", "--weights"]
out = cnnkit(*run, f"{d}/missing.safetensors", code=1)
check(out.startswith(f"error: {d}/missing.safetensors: cannot open weights file"), out)
short = safetensors(f"{d}/short.safetensors", [("fc.weight", [10, 100]), ("fc.bias", [10])], 8)
out = cnnkit(*run, short, code=1)
check(out.startswith(f"error: {short}:") and "outside the" in out, out)
wrong = safetensors(f"{d}/wrong.safetensors", [("fc.weight", [10, 80]), ("fc.bias", [10])])
located(cnnkit(*run, wrong, code=1), p, 6, 5,
        f"{wrong}: tensor 'fc.weight' has shape {{10, 80}}, the network expects {{10, 100}} "
        "(layer 'fc' (fc) on 'flat' {1, 100})", "{name: fc")
print("errors: ok")
