"""The enhancer: one photo through one model, tiled, with alpha and grayscale handled around the model.

``enhance`` is pure (the input photo is not modified) and thread-safe (onnxruntime sessions may run
concurrently), so the GUI may call it from worker threads.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from photogan.core.chroma import chroma_planes, guided_upsample, in_gamut, shrink
from photogan.core.errors import ModelError
from photogan.core.hints import HINT_PLANES, Hint, check_fits, hint_planes, propagate_hints
from photogan.core.image import Photo, luminance, rgb_to_gray
from photogan.core.masks import coverage
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


def work_factor(info: ModelInfo, width: int, height: int) -> int:
    """The integer factor a colorizer reduces a photo of that size by before it runs (see ``work_side``): the
    longer side comes out within about 1.5× of ``work_side`` either way, and an integer factor keeps every
    region of the photo on the same grid of working pixels, so a preview matches the full result."""
    return max(1, round(max(width, height) / info.work_side)) if info.work_side else 1


def enhance(
    photo: Photo,
    model: ModelSession,
    options: TileOptions | None = None,
    progress: Progress | None = None,
    hints: Sequence[Hint] = (),
    whole_size: tuple[int, int] | None = None,
    mask: np.ndarray | None = None,
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
        hints: Colour points for a colorizer (in this photo's pixels): spread over their regions, and read by a
            model that takes hints itself; other tasks ignore them.
        whole_size: (width, height) of the whole photo when ``photo`` is a region of it (a preview): a colorizer
            that works at reduced size uses the whole photo's working scale, so the region matches the full result.
        mask: For an ``inpaint`` model, the pixels to fill (H×W bool, True = fill, or uint8/float coverage: a soft
            edge blends the fill into the photo, see ``photogan.core.masks``); only those change.

    Returns:
        The enhanced photo (same bit depth, ICC profile, EXIF, XMP and DPI).

    Raises:
        ModelError: The model cannot enhance photos (a ``generate`` or ``detect`` model; an ``inpaint`` model
            without a mask) or failed.
        InsufficientMemoryError: The result would not fit in the available memory (checked before starting).
        Cancelled: ``progress`` was cancelled.
    """
    info = model.info
    if info.task == "generate":
        raise ModelError(f"{info.id} generates images from noise; it cannot enhance a photo")
    if info.task == "detect":
        raise ModelError(f"{info.id} finds damage (a mask for an inpaint model); it does not change a photo")
    options = (options or TileOptions()).for_model(info.tile_size)
    if info.tiling == "whole":
        options = TileOptions(tile_size=0, pad=options.pad, overlap=options.overlap, min_tile=options.min_tile)
    keep_gray = photo.grayscale and info.task != "colorize"
    out_pixels = photo.width * photo.height * info.scale**2
    channels = 1 if photo.grayscale else 3
    needed = result_bytes(info, photo.width, photo.height, channels, photo.alpha is not None, photo.bit_depth)
    require_memory(needed, f"a {out_pixels / 1e6:.0f} MP result")

    if info.task == "colorize":  # chroma from the luminance, the luminance kept exactly
        whole = whole_size or (photo.width, photo.height)
        pixels = _colorize(photo, model, options, progress, hints, work_factor(info, *whole), max(whole))
        alpha = None if photo.alpha is None else photo.alpha.copy()
        return photo.with_pixels(pixels, alpha)

    if info.task == "inpaint":
        if mask is None:
            raise ModelError(
                f"{info.id} fills the holes of a damage mask: paint one (or Find damage), or give --mask or a "
                "NAME.mask.png beside the photo"
            )
        pixels = _inpaint(photo, model, options, progress, mask)
        return photo.with_pixels(pixels, None if photo.alpha is None else photo.alpha.copy())

    token = None if progress is None else progress.token

    def run_tile(tile: np.ndarray) -> np.ndarray:
        rgb = np.repeat(tile, 3, axis=2) if tile.shape[2] == 1 else tile
        batch = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32)
        out = np.clip(model.run(batch, token=token)[0].transpose(1, 2, 0), 0.0, 1.0)
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


def _colorize(
    photo: Photo,
    model: ModelSession,
    options: TileOptions,
    progress: Progress | None,
    hints: Sequence[Hint],
    factor: int,
    whole_side: int,
) -> np.ndarray:
    """A colorizer's result: chroma predicted from the luminance (and the hints) at 1/``factor`` of the photo's
    size, the hints spread over their regions, brought to full size guided by the luminance, which is kept
    exactly. ``whole_side`` is the longer side of the whole photo this one is (or is a region of)."""
    check_fits(hints, photo.width, photo.height)
    luma = luminance(photo.pixels)
    if factor > 1:  # edge-padded to whole blocks, then each block's mean
        luma = np.pad(luma, ((0, -photo.height % factor), (0, -photo.width % factor)), mode="edge")
    small = shrink(luma, factor) if factor > 1 else luma
    height, width = small.shape
    # the luminance alone, or with the hint planes beside it (without hints the network gets zero planes)
    stacked = (
        np.concatenate([small[..., None], hint_planes(hints, height, width, 1.0 / factor)], axis=2)
        if hints
        else small[..., None]
    )
    token = None if progress is None else progress.token

    def run_tile(tile: np.ndarray) -> np.ndarray:
        h, w = tile.shape[:2]
        batch = np.empty((1, 3, h, w), np.float32)
        batch[0] = tile[..., 0]  # the luminance as gray RGB
        if tile.shape[2] > 1:
            planes = np.ascontiguousarray(tile[..., 1:].transpose(2, 0, 1)[None], dtype=np.float32)
        else:
            planes = np.zeros((1, HINT_PLANES, h, w), np.float32)
        out = model.run(batch, planes, token)[0]  # not clipped: in_gamut fits it, at its luminance
        return chroma_planes(out)

    # the working image is small: one tile unless the options ask for smaller ones (the tiler still splits on OOM)
    info = model.info
    if options.tile_size:
        side = max(options.tile_size, info.work_side * 3 // 2)
        options = TileOptions(side, options.pad, options.overlap, options.min_tile)
    chroma = run_tiled(stacked, run_tile, 1, options, pad=info.tile_pad, multiple=info.size_multiple, progress=progress)
    if hints:  # each point's colour carried over its region, along the luminance
        chroma = propagate_hints(chroma, stacked[..., 1:], small, -(-whole_side // factor))
    if factor > 1:
        chroma = guided_upsample(chroma, small, luma)
        luma = luma[: photo.height, : photo.width]
        chroma = chroma[: photo.height, : photo.width]
    return in_gamut(luma, chroma)


def classical_fill(pixels: np.ndarray, mask: np.ndarray, radius: int = 5) -> np.ndarray:
    """Telea's fast-marching fill of ``mask`` (float H×W×C, each channel on its own, at full precision): what an
    inpainter starts from and refines. (OpenCV's float Telea expects the 0–255 range: its gradient weights are
    not scale-free, and on [0, 1] values it overshoots.)"""
    import cv2

    out = pixels.copy()
    hole = mask.astype(np.uint8)
    for c in range(pixels.shape[2]):
        filled = cv2.inpaint(np.ascontiguousarray(pixels[..., c]) * 255.0, hole, radius, cv2.INPAINT_TELEA)
        out[..., c][mask] = np.clip(filled[mask] / 255.0, 0.0, 1.0)
    return out


def _inpaint(
    photo: Photo, model: ModelSession, options: TileOptions, progress: Progress | None, mask: np.ndarray
) -> np.ndarray:
    """The photo with the holes of ``mask`` filled: Telea's fill of the whole photo first (so a hole that crosses a
    tile border starts from one fill on both sides), then the model on the blocks that hold holes only, each with
    its context around it; every pixel outside the mask is kept exactly. Where the mask is soft (coverage under
    1), the fill is blended into the photo by the coverage."""
    if mask.shape != (photo.height, photo.width):
        raise ModelError(f"the mask is {mask.shape[1]}×{mask.shape[0]} px and the photo {photo.width}×{photo.height}")
    progress = progress or Progress()
    weight = coverage(mask)
    mask = weight > 0
    if not mask.any():
        return photo.pixels.copy()
    pixels = classical_fill(photo.pixels, mask)
    info = model.info
    block = options.tile_size or max(photo.width, photo.height)
    pad = info.tile_pad + info.size_multiple
    rows, cols = -(-photo.height // block), -(-photo.width // block)
    busy = [
        (i, j)
        for i in range(rows)
        for j in range(cols)
        if mask[i * block : (i + 1) * block, j * block : (j + 1) * block].any()
    ]
    inner = TileOptions(tile_size=0, pad=options.pad, overlap=options.overlap, min_tile=options.min_tile)
    token = progress.token

    def run_tile(tile: np.ndarray) -> np.ndarray:  # photo planes (1 or 3) and the mask plane last
        rgb = np.repeat(tile[..., :1], 3, axis=2) if tile.shape[2] == 2 else tile[..., :3]
        batch = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32)
        holes = np.ascontiguousarray(tile[..., -1:].transpose(2, 0, 1)[None], dtype=np.float32)
        result = np.clip(model.run(batch, holes, token)[0].transpose(1, 2, 0), 0.0, 1.0)
        return rgb_to_gray(result) if tile.shape[2] == 2 else result

    out = pixels.copy()
    for done, (i, j) in enumerate(busy):
        progress.check_cancelled()
        y0, x0 = i * block, j * block
        y1, x1 = min(photo.height, y0 + block), min(photo.width, x0 + block)
        cy0, cx0 = max(0, y0 - pad), max(0, x0 - pad)
        cy1, cx1 = min(photo.height, y1 + pad), min(photo.width, x1 + pad)
        region = np.concatenate([pixels[cy0:cy1, cx0:cx1], mask[cy0:cy1, cx0:cx1, None].astype(np.float32)], axis=2)
        filled = run_tiled(region, run_tile, 1, inner, pad=info.tile_pad, multiple=info.size_multiple)
        hole = mask[y0:y1, x0:x1]
        part = filled[y0 - cy0 : y1 - cy0, x0 - cx0 : x1 - cx0]
        out[y0:y1, x0:x1][hole] = part[hole]
        progress.set_progress((done + 1) / len(busy))
    soft = mask & (weight < 1)
    if soft.any():  # the soft edge: the fill blended into the photo
        share = weight[soft][:, None]
        out[soft] = photo.pixels[soft] + share * (out[soft] - photo.pixels[soft])
    return out


def find_damage(
    photo: Photo, model: ModelSession, options: TileOptions | None = None, progress: Progress | None = None
) -> np.ndarray:
    """A damage detector's H×W probability that each pixel of ``photo`` is damage (scratch, crack, dust, fold,
    missing paper); ``photogan.core.masks.damage_mask`` makes the mask to fill from it.

    Raises:
        ModelError: ``model`` is not a ``detect`` model, or failed.
        Cancelled: ``progress`` was cancelled.
    """
    info = model.info
    if info.task != "detect":
        raise ModelError(f"{info.id} is a {info.task} model, not a damage detector")

    def run_tile(tile: np.ndarray) -> np.ndarray:
        rgb = np.repeat(tile, 3, axis=2) if tile.shape[2] == 1 else tile
        batch = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32)
        return model.run(batch, token=None if progress is None else progress.token)[0].transpose(1, 2, 0)

    found = run_tiled(
        photo.pixels,
        run_tile,
        1,
        (options or TileOptions()).for_model(info.tile_size),
        pad=info.tile_pad,
        multiple=info.size_multiple,
        progress=progress,
    )
    return np.clip(found[..., 0], 0.0, 1.0)
