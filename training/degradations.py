"""Degradations made on the fly from clean photos, one family per task, deterministic under a seed.

Every function takes float32 H×W×3 RGB in [0, 1] and a ``numpy.random.Generator``; all randomness comes from
that generator, so the same seed gives the same degraded image (a requirement for resumable training).

- ``upscale``: downscaling with a chosen or random kernel (the clean-source "fidelity" models); the mild "real
  photo" variant adds some blur, noise and JPEG; :class:`RealPhotoDegradation` is the second-order real-photo
  pipeline (random blur kernels, resizes, camera noise, JPEG twice, ringing) of the real-photo models.
- ``restore``: what old prints and scans suffer, mixed and of random strength: fading and colour cast, blur,
  scratches, dust, small missing regions, Gaussian/Poisson noise, film grain, JPEG blocks.
- ``colorize``: luminance only (BT.601), replicated to three channels; for a hint-taking colorizer, with hint
  planes of colour points drawn from the true photo (:class:`HintedLuminance`).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

import cv2
import numpy as np
from PIL import Image

from photogan.core.chroma import rgb_to_chroma
from photogan.core.hints import render_planes, square
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


def _dataclass_params(cls: type, params: Mapping[str, Any]) -> dict[str, Any]:
    """A degradation's fields from a run's ``degradation`` table: unknown keys are an error (not silently
    ignored), and pairs given as lists become tuples of the field's default types."""
    defaults = {f.name: f.default for f in fields(cls)}
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ValueError(f"unknown degradation keys: {', '.join(unknown)} (known: {', '.join(sorted(defaults))})")
    values = dict(params)
    for key, value in values.items():
        default = defaults[key]
        if isinstance(default, tuple):
            if len(value) != len(default):
                raise ValueError(f"degradation {key} needs {len(default)} values, got {value!r}")
            values[key] = tuple(type(d)(v) for d, v in zip(default, value, strict=True))
    return values


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
        return cls(**_dataclass_params(cls, params))

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


# -- real-photo degradations (second-order, after Real-ESRGAN) ----------------------------------------------------
#
# Sources: the blur kernels (isotropic/anisotropic Gaussian, generalized Gaussian, plateau), the sinc ringing filter,
# the random resize modes and the two-stage "second-order" order of blur → resize → noise → JPEG follow Wang et al.,
# "Real-ESRGAN: Training Real-World Blind Super-Resolution with Pure Synthetic Data" (ICCVW 2021, §3.1–3.3);
# generalized-Gaussian and plateau kernels come from Liu et al., "Generalized Gaussian kernels for blind SR"
# (as used there); defocus is a uniform disk (the thin-lens circle of confusion); the Poisson noise is shot noise
# of a sensor at 8-bit full well (Foi et al., "Practical Poissonian-Gaussian noise modeling", 2008).


def _covariance(sigma_x: float, sigma_y: float, theta: float) -> np.ndarray:
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return rotation @ np.diag([sigma_x**2, sigma_y**2]) @ rotation.T


def _grid(size: int) -> np.ndarray:
    t = np.arange(size, dtype=np.float64) - size // 2
    xx, yy = np.meshgrid(t, t)
    return np.stack([xx, yy], axis=-1)


def blur_kernel(
    rng: np.random.Generator,
    size: int,
    sigma: tuple[float, float],
    beta_g: tuple[float, float],
    beta_p: tuple[float, float],
) -> np.ndarray:
    """One random blur kernel (sums to 1): Gaussian, generalized Gaussian or plateau, isotropic or not; or defocus.

    Shares: isotropic Gaussian 0.35, anisotropic Gaussian 0.25, generalized Gaussian 0.15 (iso/aniso), plateau 0.15
    (iso/aniso), defocus disk 0.10.
    """
    pick = rng.random()
    if pick >= 0.9:  # defocus: a disk of radius ~ 1.5σ
        radius = max(0.6, 1.5 * rng.uniform(*sigma))
        d = np.linalg.norm(_grid(size), axis=-1)
        kernel = np.clip(radius + 0.5 - d, 0.0, 1.0)
        return (kernel / kernel.sum()).astype(np.float32)
    iso = pick < 0.35 or (0.6 <= pick < 0.675) or (0.75 <= pick < 0.825)
    sx = rng.uniform(*sigma)
    sy = sx if iso else rng.uniform(*sigma)
    theta = 0.0 if iso else rng.uniform(-np.pi, np.pi)
    inverse = np.linalg.inv(_covariance(sx, sy, theta))
    grid = _grid(size)
    quad = np.einsum("...i,ij,...j->...", grid, inverse, grid)
    if pick < 0.6:
        kernel = np.exp(-0.5 * quad)
    elif pick < 0.75:
        kernel = np.exp(-0.5 * np.power(quad, rng.uniform(*beta_g)))
    else:
        kernel = 1.0 / (np.power(quad, rng.uniform(*beta_p)) + 1.0)
    return (kernel / kernel.sum()).astype(np.float32)


def sinc_kernel(cutoff: float, size: int) -> np.ndarray:
    """A circular low-pass (ideal filter, ``cutoff`` in radians per pixel, ≤ π) truncated to ``size``: ringing and
    overshoot like sharpened or resampled photos.

    The ideal circular filter is ``cutoff · J1(cutoff·r) / (2π r)``; J1 is taken from its integral form
    ``J1(x) = 1/π ∫₀^π cos(τ − x sin τ) dτ`` (numpy has no Bessel functions of the first kind).
    """
    r = np.linalg.norm(_grid(size), axis=-1)
    tau = np.linspace(0.0, np.pi, 257)[:, None, None]
    x = cutoff * r[None]
    j1 = np.trapezoid(np.cos(tau - x * np.sin(tau)), tau[:, 0, 0], axis=0) / np.pi
    with np.errstate(divide="ignore", invalid="ignore"):
        kernel = np.where(r > 0, cutoff * j1 / (2 * np.pi * r), cutoff**2 / (4 * np.pi))
    return (kernel / kernel.sum()).astype(np.float32)


def apply_kernel(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT)


_CV_RESIZE = {"area": cv2.INTER_AREA, "bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC}


def resize(image: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Resizes to ``(width, height)`` with a random filter among area, bilinear and bicubic (OpenCV's)."""
    mode = str(rng.choice(list(_CV_RESIZE)))
    return cv2.resize(image, size, interpolation=_CV_RESIZE[mode])


def camera_noise(
    image: np.ndarray,
    rng: np.random.Generator,
    sigma: tuple[float, float],
    poisson: tuple[float, float],
    p_gaussian: float,
    p_gray: float,
) -> np.ndarray:
    """Gaussian read noise (σ in 8-bit levels) or Poisson shot noise (``poisson`` scales its strength), in colour or
    the same in all channels (gray noise, as after a camera's chroma denoising)."""
    gray = rng.random() < p_gray
    shape = (*image.shape[:2], 1) if gray else image.shape
    if rng.random() < p_gaussian:
        noise = rng.normal(0.0, rng.uniform(*sigma) / 255.0, shape).astype(np.float32)
    else:
        source = np.clip(image, 0, 1)
        if gray:
            source = (source @ LUMA_WEIGHTS)[..., None]
        counts = rng.poisson(source * 255.0) / 255.0
        noise = ((counts - source) * rng.uniform(*poisson)).astype(np.float32)
    return image + noise


@dataclass(frozen=True)
class RealPhotoDegradation:
    """Second-order real-photo degradation for ``upscale``: what phone JPEGs, web images and scans have been through.

    Each of the two stages blurs, resizes, adds noise and compresses; the second stage runs with ``p_second`` and
    is milder; the last step resizes to the target size (with sinc ringing at ``p_sinc``) before or after the last
    JPEG. ``clean_fraction`` of the samples are only downscaled (bicubic), so the model stays faithful on clean
    photos. All strengths are 8-bit levels or JPEG qualities; every field can be set in a run's
    ``[degradation]`` table.
    """

    scale: int = 4
    clean_fraction: float = 0.1
    # stage 1
    p_blur: float = 0.9
    kernel_sizes: tuple[int, int] = (7, 21)
    blur_sigma: tuple[float, float] = (0.2, 2.0)
    beta_gaussian: tuple[float, float] = (0.5, 4.0)
    beta_plateau: tuple[float, float] = (1.0, 2.0)
    resize_range: tuple[float, float] = (0.4, 1.5)
    p_noise: float = 0.8
    noise_sigma: tuple[float, float] = (1.0, 15.0)
    poisson_scale: tuple[float, float] = (0.05, 1.5)
    p_gaussian: float = 0.5
    p_gray_noise: float = 0.4
    jpeg_range: tuple[int, int] = (40, 95)
    # stage 2
    p_second: float = 0.5
    p_blur2: float = 0.8
    blur_sigma2: tuple[float, float] = (0.2, 1.2)
    resize_range2: tuple[float, float] = (0.5, 1.2)
    p_noise2: float = 0.6
    noise_sigma2: tuple[float, float] = (1.0, 10.0)
    poisson_scale2: tuple[float, float] = (0.05, 1.0)
    jpeg_range2: tuple[int, int] = (50, 95)
    p_sinc: float = 0.5

    @classmethod
    def from_params(cls, scale: int, params: Mapping[str, Any]) -> RealPhotoDegradation:
        """The pipeline of a run's ``degradation`` table; unknown keys are an error."""
        return cls(**_dataclass_params(cls, {"scale": scale, **params}))

    def _kernel(self, rng: np.random.Generator, sigma: tuple[float, float]) -> np.ndarray:
        size = int(rng.integers(self.kernel_sizes[0] // 2, self.kernel_sizes[1] // 2 + 1)) * 2 + 1
        return blur_kernel(rng, size, sigma, self.beta_gaussian, self.beta_plateau)

    def _stage(
        self,
        image: np.ndarray,
        rng: np.random.Generator,
        p_blur: float,
        sigma: tuple[float, float],
        size: tuple[int, int],
        p_noise: float,
        noise: tuple[float, float],
        poisson: tuple[float, float],
        quality: tuple[int, int],
        jpeg_last: bool = True,
    ) -> np.ndarray:
        if rng.random() < p_blur:
            image = apply_kernel(image, self._kernel(rng, sigma))
        image = resize(image, size, rng)
        if rng.random() < p_noise:
            image = camera_noise(image, rng, noise, poisson, self.p_gaussian, self.p_gray_noise)
        image = np.clip(image, 0.0, 1.0)
        if jpeg_last:
            image = jpeg(image, int(rng.integers(quality[0], quality[1] + 1)))
        return image

    def __call__(self, hr: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        h, w = hr.shape[0] // self.scale, hr.shape[1] // self.scale
        if rng.random() < self.clean_fraction:
            return downscale(hr, self.scale, "bicubic", rng)
        # stage 1: relative to the original, up or down
        s1 = rng.uniform(*self.resize_range)
        size1 = (max(4, round(hr.shape[1] * s1)), max(4, round(hr.shape[0] * s1)))
        image = self._stage(
            hr,
            rng,
            self.p_blur,
            self.blur_sigma,
            size1,
            self.p_noise,
            self.noise_sigma,
            self.poisson_scale,
            self.jpeg_range,
            jpeg_last=rng.random() < 0.9,
        )
        if rng.random() < self.p_second:
            s2 = rng.uniform(*self.resize_range2)
            size2 = (max(4, round(w * s2)), max(4, round(h * s2)))
            image = self._stage(
                image,
                rng,
                self.p_blur2,
                self.blur_sigma2,
                size2,
                self.p_noise2,
                self.noise_sigma2,
                self.poisson_scale2,
                self.jpeg_range2,
                jpeg_last=False,
            )
        # last: resize to the target (with or without ringing) and the final JPEG, in either order
        quality = int(rng.integers(self.jpeg_range2[0], self.jpeg_range2[1] + 1))
        ringing = rng.random() < self.p_sinc

        def to_target(image: np.ndarray) -> np.ndarray:
            image = resize(image, (w, h), rng)
            if ringing:
                image = apply_kernel(
                    image, sinc_kernel(rng.uniform(np.pi / 3, np.pi), int(rng.integers(3, 11)) * 2 + 1)
                )
            return image

        if rng.random() < 0.5:
            image = jpeg(np.clip(to_target(image), 0, 1), quality)
        else:
            image = to_target(jpeg(np.clip(image, 0, 1), quality))
        return np.clip(image, 0.0, 1.0).astype(np.float32)


def grayscale(image: np.ndarray) -> np.ndarray:
    """The ``colorize`` input: BT.601 luminance replicated to three channels."""
    return np.repeat((image @ LUMA_WEIGHTS)[..., None], 3, axis=2).astype(np.float32)


@dataclass(frozen=True)
class HintedLuminance:
    """The input of a hint-taking colorizer: the luminance (three channels) and three hint planes (Cb, Cr, mask;
    ``photogan.core.hints``) of colour points drawn from the true photo, as a photographer would place them.

    A ``none_fraction`` of the samples gets no point (the model must colorize on its own); the others get a
    geometric number of points (mean ``mean_points``, at most ``max_points``) at uniform places, each a square of
    1 to ``max_side`` pixels holding the true photo's mean chroma there (Zhang et al. 2017's scheme). With
    ``evaluation``, no points: validation scores the model on its own.
    """

    none_fraction: float = 0.3
    mean_points: float = 10.0
    max_points: int = 50
    max_side: int = 7
    evaluation: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> HintedLuminance:
        return cls(**_dataclass_params(cls, params))

    def __call__(self, clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        height, width = clean.shape[:2]
        count = 0
        if not self.evaluation and rng.random() >= self.none_fraction:
            count = int(min(self.max_points, rng.geometric(1.0 / self.mean_points)))
        sides = rng.integers(1, self.max_side + 1, count)
        centres = np.stack([rng.integers(0, height, count), rng.integers(0, width, count)], axis=1)
        cb, cr = rgb_to_chroma(clean)
        chroma = np.zeros((count, 2), np.float32)
        for k, ((cy, cx), side) in enumerate(zip(centres, sides, strict=True)):
            where = square(cy, cx, int(side), height, width)
            chroma[k] = cb[where].mean(), cr[where].mean()
        planes = render_planes(height, width, centres, chroma, sides)
        return np.concatenate([grayscale(clean), planes], axis=2)
