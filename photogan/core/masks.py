"""Damage masks: the pixels an inpainter fills, their sidecar file, and how a found damage map becomes one.

A mask is a PNG the size of its photo (after EXIF orientation): white (or any value above mid-gray, or an opaque
pixel of a mask with transparency) = fill, black = keep. Beside a photo it is the sidecar ``NAME.mask.png``
(``scan.jpg`` → ``scan.mask.png``): a batch uses it for that photo, and never takes it for a photo itself.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import numpy as np
from PIL import Image

from photogan.core.errors import UsageError

#: The sidecar beside a photo: ``scan.jpg`` → ``scan.mask.png``.
MASK_SUFFIX = ".mask.png"
#: A damage detector's probability above which a pixel is damage.
THRESHOLD = 0.5
#: Pixels of margin added around found damage: its soft edges (a scratch fades out over a pixel or two).
MARGIN = 2


class MaskError(UsageError):
    """A mask file cannot be read or does not fit its photo."""


def mask_sidecar_for(photo: Path) -> Path:
    """Where a photo's mask lives: ``NAME.mask.png`` beside it."""
    return photo.with_name(photo.stem + MASK_SUFFIX)


def is_mask_sidecar(path: Path) -> bool:
    return path.name.lower().endswith(MASK_SUFFIX)


def load_mask(path: Path, width: int | None = None, height: int | None = None) -> np.ndarray:
    """Reads a mask as H×W bool (True = fill), checked against the photo's size when given.

    Raises:
        MaskError: Unreadable, or another size than the photo.
    """
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                rgba = np.asarray(im.convert("RGBA"))
                alpha, value = rgba[..., 3], rgba[..., :3].max(axis=2)
                mask = (alpha > 127) & (value > 127) if alpha.min() > 127 else alpha > 127
            else:
                mask = np.asarray(im.convert("L")) > 127
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise MaskError(f"cannot read the mask {path}: {exc}") from exc
    if width is not None and height is not None and mask.shape != (height, width):
        raise MaskError(
            f"the mask {path.name} is {mask.shape[1]}×{mask.shape[0]} px and its photo {width}×{height}: "
            "a mask must be the size of the photo (as it is shown, after its EXIF orientation)"
        )
    return mask


def save_mask(path: Path, mask: np.ndarray) -> Path:
    """Writes a mask PNG atomically (white = fill); an empty mask removes the file."""
    if not mask.any():
        path.unlink(missing_ok=True)
        return path
    tmp = path.with_name(f".photogan-tmp-{secrets.token_hex(6)}.png")
    try:
        Image.fromarray(np.where(mask, 255, 0).astype(np.uint8), mode="L").save(tmp, format="PNG", optimize=True)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def grow(mask: np.ndarray, pixels: int) -> np.ndarray:
    """The mask widened by ``pixels`` in every direction (a square neighbourhood)."""
    if pixels <= 0 or not mask.any():
        return mask.copy()
    import cv2

    kernel = np.ones((2 * pixels + 1, 2 * pixels + 1), np.uint8)
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def damage_mask(probability: np.ndarray, threshold: float = THRESHOLD, margin: int = MARGIN) -> np.ndarray:
    """A detector's H×W damage probability → the mask to fill: the pixels above ``threshold``, with ``margin``."""
    return grow(probability > threshold, margin)


def resized(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    """The mask at another size (nearest neighbour: the photo after an upscaling step)."""
    if mask.shape == (height, width):
        return mask
    rows = np.minimum((np.arange(height) * mask.shape[0]) // height, mask.shape[0] - 1)
    cols = np.minimum((np.arange(width) * mask.shape[1]) // width, mask.shape[1] - 1)
    return mask[rows[:, None], cols[None, :]]
