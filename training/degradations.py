"""Degradations made on the fly from clean photos, one family per task, deterministic under a seed.

Every function takes float32 H×W×3 RGB in [0, 1] and a ``numpy.random.Generator``; all randomness comes from
that generator, so the same seed gives the same degraded image (a requirement for resumable training).

- ``upscale``: downscaling with a chosen or random kernel; the "real photo" variant adds mild blur, noise and
  JPEG so a model trained on it copes with camera files.
- ``restore``: what old prints and scans suffer, mixed and of random strength: fading and colour cast, blur,
  scratches, dust, small missing regions, Gaussian/Poisson noise, film grain, JPEG blocks.
- ``colorize``: luminance only (BT.601), replicated to three channels.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

import cv2
import numpy as np
from PIL import Image

from photogan.core.image import LUMA_WEIGHTS

Kernel = Literal["bicubic", "bilinear", "area", "random"]
_KERNELS = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR, "area": Image.Resampling.BOX}


def _to_u8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """Round-trips through JPEG at ``quality`` (4:2:0, as cameras and scanners save)."""
    buffer = io.BytesIO()
    Image.fromarray(_to_u8(image)).save(buffer, format="JPEG", quality=int(quality), subsampling=2)
    return np.asarray(Image.open(buffer), dtype=np.float32) / 255.0


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), sigmaX=float(sigma), borderType=cv2.BORDER_REFLECT)


def downscale(image: np.ndarray, scale: int, kernel: Kernel, rng: np.random.Generator) -> np.ndarray:
    """Downscales by ``scale`` with Pillow (its bicubic matches the published SR baselines)."""
    name = kernel if kernel != "random" else str(rng.choice(list(_KERNELS)))
    h, w = image.shape[0] // scale, image.shape[1] // scale
    channels = [
        np.asarray(Image.fromarray(image[..., c], mode="F").resize((w, h), _KERNELS[name]))
        for c in range(image.shape[2])
    ]
    return np.clip(np.stack(channels, axis=2), 0.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class UpscaleDegradation:
    """How low-resolution inputs are made for ``upscale``.

    Attributes:
        scale: Downscaling factor.
        kernel: Downscaling filter, or ``random`` among bicubic/bilinear/area.
        real: Adds the "real photo" variant's mild blur (before), noise and JPEG (after).
    """

    scale: int = 4
    kernel: Kernel = "bicubic"
    real: bool = False

    def __call__(self, hr: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        image = hr
        if self.real and rng.random() < 0.5:
            image = gaussian_blur(image, rng.uniform(0.2, 1.2))
        lr = downscale(image, self.scale, self.kernel, rng)
        if self.real:
            if rng.random() < 0.5:
                lr = lr + rng.normal(0.0, rng.uniform(1, 8) / 255.0, lr.shape).astype(np.float32)
            if rng.random() < 0.7:
                lr = jpeg(np.clip(lr, 0, 1), int(rng.integers(50, 96)))
        return np.clip(lr, 0.0, 1.0).astype(np.float32)


def fade(image: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Fading of an old print: lower contrast, lifted blacks and a warm or cool colour cast."""
    contrast = 1.0 - 0.5 * strength * rng.random()
    lift = 0.15 * strength * rng.random()
    cast = rng.normal(0.0, 0.06 * strength, 3).astype(np.float32)
    cast += np.float32(0.05 * strength * rng.random()) * np.array([1.0, 0.4, -0.8], np.float32)  # yellowing
    return (image - 0.5) * contrast + 0.5 + lift * (1.0 - image) + cast


def scratches(image: np.ndarray, rng: np.random.Generator, count: int) -> np.ndarray:
    """Thin bright or dark curved lines, as on a scratched print or negative."""
    h, w = image.shape[:2]
    mask = np.zeros((h, w), np.float32)
    for _ in range(count):
        points = [rng.uniform((0, 0), (w, h))]
        angle = rng.uniform(0, np.pi)
        for _ in range(int(rng.integers(2, 6))):
            angle += rng.normal(0, 0.25)
            step = rng.uniform(0.1, 0.4) * max(h, w)
            points.append(points[-1] + step * np.array([np.cos(angle), np.sin(angle)]))
        pts = np.array(points, np.int32).reshape(-1, 1, 2)
        cv2.polylines(mask, [pts], False, float(rng.uniform(0.5, 1.0)), thickness=int(rng.integers(1, 3)))
    value = np.float32(0.95 if rng.random() < 0.7 else 0.05)
    mask = gaussian_blur(mask, 0.6)[..., None]
    return image * (1 - mask) + value * mask


def dust(image: np.ndarray, rng: np.random.Generator, count: int) -> np.ndarray:
    """Specks and hairs of dust: small bright or dark blobs."""
    h, w = image.shape[:2]
    out = image.copy()
    for _ in range(count):
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        radius = int(rng.integers(1, 4))
        colour = (0.9, 0.9, 0.9) if rng.random() < 0.6 else (0.08, 0.08, 0.08)
        cv2.circle(out, centre, radius, colour, thickness=-1)
    return out


def holes(image: np.ndarray, rng: np.random.Generator, count: int) -> np.ndarray:
    """Small missing regions (torn corners, flaked emulsion), filled with paper white or grey."""
    h, w = image.shape[:2]
    out = image.copy()
    for _ in range(count):
        size = rng.uniform(0.02, 0.08) * min(h, w)
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        axes = (max(1, int(size * rng.uniform(0.5, 1.5))), max(1, int(size * rng.uniform(0.5, 1.5))))
        shade = float(rng.uniform(0.6, 1.0))
        cv2.ellipse(out, centre, axes, float(rng.uniform(0, 180)), 0, 360, (shade, shade, shade), thickness=-1)
    return out


def gaussian_noise(image: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    return image + rng.normal(0.0, sigma, image.shape).astype(np.float32)


def poisson_noise(image: np.ndarray, rng: np.random.Generator, peak: float) -> np.ndarray:
    """Shot noise: photon counts with ``peak`` photons at white."""
    return (rng.poisson(np.clip(image, 0, 1) * peak) / peak).astype(np.float32)


def film_grain(image: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Monochrome grain with some spatial size, stronger in the mid-tones."""
    grain = gaussian_blur(rng.normal(0.0, 1.0, image.shape[:2]).astype(np.float32), rng.uniform(0.4, 1.0))
    grain *= amount / max(float(grain.std()), 1e-6)
    luma = image @ LUMA_WEIGHTS
    return image + (grain * (0.4 + 2.4 * luma * (1 - luma)))[..., None]


@dataclass(frozen=True)
class RestoreDegradation:
    """Mixed damage for ``restore``: each kind applied with its probability, at a random strength.

    Attributes:
        p_fade, p_blur, p_scratch, p_dust, p_holes, p_noise, p_jpeg: Probabilities of each kind.
        max_sigma: Largest Gaussian noise σ (in 8-bit levels).
        gaussian_share: Share of Gaussian noise among the noisy samples (the rest is shot noise and film grain
            in equal parts).
        jpeg_quality: Range of JPEG qualities.
        clean_fraction: Share of samples left untouched, so the model learns to leave clean photos alone.
    """

    p_fade: float = 0.4
    p_blur: float = 0.3
    p_scratch: float = 0.25
    p_dust: float = 0.3
    p_holes: float = 0.1
    p_noise: float = 0.7
    p_jpeg: float = 0.5
    max_sigma: float = 50.0
    gaussian_share: float = 1 / 3
    jpeg_quality: tuple[int, int] = (10, 90)
    clean_fraction: float = 0.05

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> RestoreDegradation:
        """The mix of a run's ``degradation`` table; unknown keys are an error, not silently ignored."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(f"unknown degradation keys: {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        values = dict(params)
        if "jpeg_quality" in values:
            low, high = values["jpeg_quality"]
            values["jpeg_quality"] = (int(low), int(high))
        return cls(**values)

    def __call__(self, clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if rng.random() < self.clean_fraction:
            return clean.copy()
        image = clean
        if rng.random() < self.p_fade:
            image = fade(image, rng, float(rng.uniform(0.3, 1.0)))
        if rng.random() < self.p_blur:
            image = gaussian_blur(image, rng.uniform(0.4, 2.0))
        if rng.random() < self.p_scratch:
            image = scratches(image, rng, int(rng.integers(1, 5)))
        if rng.random() < self.p_dust:
            image = dust(image, rng, int(rng.integers(3, 30)))
        if rng.random() < self.p_holes:
            image = holes(image, rng, int(rng.integers(1, 3)))
        image = np.clip(image, 0.0, 1.0)
        if rng.random() < self.p_noise:
            pick = rng.random()
            kind = 0 if pick < self.gaussian_share else 1 if pick < (1 + self.gaussian_share) / 2 else 2
            if kind == 0:
                image = gaussian_noise(image, rng, float(rng.uniform(2.0, self.max_sigma)) / 255.0)
            elif kind == 1:
                image = poisson_noise(image, rng, float(rng.uniform(10.0, 200.0)))
            else:
                image = film_grain(image, rng, float(rng.uniform(0.02, 0.12)))
        image = np.clip(image, 0.0, 1.0)
        if rng.random() < self.p_jpeg:
            image = jpeg(image, int(rng.integers(self.jpeg_quality[0], self.jpeg_quality[1] + 1)))
        return image.astype(np.float32)


def grayscale(image: np.ndarray) -> np.ndarray:
    """The ``colorize`` input: BT.601 luminance replicated to three channels."""
    return np.repeat((image @ LUMA_WEIGHTS)[..., None], 3, axis=2).astype(np.float32)
