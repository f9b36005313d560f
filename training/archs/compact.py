"""A compact all-convolutional upscaler in the DCGAN family (SRVGG-style body, pixel-shuffle head).

Image contract: input N×3×H×W float32 RGB in [0, 1], any H and W; output N×3×(sH)×(sW), same range (not clamped:
the engine clamps). Residual learning: the body predicts the difference to a nearest-neighbour upscale, which
is computed in pixel-shuffle space (the input repeated s² times), so the exported graph needs no Resize op.
"""

from __future__ import annotations

import torch
from torch import nn


class CompactUpscaler(nn.Module):
    """3×3 convolutions with PReLU at low resolution, then one pixel shuffle.

    Args:
        scale: Upscaling factor (1, 2, 3 or 4).
        channels: Feature width of the body.
        blocks: Number of 3×3 conv + PReLU layers after the first.
    """

    def __init__(self, scale: int = 4, channels: int = 48, blocks: int = 8) -> None:
        super().__init__()
        self.hparams = {"scale": scale, "channels": channels, "blocks": blocks}
        self.scale = scale
        layers: list[nn.Module] = [nn.Conv2d(3, channels, 3, padding=1), nn.PReLU(channels)]
        for _ in range(blocks):
            layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.PReLU(channels)]
        layers.append(nn.Conv2d(channels, 3 * scale * scale, 3, padding=1))
        self.body = nn.Sequential(*layers)
        self.shuffle = nn.PixelShuffle(scale)
        # Start as the nearest-neighbour upscale: the last conv begins near zero.
        last = layers[-1]
        assert isinstance(last, nn.Conv2d) and last.bias is not None
        nn.init.normal_(last.weight, 0.0, 1e-3)
        nn.init.zeros_(last.bias)

    @property
    def receptive_radius(self) -> int:
        """Input pixels of context each output pixel depends on, on each side."""
        return int(self.hparams["blocks"]) + 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        base = x.repeat_interleave(self.scale * self.scale, dim=1)
        return self.shuffle(self.body(x) + base)
