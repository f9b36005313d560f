"""Tiling correctness: exact for per-pixel models at any tile size, seamless for convolutions, and robust."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import open_session, random_image

from photogan.core.errors import Cancelled, OutOfMemoryError
from photogan.core.image import Photo
from photogan.core.progress import Progress
from photogan.core.tiling import TileOptions, run_tiled, split_axis
from photogan.inference.enhancer import enhance

TILE_SIZES = [0, 16, 24, 37, 64, 1000]


def nearest(image: np.ndarray, scale: int) -> np.ndarray:
    return np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)


@pytest.mark.parametrize("tile", TILE_SIZES)
@pytest.mark.parametrize(("model", "scale"), [("identity.onnx", 1), ("nearest2.onnx", 2), ("nearest4.onnx", 4)])
def test_per_pixel_models_are_exact_at_any_tile_size(models_dir: Path, model: str, scale: int, tile: int) -> None:
    session = open_session(models_dir / model)
    photo = Photo(random_image(83, 121))
    out = enhance(photo, session, TileOptions(tile_size=tile, overlap=16))
    assert out.pixels.shape == (83 * scale, 121 * scale, 3)
    np.testing.assert_allclose(out.pixels, nearest(photo.pixels, scale), rtol=0, atol=1e-6)


@pytest.mark.parametrize("tile", [8, 20, 50])
def test_size_multiple_is_respected_and_result_cropped(models_dir: Path, tile: int) -> None:
    seen: list[tuple[int, int]] = []
    session = open_session(models_dir / "nearest4m8.onnx")
    original_run = session.run

    def spy(batch: np.ndarray, extra: np.ndarray | None = None, token: object = None) -> np.ndarray:
        seen.append(batch.shape[2:])
        return original_run(batch)

    session.run = spy  # type: ignore[method-assign]
    photo = Photo(random_image(45, 67))
    out = enhance(photo, session, TileOptions(tile_size=tile))
    assert all(h % 8 == 0 and w % 8 == 0 for h, w in seen)
    np.testing.assert_allclose(out.pixels, nearest(photo.pixels, 4), atol=1e-6)


@pytest.mark.parametrize("tile", [16, 33, 48])
def test_convolution_tiled_equals_untiled(models_dir: Path, tile: int) -> None:
    """With enough context, a convolution gives the same result tiled: no seams."""
    session = open_session(models_dir / "blur.onnx")
    photo = Photo(random_image(70, 90))
    whole = enhance(photo, session, TileOptions(tile_size=0))
    tiled = enhance(photo, session, TileOptions(tile_size=tile, overlap=8))
    np.testing.assert_allclose(tiled.pixels, whole.pixels, atol=1e-5)


def test_insufficient_context_is_blended_not_seamed(models_dir: Path) -> None:
    """Without context a blur differs at tile edges, but the overlap blend keeps the error small and smooth."""
    session = open_session(models_dir / "blur.onnx")
    photo = Photo(random_image(64, 64))
    whole = enhance(photo, session, TileOptions(tile_size=0)).pixels
    blended = enhance(photo, session, TileOptions(tile_size=32, pad=0, overlap=16)).pixels
    hard = enhance(photo, session, TileOptions(tile_size=32, pad=0, overlap=0)).pixels
    assert np.abs(blended - whole).max() < np.abs(hard - whole).max()


def test_split_axis_gives_even_tiles() -> None:
    bounds = split_axis(1000, 300)
    sizes = np.diff(bounds)
    assert bounds[0] == 0 and bounds[-1] == 1000 and len(sizes) == 4
    assert sizes.max() - sizes.min() <= 1
    assert all(b % 8 == 0 for b in split_axis(1000, 300, 8))


def test_out_of_memory_splits_the_tile_and_retries() -> None:
    image = random_image(96, 96)
    calls: list[int] = []

    def fn(tile: np.ndarray) -> np.ndarray:
        calls.append(max(tile.shape[:2]))
        if max(tile.shape[:2]) > 40:
            raise OutOfMemoryError("too big")
        return tile * 2

    out = run_tiled(image, fn, 1, TileOptions(tile_size=0), pad=4)
    np.testing.assert_allclose(out, image * 2, atol=1e-6)
    assert max(calls) > 40 and min(calls) <= 40


def test_out_of_memory_at_minimum_tile_is_reported() -> None:
    def fn(tile: np.ndarray) -> np.ndarray:
        raise OutOfMemoryError("never fits")

    with pytest.raises(OutOfMemoryError):
        run_tiled(random_image(64, 64), fn, 1, TileOptions(tile_size=32, min_tile=32), pad=4)


def test_progress_reaches_one_and_cancel_stops_between_tiles() -> None:
    fractions: list[float] = []
    progress = Progress(fractions.append)
    run_tiled(random_image(64, 64), lambda t: t, 1, TileOptions(tile_size=16), progress=progress)
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0) and len(fractions) == 16

    calls = []

    def cancelling(tile: np.ndarray) -> np.ndarray:
        calls.append(1)
        progress.cancel()
        return tile

    progress = Progress()
    with pytest.raises(Cancelled):
        run_tiled(random_image(64, 64), cancelling, 1, TileOptions(tile_size=16), progress=progress)
    assert len(calls) == 1


def test_bundled_model_tiled_matches_untiled(bundled_x4: Path) -> None:
    """The real bundled upscaler: tiled output within 1/255 mean absolute error of the untiled one."""
    session = open_session(bundled_x4)
    photo = Photo(random_image(60, 80, seed=3) * 0.5 + 0.25)
    whole = enhance(photo, session, TileOptions(tile_size=0)).pixels
    for tile in (24, 32, 50):
        tiled = enhance(photo, session, TileOptions(tile_size=tile)).pixels
        assert np.abs(tiled - whole).mean() < 1 / 255
        assert np.abs(tiled - whole).max() < 4 / 255
