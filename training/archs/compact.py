"""A compact all-convolutional upscaler in the DCGAN family (SRVGG-style body, pixel-shuffle head).

Image contract: input N×3×H×W float32 RGB in [0, 1], any H and W; output N×3×(sH)×(sW), same range (not clamped:
the engine clamps). Residual learning: the body predicts the difference to a nearest-neighbour upscale, which
is computed in pixel-shuffle space (the input repeated s² times), so the exported graph needs no Resize op.
"""

from __future__ import annotations

import torch
from torch import nn


class RepConv(nn.Module):
    """A 3×3 convolution trained as three branches, 3×3 + 1×1 + identity, and merged into one 3×3 for inference
    (structural re-parameterization: Ding et al., "RepVGG", CVPR 2021; without BatchNorm, as in SR use, e.g.
    ECBSR). The extra branches ease optimization of a plain net; the exported graph is the same single conv."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv3 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv1 = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv3(x) + self.conv1(x) + x

    @torch.no_grad()
    def merged(self) -> nn.Conv2d:
        channels = self.conv3.in_channels
        conv = nn.Conv2d(channels, channels, 3, padding=1)
        weight = self.conv3.weight.clone()
        weight[:, :, 1:2, 1:2] += self.conv1.weight
        weight[:, :, 1, 1] += torch.eye(channels, dtype=weight.dtype, device=weight.device)
        conv.weight.copy_(weight)
        assert conv.bias is not None and self.conv3.bias is not None and self.conv1.bias is not None
        conv.bias.copy_(self.conv3.bias + self.conv1.bias)
        return conv


class CompactUpscaler(nn.Module):
    """3×3 convolutions with PReLU at low resolution, then one pixel shuffle.

    Args:
        scale: Upscaling factor (1, 2, 3 or 4).
        channels: Feature width of the body.
        blocks: Number of 3×3 conv + PReLU layers after the first.
        rep: Train the body convs as :class:`RepConv` branches; :meth:`fused` gives the plain network to export.
    """

    def __init__(self, scale: int = 4, channels: int = 48, blocks: int = 8, rep: bool = False) -> None:
        super().__init__()
        self.hparams: dict[str, int | bool] = {"scale": scale, "channels": channels, "blocks": blocks}
        if rep:
            self.hparams["rep"] = True
        self.scale = scale
        layers: list[nn.Module] = [nn.Conv2d(3, channels, 3, padding=1), nn.PReLU(channels)]
        for _ in range(blocks):
            body: nn.Module = RepConv(channels) if rep else nn.Conv2d(channels, channels, 3, padding=1)
            layers += [body, nn.PReLU(channels)]
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

    @torch.no_grad()
    def fused(self) -> CompactUpscaler:
        """The same function as one plain 3×3 conv per layer (itself when it has no re-parameterized branches)."""
        if not self.hparams.get("rep"):
            return self
        plain = CompactUpscaler(int(self.hparams["scale"]), int(self.hparams["channels"]), int(self.hparams["blocks"]))
        for source, target in zip(self.body, plain.body, strict=True):
            if isinstance(source, RepConv):
                source = source.merged()
            target.load_state_dict(source.state_dict())
        return plain.to(next(self.parameters()).device).eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        base = x.repeat_interleave(self.scale * self.scale, dim=1)
        return self.shuffle(self.body(x) + base)
