#!/usr/bin/python3
"""A small torch module mixing the layers cnnkit imports (conv, batch norm, PReLU, pools with
ceil mode, transposed conv, ELU/leaky/SELU/hard-sigmoid, nearest and bilinear resize, reflect
pad, grouped dilated conv, concat, arithmetic with constants, linear, log-softmax, clamp),
exported by torch.onnx at opsets 11, 13 and 16 (whose pad/size subgraphs the importer folds),
run by `cnnkit run model.onnx`; each output must satisfy max|diff| <= 1e-4 * max|ref|.
usage: torch_mix.py CNNKIT WORKDIR
"""
import os
import subprocess
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Mix(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.pr = nn.PReLU(8)
        self.pool = nn.MaxPool2d(2, 2)
        self.ct = nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
        self.c2 = nn.Conv2d(12, 6, 3, padding=2, dilation=2, groups=2)
        self.fc = nn.Linear(6 * 8 * 8, 10)

    def forward(self, x):
        p = self.pool(self.pr(self.bn(self.c1(x))))
        u = F.interpolate(F.elu(p), scale_factor=2.0, mode="nearest")
        t = self.ct(F.leaky_relu(p, 0.2))
        z = torch.cat([u * 0.5 - 1.0, torch.sigmoid(t) / 2.0], 1)
        z = F.selu(self.c2(F.pad(z, (1, 1, 1, 1), mode="reflect")))
        z = F.interpolate(z, scale_factor=0.5, mode="bilinear", align_corners=False)
        small = F.avg_pool2d(z, 2, ceil_mode=True, count_include_pad=False)
        z = F.hardsigmoid(z) + F.interpolate(small, size=(17, 17), mode="nearest")
        z = F.avg_pool2d(z, 2)
        return F.log_softmax(self.fc(torch.flatten(z, 1)), 1), torch.clamp(z, -0.5, 0.5)


def main():
    cnnkit, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    torch.manual_seed(0)
    model = Mix().eval()
    model.bn.running_mean.uniform_(-1, 1)
    model.bn.running_var.uniform_(0.5, 2)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        refs = [t.numpy() for t in model(x)]
    np.save(os.path.join(work, "x.npy"), x.numpy())
    worst = 0.0
    for opset in (11, 13, 16):
        path = os.path.join(work, "mix%d.onnx" % opset)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, x, path, input_names=["x"], output_names=["a", "b"],
                              opset_version=opset)
        out = os.path.join(work, "out%d" % opset)
        subprocess.run([cnnkit, "run", path, "--input", "x=" + os.path.join(work, "x.npy"),
                        "--output-dir", out], check=True, stdout=subprocess.DEVNULL)
        for name, ref in zip("ab", refs):
            got = np.load(os.path.join(out, name + ".npy"))
            assert got.shape == ref.shape, (opset, name, got.shape, ref.shape)
            ratio = float(np.abs(got - ref).max() / np.abs(ref).max())
            print("opset %d output %s: max|diff| / max|ref| = %.3g" % (opset, name, ratio))
            worst = max(worst, ratio)
    return 0 if worst <= 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
