"""The DCGAN generator (Radford et al. 2016) for the ``generate`` task: noise vector → image.

Stride-2 steps up from 4×4, BatchNorm + ReLU, no normalization on the output, tanh mapped to [0, 1]. Input N×z
(the noise vector), output N×3×S×S in [0, 1].

Two ways up:
- ``transposed`` (the paper's): 4×4 stride-2 transposed convolutions. Cheap, but their uneven overlap prints a
  checkerboard on the output (Odena et al. 2016, "Deconvolution and Checkerboard Artifacts").
- ``resize``: nearest-neighbour ×2 then a 3×3 convolution, which has no uneven overlap. With ``tileable`` every
  convolution pads circularly, so the whole network computes on a torus and the tile repeats without a seam.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from training.archs.discriminator import init_dcgan

UPSAMPLING = ("transposed", "resize")


class DCGANGenerator(nn.Module):
    """Args:
    latent: Length of the noise vector.
    image_size: Output side; a power of two ≥ 16.
    base: Width of the last hidden layer (doubled towards the input, capped at 8×).
    upsample: ``transposed`` or ``resize`` (see the module docstring).
    tileable: Circular padding, so outputs tile seamlessly (``resize`` only).
    """

    def __init__(
        self,
        latent: int = 100,
        image_size: int = 64,
        base: int = 64,
        upsample: str = "transposed",
        tileable: bool = False,
    ) -> None:
        super().__init__()
        if image_size < 16 or image_size & (image_size - 1):
            raise ValueError(f"image_size must be a power of two >= 16, got {image_size}")
        if upsample not in UPSAMPLING:
            raise ValueError(f"upsample must be one of {', '.join(UPSAMPLING)}, got {upsample!r}")
        if tileable and upsample != "resize":
            raise ValueError("tileable needs upsample = 'resize' (transposed convolutions cannot pad circularly)")
        self.hparams: dict[str, object] = {"latent": latent, "image_size": image_size, "base": base}
        if upsample != "transposed" or tileable:  # older checkpoints carry only the first three
            self.hparams.update(upsample=upsample, tileable=tileable)
        self.latent = latent
        ups = image_size.bit_length() - 4  # 4 → image_size in stride-2 steps, minus the output layer
        width = base * min(2**ups, 8)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent, width, 4, 1, 0, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(True),
        ]
        padding_mode: Literal["circular", "zeros"] = "circular" if tileable else "zeros"

        def up(cin: int, cout: int) -> list[nn.Module]:
            if upsample == "transposed":
                return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False)]
            return [
                nn.Upsample(scale_factor=2.0, mode="nearest"),
                nn.Conv2d(cin, cout, 3, 1, 1, bias=False, padding_mode=padding_mode),
            ]

        for _ in range(ups):
            out = max(width // 2, base)
            layers += [*up(width, out), nn.BatchNorm2d(out), nn.ReLU(True)]
            width = out
        layers += [*up(width, 3), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_dcgan(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return (self.net(z[:, :, None, None]) + 1.0) * 0.5
