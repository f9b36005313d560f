"""Statistics that say whether generated textures look like their photo: seams, variety, colour and structure.

All take H×W×3 float arrays in [0, 1]. ``benchmarks/textures.py`` prints them for every texture model, and the
training bundle writes them into a texture model's card:

- :func:`seam_ratio`: the difference across the wrap-around (last column to first, last row to first) over the
  mean difference between neighbouring pixels inside. About 1 for a seamless tile; a visible seam is several.
- :func:`diversity`: the mean distance between same-place crops of different samples (per pixel, RMS): near 0
  when every seed draws the same picture (mode collapse); random crops of the photo give the reference.
- :func:`histogram_distance`: total-variation distance between 8×8×8-bin colour histograms (0 same, 1 disjoint).
- :func:`spectrum_distance`: RMS difference of the radially averaged log₁₀ power spectra of luminance crops
  (structure and contrast at every scale).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from photogan.core.image import LUMA_WEIGHTS

HIST_BINS = 8
SPECTRUM_BINS = 24


def seam_ratio(image: np.ndarray) -> float:
    """Wrap-around difference over the mean neighbour difference inside (both directions)."""
    x = image.astype(np.float64)
    inside = np.abs(np.diff(x, axis=1)).mean() + np.abs(np.diff(x, axis=0)).mean()
    wrap = np.abs(x[:, 0] - x[:, -1]).mean() + np.abs(x[0] - x[-1]).mean()
    return float(wrap / max(inside, 1e-12))


def random_crops(image: np.ndarray, side: int, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``count`` side×side crops at random places."""
    h, w = image.shape[:2]
    if min(h, w) < side:
        raise ValueError(f"a {h}×{w} image has no {side}×{side} crop")
    out = []
    for _ in range(count):
        y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        out.append(image[y : y + side, x : x + side])
    return out


def diversity(crops: Sequence[np.ndarray]) -> float:
    """Mean RMS distance between distinct crops of one size."""
    flat = [c.reshape(-1).astype(np.float64) for c in crops]
    n = len(flat)
    if n < 2:
        return 0.0
    pairs = [np.sqrt(np.mean((flat[i] - flat[j]) ** 2)) for i in range(n) for j in range(i + 1, n)]
    return float(np.mean(pairs))


def colour_histogram(crops: Sequence[np.ndarray], bins: int = HIST_BINS) -> np.ndarray:
    """Normalized bins³ RGB histogram of all the crops' pixels."""
    pixels = np.concatenate([c.reshape(-1, 3) for c in crops])
    index = np.clip((pixels * bins).astype(np.int64), 0, bins - 1)
    flat = (index[:, 0] * bins + index[:, 1]) * bins + index[:, 2]
    hist = np.bincount(flat, minlength=bins**3).astype(np.float64)
    return hist / hist.sum()


def histogram_distance(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> float:
    """Total-variation distance between the colour histograms of two sets of crops."""
    return float(0.5 * np.abs(colour_histogram(a) - colour_histogram(b)).sum())


def spectrum_bands(side: int, bins: int = SPECTRUM_BINS) -> np.ndarray:
    """The log-spaced frequency band (0 to ``bins`` - 1) of each coefficient of a side×side FFT, -1 for those
    outside every band (the mean and the corners beyond Nyquist): the bands :func:`log_spectrum` averages over,
    and the texture trainer's spectrum term too."""
    fy, fx = np.meshgrid(np.fft.fftfreq(side), np.fft.fftfreq(side), indexing="ij")
    band = np.digitize(np.hypot(fy, fx), np.geomspace(1.0 / side, 0.5, bins + 1)) - 1
    return np.where((band >= 0) & (band < bins), band, -1)


def log_spectrum(crops: Sequence[np.ndarray], bins: int = SPECTRUM_BINS) -> np.ndarray:
    """Mean radially averaged log₁₀ power spectrum of the crops' luminance (Hann-windowed), in ``bins``
    log-spaced frequency bands."""
    side = crops[0].shape[0]
    window = np.outer(np.hanning(side), np.hanning(side))
    band = spectrum_bands(side, bins)
    valid = band >= 0
    spectra = []
    for crop in crops:
        luma = crop[..., :3].astype(np.float64) @ LUMA_WEIGHTS.astype(np.float64)
        power = np.abs(np.fft.fft2((luma - luma.mean()) * window)) ** 2
        sums = np.bincount(band[valid], weights=power[valid], minlength=bins)
        counts = np.maximum(np.bincount(band[valid], minlength=bins), 1)
        spectra.append(np.log10(sums / counts + 1e-12))
    return np.mean(spectra, axis=0)


def spectrum_distance(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> float:
    """RMS difference between the log power spectra of two sets of same-size crops."""
    return float(np.sqrt(np.mean((log_spectrum(a) - log_spectrum(b)) ** 2)))


def texture_report(
    samples: Sequence[np.ndarray],
    photo: np.ndarray,
    others: Sequence[np.ndarray] = (),
    side: int = 128,
    count: int = 32,
    seed: int = 0,
) -> dict[str, float]:
    """The statistics of generated ``samples`` (seeds of one model) against their texture ``photo``.

    ``diversity`` is measured on same-place crops of the samples, beside ``real_diversity`` of as many random
    crops of the photo. Colour and spectrum distances compare ``count`` random crops of the samples with as many of
    the photo; ``*_other`` is the smallest distance from another texture photo's crops to the photo's (the margin
    a model has to stay inside: half of it is the bar ``benchmarks/textures.py`` checks).
    """
    rng = np.random.default_rng(seed)
    side = min(side, *photo.shape[:2], *(min(s.shape[:2]) for s in samples))
    places = [
        (int(rng.integers(0, samples[0].shape[0] - side + 1)), int(rng.integers(0, samples[0].shape[1] - side + 1)))
        for _ in range(4)
    ]
    ours = np.mean([diversity([s[y : y + side, x : x + side] for s in samples]) for y, x in places])
    real = np.mean([diversity(random_crops(photo, side, len(samples), rng)) for _ in places])
    per_sample = max(1, count // len(samples))
    generated = [c for s in samples for c in random_crops(s, side, per_sample, rng)]
    reference = random_crops(photo, side, len(generated), rng)
    report = {
        "seam": round(max(seam_ratio(s) for s in samples), 3),
        "diversity": round(float(ours), 4),
        "real_diversity": round(float(real), 4),
        "histogram": round(histogram_distance(generated, reference), 4),
        "spectrum": round(spectrum_distance(generated, reference), 4),
    }
    usable = [o for o in others if min(o.shape[:2]) >= side]
    if usable:
        other_crops = [random_crops(o, side, len(generated), rng) for o in usable]
        report["histogram_other"] = round(min(histogram_distance(c, reference) for c in other_crops), 4)
        report["spectrum_other"] = round(min(spectrum_distance(c, reference) for c in other_crops), 4)
    return report
