"""Old-photo repair: an inpainter that fills given holes and a detector that finds the damage.

``inpainter``: a small Context-Encoder-style U-Net of gated convolutions (Yu et al., "Free-Form Image Inpainting
with Gated Convolution", ICCV 2019: each layer learns a soft per-pixel gate, so features computed from hole
pixels are not taken for photo) at 1/2 and 1/4 resolution (the photo and mask folded by pixel-unshuffle, the
correction unfolded by pixel-shuffle: sized for the CPU), dilated gated residual blocks at 1/4 (a receptive field
of about 150 px, enough to bridge a torn corner from both sides).
Its input is the photo with the holes already filled by Telea's fast-marching method and the mask: the network
learns a correction of that smooth fill (texture, edges carried across the hole), so a fill is never worse than a
classical one for lack of training, and the fill of a hole that crosses a tile border starts from one global fill
(tiles agree). Pixels outside the mask are passed through exactly.

``damage-detector``: a three-level U-Net at full, 1/2 and 1/4 resolution (thin scratches are one pixel wide: the
full-resolution level keeps them) that gives the probability that a pixel is damage (scratch, crack, dust, fold,
missing paper), trained with a class-weighted cross-entropy plus a soft Dice term (damage is a few per cent of a
photo).

Image contract: inpainter ``forward(input, mask)``, input N×3×H×W RGB in [0, 1] (holes pre-filled), mask
N×1×H×W in {0, 1}; output N×3×H×W. Detector ``forward(input)`` → N×1×H×W probability. H and W multiples of 4
(the engine pads). In training both take one N×4×H×W tensor (photo and mask stacked).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class _Gated(nn.Module):
    """A gated convolution: features × sigmoid(gate), both from one convolution."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        padding = dilation * (kernel - 1) // 2 if stride == 1 else (kernel - stride + 1) // 2
        self.conv = nn.Conv2d(cin, 2 * cout, kernel, stride=stride, padding=padding, dilation=dilation)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features, gate = self.conv(x).chunk(2, dim=1)
        return self.act(features) * torch.sigmoid(gate)


class _GatedRes(nn.Module):
    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.a = _Gated(channels, channels, dilation=dilation)
        self.b = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.b(self.a(x))


def _up(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout * 4, 3, padding=1), nn.PixelShuffle(2))


class Inpainter(nn.Module):
    """Fills holes in a photo (see the module docstring).

    Args:
        channels: Width at 1/2 resolution (×2 at 1/4).
        dilations: One gated residual block per entry at 1/4 resolution, with that dilation.
    """

    extra_input = ("mask", 1)  # ONNX: a second input named "mask", one plane

    def __init__(self, channels: int = 32, dilations: tuple[int, ...] = (1, 2, 4, 8, 2, 1)) -> None:
        super().__init__()
        c = channels
        self.size_multiple = 4
        self.head = _Gated(16, c)  # photo and mask folded to 1/2 resolution (pixel-unshuffle)
        self.down = _Gated(c, 2 * c, kernel=4, stride=2)
        self.body = nn.Sequential(*(_GatedRes(2 * c, d) for d in dilations))
        self.up = _up(2 * c, c)
        self.fuse = _Gated(2 * c, c)
        self.tail = nn.Sequential(nn.Conv2d(c, 12, 3, padding=1), nn.PixelShuffle(2))
        self._last: tuple[torch.Tensor, torch.Tensor] | None = None
        last = self.tail[0]
        assert isinstance(last, nn.Conv2d) and last.bias is not None
        nn.init.normal_(last.weight, 0.0, 1e-3)  # start as the classical fill
        nn.init.zeros_(last.bias)

    @property
    def receptive_radius(self) -> int:
        dilations = [int(block.a.conv.dilation[0]) for block in self.body]  # type: ignore[union-attr,index]
        return 2 * (4 + 4 * (2 + sum(dilations) + len(dilations)))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None:  # training: photo and mask stacked
            x, mask = x[:, :3], x[:, 3:4]
        skip = self.head(F.pixel_unshuffle(torch.cat([x - 0.5, mask], dim=1), 2))
        deep = self.body(self.down(skip))
        features = self.fuse(torch.cat([self.up(deep), skip], dim=1))
        out = x + mask * self.tail(features)
        if self.training:
            self._last = (out, mask)
        return out

    def training_loss(self, target: torch.Tensor) -> torch.Tensor:
        """L1 inside the holes, per hole pixel (the trainer's L1 is per photo pixel, so a crop with a few dust
        specks would otherwise teach almost nothing): every crop's holes weigh by their own pixels."""
        assert self._last is not None, "forward a training batch first"
        out, mask = self._last
        self._last = None
        return ((out.float() - target).abs() * mask).sum() / (3 * mask.sum() + 1.0)


class _Res(nn.Module):
    def __init__(self, channels: int, dilation: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation),
            nn.LeakyReLU(0.2),
            nn.Conv2d(channels, channels, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _conv(cin: int, cout: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    padding = (kernel - 1) // 2 if stride == 1 else (kernel - stride + 1) // 2
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding), nn.LeakyReLU(0.2))


class DamageDetector(nn.Module):
    """The probability that each pixel is damage (see the module docstring).

    Args:
        channels: Width at full resolution (×2 at 1/2, ×3 at 1/4).
        dilations: Residual blocks at 1/4 resolution.
        pos_weight: Weight of damage pixels in the cross-entropy.
        bias: Added to the logits of the probability it gives (not in training): set at export from held-out
            photos (``training.bundle --decode bias=B``), it trades found damage against false detections at
            photogan's fixed threshold of 0.5.
    """

    decoding = ("bias",)  # settable at bundling

    def __init__(
        self, channels: int = 16, dilations: tuple[int, ...] = (1, 2, 4, 1), pos_weight: float = 3.0, bias: float = 0.0
    ) -> None:
        super().__init__()
        c = channels
        self.bias = float(bias)
        self.hparams: dict[str, object] = {"channels": channels, "dilations": list(dilations), "pos_weight": pos_weight}
        if bias:
            self.hparams["bias"] = bias
        self.size_multiple = 4
        self.head = nn.Sequential(_conv(3, c), _conv(c, c))
        self.down1 = nn.Sequential(_conv(c, 2 * c, 4, 2), _Res(2 * c))
        self.down2 = nn.Sequential(_conv(2 * c, 3 * c, 4, 2), *(_Res(3 * c, d) for d in dilations))
        self.up2 = _up(3 * c, 2 * c)
        self.fuse2 = _conv(4 * c, 2 * c)
        self.up1 = _up(2 * c, c)
        self.fuse1 = nn.Sequential(_conv(2 * c, c), nn.Conv2d(c, 1, 3, padding=1))
        self.pos_weight = float(pos_weight)
        self._last: tuple[torch.Tensor, torch.Tensor] | None = None

    @property
    def receptive_radius(self) -> int:
        return 16 + 4 * 2 * 9

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        truth = None
        if x.shape[1] == 4:  # training: the true mask rides along as a fourth plane
            x, truth = x[:, :3], x[:, 3:4]
        skip1 = self.head(x - 0.5)
        skip2 = self.down1(skip1)
        deep = self.down2(skip2)
        features = self.fuse2(torch.cat([self.up2(deep), skip2], dim=1))
        logits = self.fuse1(torch.cat([self.up1(features), skip1], dim=1))
        if truth is not None and self.training:
            self._last = (logits, truth)
            return torch.sigmoid(logits)
        return torch.sigmoid(logits + self.bias)

    def training_loss(self, target: torch.Tensor) -> torch.Tensor:
        """Weighted cross-entropy + soft Dice of the last training forward pass against its true mask (the
        clean photo ``target`` is not needed: the damage is the target)."""
        assert self._last is not None, "forward a training batch (photo + mask) first"
        logits, truth = self._last
        self._last = None
        logits = logits.float()
        weight = torch.tensor(self.pos_weight, device=logits.device)
        bce = F.binary_cross_entropy_with_logits(logits, truth, pos_weight=weight)
        p = torch.sigmoid(logits)
        dice = 1 - (2 * (p * truth).sum() + 1) / (p.sum() + truth.sum() + 1)
        return bce + 0.5 * dice
