"""photogan generate: noise → images from a generate model; seeds reproducible; interpolation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import open_session
from onnx import TensorProto, helper

from photogan.app.generate import generate, interpolate, is_tileable, noise, tile
from photogan.cli.main import main
from photogan.core.errors import ModelError
from photogan.core.load import load_image
from photogan.inference.model_info import ModelInfo


def texture_model(path: Path, latent: int = 4, side: int = 8, tileable: bool = False) -> Path:
    """z (N×latent) → sigmoid(z·W) reshaped to N×3×side×side: a tiny but genuine generator."""
    params: dict[str, object] = {"latent": latent, "image_size": side}
    if tileable:
        params["tileable"] = True
    info = ModelInfo(
        id="tiny-tileable" if tileable else "tiny-texture",
        name="t",
        task="generate",
        arch="linear",
        tiling="whole",
        arch_params=params,
    )
    weights = np.random.default_rng(0).normal(0, 1, (latent, 3 * side * side)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["input", "w"], ["h"]),
            helper.make_node("Sigmoid", ["h"], ["s"]),
            helper.make_node("Reshape", ["s", "shape"], ["output"]),
        ],
        "texture",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["n", latent])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["n", 3, side, side])],
        initializer=[
            helper.make_tensor("w", TensorProto.FLOAT, weights.shape, weights.ravel()),
            helper.make_tensor("shape", TensorProto.INT64, [4], [-1, 3, side, side]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, info.to_metadata())
    onnx.save(model, str(path))
    return path


def test_seeds_are_reproducible_and_different(tmp_path: Path) -> None:
    session = open_session(texture_model(tmp_path / "t.onnx"))
    a, again, b = (generate(session, noise(session, s))[0].pixels for s in (1, 1, 2))
    np.testing.assert_array_equal(a, again)
    assert np.abs(a - b).mean() > 0.01 and a.shape == (8, 8, 3)


def test_interpolation_starts_and_ends_at_the_seeds() -> None:
    a, b = np.random.default_rng(0).standard_normal((2, 16)).astype(np.float32)
    path = interpolate(a, b, 5)
    np.testing.assert_allclose(path[0], a, atol=1e-5)
    np.testing.assert_allclose(path[-1], b, atol=1e-5)
    assert path.shape == (5, 16)


def test_cli_generate_and_models_delete(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = texture_model(tmp_path / "t.onnx")
    out = tmp_path / "out"
    assert main(["generate", "--model", str(model), "-n", "3", "--seed", "5", "-o", str(out)]) == 0
    files = sorted(out.iterdir())
    assert [f.name for f in files] == [f"tiny-texture-seed5-{i:04d}.png" for i in (1, 2, 3)]
    assert load_image(files[0]).width == 8
    assert (
        main(["generate", "--model", str(model), "-n", "4", "--seed", "1", "--interpolate", "2", "-o", str(out)]) == 0
    )
    assert len(list(out.glob("tiny-texture-1-to-2-*.png"))) == 4

    capsys.readouterr()
    assert main(["generate", "-n", "1", "--size", "200x120", "-o", str(out)]) == 0  # the bundled default texture
    assert load_image(out / "texture-bark-seed0-0001.png").width == 200
    assert main(["models", "import", str(model)]) == 0
    assert main(["models", "delete", "tiny-texture"]) == 0
    assert main(["models", "delete", "upscale-x4"]) == 2  # bundled models stay
    assert "cannot be deleted" in capsys.readouterr().err


def test_enhance_models_are_not_generators(models_dir: Path) -> None:
    with pytest.raises(ModelError, match="not a generate model"):
        noise(open_session(models_dir / "identity.onnx"), 0)
    assert main(["generate", "--model", str(models_dir / "identity.onnx")]) == 2


def test_tileable_models_save_larger_seamless_mosaics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tileable = texture_model(tmp_path / "tileable.onnx", tileable=True)
    plain = texture_model(tmp_path / "plain.onnx")
    assert is_tileable(open_session(tileable).info) and not is_tileable(open_session(plain).info)
    single, mosaic = tmp_path / "single", tmp_path / "mosaic"
    assert main(["generate", "--model", str(tileable), "-n", "1", "--seed", "3", "-o", str(single)]) == 0
    assert (
        main(["generate", "--model", str(tileable), "-n", "1", "--seed", "3", "--repeat", "3", "-o", str(mosaic)]) == 0
    )
    one = load_image(next(single.iterdir())).pixels
    big = load_image(next(mosaic.iterdir())).pixels
    assert big.shape == (24, 24, 3)
    np.testing.assert_array_equal(big, np.tile(one, (3, 3, 1)))
    np.testing.assert_array_equal(tile(load_image(next(single.iterdir())), 2).pixels, big[:16, :16])

    assert main(["generate", "--model", str(plain), "--repeat", "2", "-o", str(tmp_path / "no")]) == 2
    assert "seams" in capsys.readouterr().err
    assert not (tmp_path / "no").exists()
