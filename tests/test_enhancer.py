"""The enhancer around the model: alpha, grayscale, bit depth, metadata, purity and memory."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from conftest import open_session, random_image
from PIL import Image

from photogan.core.errors import InsufficientMemoryError, ModelError
from photogan.core.image import Photo
from photogan.core.tiling import TileOptions, run_tiled
from photogan.inference.enhancer import enhance
from photogan.inference.model_info import ModelInfo


def test_constant_alpha_is_restored_exactly(models_dir: Path) -> None:
    photo = Photo(random_image(20, 30), alpha=np.full((20, 30), 0.5, np.float32))
    out = enhance(photo, open_session(models_dir / "nearest4.onnx"), TileOptions(tile_size=16))
    assert out.alpha is not None and out.alpha.shape == (80, 120)
    assert np.all(out.alpha == np.float32(0.5))


def test_varying_alpha_is_resized_with_a_smooth_filter(models_dir: Path) -> None:
    ramp = np.tile(np.linspace(0, 1, 40, dtype=np.float32), (24, 1))
    photo = Photo(random_image(24, 40), alpha=ramp)
    out = enhance(photo, open_session(models_dir / "nearest2.onnx"))
    assert out.alpha is not None and out.alpha.shape == (48, 80)
    expected = np.asarray(Image.fromarray(ramp, mode="F").resize((80, 48), Image.Resampling.LANCZOS))
    np.testing.assert_allclose(out.alpha, np.clip(expected, 0, 1), atol=1e-6)
    assert out.alpha.min() >= 0 and out.alpha.max() <= 1
    assert np.all(np.diff(out.alpha[10, 4:-4]) >= -1e-6)  # still a monotonic ramp: no blocky steps, no ringing


def test_grayscale_stays_grayscale_and_metadata_is_carried(models_dir: Path) -> None:
    gray = random_image(16, 16, c=1)
    photo = Photo(gray, bit_depth=16, icc_profile=b"icc", exif=b"Exif\x00\x00x", xmp=b"<xmp/>", dpi=(300.0, 300.0))
    out = enhance(photo, open_session(models_dir / "nearest2.onnx"))
    assert out.grayscale and out.bit_depth == 16
    assert (out.icc_profile, out.exif, out.xmp, out.dpi) == (photo.icc_profile, photo.exif, photo.xmp, photo.dpi)
    np.testing.assert_allclose(out.pixels[::2, ::2], gray, atol=1e-6)


def test_enhance_does_not_modify_its_input(models_dir: Path) -> None:
    photo = Photo(random_image(16, 16), alpha=random_image(16, 16, c=1)[..., 0])
    before_pixels, before_alpha = photo.pixels.copy(), photo.alpha.copy() if photo.alpha is not None else None
    enhance(photo, open_session(models_dir / "blur.onnx"), TileOptions(tile_size=8))
    np.testing.assert_array_equal(photo.pixels, before_pixels)
    np.testing.assert_array_equal(photo.alpha, before_alpha)


def test_generate_models_cannot_enhance(models_dir: Path) -> None:
    session = open_session(models_dir / "identity.onnx")
    session.info = ModelInfo(id="texture", name="t", task="generate")
    with pytest.raises(ModelError, match="generates images"):
        enhance(Photo(random_image(8, 8)), session)


def test_peak_memory_grows_with_the_tile_not_the_image() -> None:
    image = random_image(1024, 1024)
    output_bytes = image.nbytes * 4  # ×2 upscale

    def upscale(tile: np.ndarray) -> np.ndarray:
        return np.repeat(np.repeat(tile, 2, axis=0), 2, axis=1) * 1.0

    def peak(tile: int) -> int:
        tracemalloc.start()
        run_tiled(image, upscale, 2, TileOptions(tile_size=tile), pad=8)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    tiled = peak(128)
    assert tiled < output_bytes * 1.15  # the output buffer plus a few tiles
    assert peak(0) > output_bytes * 1.9  # whole-image processing holds a second full-size copy


def test_a_result_larger_than_memory_is_refused_up_front(models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import photogan.core.memory as memory

    monkeypatch.setattr(memory, "available_memory", lambda: 10_000_000)
    photo = Photo(random_image(300, 400))  # ×4 → 1.9 MP → ~34 MB with the saving copies
    with pytest.raises(InsufficientMemoryError, match="2 MP result needs about"):
        enhance(photo, open_session(models_dir / "nearest4.onnx"))
    monkeypatch.setattr(memory, "available_memory", lambda: 200_000_000)
    assert enhance(photo, open_session(models_dir / "nearest4.onnx")).width == 1600


def test_enhance_is_thread_safe_with_a_shared_session(bundled_x4: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    session = open_session(bundled_x4)
    photos = [Photo(random_image(40 + 7 * i, 50, seed=i)) for i in range(6)]
    options = TileOptions(tile_size=24)
    sequential = [enhance(p, session, options).pixels for p in photos]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda p: enhance(p, session, options).pixels, photos))
    for a, b in zip(sequential, parallel, strict=True):
        np.testing.assert_array_equal(a, b)


def test_colorize_models_get_luminance_and_return_colour(tmp_path: Path) -> None:
    from conftest import write_model
    from onnx import helper

    info = ModelInfo(id="fake-colorize", name="c", task="colorize", tile_pad=0)
    path = write_model(tmp_path / "c.onnx", info, [helper.make_node("Identity", ["input"], ["output"])])
    sepia = np.dstack([np.full((6, 6), v, np.float32) for v in (0.6, 0.5, 0.3)])
    out = enhance(Photo(sepia), open_session(path))
    assert not out.grayscale and out.pixels.shape == (6, 6, 3)
    luma = 0.299 * 0.6 + 0.587 * 0.5 + 0.114 * 0.3
    np.testing.assert_allclose(out.pixels, luma, atol=1e-6)  # the identity "colorizer" saw only luminance
    gray = enhance(Photo(sepia[..., :1].copy()), open_session(path))
    assert not gray.grayscale  # a colorized grayscale photo becomes colour


def test_automatic_tiles_are_the_models_own_measured_side(tmp_path: Path) -> None:
    from conftest import write_model
    from onnx import helper

    from photogan.core.tiling import AUTO_TILE, DEFAULT_TILE

    info = ModelInfo(id="test-tiled", name="identity", task="restore", tile_pad=0, tile_size=16)
    path = write_model(tmp_path / "tiled.onnx", info, [helper.make_node("Identity", ["input"], ["output"])])
    session = open_session(path)
    assert session.info.tile_size == 16  # kept in the file's metadata
    shapes: list[tuple[int, ...]] = []
    run = session.run

    def counted(batch: np.ndarray, *args: object, **kwargs: object) -> np.ndarray:
        shapes.append(batch.shape)
        return run(batch, *args, **kwargs)  # type: ignore[arg-type]

    session.run = counted  # type: ignore[method-assign]
    photo = Photo(random_image(32, 48), bit_depth=8)
    for tile, calls in ((AUTO_TILE, 6), (0, 1), (24, 4)):  # the model's own 16 px, the whole image, as asked
        shapes.clear()
        out = enhance(photo, session, TileOptions(tile_size=tile, overlap=0))
        assert len(shapes) == calls and np.array_equal(out.pixels, photo.pixels)
    assert (
        TileOptions().for_model(0).tile_size == DEFAULT_TILE
        and TileOptions(tile_size=300).for_model(16).tile_size == 300
    )
