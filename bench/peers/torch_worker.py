# torch_worker.py: PyTorch side of bench/compare: a torchvision model, traced and frozen
# (TorchScript), one timed inference per "run" line on stdin. argv: NET THREADS INPUT.npy
import sys
import time

import numpy as np
import torch
import torchvision

net, threads, inp = sys.argv[1], int(sys.argv[2]), sys.argv[3]
torch.set_num_threads(threads)
torch.manual_seed(0)
kwargs = {"aux_logits": False, "init_weights": True} if net == "googlenet" else {}
model = getattr(torchvision.models, net)(weights=None, **kwargs).eval()
x = torch.from_numpy(np.load(inp))
with torch.no_grad():
    model = torch.jit.freeze(torch.jit.trace(model, x))
    model(x)
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "quit":
            break
        t0 = time.perf_counter()
        model(x)
        print((time.perf_counter() - t0) * 1e3, flush=True)
