"""Fidelity and adversarial losses.

Fidelity: L1, Charbonnier, SSIM (as 1 - SSIM) and a frequency (FFT magnitude) term, combined by
:class:`FidelityLoss`. Textures: :class:`SpectrumLoss`, the scale of their structure. Adversarial: BCE with
logits and one-sided label smoothing (default), hinge, and WGAN-GP; discriminators output raw logits (no
sigmoid), as numerically stable BCE needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from photogan.core.image import LUMA_WEIGHTS
from photogan.core.texture import SPECTRUM_BINS, spectrum_bands

GanLossName = Literal["bce", "hinge", "wgan-gp"]


def charbonnier(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """A smooth L1: sqrt((pred - target)² + eps²), averaged."""
    return torch.sqrt((pred - target) ** 2 + eps * eps).mean()


def _gaussian_window(size: int = 11, sigma: float = 1.5, channels: int = 3) -> torch.Tensor:
    t = torch.arange(size, dtype=torch.float32) - size // 2
    g = torch.exp(-(t**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(channels, 1, size, size).contiguous()


def ssim(pred: torch.Tensor, target: torch.Tensor, window: torch.Tensor | None = None) -> torch.Tensor:
    """Mean SSIM (11×11 Gaussian window, σ 1.5) of N×C×H×W images in [0, 1], per channel."""
    channels = pred.shape[1]
    window = (window if window is not None else _gaussian_window(channels=channels)).to(pred)
    c1, c2 = 0.01**2, 0.03**2

    def blur(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, window, groups=channels)

    mu_p, mu_t = blur(pred), blur(target)
    var_p = blur(pred * pred) - mu_p**2
    var_t = blur(target * target) - mu_t**2
    cov = blur(pred * target) - mu_p * mu_t
    value = ((2 * mu_p * mu_t + c1) * (2 * cov + c2)) / ((mu_p**2 + mu_t**2 + c1) * (var_p + var_t + c2))
    return value.mean()


def frequency_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 between FFT magnitudes: penalizes lost fine detail that pixel losses average away."""
    fp = torch.fft.rfft2(pred.float(), norm="ortho")
    ft = torch.fft.rfft2(target.float(), norm="ortho")
    return (fp.abs() - ft.abs()).abs().mean()


@dataclass(frozen=True)
class FidelityWeights:
    """Weights of the fidelity terms (0 disables a term)."""

    l1: float = 0.0
    l2: float = 0.0  # mean squared error: what PSNR measures (a last fine-tune for fidelity models)
    charbonnier: float = 1.0
    ssim: float = 0.0
    frequency: float = 0.0


class FidelityLoss(nn.Module):
    """Weighted sum of pixel, structural and frequency losses; returns the total and each term."""

    window: torch.Tensor

    def __init__(self, weights: FidelityWeights) -> None:
        super().__init__()
        self.weights = weights
        self.register_buffer("window", _gaussian_window(), persistent=False)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        w = self.weights
        terms: dict[str, torch.Tensor] = {}
        if w.l1:
            terms["l1"] = w.l1 * F.l1_loss(pred, target)
        if w.l2:
            terms["l2"] = w.l2 * F.mse_loss(pred, target)
        if w.charbonnier:
            terms["charbonnier"] = w.charbonnier * charbonnier(pred, target)
        if w.ssim:
            terms["ssim"] = w.ssim * (1.0 - ssim(pred, target, self.window))
        if w.frequency:
            terms["frequency"] = w.frequency * frequency_loss(pred, target)
        total = torch.stack(list(terms.values())).sum()
        return total, {k: float(v.detach()) for k, v in terms.items()}


class SpectrumLoss(nn.Module):
    """L1 between the mean log₁₀ radially averaged power spectra of the luminance of generated and real crops:
    the statistic ``photogan.core.texture.log_spectrum`` measures (its bands, its Hann window), as a generator
    term for textures. It fixes the *scale* of a texture's structure (how big the stones, the blotches, the
    ripples), which a patch critic judging small crops leaves free; a spectral constraint in the line of Liu et
    al. 2016 (texture synthesis with spectrum constraints) and Durall et al. 2020 (spectral regularization of GAN
    generators). Batch means on both sides, so it does not tie any sample to any crop (no loss of variety)."""

    average: torch.Tensor
    window: torch.Tensor
    luma: torch.Tensor

    def __init__(self, side: int, bins: int = SPECTRUM_BINS) -> None:
        super().__init__()
        band = spectrum_bands(side, bins).ravel()
        inside = np.flatnonzero(band >= 0)
        average = np.zeros((side * side, bins), np.float32)  # power (N × side²) @ average -> band means
        average[inside, band[inside]] = 1.0
        average = average[:, average.sum(axis=0) > 0]  # a small side leaves some low bands without coefficients
        average /= average.sum(axis=0, keepdims=True)
        window = np.outer(np.hanning(side), np.hanning(side)).astype(np.float32)
        self.register_buffer("average", torch.from_numpy(average), persistent=False)
        self.register_buffer("window", torch.from_numpy(window), persistent=False)
        self.register_buffer("luma", torch.tensor(LUMA_WEIGHTS, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)

    def log_spectrum(self, images: torch.Tensor) -> torch.Tensor:
        """The batch's mean log₁₀ band powers (one per band with coefficients) of N×3×side×side images in
        [0, 1]."""
        luma = (images.float() * self.luma).sum(dim=1)
        luma = (luma - luma.mean(dim=(-2, -1), keepdim=True)) * self.window
        power = torch.fft.fft2(luma).abs().square().flatten(1)
        return torch.log10(power @ self.average + 1e-10).mean(dim=0)

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target = self.log_spectrum(real)
        return (self.log_spectrum(fake) - target).abs().mean()


class GanLoss:
    """Generator and discriminator losses on raw logits.

    Args:
        kind: ``bce`` (BCE with logits), ``hinge`` or ``wgan-gp``.
        real_label: Target for real samples in the discriminator's BCE (0.9: one-sided label smoothing).
        gp_weight: Gradient-penalty weight for ``wgan-gp``.
    """

    def __init__(self, kind: GanLossName = "bce", real_label: float = 0.9, gp_weight: float = 10.0) -> None:
        if kind not in ("bce", "hinge", "wgan-gp"):
            raise ValueError(f"unknown GAN loss {kind!r}: use bce, hinge or wgan-gp")
        self.kind = kind
        self.real_label = real_label
        self.gp_weight = gp_weight

    def generator(self, fake_logits: torch.Tensor) -> torch.Tensor:
        """Loss of the generator, given D's logits on its samples (the generator wants them judged real)."""
        if self.kind == "bce":
            return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
        return -fake_logits.mean()

    def discriminator(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """Loss of the discriminator on real and (detached) fake samples, without the gradient penalty."""
        if self.kind == "bce":
            real = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, self.real_label))
            fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
            return real + fake
        if self.kind == "hinge":
            return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()
        return fake_logits.mean() - real_logits.mean()

    def gradient_penalty(
        self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor, condition: torch.Tensor | None = None
    ) -> torch.Tensor:
        """WGAN-GP: (‖∇D(x̂)‖ - 1)² on random interpolates x̂ of real and fake (zero for other losses)."""
        if self.kind != "wgan-gp":
            return real.new_zeros(())
        alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
        mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        logits = discriminator(mixed) if condition is None else discriminator(mixed, condition)
        (grad,) = torch.autograd.grad(logits.sum(), mixed, create_graph=True)
        return self.gp_weight * ((grad.flatten(1).norm(dim=1) - 1.0) ** 2).mean()


def neighbour_pair(
    noisy: torch.Tensor, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two half-size sub-images of N×C×H×W photos (H, W even) for Neighbor2Neighbor (Huang et al., CVPR 2021): in
    every 2×2 cell one pixel goes to the first and one of its horizontal or vertical neighbours to the second,
    chosen at random per cell. Returns both and the choice (N×1×H/2×W/2 of cell positions 0-3 and their partners,
    packed as ``first * 4 + second``), so the same pick can be applied to the network's output of the whole photo.
    """
    n, _, h, w = noisy.shape
    first = torch.randint(0, 4, (n, 1, h // 2, w // 2), generator=generator).to(noisy.device)
    flip = torch.randint(1, 3, (n, 1, h // 2, w // 2), generator=generator).to(noisy.device)  # 1: across, 2: up/down
    second = first ^ flip  # positions dy*2+dx: xor 1 flips dx, xor 2 flips dy (never the diagonal)
    pick = first * 4 + second
    return *pick_pair(noisy, pick), pick


def pick_pair(image: torch.Tensor, pick: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The two sub-images :func:`neighbour_pair` chose, taken from ``image``."""
    n, c, h, w = image.shape
    cells = F.pixel_unshuffle(image, 2).view(n, c, 4, h // 2, w // 2)  # channel c*4 + dy*2 + dx
    first, second = (p.expand(n, c, h // 2, w // 2)[:, :, None] for p in (pick // 4, pick % 4))
    return cells.gather(2, first)[:, :, 0], cells.gather(2, second)[:, :, 0]


def neighbour_loss(
    model: nn.Module, noisy: torch.Tensor, gamma: float = 2.0, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, dict[str, float]]:
    """Neighbor2Neighbor's self-supervised loss, from noisy photos only: the network's output on one sub-image
    should match the other (noise independent between neighbouring pixels averages out of the L2 loss), plus
    ``gamma`` times the regularizer that makes it agree with its own output on the whole photo."""
    first, second, pick = neighbour_pair(noisy, generator)
    out = model(first)
    with torch.no_grad():
        whole_first, whole_second = pick_pair(model(noisy), pick)
    reconstruction = F.mse_loss(out, second)
    regularizer = F.mse_loss(out - second, whole_first - whole_second)
    total = reconstruction + gamma * regularizer
    return total, {"n2n": float(reconstruction.detach()), "n2n_reg": float(regularizer.detach())}
