"""Chains of models (``restore → colorize → upscale``) and previews of a region of a photo.

A chain runs its models one after the other on the whole photo; progress is shared out by the number of output
pixels each step produces, so the bar moves evenly. A preview runs the chain on a region plus enough context that
the region comes out exactly as it would in the full result (up to the blend of tile seams).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from photogan.core.errors import ModelError
from photogan.core.image import Photo
from photogan.core.load import ImageHeader, MemoryBudget
from photogan.core.progress import Progress
from photogan.core.tiling import TileOptions
from photogan.inference.enhancer import enhance, result_bytes
from photogan.inference.session import ModelSession


def as_chain(models: ModelSession | Sequence[ModelSession]) -> list[ModelSession]:
    """One session or a sequence of them, as a non-empty list.

    Raises:
        ModelError: Empty chain, or a ``generate`` model in it.
    """
    chain = [models] if isinstance(models, ModelSession) else list(models)
    if not chain:
        raise ModelError("choose at least one model")
    for session in chain:
        if session.info.task == "generate":
            raise ModelError(f"{session.info.id} generates images from noise; it cannot be part of a chain")
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


def enhance_chain(
    photo: Photo,
    models: ModelSession | Sequence[ModelSession],
    tile: TileOptions | None = None,
    progress: Progress | None = None,
) -> Photo:
    """Runs each model of the chain on the result of the previous one.

    Raises:
        ModelError, InsufficientMemoryError, Cancelled: as :func:`photogan.inference.enhancer.enhance`.
    """
    chain = as_chain(models)
    progress = progress or Progress()
    costs, scale = [], 1
    for session in chain:
        scale *= session.info.scale
        costs.append(scale * scale)
    total, done = float(sum(costs)), 0.0
    for session, cost in zip(chain, costs, strict=True):
        photo = enhance(photo, session, tile, progress.sub_progress(done / total, cost / total))
        done += cost
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
) -> tuple[Region, Photo]:
    """Enhances only ``region`` of ``photo`` (a quick look before processing the whole photo).

    The region is clamped to the photo and grown by every model's context, so its edges match the full result.

    Returns:
        The clamped region (in the input's coordinates) and its enhanced pixels (``chain_scale`` times larger).

    Raises:
        ModelError: The region lies outside the photo, or as :func:`enhance_chain`.
    """
    chain = as_chain(models)
    inside = region.clamped(photo)
    if inside.width == 0 or inside.height == 0:
        raise ModelError("the preview region lies outside the photo")
    context = sum(s.info.tile_pad for s in chain) + max(s.info.size_multiple for s in chain)
    x0, y0 = max(0, inside.x - context), max(0, inside.y - context)
    x1 = min(photo.width, inside.x + inside.width + context)
    y1 = min(photo.height, inside.y + inside.height + context)
    result = enhance_chain(_crop(photo, Region(x0, y0, x1 - x0, y1 - y0)), chain, tile, progress)
    s = chain_scale(chain)
    keep = Region((inside.x - x0) * s, (inside.y - y0) * s, inside.width * s, inside.height * s)
    return inside, _crop(result, keep)
