"""The enhancer: one photo through one model, tiled, with alpha and grayscale handled around the model.

``enhance`` is pure (the input photo is not modified) and thread-safe (onnxruntime sessions may run
concurrently), so the GUI may call it from worker threads.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from photogan.core.errors import ModelError
from photogan.core.image import Photo, rgb_to_gray
from photogan.core.memory import require_memory
from photogan.core.progress import Progress
from photogan.core.tiling import TileOptions, run_tiled
from photogan.inference.model_info import ModelInfo
from photogan.inference.session import ModelSession


def _resize_alpha(alpha: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resizes an alpha channel (float32 H×W) to (height, width) with a Lanczos filter."""
    if float(alpha.min()) == float(alpha.max()):  # constant alpha stays exactly as it was
        return np.full(size, alpha.flat[0], np.float32)
    resized = Image.fromarray(alpha, mode="F").resize((size[1], size[0]), Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


def result_bytes(info: ModelInfo, width: int, height: int, channels: int, alpha: bool, bit_depth: int) -> int:
    """Memory a model's result on a photo of that size takes: the float32 result (+ alpha), then its integer copy
    and the encoded file when it is saved."""
    out_channels = 3 if info.task == "colorize" else channels
    per_pixel = out_channels * 4 + (4 if alpha else 0) + out_channels * (bit_depth // 8) * 2
    return width * height * info.scale**2 * per_pixel


def enhance(
    photo: Photo,
    model: ModelSession,
    options: TileOptions | None = None,
    progress: Progress | None = None,
) -> Photo:
    """Runs ``model`` on ``photo`` and returns the result with the photo's metadata.

    The model sees RGB in [0, 1]; a grayscale photo is fed as gray RGB and stays grayscale (BT.601 luma of the
    output), except for ``colorize`` models, which always get the luminance (a toned or sepia print included)
    and return colour. Alpha is not sent through the model: a constant alpha is restored
    as-is, any other is resized to the output size with a Lanczos filter.

    Args:
        photo: The input photo (not modified).
        model: A loaded model session.
        options: Tiling options; a model whose tiling policy is ``whole`` always runs on the whole image.
        progress: Receives the fraction done; cancellation is checked between tiles.

    Returns:
        The enhanced photo (same bit depth, ICC profile, EXIF, XMP and DPI).

    Raises:
        ModelError: The model cannot enhance photos (e.g. a ``generate`` model) or failed.
        InsufficientMemoryError: The result would not fit in the available memory (checked before starting).
        Cancelled: ``progress`` was cancelled.
    """
    info = model.info
    if info.task == "generate":
        raise ModelError(f"{info.id} generates images from noise; it cannot enhance a photo")
    options = options or TileOptions()
    if info.tiling == "whole":
        options = TileOptions(tile_size=0, pad=options.pad, overlap=options.overlap, min_tile=options.min_tile)
    keep_gray = photo.grayscale and info.task != "colorize"
    out_pixels = photo.width * photo.height * info.scale**2
    channels = 1 if photo.grayscale else 3
    needed = result_bytes(info, photo.width, photo.height, channels, photo.alpha is not None, photo.bit_depth)
    require_memory(needed, f"a {out_pixels / 1e6:.0f} MP result")

    colorize = info.task == "colorize"

    def run_tile(tile: np.ndarray) -> np.ndarray:
        if colorize and tile.shape[2] == 3:  # colorizers take luminance only: a sepia tint must not leak in
            tile = rgb_to_gray(tile)
        rgb = np.repeat(tile, 3, axis=2) if tile.shape[2] == 1 else tile
        batch = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32)
        out = np.clip(model.run(batch)[0].transpose(1, 2, 0), 0.0, 1.0)
        return rgb_to_gray(out) if keep_gray else out

    pixels = run_tiled(
        photo.pixels,
        run_tile,
        info.scale,
        options,
        pad=info.tile_pad,
        multiple=info.size_multiple,
        progress=progress,
    )
    pixels = np.clip(pixels, 0.0, 1.0, out=pixels)
    alpha = None if photo.alpha is None else _resize_alpha(photo.alpha, pixels.shape[:2])
    return photo.with_pixels(pixels, alpha)
