"""Colour hints for colorizing: the file format, the planes a model reads, and hints through the enhancer, the
preview, the batch (sidecars) and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import open_session, write_model
from onnx import TensorProto, helper
from PIL import Image

from photogan.app.batch import OutputOptions, plan_batch, run_batch
from photogan.app.chain import Region, enhance_chain, preview_region
from photogan.core.chroma import guided_upsample, luma_chroma_to_rgb, resize_plane, rgb_to_chroma
from photogan.core.hints import (
    Hint,
    HintsError,
    hint_planes,
    load_hints,
    moved,
    parse_hints,
    save_hints,
    sidecar_for,
)
from photogan.core.image import Photo, rgb_to_gray
from photogan.core.tiling import TileOptions
from photogan.inference.enhancer import enhance
from photogan.inference.model_info import ModelInfo

RED = (176, 58, 46)


def hint_model(path: Path, work_side: int = 0, model_id: str = "test-hints") -> Path:
    """A 'colorizer' that paints exactly the hints' chroma onto the luminance (gray elsewhere): a 1×1 conv from
    the input's RGB and the hint planes (Cb, Cr, mask) to RGB."""
    info = ModelInfo(id=model_id, name="hints", task="colorize", tile_pad=0, work_side=work_side)
    y = [0.299, 0.587, 0.114]
    kb, kr = 1.772, 1.402
    rows = [  # R = Y + kr·Cr, G = Y - (0.299 kr Cr + 0.114 kb Cb) / 0.587, B = Y + kb·Cb
        [*y, 0.0, kr, 0.0],
        [*y, -0.114 * kb / 0.587, -0.299 * kr / 0.587, 0.0],
        [*y, kb, 0.0, 0.0],
    ]
    weights = helper.make_tensor("w", TensorProto.FLOAT, [3, 6, 1, 1], [v for row in rows for v in row])
    nodes = [
        helper.make_node("Concat", ["input", "hints"], ["both"], axis=1),
        helper.make_node("Conv", ["both", "w"], ["output"]),
    ]
    return write_model(path, info, nodes, [weights], inputs=("input", "hints"))


def gray_photo(h: int = 48, w: int = 64) -> Photo:
    y, x = np.mgrid[0:h, 0:w]
    return Photo((0.3 + 0.4 * x / w + 0.1 * y / h).astype(np.float32)[..., None])


def gray_album(tmp_path: Path) -> Path:
    """A folder of two mid-gray photos, a.png and b.png."""
    src = tmp_path / "album"
    src.mkdir()
    for name in ("a", "b"):
        Image.fromarray(np.full((32, 40), 128, np.uint8)).save(src / f"{name}.png")
    return src


# -- the file ------------------------------------------------------------------------------------------------


def test_hints_file_round_trip_and_sidecar_name(tmp_path: Path) -> None:
    hints = [Hint(120, 48, RED), Hint(3.5, 7.25, (0, 128, 255))]
    path = save_hints(sidecar_for(tmp_path / "portrait.jpg"), hints)
    assert path.name == "portrait.hints.json"
    assert load_hints(path) == hints
    assert json.loads(path.read_text())["hints"][0] == {"x": 120, "y": 48, "color": "#b03a2e"}
    save_hints(path, [])  # no points left: no sidecar
    assert not path.exists()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{", "not valid JSON"),
        ('{"points": []}', "expected"),
        ('{"hints": [{"x": 1, "color": "#ffffff"}]}', "point 1 has no 'y'"),
        ('{"hints": [{"x": 1, "y": 2, "color": "red"}]}', "not a colour"),
        ('{"hints": [{"x": "1", "y": 2, "color": "#ffffff"}]}', "must be numbers"),
    ],
)
def test_a_bad_hints_file_says_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(HintsError, match=says):
        parse_hints(text, "my.hints.json")


def test_planes_hold_the_hint_chroma_in_a_small_square() -> None:
    planes = hint_planes([Hint(10, 5, RED)], 20, 30)
    cb, cr = Hint(0, 0, RED).chroma()
    assert planes[..., 2].sum() == 25  # a 5×5 square
    assert planes[5, 10, 2] == 1 and planes[5, 10, 0] == pytest.approx(cb) and planes[5, 10, 1] == pytest.approx(cr)
    assert cr > 0.1  # red: Cr well above gray
    half = hint_planes([Hint(10, 5, RED)], 10, 15, scale=0.5)  # the same point at half size
    assert half[2, 5, 2] == 1


def test_hints_move_with_a_resize_and_a_crop() -> None:
    (h,) = moved([Hint(10, 4, RED)], 2.0, dx=-5)
    assert (h.x, h.y) == (15.5, 8.5)  # pixel centres scale: (10.5·2 - 0.5, 4.5·2 - 0.5), then shifted


def test_chroma_round_trip_and_guided_upsampling_keep_flat_colour() -> None:
    rgb = np.random.default_rng(0).random((8, 8, 3), dtype=np.float32)
    luma = rgb_to_gray(rgb)[..., 0]
    np.testing.assert_allclose(luma_chroma_to_rgb(luma, np.stack(rgb_to_chroma(rgb), -1)), rgb, atol=1e-5)
    guide = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (48, 1))
    flat = np.full((12, 16, 2), (0.1, -0.05), np.float32)
    up = guided_upsample(flat, resize_plane(guide, 16, 12), guide)
    assert up.shape == (48, 64, 2)
    np.testing.assert_allclose(up, np.broadcast_to((0.1, -0.05), up.shape), atol=1e-4)


def test_guided_upsampling_puts_a_colour_edge_on_the_luminance_edge() -> None:
    guide = np.zeros((64, 64), np.float32)
    guide[:, 29:] = 1.0  # a sharp edge in the photo, off the 4-pixel grid
    small_guide = resize_plane(guide, 16, 16)
    chroma = np.zeros((16, 16, 2), np.float32)
    chroma[..., 1] = 0.2 * small_guide  # colour on the bright side, area-averaged into coarse pixels
    guided = guided_upsample(chroma, small_guide, guide)[..., 1]
    plain = resize_plane(chroma, 64, 64)[..., 1]
    target = np.where(guide > 0.5, 0.2, 0.0)
    assert np.abs(guided - target).mean() < 0.5 * np.abs(plain - target).mean()


# -- through the enhancer ------------------------------------------------------------------------------------


def test_a_hint_colours_its_spot_and_the_luminance_is_kept(tmp_path: Path) -> None:
    session = open_session(hint_model(tmp_path / "h.onnx"))
    assert session.takes_hints
    photo = gray_photo()
    out = enhance(photo, session, hints=[Hint(20, 10, RED)])
    np.testing.assert_allclose(rgb_to_gray(out.pixels)[..., 0], photo.pixels[..., 0], atol=1e-5)
    cr = rgb_to_chroma(out.pixels)[1]
    assert cr[10, 20] == pytest.approx(Hint(0, 0, RED).chroma()[1], abs=1e-4)
    plain = enhance(photo, session)  # no hints: empty planes
    assert np.abs(np.stack(rgb_to_chroma(plain.pixels))).max() < 1e-5


def test_a_point_colours_its_region_and_stops_at_a_strong_edge(tmp_path: Path) -> None:
    session = open_session(hint_model(tmp_path / "h.onnx"))  # this toy model paints only the point's square
    y, x = np.mgrid[0:48, 0:96]
    luma = np.where(x < 48, 0.25, 0.8) + 0.02 * np.sin(y / 5.0)  # a dark half and a bright half
    photo = Photo(luma.astype(np.float32)[..., None])
    cr = rgb_to_chroma(enhance(photo, session, hints=[Hint(12, 24, RED)]).pixels)[1]
    assert cr[24, 12] == pytest.approx(Hint(0, 0, RED).chroma()[1], abs=1e-3)  # the point's own colour
    assert cr[10, 36] > 0.1  # 25 px away in the same dark region: coloured too
    assert abs(cr[24, 60]) < 0.01  # across the edge: untouched


def test_a_point_outside_the_photo_is_refused(tmp_path: Path) -> None:
    session = open_session(hint_model(tmp_path / "h.onnx"))
    with pytest.raises(HintsError, match="outside the 64×48 photo"):
        enhance(gray_photo(), session, hints=[Hint(64, 3, RED)])


def test_a_large_photo_is_colorized_at_the_working_size_and_keeps_its_luminance(tmp_path: Path) -> None:
    session = open_session(hint_model(tmp_path / "h.onnx", work_side=32))
    photo = gray_photo(96, 128)
    out = enhance(photo, session, hints=[Hint(64, 48, RED)])
    assert out.pixels.shape == (96, 128, 3)
    np.testing.assert_allclose(rgb_to_gray(out.pixels)[..., 0], photo.pixels[..., 0], atol=1e-5)
    cr = rgb_to_chroma(out.pixels)[1]
    assert cr[48, 64] > 0.05


def test_a_preview_of_a_reduced_size_colorizer_matches_the_full_result(tmp_path: Path) -> None:
    session = open_session(hint_model(tmp_path / "h.onnx", work_side=32))
    photo = gray_photo(96, 128)
    hints = [Hint(70, 40, RED)]
    full = enhance_chain(photo, [session], hints=hints)
    region, part = preview_region(photo, Region(56, 30, 30, 24), [session], hints=hints)
    want = full.pixels[region.y : region.y + region.height, region.x : region.x + region.width]
    assert np.abs(part.pixels - want).max() < 0.02


def test_a_batch_uses_each_photos_sidecar_and_never_enhances_it(tmp_path: Path) -> None:
    session = open_session(hint_model(tmp_path / "h.onnx"))
    src = gray_album(tmp_path)
    save_hints(sidecar_for(src / "a.png"), [Hint(10, 10, RED)])
    plan = plan_batch([src], tmp_path / "out")
    assert sorted(j.source.name for j in plan.jobs) == ["a.png", "b.png"] and not plan.failures
    results = run_batch(plan, session, TileOptions(), OutputOptions())
    assert [r.status for r in results] == ["done", "done"]
    a = np.asarray(Image.open(tmp_path / "out" / "a.png"), np.int16)
    b = np.asarray(Image.open(tmp_path / "out" / "b.png"), np.int16)
    assert a[10, 10, 0] - a[10, 10, 2] > 60  # red where the hint is
    assert np.abs(b[..., 0] - b[..., 2]).max() <= 1  # no sidecar: gray from this toy model


def test_a_broken_sidecar_fails_its_photo_with_the_reason_and_the_batch_goes_on(tmp_path: Path) -> None:
    session = open_session(hint_model(tmp_path / "h.onnx"))
    src = gray_album(tmp_path)
    sidecar_for(src / "a.png").write_text('{"hints": [{"x": 1}]}')
    results = run_batch(plan_batch([src], tmp_path / "out"), session, TileOptions(), OutputOptions())
    by_name = {r.source.name: r for r in results}
    assert by_name["a.png"].status == "failed" and "has no 'y'" in by_name["a.png"].reason
    assert by_name["b.png"].status == "done"


def test_cli_hints_for_one_photo_and_clear_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from photogan.cli.main import main

    model = hint_model(tmp_path / "h.onnx")
    photo = tmp_path / "p.png"
    Image.fromarray(np.full((32, 40), 128, np.uint8)).save(photo)
    hints = save_hints(tmp_path / "mine.json", [Hint(20, 16, RED)])
    out = tmp_path / "out"
    args = ["enhance", str(photo), "--task", "colorize", "--model", str(model), "-o", str(out)]
    assert main([*args, "--hints", str(hints)]) == 0
    pixel = np.asarray(Image.open(out / "p.png"), np.int16)[16, 20]
    assert pixel[0] - pixel[2] > 60
    assert main([*args[:1], str(tmp_path), *args[2:], "--hints", str(hints)]) == 2
    assert "--hints goes with one photo" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text("[]")
    assert main([*args, "--hints", str(tmp_path / "bad.json")]) == 2
    assert "expected" in capsys.readouterr().err


def test_a_colour_outside_the_rgb_cube_is_desaturated_not_clipped() -> None:
    from photogan.core.chroma import in_gamut

    luma = np.array([[0.9, 0.1, 0.5]], np.float32)
    chroma = np.array([[[0.0, 0.45], [0.4, 0.0], [0.05, -0.05]]], np.float32)  # too red, too blue, in gamut
    rgb = in_gamut(luma, chroma)
    assert rgb.min() >= 0 and rgb.max() <= 1
    np.testing.assert_allclose(rgb_to_gray(rgb)[..., 0], luma, atol=1e-6)  # brightness exactly kept
    np.testing.assert_allclose(rgb[0, 2], luma_chroma_to_rgb(luma, chroma)[0, 2], atol=1e-6)  # fits: unchanged
    assert rgb[0, 0, 0] > rgb[0, 0, 2] and rgb[0, 1, 2] > rgb[0, 1, 0]  # still red, still blue
