"""Old-photo repair: masks and their sidecars, the inpaint and detect steps, ``--task repair`` and ``inpaint``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import open_session, write_model
from onnx import TensorProto, helper
from PIL import Image

from photogan.app.batch import plan_batch
from photogan.app.chain import Region, as_chain, enhance_chain, preview_region
from photogan.cli.main import main
from photogan.core.errors import ModelError
from photogan.core.image import Photo
from photogan.core.masks import (
    MaskError,
    coverage,
    damage_mask,
    load_mask,
    mask_sidecar_for,
    resized,
    save_mask,
)
from photogan.core.tiling import TileOptions
from photogan.inference.enhancer import enhance, find_damage
from photogan.inference.model_info import ModelInfo

FILL = 0.5  # what the test inpainter puts into holes


def gray_fill_model(path: Path, model_id: str = "inpaint") -> Path:
    """An inpainter that fills its holes with mid-gray: output = input + mask · (0.5 − input)."""
    info = ModelInfo(id=model_id, name="gray fill", task="inpaint", scale=1, arch="test", tile_pad=4, size_multiple=4)
    half = helper.make_tensor("half", TensorProto.FLOAT, [], [FILL])
    nodes = [
        helper.make_node("Sub", ["half", "input"], ["gap"]),
        helper.make_node("Mul", ["gap", "mask"], ["fill"]),
        helper.make_node("Add", ["input", "fill"], ["output"]),
    ]
    return write_model(path, info, nodes, [half], inputs=("input", "mask"), planes={"mask": 1})


def white_detector(path: Path, model_id: str = "repair-detect") -> Path:
    """A detector that calls near-white pixels damage: clip((mean RGB − 0.9) · 10, 0, 1)."""
    info = ModelInfo(id=model_id, name="white", task="detect", scale=1, arch="test", tile_pad=2, size_multiple=4)
    weights = helper.make_tensor("w", TensorProto.FLOAT, [1, 3, 1, 1], [1 / 3] * 3)
    consts = [
        helper.make_tensor("lo", TensorProto.FLOAT, [], [0.9]),
        helper.make_tensor("gain", TensorProto.FLOAT, [], [10.0]),
        helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
        helper.make_tensor("one", TensorProto.FLOAT, [], [1.0]),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "w"], ["mean"]),
        helper.make_node("Sub", ["mean", "lo"], ["above"]),
        helper.make_node("Mul", ["above", "gain"], ["scaled"]),
        helper.make_node("Clip", ["scaled", "zero", "one"], ["output"]),
    ]
    return write_model(path, info, nodes, [weights, *consts], planes={"output": 1})


def scan(h: int = 96, w: int = 128, seed: int = 0) -> np.ndarray:
    """A photo-like image with no near-white pixels: values 0.1–0.7."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    base = np.stack([0.3 + 0.3 * x, 0.2 + 0.4 * y, 0.4 + 0.2 * x * y], axis=2)
    return np.clip(base + rng.normal(0, 0.03, base.shape), 0.1, 0.7).astype(np.float32)


def test_inpaint_changes_only_the_holes_and_tiles_agree(tmp_path: Path) -> None:
    session = open_session(gray_fill_model(tmp_path / "fill.onnx"))
    pixels = scan()
    mask = np.zeros(pixels.shape[:2], bool)
    mask[40:60, 10:120] = True  # crosses the 32 px blocks
    photo = Photo(pixels=pixels, bit_depth=8)
    whole = enhance(photo, session, TileOptions(tile_size=0), mask=mask)
    tiled = enhance(photo, session, TileOptions(tile_size=32), mask=mask)
    np.testing.assert_array_equal(whole.pixels[~mask], pixels[~mask])
    np.testing.assert_allclose(whole.pixels[mask], FILL, atol=1e-6)
    np.testing.assert_allclose(tiled.pixels, whole.pixels, atol=1e-6)
    np.testing.assert_array_equal(photo.pixels, pixels)  # the input is not modified
    with pytest.raises(ModelError, match="mask"):
        enhance(photo, session)


def test_a_soft_mask_edge_blends_the_fill_into_the_photo(tmp_path: Path) -> None:
    filler = open_session(gray_fill_model(tmp_path / "fill.onnx"))
    pixels = np.random.default_rng(2).uniform(0, 1, (40, 48, 3)).astype(np.float32)
    mask = np.zeros((40, 48), np.uint8)
    mask[10:20, 10:20], mask[10:20, 20:24] = 255, 64  # a hard core and a soft rim of a quarter
    out = enhance(Photo(pixels=pixels.copy(), bit_depth=8), filler, mask=mask).pixels
    np.testing.assert_allclose(out[10:20, 10:20], FILL, atol=1e-6)
    np.testing.assert_allclose(
        out[10:20, 20:24], pixels[10:20, 20:24] + 64 / 255 * (FILL - pixels[10:20, 20:24]), atol=1e-6
    )
    outside = mask == 0
    np.testing.assert_array_equal(out[outside], pixels[outside])


def test_a_gray_photo_stays_gray_and_an_empty_mask_changes_nothing(tmp_path: Path) -> None:
    session = open_session(gray_fill_model(tmp_path / "fill.onnx"))
    gray = Photo(pixels=scan()[..., :1].copy(), bit_depth=16)
    mask = np.zeros(gray.pixels.shape[:2], bool)
    assert np.array_equal(enhance(gray, session, mask=mask).pixels, gray.pixels)
    mask[5:9, 5:50] = True
    out = enhance(gray, session, mask=mask)
    assert out.pixels.shape == gray.pixels.shape and out.bit_depth == 16
    np.testing.assert_allclose(out.pixels[mask], FILL, atol=1e-6)


def test_repair_finds_a_white_scratch_and_fills_it_from_around(tmp_path: Path) -> None:
    detector = open_session(white_detector(tmp_path / "detect.onnx"))
    filler = open_session(gray_fill_model(tmp_path / "fill.onnx"))
    pixels = scan()
    scratch = np.zeros(pixels.shape[:2], bool)
    scratch[:, 70:72] = True
    damaged = pixels.copy()
    damaged[scratch] = 0.99
    photo = Photo(pixels=damaged, bit_depth=8)
    found = damage_mask(find_damage(photo, detector))
    assert found[scratch].all() and found.sum() <= scratch.sum() + 2 * 2 * pixels.shape[0]  # scratch + margin
    result = enhance_chain(photo, [detector, filler])
    assert np.abs(result.pixels[scratch] - FILL).max() < 1e-6
    np.testing.assert_array_equal(result.pixels[~found], damaged[~found])
    given = np.zeros_like(scratch)
    given[10:20, 10:20] = True  # the user's own mask is filled too
    both = enhance_chain(photo, [detector, filler], mask=given)
    np.testing.assert_allclose(both.pixels[given], FILL, atol=1e-6)
    part, region = preview_region(photo, Region(60, 0, 20, 30), [detector, filler])
    np.testing.assert_allclose(region.pixels, result.pixels[part.y : part.y + 30, 60:80], atol=1e-6)
    with pytest.raises(ModelError, match="inpaint model"):
        as_chain([detector])


def test_mask_files_round_trip_are_checked_and_are_not_photos(tmp_path: Path) -> None:
    photo = tmp_path / "scan.jpg"
    Image.fromarray(np.full((30, 40, 3), 128, np.uint8)).save(photo)
    mask = np.zeros((30, 40), bool)
    mask[3:9, 5:25] = True
    sidecar = save_mask(mask_sidecar_for(photo), mask)
    assert sidecar.name == "scan.mask.png"
    np.testing.assert_array_equal(load_mask(sidecar, 40, 30), np.where(mask, 255, 0))
    soft = np.zeros((30, 40), np.float32)
    soft[10:20, 10:20], soft[10:20, 20:22], soft[0, 0] = 1.0, 0.5, 0.02  # a soft edge, and JPEG-like noise
    np.testing.assert_array_equal(
        coverage(load_mask(save_mask(sidecar, soft), 40, 30)), np.where(soft > 0.04, np.rint(soft * 255) / 255, 0)
    )
    with pytest.raises(MaskError, match="40×30"):
        load_mask(sidecar, 80, 60)
    (tmp_path / "broken.mask.png").write_bytes(b"not a png")
    with pytest.raises(MaskError, match="cannot read"):
        load_mask(tmp_path / "broken.mask.png")
    plan = plan_batch([tmp_path], tmp_path / "out")
    assert [job.source.name for job in plan.jobs] == ["scan.jpg"]  # the sidecars are not inputs
    assert plan.jobs[0].mask == sidecar
    assert resized(mask, 80, 60)[6:18, 10:50].all() and resized(mask, 80, 60).sum() == 4 * mask.sum()
    assert not save_mask(sidecar, np.zeros_like(mask)).exists()  # an empty mask removes the file


def test_cli_inpaint_and_repair(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    monkeypatch.setenv("PHOTOGAN_MODELS_DIR", str(models))
    gray_fill_model(models / "inpaint.onnx", "my-fill")
    white_detector(models / "detect.onnx", "my-detect")
    folder = tmp_path / "album"
    folder.mkdir()
    pixels = (scan(40, 48) * 255).astype(np.uint8)
    pixels[:, 20:22] = 253
    for name in ("a", "b"):
        Image.fromarray(pixels).save(folder / f"{name}.png")
    mask = np.zeros((40, 48), bool)
    mask[5:10, 5:10] = True
    save_mask(folder / "a.mask.png", mask)

    assert main(["enhance", "--model", "my-fill", str(folder), "-o", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "1 enhanced, 1 skipped" in err and "no mask to fill (b.mask.png)" in err
    out = np.asarray(Image.open(tmp_path / "out" / "a.png"))
    assert (np.abs(out[5:10, 5:10].astype(int) - 128) <= 1).all() and np.array_equal(out[20:, 30:], pixels[20:, 30:])

    code = main(["enhance", "--chain", "my-detect,my-fill", str(folder / "b.png"), "-o", str(tmp_path / "rep")])
    assert code == 0
    repaired = np.asarray(Image.open(tmp_path / "rep" / "b.png"))
    assert (np.abs(repaired[:, 20:22].astype(int) - 128) <= 1).all()

    assert main(["enhance", "--task", "restore", "--mask", str(folder / "a.mask.png"), str(folder / "a.png")]) == 2
    assert "--mask holds the holes inpaint fills" in capsys.readouterr().err


def test_automatic_repair_fills_thin_damage_flat_patches_and_edges_but_not_a_textured_blob() -> None:
    from photogan.core.masks import thin_parts

    rng = np.random.default_rng(0)
    luma = np.clip(0.5 + rng.normal(0, 0.08, (120, 160)), 0, 1).astype(np.float32)  # a textured photo
    luma[10:40, 100:140] = 0.95  # a flat patch of missing paper
    found = np.zeros_like(luma, bool)
    found[60:100, 30:70] = True  # a wide blob on texture (a lit face the detector took for damage)
    found[80, :] = True  # a thin crack running through it to the edge
    found[10:40, 100:140] = True  # the missing paper
    found[100:120, 140:160] = True  # a torn corner
    kept = thin_parts(found, luma)
    assert not kept[70:90, 40:60].any()  # the textured blob is left alone...
    assert kept[80, :25].all() and kept[80, 75:].all()  # ...the crack through it is filled
    assert kept[15:35, 105:135].all() and kept[105:120, 145:160].all()  # flat paper and the corner too
    assert thin_parts(found)[70:90, 40:60].sum() == 0  # without a photo to judge by, wide inner blobs are left


def test_missing_paper_is_filled_whole_when_only_its_rim_is_found_at_full_size() -> None:
    rng = np.random.default_rng(1)
    luma = np.clip(0.5 + rng.normal(0, 0.08, (120, 160)), 0, 1).astype(np.float32)  # a textured photo
    yy, xx = np.mgrid[:120, :160]
    paper = (yy - 60) ** 2 + (xx - 60) ** 2 < 25**2
    luma[paper] = 0.95  # a patch of missing paper, one flat tone inside
    rim = paper & ((yy - 60) ** 2 + (xx - 60) ** 2 > 21**2)
    probability = np.where(rim, 0.95, 0.0).astype(np.float32)  # full size: the rim only
    coarse = np.where(paper, 0.95, 0.0).astype(np.float32)  # half size: the whole patch...
    coarse[100, :] = 0.95  # ...and a line of fine texture, which is not damage
    assert not damage_mask(probability, luma)[paper].all()
    found = damage_mask(probability, luma, coarse=coarse)
    assert found[paper].all()
    assert not found[100, 100:].any()
