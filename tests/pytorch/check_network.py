#!/usr/bin/python3
"""check_network.py: one whole network, cnnkit against PyTorch (ctest pytorch_<name>).

    check_network.py NAME CNNKIT_BINARY SOURCE_DIR WORK_DIR [--precision bf16]

Builds the network of tests/pytorch/models.py in PyTorch with torch.manual_seed(0) and random
init, gives every batch norm random affine weights and running statistics (measured on a random
batch, then perturbed, so BN is really exercised in eval mode), exports the weights with
tools/torch_to_safetensors.py, runs the same random input through `cnnkit run configs/NAME.yaml`
and through torch in eval mode, and requires max|diff| <= 1e-4 * max|reference| for every
output. Prints the measured ratio per output; the weights file is deleted afterwards.

With --precision bf16 (ctest pytorch_bf16_<name>) cnnkit runs with bfloat16 fc weights against
PyTorch's float32: each output within BF16_TOLERANCE of max|reference|, and every row of logits
(a classifier's, over BF16_BATCH random images) with the same top-1 class."""
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import models  # noqa: E402
import torch_to_safetensors  # noqa: E402

TOLERANCE = 1e-4
BF16_TOLERANCE = 1e-2  # bf16 keeps 8 significant bits: a weight moves by up to 2^-9 of itself
BF16_BATCH = 8


def randomise_batch_norm(model, shape):
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    if not bns:
        return
    for bn in bns:
        bn.momentum = None  # cumulative average: the stats of the batch below
        bn.reset_running_stats()
    model.train()
    with torch.no_grad():
        model(torch.randn((2,) + tuple(shape[1:])))
        for bn in bns:
            c = bn.num_features
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.2, 0.2)
            bn.running_mean.add_(torch.randn(c) * 0.1 * bn.running_var.sqrt())
            bn.running_var.mul_(torch.empty(c).uniform_(0.7, 1.4))


def main(name, cnnkit, source, work, *options):
    config, build, shape, preset, torchvision_model = models.NETWORKS[name]
    bf16 = list(options) == ["--precision", "bf16"]
    if options and not bf16:
        sys.exit(__doc__)
    tolerance = BF16_TOLERANCE if bf16 else TOLERANCE
    if bf16:
        shape = (BF16_BATCH,) + tuple(shape[1:])
    torch.manual_seed(0)
    model = build()
    randomise_batch_norm(model, shape)
    model.eval()
    x = torch.randn(shape)
    with torch.no_grad():
        ref = model(x)
    if torchvision_model:
        ref = models.classifier_outputs(ref)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    try:
        weights = os.path.join(work, "w.safetensors")
        torch_to_safetensors.export(model, weights, preset)
        np.save(os.path.join(work, "x.npy"), x.numpy())
        start = time.time()
        net = os.path.join(source, "configs", config)
        extra = getattr(model, "EXTRA_OUTPUTS", {})
        if extra:  # a copy of the config that also outputs these tensors
            with open(net) as f:
                text = f.read()
            assert text.rstrip().split("\n")[-1].startswith("  "), "outputs: must come last"
            net = os.path.join(work, config)
            with open(net, "w") as f:
                f.write(text + "".join(f'  {k}: "{v}"\n' for k, v in extra.items()))
        cmd = [cnnkit, "run", net, "--weights", weights,
               "--input", "image=" + os.path.join(work, "x.npy"),
               "--output-dir", os.path.join(work, "out")]
        if bf16:
            cmd += ["--batch", str(BF16_BATCH), "--precision", "bf16"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.time() - start
        if r.returncode != 0:
            print(" ".join(cmd), r.stdout, r.stderr, sep="\n")
            return 1
        failed = 0
        if extra:
            got = {k: np.load(os.path.join(work, "out", k + ".npy")) for k in extra}
            ref, lines, ok = model.agree(x, got, tolerance)
            print("\n".join(f"{name} {line}" for line in lines))
            failed += not ok
        for out, want in ref.items():
            want = want.numpy()
            got = np.load(os.path.join(work, "out", out + ".npy"))
            if got.shape != want.shape:
                print(f"{name} {out}: shape {got.shape}, torch gives {want.shape}: FAIL")
                failed += 1
                continue
            diff = float(np.max(np.abs(got.astype(np.float64) - want)))
            scale = float(np.max(np.abs(want)))
            ratio = diff / scale
            ok = ratio <= tolerance
            failed += not ok
            print(f"{name} {out} {'x'.join(map(str, want.shape))}: max|diff| {diff:.3e}, "
                  f"max|ref| {scale:.3e}, ratio {ratio:.2e} (limit {tolerance:.0e}) "
                  f"{'ok' if ok else 'FAIL'}")
            if bf16 and out == "logits":
                top, ref_top = got.argmax(axis=1), want.argmax(axis=1)
                same = int((top == ref_top).sum())
                # How close the reference's top two classes are, for the record.
                srt = np.sort(want, axis=1)
                margin = float(np.min(srt[:, -1] - srt[:, -2]))
                failed += same != len(top)
                print(f"{name} top-1: {same}/{len(top)} images agree with PyTorch float32 "
                      f"(smallest top-2 margin {margin:.3e}, max|diff| {diff:.3e}) "
                      f"{'ok' if same == len(top) else 'FAIL'}")
        print(f"{name}: cnnkit run took {seconds:.1f} s (load + infer, one process)")
        return 1 if failed else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) not in (5, 7):
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
