"""Luminance and chroma (BT.601 YCbCr without offsets), and chroma upsampling guided by the luminance.

Colorizers predict only Cb/Cr; the photo's luminance is kept exactly. Chroma is smooth, so photogan computes it at
a working resolution and brings it to the full photo with a guided filter (He, Sun and Tang, "Guided Image
Filtering", TPAMI 2013; the fast variant of He and Sun 2015): per window, chroma ≈ a·Y + b is fitted at low
resolution, the coefficients are upsampled, and evaluated with the full-resolution Y, so colour edges follow
the photo's own edges instead of the blocky or blurred ones of a plain resize.
"""

from __future__ import annotations

import numpy as np

from photogan.core.image import LUMA_WEIGHTS

_KB, _KR = 1.772, 1.402  # 2 (1 - 0.114), 2 (1 - 0.299)


def rgb_to_chroma(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BT.601 Cb and Cr (no offset, in [-0.5, 0.5]) of RGB values in [0, 1] (last axis the channels)."""
    y = rgb @ LUMA_WEIGHTS
    return (rgb[..., 2] - y) / _KB, (rgb[..., 0] - y) / _KR


def chroma_planes(rgb: np.ndarray) -> np.ndarray:
    """:func:`rgb_to_chroma` of a network's 3×H×W output (channels first), as H×W×2 (Cb, Cr)."""
    r, g, b = rgb[0], rgb[1], rgb[2]
    y = r * LUMA_WEIGHTS[0]
    y += g * LUMA_WEIGHTS[1]
    y += b * LUMA_WEIGHTS[2]
    out = np.empty((*y.shape, 2), np.float32)
    np.divide(b - y, np.float32(_KB), out=out[..., 0])
    np.divide(r - y, np.float32(_KR), out=out[..., 1])
    return out


def _offsets(chroma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each RGB channel's offset from the gray of the same luminance, for H×W×2 (Cb, Cr): R − Y, G − Y, B − Y."""
    w_r, w_g, w_b = (np.float32(w) for w in LUMA_WEIGHTS)
    dr = chroma[..., 1] * np.float32(_KR)
    db = chroma[..., 0] * np.float32(_KB)
    dg = dr * (-w_r / w_g)
    dg -= db * (w_b / w_g)
    return dr, dg, db


def luma_chroma_to_rgb(luma: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    """H×W luminance and H×W×2 (Cb, Cr) → H×W×3 RGB (not clipped; the luminance of the result is ``luma``)."""
    return np.stack([luma + d for d in _offsets(chroma)], axis=-1).astype(np.float32, copy=False)


def in_gamut(luma: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    """H×W luminance and H×W×2 chroma → RGB in [0, 1] with exactly that luminance: a colour outside the RGB cube
    is desaturated toward its gray until it fits (clipping the channels instead would change its brightness and
    shift its hue)."""
    luma = np.clip(luma, 0.0, 1.0).astype(np.float32, copy=False)
    dr, dg, db = _offsets(chroma)
    # pairwise (3× faster than a reduction over a stacked axis): the channel leaving the cube first at the top
    high = np.maximum(np.maximum(np.maximum(dr, dg), db), np.float32(1e-12))
    low = np.maximum(-np.minimum(np.minimum(dr, dg), db), np.float32(1e-12))  # and at the bottom
    scale = np.minimum(np.minimum((1.0 - luma) / high, luma / low), np.float32(1.0))
    out = np.empty((*luma.shape, 3), np.float32)
    for c, offset in enumerate((dr, dg, db)):
        offset *= scale
        np.add(luma, offset, out=out[..., c])
    return np.clip(out, 0.0, 1.0, out=out)


def resize_plane(plane: np.ndarray, width: int, height: int) -> np.ndarray:
    """A float32 plane (H×W or H×W×C) at another size: area-averaged down, bilinear up."""
    import cv2  # imported here (40 ms): restoring and upscaling never need it

    shrink = width < plane.shape[1] or height < plane.shape[0]
    out = cv2.resize(plane, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return out.reshape(height, width, *plane.shape[2:])


def shrink(plane: np.ndarray, factor: int) -> np.ndarray:
    """A 2-D float32 plane reduced by an integer ``factor``: the mean of each factor×factor block (the plane's
    sides must be multiples of ``factor``)."""
    h, w = plane.shape
    return plane.reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3), dtype=np.float32)


def guided_upsample(
    chroma: np.ndarray, guide_small: np.ndarray, guide: np.ndarray, radius: int = 2, eps: float = 1e-3
) -> np.ndarray:
    """Brings low-resolution chroma (h×w×2) to the size of the full-resolution ``guide`` (H×W luminance), guided
    by it; ``guide_small`` is the luminance at the chroma's size, ``radius`` the fitting window at that size.
    """
    import cv2

    h, w = guide_small.shape
    size = (2 * radius + 1, 2 * radius + 1)

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, size, borderType=cv2.BORDER_REFLECT).reshape(x.shape)

    g = guide_small.astype(np.float32)
    mean_g = box(g)
    var_g = box(g * g) - mean_g * mean_g
    out = np.empty((*guide.shape, 2), np.float32)
    for c in range(2):
        p = np.ascontiguousarray(chroma[..., c], dtype=np.float32)
        mean_p = box(p)
        a = (box(g * p) - mean_g * mean_p) / (var_g + eps)
        b = mean_p - a * mean_g
        coeffs = np.stack([box(a), box(b)], axis=-1)
        big = resize_plane(coeffs, guide.shape[1], guide.shape[0])
        out[..., c] = big[..., 0] * guide + big[..., 1]
    assert (h, w) == chroma.shape[:2]
    return out


def _recursive_pass(values: np.ndarray, weights: np.ndarray) -> None:
    """One left-to-right then right-to-left pass of the recursive filter along axis 1, in place: values is
    H×W×C, weights H×W (the feedback from column x-1 into column x)."""
    width = values.shape[1]
    for x in range(1, width):
        w = weights[:, x, None]
        values[:, x] += w * (values[:, x - 1] - values[:, x])
    for x in range(width - 2, -1, -1):
        w = weights[:, x + 1, None]
        values[:, x] += w * (values[:, x + 1] - values[:, x])


def edge_aware_smooth(values: np.ndarray, guide: np.ndarray, sigma_s: float, sigma_r: float = 0.1) -> np.ndarray:
    """Smooths H×W×C ``values`` over distances of about ``sigma_s`` pixels without crossing the edges of the
    H×W ``guide`` (differences much larger than ``sigma_r``): the recursive-filter domain transform of Gastal
    and Oliveira ("Domain Transform for Edge-Aware Image and Video Processing", SIGGRAPH 2011), three iterations
    of horizontal and vertical passes."""
    out = values.astype(np.float32, copy=True)
    ratio = sigma_s / sigma_r
    dx = np.zeros(guide.shape, np.float32)
    dx[:, 1:] = np.abs(np.diff(guide, axis=1))
    dy = np.zeros(guide.shape, np.float32)
    dy[1:] = np.abs(np.diff(guide, axis=0))
    dist_x, dist_y = 1.0 + ratio * dx, 1.0 + ratio * dy
    iterations = 3
    for i in range(iterations):
        sigma = sigma_s * np.sqrt(3.0) * 2.0 ** (iterations - i - 1) / np.sqrt(4.0**iterations - 1)
        a = np.float32(np.exp(-np.sqrt(2.0) / sigma))
        _recursive_pass(out, a**dist_x)
        transposed = np.ascontiguousarray(out.transpose(1, 0, 2))
        _recursive_pass(transposed, np.ascontiguousarray((a**dist_y).T))
        out = np.ascontiguousarray(transposed.transpose(1, 0, 2))
    return out
