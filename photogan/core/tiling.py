"""Engine-free tiling: run an image function on tiles with context, blended across overlaps.

The image is split into a grid of tiles of even size (from the tile count), each processed with ``pad`` pixels of
context on every inner side and blended with its neighbours over ``overlap`` pixels by complementary linear ramps
(weights sum to exactly one, so a per-pixel model gives the same result tiled or not, and a real network shows
no seams). Memory grows with the tile, apart from the output buffer. When the engine runs out of memory on a
tile, that tile is split in four and retried.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from photogan.core.errors import OutOfMemoryError
from photogan.core.progress import Progress

log = logging.getLogger(__name__)

#: A function from an H×W×C float32 array to an (sH)×(sW)×C' float32 array.
TileFunction = Callable[[np.ndarray], np.ndarray]


#: ``TileOptions.tile_size`` asking for the model's own tile side (``ModelInfo.tile_size``, measured as the fastest
#: on a CPU), or :data:`DEFAULT_TILE` for a model that states none.
AUTO_TILE = -1
DEFAULT_TILE = 512


@dataclass(frozen=True)
class TileOptions:
    """How to tile.

    Attributes:
        tile_size: Largest tile side in input pixels (before context); 0 processes the whole image at once;
            :data:`AUTO_TILE` the model's own (:meth:`for_model`).
        pad: Context in input pixels around each tile; None uses the model's own requirement.
        overlap: Width in input pixels over which neighbouring tiles are blended.
        min_tile: Smallest tile side tried when splitting after an out-of-memory error.
    """

    tile_size: int = AUTO_TILE
    pad: int | None = None
    overlap: int = 16
    min_tile: int = 32

    def __post_init__(self) -> None:
        if (
            self.tile_size < AUTO_TILE
            or (self.pad is not None and self.pad < 0)
            or self.overlap < 0
            or self.min_tile < 1
        ):
            raise ValueError("tile_size (or AUTO_TILE), pad and overlap must be >= 0 and min_tile >= 1")

    def for_model(self, tile_size: int) -> TileOptions:
        """These options with an automatic tile side replaced by a model's own ``tile_size`` (0: it states none,
        :data:`DEFAULT_TILE`)."""
        return replace(self, tile_size=tile_size or DEFAULT_TILE) if self.tile_size == AUTO_TILE else self


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def split_axis(length: int, tile: int, multiple: int = 1) -> list[int]:
    """Boundaries of tiles along one axis: ``[0, k1, ..., length]``.

    The number of tiles is ``ceil(length / tile)``; their sizes are as even as the ``multiple`` allows. ``length``
    must be a multiple of ``multiple``. ``tile`` 0 means one tile.
    """
    units = length // multiple
    count = 1 if tile <= 0 else max(1, min(units, math.ceil(length / tile)))
    return [multiple * round(i * units / count) for i in range(count + 1)]


def _ramps(start: int, end: int, core: tuple[int, int], length: int, half: int, scale: int) -> np.ndarray:
    """Blend weights along one axis for a region [start, end) whose own part is ``core`` (output resolution)."""
    x = np.arange(start * scale, end * scale, dtype=np.float64) + 0.5
    width = 2 * half * scale
    weight = np.ones_like(x)
    c0, c1 = core
    if c0 > 0:  # rises across the boundary shared with the previous tile
        weight *= np.clip((x - (c0 - half) * scale) / width, 0.0, 1.0) if width else (x >= c0 * scale)
    if c1 < length:  # falls across the boundary shared with the next tile (the complement of its rise)
        weight *= 1.0 - (np.clip((x - (c1 - half) * scale) / width, 0.0, 1.0) if width else (x >= c1 * scale))
    return weight.astype(np.float32)


def _pad_to_multiple(image: np.ndarray, multiple: int) -> np.ndarray:
    h, w = image.shape[:2]
    ph, pw = _round_up(h, multiple) - h, _round_up(w, multiple) - w
    if not (ph or pw):
        return image
    if ph < h and pw < w:
        return np.pad(image, ((0, ph), (0, pw), (0, 0)), mode="reflect")
    return np.pad(image, ((0, ph), (0, pw), (0, 0)), mode="edge")


def run_tiled(
    image: np.ndarray,
    fn: TileFunction,
    scale: int,
    options: TileOptions,
    pad: int = 16,
    multiple: int = 1,
    progress: Progress | None = None,
) -> np.ndarray:
    """Applies ``fn`` to ``image`` tile by tile and returns the blended result.

    Args:
        image: H×W×C float32 input.
        fn: The per-tile function (usually a model); must map h×w to (scale·h)×(scale·w).
        scale: Output size / input size.
        options: Tile size, overlap and context.
        pad: Context used when ``options.pad`` is None (the model's receptive-field radius).
        multiple: Tile sides (and the padded image) are multiples of this.
        progress: Receives the fraction of tiles done; cancellation is checked before every tile.

    Returns:
        The (scale·H)×(scale·W)×C' float32 result.

    Raises:
        Cancelled: ``progress`` was cancelled.
        OutOfMemoryError: A tile of ``options.min_tile`` still did not fit.
    """
    return _tiled(image, fn, scale, options.for_model(0), pad, multiple, progress or Progress(), _MemoryLimit())


class _MemoryLimit:
    """The smallest tile side that ran out of memory so far: later tiles of that size are split up front."""

    def __init__(self) -> None:
        self.failed_side: int | None = None


def _tiled(
    image: np.ndarray,
    fn: TileFunction,
    scale: int,
    options: TileOptions,
    pad: int,
    multiple: int,
    progress: Progress,
    limit: _MemoryLimit,
) -> np.ndarray:
    height, width = image.shape[:2]
    padded = _pad_to_multiple(image, multiple)
    plen_h, plen_w = padded.shape[:2]
    context = options.pad if options.pad is not None else pad
    ys, xs = split_axis(plen_h, options.tile_size, multiple), split_axis(plen_w, options.tile_size, multiple)
    smallest = min(np.diff(ys).min(), np.diff(xs).min())
    half = min(options.overlap // 2, int(smallest) // 2)
    margin = _round_up(context + half, multiple)
    tiles = [(i, j) for i in range(len(ys) - 1) for j in range(len(xs) - 1)]
    if len(tiles) == 1:  # the whole photo in one run: its weights would all be 1, so skip the blending copies
        progress.check_cancelled()
        result = _checked(_run_one(padded, fn, scale, options, context, multiple, progress, limit), padded, scale)
        progress.set_progress(1.0)
        return result[: height * scale, : width * scale]
    output: np.ndarray | None = None
    for done, (i, j) in enumerate(tiles):
        progress.check_cancelled()
        y0, y1 = max(0, ys[i] - margin), min(plen_h, ys[i + 1] + margin)
        x0, x1 = max(0, xs[j] - margin), min(plen_w, xs[j + 1] + margin)
        region = padded[y0:y1, x0:x1]
        result = _checked(_run_one(region, fn, scale, options, context, multiple, progress, limit), region, scale)
        if output is None:
            output = np.zeros((plen_h * scale, plen_w * scale, result.shape[2]), np.float32)
        wy = _ramps(y0, y1, (ys[i], ys[i + 1]), plen_h, half, scale)
        wx = _ramps(x0, x1, (xs[j], xs[j + 1]), plen_w, half, scale)
        # Only the rows/columns with non-zero weight are touched (the context beyond the ramps is dropped).
        ry, rx = np.flatnonzero(wy), np.flatnonzero(wx)
        sy, sx = slice(ry[0], ry[-1] + 1), slice(rx[0], rx[-1] + 1)
        weights = wy[sy, None, None] * wx[None, sx, None]
        output[y0 * scale + sy.start : y0 * scale + sy.stop, x0 * scale + sx.start : x0 * scale + sx.stop] += (
            result[sy, sx] * weights
        )
        progress.set_progress((done + 1) / len(tiles))
    assert output is not None
    return output[: height * scale, : width * scale]


def _checked(result: np.ndarray, region: np.ndarray, scale: int) -> np.ndarray:
    """The model's result for ``region``, refused unless it is ``scale`` times the region's size."""
    h, w = region.shape[:2]
    if result.shape[:2] != (h * scale, w * scale):
        raise ValueError(f"the model turned a {h}×{w} tile into {result.shape[0]}×{result.shape[1]}, expected ×{scale}")
    return result


def _run_one(
    region: np.ndarray,
    fn: TileFunction,
    scale: int,
    options: TileOptions,
    context: int,
    multiple: int,
    progress: Progress,
    limit: _MemoryLimit,
) -> np.ndarray:
    """Runs ``fn`` on one region; on out-of-memory, tiles the region itself with half the tile size."""
    side = max(region.shape[:2])
    if limit.failed_side is None or side < limit.failed_side:
        try:
            return fn(region)
        except OutOfMemoryError:
            limit.failed_side = side if limit.failed_side is None else min(side, limit.failed_side)
            log.warning("out of memory on a %d×%d tile; splitting it", region.shape[0], region.shape[1])
    smaller = _round_up(max(side // 2 - 2 * context, 1), multiple)
    if side <= options.min_tile or smaller >= side:
        raise OutOfMemoryError(f"not enough memory even for a {region.shape[0]}×{region.shape[1]} tile")
    inner = TileOptions(tile_size=smaller, pad=context, overlap=options.overlap, min_tile=options.min_tile)
    return _tiled(region, fn, scale, inner, context, multiple, Progress(token=progress.token), limit)
