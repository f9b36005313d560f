"""Output sizes as photographers ask for them: any factor, pixels, a print size at a DPI; and chains of models
on the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photogan.app.sizing import SizeRequest, model_scale, parse_print, resize_photo
from photogan.cli.main import main
from photogan.core.errors import UsageError
from photogan.core.image import Photo
from photogan.core.load import load_image


def test_print_sizes_parse_in_cm_mm_and_inches() -> None:
    assert parse_print("40x60cm") == pytest.approx((40 / 2.54, 60 / 2.54))
    assert parse_print("400 × 600 mm") == pytest.approx((400 / 25.4, 600 / 25.4))
    assert parse_print("16x20in") == (16.0, 20.0)
    with pytest.raises(UsageError, match="40x60cm"):
        parse_print("40x60")  # no unit: refused, not guessed


def test_a_print_size_is_turned_to_the_photo_and_the_photo_fitted_inside() -> None:
    request = SizeRequest(print_inches=(8.0, 10.0), dpi=300)
    assert request.target(600, 400) == (3000, 2000)  # landscape: the 10 in side (3000 px) limits, ×5
    assert request.target(400, 600) == (2000, 3000)  # portrait: the print turns with the photo
    assert request.target(500, 500) == (2400, 2400)  # square: fits the 8 in side
    assert request.output_dpi() == 300
    assert SizeRequest(print_inches=(8.0, 10.0)).output_dpi() == 300  # the labs' default


def test_widths_heights_and_factors() -> None:
    assert SizeRequest(width=900).target(300, 200) == (900, 600)
    assert SizeRequest(width=900, height=300).target(300, 200) == (450, 300)  # fitted inside both
    assert SizeRequest(factor=2.5).target(100, 40) == (250, 100)
    with pytest.raises(UsageError, match="one output size"):
        SizeRequest(factor=2, width=100)


def test_the_smallest_model_scale_that_reaches_the_factor_is_used() -> None:
    assert model_scale([1.5], (2, 4)) == 2
    assert model_scale([3.0], (2, 4)) == 4
    assert model_scale([2.0], (2, 4)) == 2
    assert model_scale([6.0], (2, 4)) == 4  # beyond every model: the largest, then enlarged


def test_resizing_keeps_alpha_and_sets_the_dpi() -> None:
    photo = Photo(np.random.default_rng(0).random((20, 30, 3), dtype=np.float32), alpha=np.ones((20, 30), np.float32))
    out = resize_photo(photo, 45, 30, dpi=240)
    assert out.pixels.shape == (30, 45, 3) and out.alpha is not None and out.alpha.shape == (30, 45)
    assert out.dpi == (240, 240) and out.pixels.min() >= 0 and out.pixels.max() <= 1


def test_cli_outscale_print_and_chain(tmp_path: Path, models_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photo = tmp_path / "p.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)).save(photo)
    x4 = str(models_dir / "nearest4.onnx")
    assert main(["enhance", str(photo), "--model", x4, "--outscale", "3", "-o", str(tmp_path / "a")]) == 0
    assert Image.open(tmp_path / "a" / "p.png").size == (180, 120)
    args = ["enhance", str(photo), "--model", x4, "--print", "15x10cm", "--dpi", "100", "-o", str(tmp_path / "b")]
    assert main(args) == 0
    out = load_image(tmp_path / "b" / "p.png")
    assert (out.width, out.height) == (591, 394) and out.dpi is not None and round(out.dpi[0]) == 100
    assert "591×394 px: 15.0×10.0 cm at 100 DPI" in capsys.readouterr().err
    chain = f"{models_dir / 'identity.onnx'},{models_dir / 'nearest2.onnx'}"
    assert main(["enhance", str(photo), "--chain", chain, "-o", str(tmp_path / "c")]) == 0
    assert Image.open(tmp_path / "c" / "p.png").size == (120, 80)
    assert "test-identity (restore ×1) → test-nearest-x2 (upscale ×2)" in capsys.readouterr().err
    assert main(["enhance", str(photo), "--chain", chain, "--model", x4, "-o", str(tmp_path / "d")]) == 2
    assert main(["enhance", str(photo), "--print", "15x10", "-o", str(tmp_path / "e")]) == 2
    assert "not a print size" in capsys.readouterr().err
