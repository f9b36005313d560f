"""Chains of models (``restore → colorize → upscale``) and previews of a region of a photo.

A chain runs its models one after the other on the whole photo; progress is shared out by the number of output
pixels each step produces, so the bar moves evenly. A preview runs the chain on a region plus enough context that
the region comes out exactly as it would in the full result (up to the blend of tile seams).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from photogan.core.chroma import resize_plane
from photogan.core.errors import ModelError
from photogan.core.hints import Hint, inside, moved
from photogan.core.image import Photo, luminance
from photogan.core.load import ImageHeader, MemoryBudget
from photogan.core.masks import combined, damage_mask, resized
from photogan.core.progress import Progress
from photogan.core.tiling import TileOptions
from photogan.inference.enhancer import enhance, find_damage, result_bytes, work_factor
from photogan.inference.session import ModelSession


def as_chain(models: ModelSession | Sequence[ModelSession]) -> list[ModelSession]:
    """One session or a sequence of them, as a non-empty list.

    Raises:
        ModelError: Empty chain, or a ``generate`` model in it.
    """
    chain = [models] if isinstance(models, ModelSession) else list(models)
    if not chain:
        raise ModelError("choose at least one model")
    for k, session in enumerate(chain):
        if session.info.task == "generate":
            raise ModelError(f"{session.info.id} generates images from noise; it cannot be part of a chain")
        following = chain[k + 1].info.task if k + 1 < len(chain) else None
        if session.info.task == "detect" and following != "inpaint":
            raise ModelError(f"{session.info.id} finds damage for an inpaint model: put one right after it")
    return chain


def chain_scale(models: ModelSession | Sequence[ModelSession]) -> int:
    """The total scale factor of a chain."""
    scale = 1
    for session in as_chain(models):
        scale *= session.info.scale
    return scale


def chain_budget(models: ModelSession | Sequence[ModelSession]) -> MemoryBudget:
    """The memory a chain's work needs for a photo, from the photo's header (for :func:`load_image`'s check
    before decoding): at each step its result and the previous step's, at their sizes."""
    chain = as_chain(models)

    def needed(header: ImageHeader) -> int:
        width, height, channels, previous, peak = header.width, header.height, header.channels, 0, 0
        for session in chain:
            info = session.info
            result = result_bytes(info, width, height, channels, header.alpha, header.bit_depth)
            peak = max(peak, previous + result)
            width, height, previous = width * info.scale, height * info.scale, result
            channels = 3 if info.task == "colorize" else channels
        return peak

    return needed


def detect_damage(
    photo: Photo, detector: ModelSession, tile: TileOptions | None = None, progress: Progress | None = None
) -> np.ndarray:
    """The mask a damage detector's findings give (H×W bool, with a margin for the damage's soft edges): the
    detector runs on the photo and on the photo at half size, for the insides of large damage
    (:func:`photogan.core.masks.damage_mask`)."""
    progress = progress or Progress()
    probability = find_damage(photo, detector, tile, progress.sub_progress(0.0, 0.8))
    coarse = None
    if min(photo.width, photo.height) >= 64:
        small = Photo(resize_plane(photo.pixels, photo.width // 2, photo.height // 2))
        found = find_damage(small, detector, tile, progress.sub_progress(0.8, 0.2))
        coarse = resize_plane(found, photo.width, photo.height)
    return damage_mask(probability, luminance(photo.pixels), coarse=coarse)


def enhance_chain(
    photo: Photo,
    models: ModelSession | Sequence[ModelSession],
    tile: TileOptions | None = None,
    progress: Progress | None = None,
    hints: Sequence[Hint] = (),
    whole_size: tuple[int, int] | None = None,
    mask: np.ndarray | None = None,
) -> Photo:
    """Runs each model of the chain on the result of the previous one.

    ``hints`` (colour points in the photo's pixels) go to the colorizer, moved to its input's size;
    ``whole_size`` is the size of the whole photo when ``photo`` is a region of it (see ``enhance``). ``mask``
    (H×W bool, the photo's pixels to fill) goes to the inpainter, with the damage a detector step before it finds
    added (``--task repair``: detect → inpaint → restore).

    Raises:
        ModelError, InsufficientMemoryError, Cancelled: as :func:`photogan.inference.enhancer.enhance`.
    """
    chain = as_chain(models)
    progress = progress or Progress()
    costs, scale = [], 1
    for session in chain:
        scale *= session.info.scale
        costs.append(scale * scale)
    total, done, scale = float(sum(costs)), 0.0, 1
    width, height = whole_size or (photo.width, photo.height)
    holes = mask
    for session, cost in zip(chain, costs, strict=True):
        sub = progress.sub_progress(done / total, cost / total)
        if holes is not None:
            holes = resized(holes, photo.width, photo.height)
        if session.info.task == "detect":
            found = detect_damage(photo, session, tile, sub)
            holes = found if holes is None else combined(holes, found)
        else:
            step_hints = moved(hints, scale) if scale != 1 else hints
            photo = enhance(photo, session, tile, sub, step_hints, (width * scale, height * scale), holes)
        done += cost
        scale *= session.info.scale
    return photo


@dataclass(frozen=True)
class Region:
    """A rectangle of a photo in its pixel coordinates: ``x, y`` top-left, ``width × height``."""

    x: int
    y: int
    width: int
    height: int

    def clamped(self, photo: Photo) -> Region:
        """The part of the region inside the photo (possibly empty)."""
        x0, y0 = max(0, self.x), max(0, self.y)
        x1, y1 = min(photo.width, self.x + self.width), min(photo.height, self.y + self.height)
        return Region(x0, y0, max(0, x1 - x0), max(0, y1 - y0))


def _crop(photo: Photo, region: Region) -> Photo:
    rows, cols = slice(region.y, region.y + region.height), slice(region.x, region.x + region.width)
    alpha = None if photo.alpha is None else photo.alpha[rows, cols].copy()
    return photo.with_pixels(photo.pixels[rows, cols].copy(), alpha)


def preview_region(
    photo: Photo,
    region: Region,
    models: ModelSession | Sequence[ModelSession],
    tile: TileOptions | None = None,
    progress: Progress | None = None,
    hints: Sequence[Hint] = (),
    mask: np.ndarray | None = None,
) -> tuple[Region, Photo]:
    """Enhances only ``region`` of ``photo`` (a quick look before processing the whole photo).

    The region is clamped to the photo and grown by every model's context, so its edges match the full result;
    ``hints`` and ``mask`` are in the photo's pixels (those near the region are used).

    Returns:
        The clamped region (in the input's coordinates) and its enhanced pixels (``chain_scale`` times larger).

    Raises:
        ModelError: The region lies outside the photo, or as :func:`enhance_chain`.
    """
    chain = as_chain(models)
    part = region.clamped(photo)
    if part.width == 0 or part.height == 0:
        raise ModelError("the preview region lies outside the photo")
    context, scale, grid = 0, 1, 1
    for session in chain:  # each step's reach in the photo's pixels (a reduced-size colorizer reaches further)
        info = session.info
        factor = work_factor(info, photo.width * scale, photo.height * scale)
        context += -(-info.tile_pad * factor // scale) + factor
        grid = math.lcm(grid, factor)  # the region starts on the colorizer's grid of working pixels
        scale *= info.scale
    margin = context + max(s.info.size_multiple for s in chain)
    x0, y0 = max(0, part.x - margin) // grid * grid, max(0, part.y - margin) // grid * grid
    x1 = min(photo.width, part.x + part.width + margin)
    y1 = min(photo.height, part.y + part.height + margin)
    near = inside(moved(hints, 1.0, -x0, -y0), x1 - x0, y1 - y0)
    crop = _crop(photo, Region(x0, y0, x1 - x0, y1 - y0))
    holes = None if mask is None else mask[y0:y1, x0:x1]
    result = enhance_chain(crop, chain, tile, progress, near, (photo.width, photo.height), holes)
    s = chain_scale(chain)
    keep = Region((part.x - x0) * s, (part.y - y0) * s, part.width * s, part.height * s)
    return part, _crop(result, keep)
