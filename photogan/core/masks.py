"""Damage masks: the pixels an inpainter fills, their sidecar file, and how a found damage map becomes one.

A mask is a PNG the size of its photo (after EXIF orientation): white = fill, black = keep, and gray between =
a soft edge, where the fill is blended into the photo by the gray's share (a mask painted with a soft brush, or
an anti-aliased one from another editor), as a layer mask blends. A mask with transparency says the same with
its alpha. Beside a photo it is the sidecar ``NAME.mask.png`` (``scan.jpg`` → ``scan.mask.png``): a batch uses
it for that photo, and never takes it for a photo itself.

In memory a mask is H×W: bool (True = fill), or uint8 0–255 / float32 0–1 coverage (the soft edge);
:func:`coverage` reads any of them, and the inpainter fills every pixel with some coverage.
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
#: A damage detector's probability above which a pixel is damage (chosen with the stage-1 detector on
#: real/OldPhotos/old and held-out McMaster damage: 0.5 / 0.7 / 0.8 / 0.9 took 1.48 / 1.12 / 0.94 / 0.72 % of
#: the undamaged old scans for damage).
THRESHOLD = 0.8
#: Pixels of margin added around found damage: its soft edges (a scratch fades out over a pixel or two).
MARGIN = 2
#: Half the width, in pixels, of the widest found damage inside the photo that is filled without asking.
MAX_HALF_WIDTH = 6
#: Standard deviation of the luminance (0–1) under which a wide found part is flat: missing paper, not a face.
FLAT = 0.012
#: Gray levels of a mask file (0–255) at or under which a pixel is kept: the noise of a mask saved as JPEG.
KEEP_BELOW = 8


class MaskError(UsageError):
    """A mask file cannot be read or does not fit its photo."""


def mask_sidecar_for(photo: Path) -> Path:
    """Where a photo's mask lives: ``NAME.mask.png`` beside it."""
    return photo.with_name(photo.stem + MASK_SUFFIX)


def is_mask_sidecar(path: Path) -> bool:
    return path.name.lower().endswith(MASK_SUFFIX)


def coverage(mask: np.ndarray) -> np.ndarray:
    """How much of the fill each pixel takes, H×W float32 in [0, 1], from a bool, uint8 (0–255) or float mask."""
    if mask.dtype == np.bool_:
        return mask.astype(np.float32)
    if mask.dtype == np.uint8:
        return mask.astype(np.float32) / np.float32(255.0)
    return np.clip(mask, 0.0, 1.0).astype(np.float32)


def levels(mask: np.ndarray) -> np.ndarray:
    """A bool, uint8 or float mask as H×W uint8 coverage (255 = fill), as a mask file stores it."""
    return mask if mask.dtype == np.uint8 else np.rint(coverage(mask) * 255).astype(np.uint8)


def load_mask(path: Path, width: int | None = None, height: int | None = None) -> np.ndarray:
    """Reads a mask as H×W uint8 coverage (255 = fill, 0 = keep, between = a soft edge; gray levels up to
    :data:`KEEP_BELOW` count as keep), checked against the photo's size when given. A mask with transparency:
    its alpha, or where it is opaque all over, its brightness.

    Raises:
        MaskError: Unreadable, or another size than the photo.
    """
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                rgba = np.asarray(im.convert("RGBA"))
                alpha, value = rgba[..., 3], rgba[..., :3].max(axis=2)
                mask = np.minimum(alpha, value) if alpha.min() > 127 else alpha
            else:
                mask = np.asarray(im.convert("L"))
            mask = np.where(mask > KEEP_BELOW, mask, 0).astype(np.uint8)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise MaskError(f"cannot read the mask {path}: {exc}") from exc
    if width is not None and height is not None and mask.shape != (height, width):
        raise MaskError(
            f"the mask {path.name} is {mask.shape[1]}×{mask.shape[0]} px and its photo {width}×{height}: "
            "a mask must be the size of the photo (as it is shown, after its EXIF orientation)"
        )
    return mask


def save_mask(path: Path, mask: np.ndarray) -> Path:
    """Writes a mask PNG atomically (white = fill, gray = a soft edge); an empty mask removes the file."""
    if not mask.any():
        path.unlink(missing_ok=True)
        return path
    tmp = path.with_name(f".photogan-tmp-{secrets.token_hex(6)}.png")
    try:
        Image.fromarray(levels(mask), mode="L").save(tmp, format="PNG", optimize=True)
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


def wide_parts(mask: np.ndarray, half_width: int = MAX_HALF_WIDTH) -> np.ndarray:
    """What of a mask is wider than ``2 × half_width`` pixels: what a morphological opening with a disc of that
    width keeps (uint8, 1 = wide)."""
    import cv2

    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * half_width + 1, 2 * half_width + 1))
    return cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, disc)


def thin_parts(mask: np.ndarray, luma: np.ndarray | None = None, half_width: int = MAX_HALF_WIDTH) -> np.ndarray:
    """What of a found mask an automatic repair may fill: its thin parts (no wider than ``2 × half_width``
    pixels: scratches, cracks, dust, hairs), and of its wide parts (:func:`wide_parts`) those that touch the
    photo's edge (worn borders, torn corners) or where the photo is flat (``luma``, H×W: missing paper is one
    tone; lit skin is not). On real prints the detector also marks lit faces
    and white collars, and filling a face is worse than leaving a stain (paint such regions with the mask brush
    to fill them). Each wide part is judged on its own, even when a crack joins it to others."""
    if not mask.any():
        return mask.copy()
    import cv2

    found = mask.astype(np.uint8)
    wide = wide_parts(found, half_width)
    if not wide.any():
        return mask.copy()
    count, labels = cv2.connectedComponents(wide, connectivity=8)
    keep = np.zeros(count, bool)
    keep[np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))] = True
    if luma is not None:  # judged on each part's core, 3 px inside it (its rim blends into the photo)
        core = cv2.erode(wide, np.ones((7, 7), np.uint8)).astype(bool)
        for k in np.flatnonzero(~keep[1:]) + 1:
            inside = luma[(labels == k) & core]
            keep[k] = inside.size > 0 and float(inside.std()) < FLAT
    keep[0] = False
    dropped = (wide > 0) & ~keep[labels]
    # the thin rest, less the wide parts left out (grown by a pixel: their soft rims go with them)
    return (found > 0) & ~cv2.dilate(dropped.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)


def damage_mask(
    probability: np.ndarray,
    luma: np.ndarray | None = None,
    threshold: float = THRESHOLD,
    margin: int = MARGIN,
    coarse: np.ndarray | None = None,
) -> np.ndarray:
    """A detector's H×W damage probability → the mask to fill: the pixels above ``threshold`` in the parts
    :func:`thin_parts` keeps (``luma``: the photo's luminance), with ``margin``.

    ``coarse``: the detector's probability on the photo at half size, brought back to this size. Its wide parts
    (:func:`wide_parts`) join the found damage: at full size the detector sees only the rims of a large patch of
    missing paper (inside, it is one flat tone like a wall or the sky), at half size the whole patch. Only the
    wide parts: its thin findings at half size are coarser copies of what the full size finds, plus more of the
    photo's fine texture (measured in ``resources/models/repair-detect.md``)."""
    found = probability > threshold
    if coarse is not None:
        found |= wide_parts(coarse > threshold).astype(bool)
    return grow(thin_parts(found, luma), margin)


def combined(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two masks as one (each pixel's larger coverage), float32 0–1."""
    return np.maximum(coverage(a), coverage(b))


def resized(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    """The mask at another size (nearest neighbour: the photo after an upscaling step)."""
    if mask.shape == (height, width):
        return mask
    rows = np.minimum((np.arange(height) * mask.shape[0]) // height, mask.shape[0] - 1)
    cols = np.minimum((np.arange(width) * mask.shape[1]) // width, mask.shape[1] - 1)
    return mask[rows[:, None], cols[None, :]]
