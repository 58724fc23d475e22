"""CLIP's modified ResNet image tower, without its attention pool: MAGMA's image encoder.

MAGMA (Eichenberg et al. 2022) takes CLIP RN50x16's visual tower, replaces the attention
pool with a reshape of the last feature map, and feeds the 12 x 12 = 144 grid vectors
(3,072 channels each) to the image prefix. This is our own implementation of that tower;
parameter names follow CLIP's visual module (conv1, bn1, layer1.0.conv1,
layer1.0.downsample.0, ...) so the checkpoint key map only swaps the prefix.

What makes CLIP's ResNet different from torchvision's (Radford et al. 2021):
- a stem of three 3x3 convolutions and an average pool instead of one 7x7 conv and a max pool;
- anti-aliased strides: a stride-2 block average-pools after its 3x3 conv, and its shortcut
  average-pools before a stride-1 1x1 conv;
- width multipliers and deeper stages for the scaled models (RN50x16: width 96,
  stages (6, 8, 18, 8), 384 px input).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)

EXPANSION = 4
"""Output channels of a bottleneck block per channel of its 3x3 convolution."""


@dataclass
class ClipResNetConfig:
    """Sizes of the tower; the defaults are CLIP RN50x16 as MAGMA uses it."""

    layers: tuple[int, int, int, int] = (6, 8, 18, 8)
    """Bottleneck blocks per stage."""
    width: int = 96
    """Stem output channels; stage s works at width * 2**s and outputs 4x that."""
    image_size: int = 384
    """Square input side in pixels; a multiple of 32 (the tower's total stride)."""

    def __post_init__(self) -> None:
        self.layers = tuple(self.layers)  # type: ignore[assignment]  # JSON gives a list
        if self.image_size % 32:
            raise ValueError(f"image_size must be a multiple of 32, not {self.image_size}")

    @property
    def out_dim(self) -> int:
        """Channels of the last feature map (3,072 for RN50x16)."""
        return self.width * 8 * EXPANSION

    @property
    def num_positions(self) -> int:
        """Grid positions of the last feature map (144 for RN50x16 at 384 px)."""
        return (self.image_size // 32) ** 2


def clip_preprocess(
    images: list[Image.Image], size: int = 384, center_crop: bool = True
) -> torch.Tensor:
    """RGB PIL images -> [B, 3, size, size] normalised with CLIP's mean and std.

    center_crop=True is CLIP's (and MAGMA's) transform: bicubic resize of the short side to
    `size`, then a centre crop. False squeezes the whole image into the square instead, which
    keeps the borders a question may be about, at the cost of a distortion CLIP never saw.
    """
    arrays = []
    for img in images:
        img = img.convert("RGB")
        if center_crop:
            w, h = img.size
            scale = size / min(w, h)
            new_w, new_h = (size, int(size * h / w)) if w <= h else (int(size * w / h), size)
            if scale != 1:
                img = img.resize((new_w, new_h), Image.BICUBIC)
            left = int(round((new_w - size) / 2.0))
            top = int(round((new_h - size) / 2.0))
            img = img.crop((left, top, left + size, top + size))
        else:
            img = img.resize((size, size), Image.BICUBIC)
        arr = np.asarray(img, dtype=np.float32)
        arrays.append((arr / 255.0 - CLIP_MEAN) / CLIP_STD)
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def _conv_bn(c_in: int, c_out: int, kernel: int, stride: int = 1) -> tuple[nn.Conv2d, nn.Module]:
    conv = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False)
    return conv, nn.BatchNorm2d(c_out)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 -> (avg-pool if strided) -> 1x1, plus a shortcut; ReLU after the sum."""

    def __init__(self, c_in: int, planes: int, stride: int = 1):
        super().__init__()
        c_out = planes * EXPANSION
        self.conv1, self.bn1 = _conv_bn(c_in, planes, 1)
        self.conv2, self.bn2 = _conv_bn(planes, planes, 3)
        self.avgpool = nn.AvgPool2d(stride) if stride > 1 else nn.Identity()
        self.conv3, self.bn3 = _conv_bn(planes, c_out, 1)
        self.relu = nn.ReLU()
        self.downsample: nn.Module | None = None
        if stride > 1 or c_in != c_out:
            # CLIP keys the shortcut's conv and norm as downsample.0 and downsample.1
            conv, bn = _conv_bn(c_in, c_out, 1)
            pool = nn.AvgPool2d(stride) if stride > 1 else nn.Identity()
            self.downsample = nn.Sequential(OrderedDict([("pool", pool), ("0", conv), ("1", bn)]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(self.avgpool(out)))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


class ClipResNetEncoder(nn.Module):
    """Frozen CLIP ResNet tower: [B, 3, S, S] -> [B, (S/32)^2, width * 32] grid features.

    BatchNorm always runs on its stored statistics: the encoder is frozen, and a tuning
    job putting the model into training mode must not change what it computes.
    """

    def __init__(self, config: ClipResNetConfig | None = None):
        super().__init__()
        self.config = config = config or ClipResNetConfig()
        w = config.width
        self.conv1, self.bn1 = _conv_bn(3, w // 2, 3, stride=2)
        self.conv2, self.bn2 = _conv_bn(w // 2, w // 2, 3)
        self.conv3, self.bn3 = _conv_bn(w // 2, w, 3)
        self.avgpool = nn.AvgPool2d(2)
        self.relu = nn.ReLU()
        c_in = w
        for stage, blocks in enumerate(config.layers):
            planes = w * 2**stage
            first = Bottleneck(c_in, planes, stride=1 if stage == 0 else 2)
            rest = [Bottleneck(planes * EXPANSION, planes) for _ in range(blocks - 1)]
            self.add_module(f"layer{stage + 1}", nn.Sequential(first, *rest))
            c_in = planes * EXPANSION
        self.requires_grad_(False)
        self.eval()

    @property
    def out_dim(self) -> int:
        return self.config.out_dim

    @property
    def num_positions(self) -> int:
        return self.config.num_positions

    @property
    def image_size(self) -> int:
        return self.config.image_size

    def train(self, mode: bool = True) -> ClipResNetEncoder:
        return super().train(False)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = pixels.to(self.conv1.weight.dtype)
        for conv, bn in ((self.conv1, self.bn1), (self.conv2, self.bn2), (self.conv3, self.bn3)):
            x = self.relu(bn(conv(x)))
        x = self.avgpool(x)
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = stage(x)
        return x.flatten(2).transpose(1, 2)  # [B, C, h, w] -> [B, h*w, C], row by row
