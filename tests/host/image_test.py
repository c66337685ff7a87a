"""image_test.py BUILD SOURCE: `cnnkit run --image` against torchvision's resize/crop/normalize
(the reference), a hand-computed 2x2 case, gray and BGR inputs, JPEG, the top-k table, errors."""
import os
import re
import zlib
import struct
import numpy as np
import torch
import torchvision.transforms.functional as TF
from PIL import Image
from common import BUILD, SOURCE, cnnkit, check, temp_dir, write

d = temp_dir("image")
rng = np.random.default_rng(5)


def png(path, pixels):
    """A PNG written by hand (8-bit RGB, no filter): the decoder sees exactly these pixels."""
    h, w, _ = pixels.shape
    raw = b"".join(b"\0" + pixels[y].tobytes() for y in range(h))
    chunk = lambda t, b: struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def identity_net(name, shape, pre):
    return write(f"{d}/{name}.yaml", f"inputs: {{image: {shape}}}\n"
                 "nodes: [{name: id, type: dropout}]\n"
                 f"outputs: {{out: id}}\npreprocess: {pre}\n")


def run_image(net, image):
    out = cnnkit("run", net, "--image", image, "--output-dir", f"{d}/out")
    return np.load(f"{d}/out/out.npy"), out


# 1. Hand-computed: a 2x2 image, no resize, scale 1, mean 10, std 2, RGB and BGR.
px = np.array([[[0, 50, 100], [10, 60, 110]], [[20, 70, 120], [30, 80, 130]]], np.uint8)
png(f"{d}/tiny.png", px)
for order, chans in (("rgb", [0, 1, 2]), ("bgr", [2, 1, 0])):
    y, _ = run_image(identity_net("tiny_" + order, [1, 3, 2, 2],
                                  f"{{scale: 1, mean: 10, std: 2, channels: {order}}}"),
                     f"{d}/tiny.png")
    want = np.array([[[(px[i, j, c] - 10) / 2 for j in range(2)] for i in range(2)] for c in chans])
    check(y.shape == (1, 3, 2, 2) and np.array_equal(y[0], want), f"tiny {order}: {y} != {want}")

# 2. torchvision as the reference: shorter side 20, centre crop 17x15, ImageNet mean/std.
img = rng.integers(0, 256, (31, 43, 3), dtype=np.uint8)
png(f"{d}/photo.png", img)
mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
y, log = run_image(identity_net("photo", [2, 3, 17, 15],
                                f"{{resize: 20, crop: [17, 15], mean: {mean}, std: {std}}}"),
                   f"{d}/photo.png")
t = torch.from_numpy(img).permute(2, 0, 1).float()
t = TF.resize(t, 20, interpolation=TF.InterpolationMode.BILINEAR, antialias=False)
t = TF.normalize(TF.center_crop(t, [17, 15]) / 255, mean, std).numpy()
check(y.shape == (2, 3, 17, 15), f"shape {y.shape}")
check(np.abs(y[0] - t).max() < 1e-4 and np.array_equal(y[0], y[1]),
      f"resize+crop vs torchvision: max diff {np.abs(y[0] - t).max()}")
check("photo.png: 43x31 -> resize 27x20 -> crop 15x17" in log, log)

# 3. A 1-channel input takes the luma; resize to an exact [h, w].
y, _ = run_image(identity_net("gray", [1, 1, 8, 9], "{resize: [8, 9], scale: 1}"),
                 f"{d}/photo.png")
t = torch.from_numpy(img).permute(2, 0, 1).float()
t = TF.resize(t, [8, 9], interpolation=TF.InterpolationMode.BILINEAR, antialias=False).numpy()
luma = 0.299 * t[0] + 0.587 * t[1] + 0.114 * t[2]
check(np.abs(y[0, 0] - luma).max() < 1e-3, f"gray: max diff {np.abs(y[0, 0] - luma).max()}")

# 4. JPEG: stb's decoder against PIL's, within a few grey levels.
smooth = np.clip(np.add.outer(np.arange(24) * 8, np.arange(32) * 6)[..., None] +
                 np.array([0, 20, 40]), 0, 255).astype(np.uint8)
Image.fromarray(smooth).save(f"{d}/photo.jpg", quality=95)
y, _ = run_image(identity_net("jpeg", [1, 3, 24, 32], "{scale: 1}"), f"{d}/photo.jpg")
ref = np.asarray(Image.open(f"{d}/photo.jpg").convert("RGB")).transpose(2, 0, 1)
check(np.abs(y[0] - ref).max() <= 3, f"jpeg: max diff {np.abs(y[0] - ref).max()}")

# 5. Top-k table: global average of each channel, softmax; labels from a file and from YAML.
net = write(f"{d}/cls.yaml", "inputs: {image: [1, 3, 6, 6]}\nnodes:\n"
            "  - {name: gap, type: pool, mode: avg, global: true}\n  - {name: f, type: flatten}\n"
            "  - {name: p, type: softmax}\noutputs: {prob: p}\n"
            "preprocess: {resize: 6, scale: 0.1}\nlabels: [red, green, blue]\n")
png(f"{d}/cls.png", np.stack([np.full((6, 6), v, np.uint8) for v in (30, 10, 20)], -1))
out = cnnkit("run", net, "--image", f"{d}/cls.png", "--top", "2")
e = np.exp([3.0, 1.0, 2.0])
p = e / e.sum()
rows = re.findall(r"^\s+(\d+)\s+(\d+)\s+([0-9.]+)\s+(\S*)$", out, re.M)
check(len(rows) == 2, out)
check(rows[0][1:] == ("0", f"{p[0]:.6f}", "red") and rows[1][1:] == ("2", f"{p[2]:.6f}", "blue"),
      out)
write(f"{d}/labels.txt", "rouge\nvert\nbleu\n")
out = cnnkit("run", net, "--image", f"{d}/cls.png", "--labels", f"{d}/labels.txt", "--top", "3")
check(re.search(r"^\s+3\s+1\s+[0-9.]+\s+vert$", out, re.M), out)
# labels: as a file name, relative to the YAML file.
os.makedirs(f"{d}/sub", exist_ok=True)
write(f"{d}/sub/names.txt", "R\nG\nB\n")
net2 = write(f"{d}/sub/cls.yaml", open(net).read().replace("[red, green, blue]", "names.txt"))
out = cnnkit("run", net2, "--image", f"{d}/cls.png", "--top", "1")
check(re.search(r"^\s+1\s+0\s+[0-9.]+\s+R$", out, re.M), out)

# 6. Errors: no preprocess block, a bad key, a missing image, an image smaller than the input.
plain = write(f"{d}/plain.yaml", "inputs: {image: [1, 3, 4, 4]}\nnodes: [{type: relu}]\n")
out = cnnkit("run", plain, "--image", f"{d}/cls.png", "--random-weights", "1", code=1)
check("has no 'preprocess:' block" in out, out)
bad = write(f"{d}/bad.yaml", "inputs: {image: [1, 3, 4, 4]}\nnodes: [{type: relu}]\n"
            "preprocess: {rezise: 4}\n")
out = cnnkit("check", bad, code=1)
check(out.startswith(f"{bad}:3:14: error: unknown key 'rezise' in preprocess; did you mean "
                     "'resize'?"), out)
crop = write(f"{d}/crop.yaml", "inputs: {image: [1, 3, 4, 4]}\nnodes: [{type: relu}]\n"
             "preprocess: {resize: 8, crop: 5}\n")
out = cnnkit("check", crop, code=1)
check(out.startswith(f"{crop}:3:31: error: preprocess crop 5x5 differs from input 'image' "
                     "{1, 3, 4, 4}"), out)
out = cnnkit("run", net, "--image", f"{d}/nope.png", code=1)
check(out.startswith(f"error: {d}/nope.png: cannot read image"), out)
out = cnnkit("run", identity_net("big", [1, 3, 40, 40], "{}"), "--image", f"{d}/cls.png", code=1)
check("image 6x6 resized to 6x6 is smaller than the input's 40x40" in out, out)
# The shipped configs' blocks load and run: LeNet-5 names digits, in one table per classifier
# output (logits and prob).
out = cnnkit("run", f"{SOURCE}/configs/lenet5.yaml", "--random-weights", "1", "--image",
             f"{d}/photo.png", "--top", "10")
check(len(re.findall(r"^\s+\d+\s+\d\s+[0-9.]+\s+(zero|one|two|three|four|five|six|seven|eight|"
                     r"nine)$", out, re.M)) == 20, out)
check("logits: top 10 of 10" in out and "prob: top 10 of 10" in out, out)
print("image: ok")
