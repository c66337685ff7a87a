#!/usr/bin/python3
"""torch_to_safetensors.py: writes a PyTorch state_dict as .safetensors under cnnkit's weight names.

    tools/torch_to_safetensors.py STATE_DICT.pt OUT.safetensors [--preset vgg16|alexnet|mobilenet_v2]
    tools/torch_to_safetensors.py --torchvision resnet50 [--seed 0] OUT.safetensors

The mapping is mechanical. cnnkit names a weight <node path>.<weight> and its configs name nodes
after the torch modules wherever torch's names are legal node paths, so most keys pass unchanged:
  resnet18/50, googlenet and the networks of tests/pytorch: identity;
  `num_batches_tracked` (a training counter) is dropped; running_mean/var are cnnkit buffers.
torchvision's VGG and AlexNet keep their layers in nn.Sequential lists (features.N, classifier.N);
a preset renames those lists' weighted modules, in order, to the config's nodes:
  vgg16:   features.{0,2,5,...,28} -> conv1_1 ... conv5_3, classifier.{0,3,6} -> fc6, fc7, fc8
  alexnet: features.{0,3,6,8,10} -> conv1 ... conv5, classifier.{1,4,6} -> fc6, fc7, fc8
           (configs/alexnet_torchvision.yaml)
and torchvision's MobileNetV2 nests such lists, whose indices its config keeps behind a '_':
  mobilenet_v2: features.N -> features_N, .conv.N -> .conv_N, classifier.N -> classifier_N
           (features.2.conv.1.0.weight -> features_2.conv_1.0.weight)
Every tensor is written as contiguous little-endian float32. Needs only torch (and torchvision for
--torchvision); safetensors is written by hand (8-byte header length, JSON header, raw data).
"""
import argparse
import json
import os
import struct
import sys
from collections import OrderedDict

import torch

VGG16_NODES = ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3",
               "conv4_1", "conv4_2", "conv4_3", "conv5_1", "conv5_2", "conv5_3",
               "fc6", "fc7", "fc8"]
ALEXNET_NODES = ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]


def mobilenet_v2_name(key):
    """torchvision's mobilenet_v2 key -> configs/mobilenet_v2.yaml's weight name."""
    parts = key.split(".")
    out = []
    for i, part in enumerate(parts):
        if i > 0 and parts[i - 1] in ("features", "conv", "classifier") and part.isdigit():
            out[-1] += "_" + part  # the list and its index, one node name
        else:
            out.append(part)
    return ".".join(out)


# A preset: the node names of the weighted modules in order, or a function of each key.
PRESETS = {"vgg16": VGG16_NODES, "alexnet": ALEXNET_NODES, "mobilenet_v2": mobilenet_v2_name}


def _module_of(key):
    return key.rsplit(".", 1)[0]


def rename_sequential(state, nodes):
    """Renames the weighted modules of state (in their order) to `nodes`, keeping the suffix."""
    modules = list(OrderedDict.fromkeys(_module_of(k) for k in state))
    if len(modules) != len(nodes):
        shown = ", ".join(modules[:5]) + (", ..." if len(modules) > 5 else "")
        raise ValueError(f"the state_dict has {len(modules)} weighted modules ({shown}), "
                         f"the preset names {len(nodes)}")
    table = dict(zip(modules, nodes))
    return OrderedDict((table[_module_of(k)] + k[len(_module_of(k)):], v)
                       for k, v in state.items())


def cnnkit_state(state, preset=None):
    """state_dict -> OrderedDict of cnnkit name -> float32 tensor."""
    state = OrderedDict((k, v) for k, v in state.items()
                        if not k.endswith("num_batches_tracked"))
    if preset:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset '{preset}' (known: {', '.join(PRESETS)})")
        rename = PRESETS[preset]
        state = (OrderedDict((rename(k), v) for k, v in state.items()) if callable(rename)
                 else rename_sequential(state, rename))
    return OrderedDict((k, v.detach().to(torch.float32).contiguous().cpu())
                       for k, v in state.items())


def write_safetensors(path, tensors):
    """Writes name -> float32 tensor as .safetensors, atomically (temp file, then rename)."""
    header, offset = {}, 0
    for name, t in tensors.items():
        n = t.numel() * 4
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + n]}
        offset += n
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for t in tensors.values():
                f.write(t.numpy().astype("<f4", copy=False).tobytes())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def export(model_or_state, path, preset=None):
    """Writes a module's (or a state_dict's) tensors to `path` under cnnkit's names."""
    state = model_or_state.state_dict() if hasattr(model_or_state, "state_dict") \
        else model_or_state
    tensors = cnnkit_state(state, preset)
    write_safetensors(path, tensors)
    return tensors


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("inputs", nargs="+", help="[STATE_DICT.pt] OUT.safetensors")
    ap.add_argument("--preset", help="rename nn.Sequential layers: " + ", ".join(PRESETS))
    ap.add_argument("--torchvision", metavar="ARCH", help="a randomly initialised torchvision "
                    "model instead of a file (resnet50, vgg16, ...)")
    ap.add_argument("--seed", type=int, default=0, help="torch.manual_seed for --torchvision")
    a = ap.parse_args(argv)
    if len(a.inputs) != (1 if a.torchvision else 2):
        ap.error("give STATE_DICT.pt OUT.safetensors, or --torchvision ARCH OUT.safetensors")
    if a.torchvision:
        import torchvision
        torch.manual_seed(a.seed)
        kwargs = {"aux_logits": False} if a.torchvision == "googlenet" else {}
        state = getattr(torchvision.models, a.torchvision)(weights=None, **kwargs).state_dict()
        preset = a.preset or (a.torchvision if a.torchvision in PRESETS else None)
    else:
        state = torch.load(a.inputs[0], map_location="cpu")
        if hasattr(state, "state_dict"):
            state = state.state_dict()
        preset = a.preset
    tensors = export(state, a.inputs[-1], preset)
    print(f"{a.inputs[-1]}: {len(tensors)} tensors, "
          f"{sum(t.numel() for t in tensors.values()):,} values")


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except (ValueError, OSError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
