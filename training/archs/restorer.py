"""Image-conditioned generators for 1× tasks (restore, colorize), from the DCGAN family.

All-convolutional: stride-2 convs down, residual 3×3 blocks at the lowest resolution (BatchNorm optional),
pixel-shuffle up with skips from the way down, no normalization on the output. ``levels`` = 1 works at half
resolution; ``levels`` = 2 adds a quarter-resolution level (a small U-Net), which buys four times the receptive
field per block at a quarter of the cost, what noise as strong as σ 25 needs. Sized for CPU inference.

Two options make the two-level network faster on a CPU for the same quarter-resolution core (onnxruntime, 2
threads, 512² photo: 141 ms; with both 82 ms): ``full_res=False`` drops the full-resolution layers (the photo is
read as its four half-resolution sub-images, a lossless pixel unshuffle, and the last convolution at half
resolution writes the correction through a pixel shuffle, as FFDNet works at half resolution), and
``activation="leaky"`` uses LeakyReLU (0.1; alone 105 ms), which onnxruntime fuses into the convolution before
it, where a per-channel PReLU is a separate pass over memory with layout reorders around it.

Image contract: input N×3×H×W float32 RGB in [0, 1], H and W multiples of 2 (the engine pads); output the same
shape, not clamped.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

# BT.601 luma and chroma (YCbCr without offsets), used by the colorizer to keep the input's luminance exactly.
_TO_YCC = torch.tensor([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
_FROM_YCC = torch.linalg.inv(_TO_YCC)


ACTIVATIONS = ("prelu", "leaky")


def _activation(kind: str, channels: int) -> nn.Module:
    return nn.PReLU(channels) if kind == "prelu" else nn.LeakyReLU(0.1)


class _ResBlock(nn.Module):
    def __init__(self, channels: int, batch_norm: bool, activation: str = "prelu") -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels, channels, 3, padding=1, bias=not batch_norm)]
        if batch_norm:
            layers.append(nn.BatchNorm2d(channels))
        layers += [_activation(activation, channels), nn.Conv2d(channels, channels, 3, padding=1)]
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


class _UNetBackbone(nn.Module):
    """Two levels: full-res head, half-res encoder block, quarter-res residual blocks, and back up with skips.

    Widths are ``channels`` at quarter resolution, half of it at half resolution, a quarter at full resolution.
    Without ``full_res`` there is no full-resolution layer: ``down1`` reads the photo's four half-resolution
    sub-images (a pixel unshuffle, as FFDNet does) and ``tail`` writes the output from half resolution through a
    pixel shuffle, from the features and the sub-images themselves.
    """

    def __init__(
        self,
        out_channels: int,
        channels: int,
        blocks: int,
        batch_norm: bool,
        activation: str = "prelu",
        full_res: bool = True,
    ) -> None:
        super().__init__()
        c1, c2, c3 = channels // 4, channels // 2, channels
        self.full_res = full_res
        self.head = nn.Sequential(nn.Conv2d(3, c1, 3, padding=1), _activation(activation, c1)) if full_res else None
        self.down1 = (
            nn.Sequential(nn.Conv2d(c1, c2, 4, stride=2, padding=1), _activation(activation, c2))
            if full_res
            # lossless: a stride-2 convolution from the photo packs 48 values into c2 channels and loses the
            # per-pixel noise the correction must cancel (that variant stalled 1.5 dB under restore on its mix)
            else nn.Sequential(nn.PixelUnshuffle(2), nn.Conv2d(12, c2, 3, padding=1), _activation(activation, c2))
        )
        self.down2 = nn.Sequential(nn.Conv2d(c2, c3, 4, stride=2, padding=1), _activation(activation, c3))
        self.blocks = nn.Sequential(*(_ResBlock(c3, batch_norm, activation) for _ in range(blocks)))
        self.up2 = nn.Sequential(nn.Conv2d(c3, c2 * 4, 3, padding=1), nn.PixelShuffle(2))
        self.dec1 = nn.Sequential(
            nn.Conv2d(c2 * 2, c2, 3, padding=1), _activation(activation, c2), _ResBlock(c2, batch_norm, activation)
        )
        self.tail: nn.Sequential
        if full_res:
            self.up1 = nn.Sequential(nn.Conv2d(c2, c1 * 4, 3, padding=1), nn.PixelShuffle(2))
            self.tail = nn.Sequential(
                nn.Conv2d(c1 * 2, c1, 3, padding=1),
                _activation(activation, c1),
                nn.Conv2d(c1, out_channels, 3, padding=1),
            )
            last = self.tail[-1]
        else:
            # the sub-images again beside the features: the correction cancels per-pixel noise, which it must see
            self.tail = nn.Sequential(nn.Conv2d(c2 + 12, out_channels * 4, 3, padding=1), nn.PixelShuffle(2))
            last = self.tail[0]
        assert isinstance(last, nn.Conv2d) and last.bias is not None
        nn.init.normal_(last.weight, 0.0, 1e-3)  # start as the identity (residual learning)
        nn.init.zeros_(last.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip1 = self.head(x) if self.head is not None else x
        skip2 = self.down1(skip1)
        deep = self.up2(self.blocks(self.down2(skip2)))
        half = self.dec1(torch.cat([deep, skip2], dim=1))
        if not self.full_res:
            return self.tail(torch.cat([half, F.pixel_unshuffle(x, 2)], dim=1))
        return self.tail(torch.cat([self.up1(half), skip1], dim=1))


class _ImageToImage(nn.Module):
    """Shared constructor of the 1× generators: hyperparameters, backbone and receptive field.

    Args:
        channels: Width at half resolution.
        blocks: Residual blocks.
        batch_norm: BatchNorm inside the residual blocks (None: the subclass's ``default_batch_norm``).
        levels: 1 (half resolution) or 2 (down to a quarter; ``channels`` is the quarter-resolution width).
        activation: ``"prelu"`` or ``"leaky"`` (two levels only; see the module docstring).
        full_res: Layers at full resolution (two levels only; False is about twice as fast).
    """

    out_channels: int  # what the backbone predicts
    default_batch_norm: bool

    def __init__(
        self,
        channels: int = 40,
        blocks: int = 5,
        batch_norm: bool | None = None,
        levels: int = 1,
        activation: str = "prelu",
        full_res: bool = True,
    ) -> None:
        super().__init__()
        out_channels = self.out_channels
        batch_norm = self.default_batch_norm if batch_norm is None else batch_norm
        if levels not in (1, 2):
            raise ValueError(f"levels must be 1 or 2, got {levels}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
        if levels == 1 and (activation != "prelu" or not full_res):
            raise ValueError("activation and full_res are options of the two-level network (levels = 2)")
        self.hparams: dict[str, object] = {"channels": channels, "blocks": blocks, "batch_norm": batch_norm}
        # older checkpoints carry only the first three; the options are written only where they are not the default
        if levels != 1:
            self.hparams["levels"] = levels
        if activation != "prelu":
            self.hparams["activation"] = activation
        if not full_res:
            self.hparams["full_res"] = full_res
        self.levels = levels
        self.size_multiple = 2**levels
        self.backbone: nn.Module
        if levels == 1:
            self.backbone = _Backbone(out_channels, channels, blocks, batch_norm)
        else:
            self.backbone = _UNetBackbone(out_channels, channels, blocks, batch_norm, activation, full_res)

    @property
    def receptive_radius(self) -> int:
        """Input pixels of context each output pixel depends on, on each side (approximately)."""
        blocks = int(self.hparams["blocks"])  # type: ignore[call-overload]
        return 4 * blocks + 8 if self.levels == 1 else 8 * blocks + 24


class Restorer(_ImageToImage):
    """Predicts a correction added to the damaged photo (residual learning); hyperparameters as
    :class:`_ImageToImage`, without BatchNorm by default."""

    out_channels = 3
    default_batch_norm = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.backbone(x)


class Colorizer(_ImageToImage):
    """Predicts chroma only; the output keeps the input's BT.601 luminance exactly. Hyperparameters as
    :class:`_ImageToImage`, with BatchNorm by default."""

    out_channels = 2
    default_batch_norm = True
    to_ycc: torch.Tensor
    from_ycc: torch.Tensor

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.register_buffer("to_ycc", _TO_YCC.clone(), persistent=False)
        self.register_buffer("from_ycc", _FROM_YCC.clone(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        luma = F.conv2d(x, self.to_ycc[:1, :, None, None])
        chroma = torch.tanh(self.backbone(x)) * 0.5
        return F.conv2d(torch.cat([luma, chroma], dim=1), self.from_ycc[:, :, None, None])
