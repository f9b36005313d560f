"""DCGAN-style discriminators: strided convolutions, no pooling, LeakyReLU(0.2), BatchNorm except on the first
layer, optional dropout, raw logits out (use BCE-with-logits, never sigmoid + BCELoss).

Options against instability and mode collapse: spectral normalization on every conv (BatchNorm is then
dropped, as is usual) and a minibatch standard-deviation feature before the last layer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm


class MinibatchStdDev(nn.Module):
    """Appends one feature map: the standard deviation of features across the batch (Karras et al. 2018), so
    the discriminator can tell a collapsed batch of near-identical samples from real variety."""

    def __init__(self, group: int = 4) -> None:
        super().__init__()
        self.group = group

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        group = min(self.group, n)
        while n % group:
            group -= 1
        y = x.reshape(group, -1, c, h, w)
        std = torch.sqrt(y.var(dim=0, unbiased=False) + 1e-8).mean(dim=(1, 2, 3))  # one value per sub-batch
        std = std.repeat(group).reshape(n, 1, 1, 1).expand(n, 1, h, w)
        return torch.cat([x, std], dim=1)


def _conv(cin: int, cout: int, kernel: int, stride: int, padding: int, sn: bool, bias: bool = True) -> nn.Module:
    conv = nn.Conv2d(cin, cout, kernel, stride, padding, bias=bias)
    return _spectral_norm(conv) if sn else conv


def _block(cin: int, cout: int, sn: bool, norm: bool, dropout: float) -> list[nn.Module]:
    layers: list[nn.Module] = [_conv(cin, cout, 4, 2, 1, sn, bias=not norm)]
    if norm and not sn:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    if dropout:
        layers.append(nn.Dropout2d(dropout))
    return layers


def init_dcgan(module: nn.Module) -> None:
    """DCGAN initialization: conv weights N(0, 0.02), BatchNorm weights N(1, 0.02) and zero bias."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
            weight = getattr(m, "parametrizations", None)
            target = weight.weight.original if weight is not None else m.weight
            nn.init.normal_(target, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def with_condition(image: torch.Tensor, condition: torch.Tensor | None, condition_channels: int) -> torch.Tensor:
    """What a conditional discriminator judges: the image with its condition (the model input, resized to the image)
    stacked on; the image alone for an unconditional one."""
    if not condition_channels:
        return image
    if condition is None:
        raise ValueError("this discriminator is conditional: pass the model input as condition")
    if condition.shape[-2:] != image.shape[-2:]:
        condition = F.interpolate(condition, size=image.shape[-2:], mode="bilinear", align_corners=False)
    return torch.cat([image, condition], dim=1)


class DCGANDiscriminator(nn.Module):
    """Image → one logit, for fixed-size images (the ``generate`` task).

    Args:
        image_size: Side of the (square) input; a power of two ≥ 16.
        channels: Input channels.
        base: Width of the first layer (doubled at each downsampling, capped at 8×).
        spectral_norm: Spectral normalization on every conv (replaces BatchNorm).
        minibatch_std: Add the minibatch standard-deviation feature before the last layer.
        dropout: Dropout after each block.
    """

    def __init__(
        self,
        image_size: int = 64,
        channels: int = 3,
        base: int = 64,
        spectral_norm: bool = False,
        minibatch_std: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if image_size < 16 or image_size & (image_size - 1):
            raise ValueError(f"image_size must be a power of two >= 16, got {image_size}")
        self.hparams = {
            "image_size": image_size,
            "channels": channels,
            "base": base,
            "spectral_norm": spectral_norm,
            "minibatch_std": minibatch_std,
            "dropout": dropout,
        }
        layers: list[nn.Module] = _block(channels, base, spectral_norm, norm=False, dropout=dropout)
        width, size = base, image_size // 2
        while size > 4:
            layers += _block(width, min(width * 2, base * 8), spectral_norm, norm=True, dropout=dropout)
            width, size = min(width * 2, base * 8), size // 2
        if minibatch_std:
            layers.append(MinibatchStdDev())
        layers.append(_conv(width + int(minibatch_std), 1, 4, 1, 0, spectral_norm))
        self.net = nn.Sequential(*layers)
        init_dcgan(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x * 2.0 - 1.0).flatten(1)


class PatchDiscriminator(nn.Module):
    """(Image, condition) → a map of logits, one per overlapping patch (for image-to-image tasks).

    The condition (the model's input: low-resolution, damaged or grayscale photo) is resized to the image size and
    concatenated, so the discriminator judges whether the output is a plausible *answer to that input*.

    Args:
        channels: Channels of the judged image.
        condition_channels: Channels of the condition (0 for an unconditional patch discriminator).
        base: Width of the first layer.
        layers: Number of stride-2 blocks (receptive field grows with it: 3 blocks see 70×70 patches).
        spectral_norm, minibatch_std, dropout: As for :class:`DCGANDiscriminator`.
        downscale: Judge the image (and condition) area-averaged to 1/``downscale`` of its size: a critic that
            cannot see detail finer than that, so the generator gains nothing by inventing it (a colorizer's
            false-colour speckle over fine texture), while regional colour is still judged.
        chroma: Judge the image as BT.601 luma and chroma (Cb, Cr) instead of RGB (a colorizer's answer is its
            chroma).
    """

    def __init__(
        self,
        channels: int = 3,
        condition_channels: int = 3,
        base: int = 64,
        layers: int = 3,
        spectral_norm: bool = False,
        minibatch_std: bool = False,
        dropout: float = 0.0,
        downscale: int = 1,
        chroma: bool = False,
    ) -> None:
        super().__init__()
        if chroma and channels != 3:
            raise ValueError("chroma=True judges an RGB image: channels must be 3")
        self.hparams = {
            "channels": channels,
            "condition_channels": condition_channels,
            "base": base,
            "layers": layers,
            "spectral_norm": spectral_norm,
            "minibatch_std": minibatch_std,
            "dropout": dropout,
            "downscale": downscale,
            "chroma": chroma,
        }
        self.downscale, self.chroma = max(1, int(downscale)), chroma
        modules: list[nn.Module] = _block(channels + condition_channels, base, spectral_norm, False, dropout)
        width = base
        for _ in range(layers - 1):
            modules += _block(width, min(width * 2, base * 8), spectral_norm, True, dropout)
            width = min(width * 2, base * 8)
        if minibatch_std:
            modules.append(MinibatchStdDev())
        modules.append(_conv(width + int(minibatch_std), 1, 3, 1, 1, spectral_norm))
        self.net = nn.Sequential(*modules)
        self.condition_channels = condition_channels
        init_dcgan(self)

    def forward(self, image: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        if self.chroma:  # Y in [0, 1]; Cb, Cr (in [-0.5, 0.5]) moved to [0, 1] like the rest
            r, g, b = image[:, 0:1], image[:, 1:2], image[:, 2:3]
            y = 0.299 * r + 0.587 * g + 0.114 * b
            image = torch.cat([y, (b - y) / 1.772 + 0.5, (r - y) / 1.402 + 0.5], dim=1)
        if self.downscale > 1:
            image = F.avg_pool2d(image, self.downscale)
            if condition is not None:
                condition = F.avg_pool2d(condition, self.downscale)
        return self.net(with_condition(image, condition, self.condition_channels) * 2.0 - 1.0)


class UNetDiscriminator(nn.Module):
    """(Image, condition) → one logit per pixel: a U-Net discriminator with spectral norm (Schönfeld et al., "A
    U-Net Based Discriminator for GANs", CVPR 2020; the form of Real-ESRGAN's ``UNetDiscriminatorSN``).

    Three stride-2 levels judge global structure, the decoder with skip connections brings the verdict back to
    every pixel, so the generator is told *where* its output looks fake (a smear here, kept noise there) instead
    of one score per 70 px patch. :meth:`features` also returns the decoder's feature maps for the generator's
    feature-matching term (the perceptual side of the recipe: no pretrained network can be loaded here).

    Args:
        channels: Channels of the judged image.
        condition_channels: Channels of the condition, resized to the image (0: unconditional).
        base: Width of the first level (doubled per level, 3 levels).
    """

    def __init__(self, channels: int = 3, condition_channels: int = 3, base: int = 32) -> None:
        super().__init__()
        self.hparams = {"channels": channels, "condition_channels": condition_channels, "base": base}
        self.condition_channels = condition_channels
        w = base
        sn = _spectral_norm
        self.conv0 = nn.Conv2d(channels + condition_channels, w, 3, 1, 1)
        self.down = nn.ModuleList([sn(nn.Conv2d(w * 2**i, w * 2 ** (i + 1), 4, 2, 1, bias=False)) for i in range(3)])
        self.up = nn.ModuleList([sn(nn.Conv2d(w * 2 ** (i + 1), w * 2**i, 3, 1, 1, bias=False)) for i in (2, 1, 0)])
        self.refine = nn.Sequential(
            sn(nn.Conv2d(w, w, 3, 1, 1, bias=False)),
            nn.LeakyReLU(0.2, inplace=True),
            sn(nn.Conv2d(w, w, 3, 1, 1, bias=False)),
            nn.LeakyReLU(0.2, inplace=True),
        )
        self.head = nn.Conv2d(w, 1, 3, 1, 1)

    def features(
        self, image: torch.Tensor, condition: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The per-pixel logits and the decoder's feature maps (coarse to fine)."""
        x = with_condition(image, condition, self.condition_channels)
        skips = [F.leaky_relu(self.conv0(x * 2.0 - 1.0), 0.2)]
        for conv in self.down:
            skips.append(F.leaky_relu(conv(skips[-1]), 0.2))
        y = skips.pop()
        feats = []
        for conv in self.up:
            y = F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False)
            y = F.leaky_relu(conv(y), 0.2) + skips.pop()
            feats.append(y)
        return self.head(self.refine(y)), feats

    def forward(self, image: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        return self.features(image, condition)[0]
