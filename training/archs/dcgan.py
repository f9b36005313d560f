"""The classic DCGAN generator (Radford et al. 2016) for the ``generate`` task: noise vector → image.

Transposed convolutions (stride 2) up from 4×4, BatchNorm + ReLU, no normalization on the output, tanh mapped to
[0, 1]. Input N×z (the noise vector), output N×3×S×S in [0, 1].
"""

from __future__ import annotations

import torch
from torch import nn

from training.archs.discriminator import init_dcgan


class DCGANGenerator(nn.Module):
    """Args:
    latent: Length of the noise vector.
    image_size: Output side; a power of two ≥ 16.
    base: Width of the last hidden layer (doubled towards the input, capped at 8×).
    """

    def __init__(self, latent: int = 100, image_size: int = 64, base: int = 64) -> None:
        super().__init__()
        if image_size < 16 or image_size & (image_size - 1):
            raise ValueError(f"image_size must be a power of two >= 16, got {image_size}")
        self.hparams = {"latent": latent, "image_size": image_size, "base": base}
        self.latent = latent
        ups = image_size.bit_length() - 4  # 4 → image_size in stride-2 steps, minus the output layer
        width = base * min(2**ups, 8)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent, width, 4, 1, 0, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(True),
        ]
        for _ in range(ups):
            out = max(width // 2, base)
            layers += [nn.ConvTranspose2d(width, out, 4, 2, 1, bias=False), nn.BatchNorm2d(out), nn.ReLU(True)]
            width = out
        layers += [nn.ConvTranspose2d(width, 3, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_dcgan(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return (self.net(z[:, :, None, None]) + 1.0) * 0.5
