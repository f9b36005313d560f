"""Generating images from ``generate`` models: textures and backgrounds.

Two kinds of model: a DCGAN draws one fixed-size tile from a noise vector; a spatial texture generator draws a
texture of any size from a *field* of noise (N×channels×h×w, one cell per ``scale`` pixels). A field's
``local`` channels vary per cell, its ``global`` ones are constant over it (the overall look). The field is
run tile by tile over its torus (each tile with ``tile_pad`` cells of wrapped-around context), so the result is
exactly what the whole field gives, memory stays bounded, and the texture repeats without a seam. A size that is
not a whole number of cells is reached by resampling the texture over its own wrap-around.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

from photogan.core.errors import ModelError
from photogan.core.image import Photo
from photogan.core.memory import require_memory
from photogan.core.progress import Progress
from photogan.core.save import save_image
from photogan.core.tiling import TileOptions, run_tiled
from photogan.inference.model_info import ModelInfo, field_channels, is_spatial
from photogan.inference.session import ModelSession

#: Default size of a texture from a spatial model (width, height).
DEFAULT_SIZE = (512, 512)
#: Largest side of a generated texture, in pixels (a 60×40 in print at 500 dpi).
MAX_SIDE = 30000
#: Tile side of a noise field in cells (each ``scale`` px): 32 cells of a ×16 model are 512 px.
FIELD_TILE = 32


def field_cells(info: ModelInfo, size: tuple[int, int]) -> tuple[int, int]:
    """(rows, columns) of noise cells that cover ``size`` (width, height) pixels."""
    width, height = size
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise ValueError(f"each side of a texture must be 1 to {MAX_SIDE} pixels, got {width}×{height}")
    return math.ceil(height / info.scale), math.ceil(width / info.scale)


def noise(session: ModelSession, seed: int, count: int = 1, size: tuple[int, int] | None = None) -> np.ndarray:
    """Standard normal noise for the model, reproducible from ``seed``: N×latent vectors, or N×C×h×w fields that
    cover ``size`` (width, height; :data:`DEFAULT_SIZE` when None) for a spatial model."""
    info = session.info
    if info.task != "generate":
        raise ModelError(f"{info.id} is not a generate model (task {info.task})")
    rng = np.random.default_rng(seed)
    if is_spatial(info):
        rows, cols = field_cells(info, size or DEFAULT_SIZE)
        local, glob = field_channels(info)
        fields = rng.standard_normal((count, local, rows, cols), dtype=np.float32)
        constant = np.broadcast_to(
            rng.standard_normal((count, glob, 1, 1), dtype=np.float32), (count, glob, rows, cols)
        )
        return np.ascontiguousarray(np.concatenate([fields, constant], axis=1))
    latent = int(info.arch_params.get("latent", 0))
    if latent <= 0:
        raise ModelError(f"{info.id} declares neither a noise vector (latent) nor a noise field (local)")
    return rng.standard_normal((count, latent)).astype(np.float32)


def interpolate(a: np.ndarray, b: np.ndarray, steps: int) -> np.ndarray:
    """Spherical interpolation between two noise draws of one shape (stays at the typical radius of Gaussian
    noise); ``steps`` draws of that shape (less a leading batch axis of one)."""
    shape = a.shape[1:] if a.shape[:1] == (1,) else a.shape
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    omega = np.arccos(np.clip(np.dot(a / np.linalg.norm(a), b / np.linalg.norm(b)), -1.0, 1.0))
    ts = np.linspace(0.0, 1.0, steps)[:, None]
    if omega < 1e-6:
        out = (1 - ts) * a + ts * b
    else:
        out = (np.sin((1 - ts) * omega) * a + np.sin(ts * omega) * b) / np.sin(omega)
    return out.reshape(steps, *shape).astype(np.float32)


def _run_field(session: ModelSession, field: np.ndarray, progress: Progress, tile_cells: int) -> np.ndarray:
    """One C×h×w field → its (h·s)×(w·s)×3 texture, tiled over the torus."""
    halo = session.info.tile_pad
    hwc = np.ascontiguousarray(field.transpose(1, 2, 0))
    wrapped = np.pad(hwc, ((halo, halo), (halo, halo), (0, 0)), mode="wrap")

    def run(tile: np.ndarray) -> np.ndarray:
        out = session.run(np.ascontiguousarray(tile.transpose(2, 0, 1)[None]))
        return out[0].transpose(1, 2, 0)

    options = TileOptions(tile_size=tile_cells, pad=halo, overlap=2, min_tile=4)
    out = run_tiled(wrapped, run, session.info.scale, options, pad=halo, progress=progress)
    edge = halo * session.info.scale
    return out[edge:-edge, edge:-edge]


def fit_periodic(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resamples a texture that repeats without a seam to exactly ``size`` (width, height), over its own
    wrap-around (Lanczos reads across the edges into the other side), so the result repeats without a seam too."""
    height, width = pixels.shape[:2]
    if (width, height) == tuple(size):
        return pixels
    margin = 8
    wrapped = np.pad(pixels, ((margin, margin), (margin, margin), (0, 0)), mode="wrap")
    box = (margin, margin, margin + width, margin + height)
    channels = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(wrapped[..., c]), mode="F").resize(
                size, Image.Resampling.LANCZOS, box=box
            )
        )
        for c in range(pixels.shape[2])
    ]
    return np.stack(channels, axis=-1)


def generate(
    session: ModelSession,
    vectors: np.ndarray,
    size: tuple[int, int] | None = None,
    progress: Progress | None = None,
    tile_cells: int = FIELD_TILE,
) -> list[Photo]:
    """Runs the model on N noise draws (from :func:`noise`); returns one photo per draw. A spatial model's
    textures are ``size`` (width, height) exactly (the size the fields cover when None)."""
    progress = progress or Progress()
    if not is_spatial(session.info):
        images = np.clip(session.run(np.ascontiguousarray(vectors, dtype=np.float32)), 0.0, 1.0)
        return [Photo(np.ascontiguousarray(image.transpose(1, 2, 0))) for image in images]
    if size is not None:
        # every float texture returned, one resampled copy, and the 8-bit copy and file when one is saved
        count = len(vectors)
        what = f"{count} textures of {size[0]}×{size[1]}" if count > 1 else f"a {size[0]}×{size[1]} texture"
        require_memory(size[0] * size[1] * (12 * (count + 1) + 6), what)
    photos = []
    for k, field in enumerate(vectors):
        texture = _run_field(session, field, progress.sub_progress(k / len(vectors), 1 / len(vectors)), tile_cells)
        if size is not None:
            texture = fit_periodic(texture, size)
        photos.append(Photo(np.ascontiguousarray(np.clip(texture, 0.0, 1.0), dtype=np.float32)))
    return photos


def is_tileable(info: ModelInfo) -> bool:
    """Whether the model draws tiles that repeat without a seam (trained with circular padding)."""
    return info.task == "generate" and bool(info.arch_params.get("tileable", False))  # spatial models: always


def tile(photo: Photo, times: int) -> Photo:
    """``times`` × ``times`` copies of a tile side by side: a larger seamless background from a tileable model."""
    if times < 1:
        raise ValueError(f"tile count must be at least 1, got {times}")
    return Photo(np.ascontiguousarray(np.tile(photo.pixels, (times, times, 1))))


def save_generated(
    photos: list[Photo], folder: Path, stem: str, fmt: str = "png", tiles: int = 1, start: int = 1
) -> list[Path]:
    """Saves generated images as ``stem-0001.png`` … (numbered from ``start``; atomically, like every photogan
    output), each as a ``tiles`` × ``tiles`` mosaic when ``tiles`` > 1."""
    folder.mkdir(parents=True, exist_ok=True)
    if tiles > 1:
        photos = [tile(photo, tiles) for photo in photos]
    return [save_image(photo, folder / f"{stem}-{i:04d}.{fmt}") for i, photo in enumerate(photos, start=start)]
