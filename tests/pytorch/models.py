"""models.py: the PyTorch references of tests/pytorch: torchvision's networks, and torch modules
written to match configs/ whose attribute names are the configs' node names (so the weights
map one to one). Each builder returns (module, input shape, output names -> function of the
module's forward result)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.resnet import BasicBlock, Bottleneck


def classifier_outputs(logits):
    return {"logits": logits, "prob": torch.softmax(logits, dim=1)}


class ConvBN(nn.Module):
    """conv (no bias) + batch norm + relu; cnnkit's blocks conv_bn / conv_bn_relu."""

    def __init__(self, cin, cout, k=3, stride=1, pad=1, transposed=False):
        super().__init__()
        if transposed:
            self.deconv = nn.ConvTranspose2d(cin, cout, k, stride, pad, bias=False)
        else:
            self.conv = nn.Conv2d(cin, cout, k, stride, pad, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        conv = self.deconv if hasattr(self, "deconv") else self.conv
        return F.relu(self.bn(conv(x)))


class LeNet5(nn.Module):
    """configs/lenet5.yaml."""

    def __init__(self):
        super().__init__()
        self.c1, self.c3 = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5)
        self.c5 = nn.Conv2d(16, 120, 5)
        self.f6, self.output = nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        x = F.avg_pool2d(torch.tanh(self.c1(x)), 2)
        x = F.avg_pool2d(torch.tanh(self.c3(x)), 2)
        x = torch.flatten(torch.tanh(self.c5(x)), 1)
        return classifier_outputs(self.output(torch.tanh(self.f6(x))))


class CaffeAlexNet(nn.Module):
    """configs/alexnet.yaml: the original two-GPU AlexNet (groups 2, LRN)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 96, 11, 4)
        self.conv2 = nn.Conv2d(96, 256, 5, padding=2, groups=2)
        self.conv3 = nn.Conv2d(256, 384, 3, padding=1)
        self.conv4 = nn.Conv2d(384, 384, 3, padding=1, groups=2)
        self.conv5 = nn.Conv2d(384, 256, 3, padding=1, groups=2)
        self.fc6 = nn.Linear(256 * 6 * 6, 4096)
        self.fc7 = nn.Linear(4096, 4096)
        self.fc8 = nn.Linear(4096, 1000)
        self.lrn = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)

    def forward(self, x):
        x = F.max_pool2d(self.lrn(F.relu(self.conv1(x))), 3, 2)
        x = F.max_pool2d(self.lrn(F.relu(self.conv2(x))), 3, 2)
        x = F.relu(self.conv5(F.relu(self.conv4(F.relu(self.conv3(x))))))
        x = torch.flatten(F.max_pool2d(x, 3, 2), 1)
        return classifier_outputs(self.fc8(F.relu(self.fc7(F.relu(self.fc6(x))))))


class DeconvNet(nn.Module):
    """configs/deconvnet.yaml."""
    ENC = [("conv1_1", 16), ("conv1_2", 16), 1, ("conv2_1", 32), ("conv2_2", 32), 2,
           ("conv3_1", 64), ("conv3_2", 64), ("conv3_3", 64), 3,
           ("conv4_1", 128), ("conv4_2", 128), ("conv4_3", 128), 4,
           ("conv5_1", 128), ("conv5_2", 128), ("conv5_3", 128), 5]
    DEC = [5, ("deconv5_1", 128), ("deconv5_2", 128), ("deconv5_3", 128),
           4, ("deconv4_1", 128), ("deconv4_2", 128), ("deconv4_3", 64),
           3, ("deconv3_1", 64), ("deconv3_2", 64), ("deconv3_3", 32),
           2, ("deconv2_1", 32), ("deconv2_2", 16), 1, ("deconv1_1", 16), ("deconv1_2", 16)]

    def __init__(self):
        super().__init__()
        c = 3
        for item in self.ENC:
            if isinstance(item, tuple):
                setattr(self, item[0], ConvBN(c, item[1]))
                c = item[1]
        self.fc6 = nn.Conv2d(128, 1024, 7)
        self.fc7 = nn.Conv2d(1024, 1024, 1)
        self.deconv_fc6 = ConvBN(1024, 128, 7, 1, 0, transposed=True)
        c = 128
        for item in self.DEC:
            if isinstance(item, tuple):
                setattr(self, item[0], ConvBN(c, item[1], transposed=True))
                c = item[1]
        self.score = nn.Conv2d(16, 21, 1)

    # Max pool's argmax is discontinuous: where two window values are equal to within float
    # rounding, cnnkit and torch may pick different ones, and the unpooled map then differs.
    # So the check also fetches cnnkit's indices, accepts a differing index only where the two
    # values tie to within the tolerance, and reruns torch with cnnkit's indices.
    EXTRA_OUTPUTS = {f"pool{k}_indices": f"pool{k}:1" for k in range(1, 6)}

    def forward(self, x, indices=None):
        self.pooled, own = {}, {}
        for item in self.ENC:
            if isinstance(item, tuple):
                x = getattr(self, item[0])(x)
            else:
                self.pooled[item] = x
                x, own[item] = F.max_pool2d(x, 2, 2, return_indices=True)
        self.indices = own
        indices = indices or own
        x = self.deconv_fc6(F.relu(self.fc7(F.relu(self.fc6(x)))))
        for item in self.DEC:
            if isinstance(item, tuple):
                x = getattr(self, item[0])(x)
            else:
                x = F.max_unpool2d(x, indices[item], 2, 2)
        return {"score": self.score(x)}

    def agree(self, x, cnnkit_outputs, tolerance):
        """Reruns with cnnkit's pool indices where they differ from torch's only by a tie."""
        indices, lines, ok = {}, [], True
        for k in range(1, 6):
            before = self.pooled[k]
            n, c, h, w = before.shape
            planes = (torch.arange(n * c).reshape(n, c, 1, 1) * h * w)
            got = torch.from_numpy(cnnkit_outputs[f"pool{k}_indices"]) - planes
            flat = before.reshape(n, c, -1)
            gap = (flat.gather(2, got.reshape(n, c, -1)) -
                   flat.gather(2, self.indices[k].reshape(n, c, -1))).abs().max().item()
            flips = int((got != self.indices[k]).sum())
            tie = gap <= tolerance * before.abs().max().item()
            ok &= tie
            lines.append(f"pool{k}: argmax indices agree" if not flips else
                         f"pool{k}: {flips} argmax index(es) differ, their values by at most "
                         f"{gap:.2e} ({'a tie' if tie else 'NOT a tie: FAIL'})")
            indices[k] = got
        with torch.no_grad():
            return self.forward(x, indices), lines, ok


class DoubleConv(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))


class Down(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = DoubleConv(cin, cout)

    def forward(self, x):
        return self.conv(F.max_pool2d(x, 2, 2))


class Up(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cout, 2, 2)
        self.conv = DoubleConv(2 * cout, cout)

    def forward(self, x, skip):
        return self.conv(torch.cat([skip, self.up(x)], 1))


class UNet(nn.Module):
    """configs/unet.yaml."""

    def __init__(self):
        super().__init__()
        self.inc = DoubleConv(3, 16)
        self.down1, self.down2 = Down(16, 32), Down(32, 64)
        self.down3, self.down4 = Down(64, 128), Down(128, 256)
        self.up1, self.up2 = Up(256, 128), Up(128, 64)
        self.up3, self.up4 = Up(64, 32), Up(32, 16)
        self.score = nn.Conv2d(16, 2, 1)

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        y = self.up1(self.down4(x4), x4)
        y = self.up4(self.up3(self.up2(y, x3), x2), x1)
        return {"score": self.score(y)}


class PositionBias(nn.Module):
    def __init__(self, shape):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(shape).uniform_(-1, 1))

    def forward(self, x):
        return x + self.weight


class AlphaGoPolicy(nn.Module):
    """configs/alphago_policy.yaml."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(48, 192, 5, padding=2)
        self.hidden = nn.ModuleList(nn.Conv2d(192, 192, 3, padding=1) for _ in range(11))
        self.conv13 = nn.Conv2d(192, 1, 1, bias=False)
        self.position_bias = PositionBias((1, 19, 19))

    def forward(self, x):
        x = F.relu(self.conv1(x))
        for conv in self.hidden:
            x = F.relu(conv(x))
        return classifier_outputs(torch.flatten(self.position_bias(self.conv13(x)), 1))


class HRFuse(nn.Module):
    """HRNet's fuse_layers[i] as in the official code (HRNet/HRNet-Semantic-Segmentation)."""

    def __init__(self, channels, i):
        super().__init__()
        self.i = i
        for j, cj in enumerate(channels):  # children named "j" as fuse_layers[i][j]
            if j > i:
                self.add_module(str(j), nn.Sequential(
                    nn.Conv2d(cj, channels[i], 1, bias=False), nn.BatchNorm2d(channels[i]),
                    nn.Upsample(scale_factor=2 ** (j - i), mode="nearest")))
            elif j < i:
                steps = []
                for k in range(i - j):
                    last = k == i - j - 1
                    cout = channels[i] if last else cj
                    step = [nn.Conv2d(cj, cout, 3, 2, 1, bias=False), nn.BatchNorm2d(cout)]
                    steps.append(nn.Sequential(*(step if last else step + [nn.ReLU()])))
                self.add_module(str(j), nn.Sequential(*steps))

    def forward(self, xs):
        y = xs[0] if self.i == 0 else self._modules["0"](xs[0])
        for j in range(1, len(xs)):
            y = y + (xs[j] if j == self.i else self._modules[str(j)](xs[j]))
        return F.relu(y)


def basic_stage(c):
    return nn.Sequential(BasicBlock(c, c), BasicBlock(c, c))


class HRNetSmall(nn.Module):
    """configs/hrnet_small.yaml."""

    def __init__(self):
        super().__init__()
        self.stem1 = ConvBN(3, 32, stride=2)
        self.stem2 = ConvBN(32, 32, stride=2)
        down = nn.Sequential(nn.Conv2d(32, 64, 1, bias=False), nn.BatchNorm2d(64))
        self.layer1 = nn.Sequential(Bottleneck(32, 16, downsample=down), Bottleneck(64, 16))
        self.transition1_0 = ConvBN(64, 16)
        self.transition1_1 = ConvBN(64, 32, stride=2)
        self.stage2_0, self.stage2_1 = basic_stage(16), basic_stage(32)
        self.fuse2_0, self.fuse2_1 = HRFuse([16, 32], 0), HRFuse([16, 32], 1)
        self.transition2_2 = ConvBN(32, 64, stride=2)
        self.stage3_0, self.stage3_1 = basic_stage(16), basic_stage(32)
        self.stage3_2 = basic_stage(64)
        self.fuse3_0, self.fuse3_1, self.fuse3_2 = (HRFuse([16, 32, 64], i) for i in range(3))
        self.head = ConvBN(112, 112, k=1, pad=0)
        self.score = nn.Conv2d(112, 19, 1)

    def forward(self, x):
        x = self.layer1(self.stem2(self.stem1(x)))
        s = [self.stage2_0(self.transition1_0(x)), self.stage2_1(self.transition1_1(x))]
        s = [self.fuse2_0(s), self.fuse2_1(s)]
        s = [self.stage3_0(s[0]), self.stage3_1(s[1]), self.stage3_2(self.transition2_2(s[1]))]
        s = [self.fuse3_0(s), self.fuse3_1(s), self.fuse3_2(s)]
        up = [F.interpolate(s[k], scale_factor=2 ** k, mode="bilinear", align_corners=False)
              for k in (1, 2)]
        return {"score": self.score(self.head(torch.cat([s[0]] + up, 1)))}


def torchvision_classifier(arch, **kwargs):
    return lambda: torchvision.models.__dict__[arch](weights=None, **kwargs)


# name -> (config, builder, input shape, preset of tools/torch_to_safetensors.py, torchvision?)
NETWORKS = {
    "lenet5": ("lenet5.yaml", LeNet5, (1, 1, 32, 32), None, False),
    "alexnet": ("alexnet.yaml", CaffeAlexNet, (1, 3, 227, 227), None, False),
    "alexnet_torchvision": ("alexnet_torchvision.yaml", torchvision_classifier("alexnet"),
                            (1, 3, 224, 224), "alexnet", True),
    "vgg16": ("vgg16.yaml", torchvision_classifier("vgg16"), (1, 3, 224, 224), "vgg16", True),
    "googlenet": ("googlenet.yaml", torchvision_classifier(
        "googlenet", aux_logits=False, transform_input=False, init_weights=True),
        (1, 3, 224, 224), None, True),
    "resnet18": ("resnet18.yaml", torchvision_classifier("resnet18"), (1, 3, 224, 224), None,
                 True),
    "resnet50": ("resnet50.yaml", torchvision_classifier("resnet50"), (1, 3, 224, 224), None,
                 True),
    "mobilenet_v2": ("mobilenet_v2.yaml", torchvision_classifier("mobilenet_v2"),
                     (1, 3, 224, 224), "mobilenet_v2", True),
    "deconvnet": ("deconvnet.yaml", DeconvNet, (1, 3, 224, 224), None, False),
    "unet": ("unet.yaml", UNet, (1, 3, 128, 128), None, False),
    "alphago_policy": ("alphago_policy.yaml", AlphaGoPolicy, (1, 48, 19, 19), None, False),
    "hrnet_small": ("hrnet_small.yaml", HRNetSmall, (1, 3, 128, 128), None, False),
}
