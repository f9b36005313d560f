"""The image model: pixels as float32 in [0, 1] plus everything the file carried."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

#: BT.601 luma weights, used wherever a colour result goes back to a grayscale photo.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True, eq=False)
class Photo:
    """A decoded photo with its metadata.

    Attributes:
        pixels: float32 array H×W×C in [0, 1], C = 1 (grayscale) or 3 (RGB), orientation already applied.
        alpha: float32 array H×W in [0, 1], or None when the file had no alpha channel.
        bit_depth: Bits per sample of the source file (8 or 16); a 16-bit photo is saved as 16-bit where the
            output format allows it.
        icc_profile: The embedded ICC profile bytes, or None. Pixels stay in the profile's colour space.
        exif: EXIF bytes with Orientation reset to 1 (pixels are already upright), or None.
        xmp: XMP packet bytes with any orientation reset, or None.
        iptc: Photoshop image resources holding the IPTC-IIM record (the JPEG APP13 payload without its
            ``Photoshop 3.0`` header, as TIFF stores it), or None.
        source_format: Pillow's name of the source format (``JPEG``, ``PNG``, ``TIFF``, ``WEBP``, ``BMP``, ``HEIF``,
            ``AVIF``, ``GIF``), or ``RAW`` for a camera RAW developed by LibRaw.
        dpi: Resolution in dots per inch, when the file had one.
    """

    pixels: np.ndarray
    alpha: np.ndarray | None = None
    bit_depth: int = 8
    icc_profile: bytes | None = None
    exif: bytes | None = None
    xmp: bytes | None = None
    iptc: bytes | None = None
    source_format: str | None = None
    dpi: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.pixels.ndim != 3 or self.pixels.shape[2] not in (1, 3) or self.pixels.dtype != np.float32:
            raise ValueError(f"pixels must be float32 H×W×1 or H×W×3, got {self.pixels.dtype} {self.pixels.shape}")
        if self.alpha is not None and self.alpha.shape != self.pixels.shape[:2]:
            raise ValueError(f"alpha shape {self.alpha.shape} does not match pixels {self.pixels.shape[:2]}")
        if self.bit_depth not in (8, 16):
            raise ValueError(f"bit_depth must be 8 or 16, got {self.bit_depth}")

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def grayscale(self) -> bool:
        return int(self.pixels.shape[2]) == 1

    def rgb_pixels(self) -> np.ndarray:
        """The pixels as H×W×3 (grayscale replicated), without alpha."""
        return np.repeat(self.pixels, 3, axis=2) if self.grayscale else self.pixels

    def with_pixels(self, pixels: np.ndarray, alpha: np.ndarray | None, **changes: Any) -> Photo:
        """A copy with new pixels and alpha and the same metadata (``changes`` overrides other fields)."""
        return replace(self, pixels=pixels, alpha=alpha, **changes)


def rgb_to_gray(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma of an H×W×3 array, as H×W×1 float32."""
    return (rgb.astype(np.float32, copy=False) @ LUMA_WEIGHTS)[..., None]


def luminance(pixels: np.ndarray) -> np.ndarray:
    """BT.601 luma of H×W×3 (or the plane of H×W×1 gray) pixels, as H×W float32."""
    return rgb_to_gray(pixels)[..., 0] if pixels.shape[2] == 3 else pixels[..., 0]


def to_uint(values: np.ndarray, bits: int) -> np.ndarray:
    """Quantizes [0, 1] floats to uint8 or uint16 with rounding and clipping."""
    top = (1 << bits) - 1
    dtype = np.uint8 if bits == 8 else np.uint16
    return np.clip(np.rint(values * np.float32(top)), 0, top).astype(dtype)


def from_uint(values: np.ndarray, top: float) -> np.ndarray:
    """Integer samples to float32 in [0, 1], ``top`` being the largest code value (255 or 65535)."""
    return np.clip(values.astype(np.float32) / np.float32(top), 0.0, 1.0)


def samples_of(photo: Photo, bits: int, keep_alpha: bool = True) -> np.ndarray:
    """H×W×C integer samples of a photo: gray, gray+alpha, RGB or RGBA."""
    if keep_alpha and photo.alpha is not None:
        return to_uint(np.concatenate([photo.pixels, photo.alpha[..., None]], axis=2), bits)
    return to_uint(photo.pixels, bits)


def display_rgba8(photo: Photo) -> np.ndarray:
    """The photo as H×W×4 uint8 RGBA for on-screen display (16-bit reduced, gray replicated, opaque if no alpha)."""
    out = np.empty((photo.height, photo.width, 4), np.uint8)
    out[..., :3] = to_uint(photo.rgb_pixels(), 8)
    out[..., 3] = 255 if photo.alpha is None else to_uint(photo.alpha, 8)
    return out
