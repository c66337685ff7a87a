#!/usr/bin/python3
"""torchvision's resnet50 (random init, eval) exported by torch.onnx, run by `cnnkit run
model.onnx`, compared with torch's own output: max|diff| <= 1e-4 * max|ref|; then the same
through `cnnkit import` and `cnnkit run net.yaml --weights net.safetensors`, bit for bit.
usage: resnet50.py CNNKIT WORKDIR
"""
import os
import subprocess
import sys

import numpy as np
import torch
import torchvision


def main():
    cnnkit, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    torch.manual_seed(0)
    model = torchvision.models.resnet50().eval()
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        ref = model(x).numpy()
    path = os.path.join(work, "resnet50.onnx")
    torch.onnx.export(model, x, path, input_names=["image"], output_names=["logits"],
                      opset_version=13)
    np.save(os.path.join(work, "x.npy"), x.numpy())
    out = os.path.join(work, "out")
    subprocess.run([cnnkit, "run", path, "--input", "image=" + os.path.join(work, "x.npy"),
                    "--output-dir", out], check=True)
    got = np.load(os.path.join(out, "logits.npy"))
    # `cnnkit import` writes the same network as YAML + safetensors: it must give the same bits.
    yaml, weights = os.path.join(work, "net.yaml"), os.path.join(work, "net.safetensors")
    subprocess.run([cnnkit, "import", path, "-o", yaml, "--weights", weights], check=True)
    out2 = os.path.join(work, "out_yaml")
    subprocess.run([cnnkit, "run", yaml, "--weights", weights, "--input",
                    "image=" + os.path.join(work, "x.npy"), "--output-dir", out2], check=True)
    same = np.array_equal(np.load(os.path.join(out2, "logits.npy")), got)
    print("imported YAML + safetensors give the same output: %s" % same)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    diff = float(np.abs(got.astype(np.float64) - ref).max())
    scale = float(np.abs(ref).max())
    ratio = diff / scale
    print("resnet50 via ONNX: max|diff| %.3g, max|ref| %.3g, ratio %.3g (limit 1e-4)"
          % (diff, scale, ratio))
    return 0 if ratio <= 1e-4 and same else 1


if __name__ == "__main__":
    sys.exit(main())
