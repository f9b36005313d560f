"""Image-conditioned generators for 1× tasks (restore, colorize), from the DCGAN family.

All-convolutional: a stride-2 conv down, residual 3×3 blocks at half resolution (BatchNorm optional), a
pixel-shuffle up, no normalization on the output. Sized for CPU inference (about 200 K parameters by default).

Image contract: input N×3×H×W float32 RGB in [0, 1], H and W multiples of 2 (the engine pads); output the same
shape, not clamped.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# BT.601 luma and chroma (YCbCr without offsets), used by the colorizer to keep the input's luminance exactly.
_TO_YCC = torch.tensor([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
_FROM_YCC = torch.linalg.inv(_TO_YCC)


class _ResBlock(nn.Module):
    def __init__(self, channels: int, batch_norm: bool) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels, channels, 3, padding=1, bias=not batch_norm)]
        if batch_norm:
            layers.append(nn.BatchNorm2d(channels))
        layers += [nn.PReLU(channels), nn.Conv2d(channels, channels, 3, padding=1)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class _Backbone(nn.Module):
    """Full-res head, stride-2 down, residual blocks, pixel-shuffle up, full-res tail with a skip."""

    def __init__(self, out_channels: int, channels: int, blocks: int, batch_norm: bool) -> None:
        super().__init__()
        self.head = nn.Sequential(nn.Conv2d(3, channels // 2, 3, padding=1), nn.PReLU(channels // 2))
        self.down = nn.Sequential(nn.Conv2d(channels // 2, channels, 4, stride=2, padding=1), nn.PReLU(channels))
        self.blocks = nn.Sequential(*(_ResBlock(channels, batch_norm) for _ in range(blocks)))
        self.up = nn.Sequential(nn.Conv2d(channels, channels * 2, 3, padding=1), nn.PixelShuffle(2))
        self.tail = nn.Sequential(
            nn.Conv2d(channels // 2 * 2, channels // 2, 3, padding=1),
            nn.PReLU(channels // 2),
            nn.Conv2d(channels // 2, out_channels, 3, padding=1),
        )
        last = self.tail[-1]
        assert isinstance(last, nn.Conv2d) and last.bias is not None
        nn.init.normal_(last.weight, 0.0, 1e-3)  # start as the identity (residual learning)
        nn.init.zeros_(last.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.head(x)
        features = self.up(self.blocks(self.down(skip)))
        return self.tail(torch.cat([features, skip], dim=1))


class _ImageToImage(nn.Module):
    """Shared constructor of the 1× generators: hyperparameters, backbone and receptive field."""

    size_multiple = 2

    def __init__(self, out_channels: int, channels: int, blocks: int, batch_norm: bool) -> None:
        super().__init__()
        self.hparams = {"channels": channels, "blocks": blocks, "batch_norm": batch_norm}
        self.backbone = _Backbone(out_channels, channels, blocks, batch_norm)

    @property
    def receptive_radius(self) -> int:
        """Input pixels of context each output pixel depends on, on each side (approximately)."""
        return 4 * int(self.hparams["blocks"]) + 8


class Restorer(_ImageToImage):
    """Predicts a correction added to the damaged photo (residual learning).

    Args:
        channels: Width at half resolution.
        blocks: Residual blocks.
        batch_norm: BatchNorm inside the residual blocks.
    """

    def __init__(self, channels: int = 40, blocks: int = 5, batch_norm: bool = False) -> None:
        super().__init__(3, channels, blocks, batch_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.backbone(x)


class Colorizer(_ImageToImage):
    """Predicts chroma only; the output keeps the input's BT.601 luminance exactly.

    Args:
        channels: Width at half resolution.
        blocks: Residual blocks.
        batch_norm: BatchNorm inside the residual blocks.
    """

    to_ycc: torch.Tensor
    from_ycc: torch.Tensor

    def __init__(self, channels: int = 40, blocks: int = 5, batch_norm: bool = True) -> None:
        super().__init__(2, channels, blocks, batch_norm)
        self.register_buffer("to_ycc", _TO_YCC.clone(), persistent=False)
        self.register_buffer("from_ycc", _FROM_YCC.clone(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        luma = F.conv2d(x, self.to_ycc[:1, :, None, None])
        chroma = torch.tanh(self.backbone(x)) * 0.5
        return F.conv2d(torch.cat([luma, chroma], dim=1), self.from_ycc[:, :, None, None])
