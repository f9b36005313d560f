"""The model metadata contract and the registry's rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import identity_model, nearest_model, write_model
from onnx import helper

from photogan.core.errors import ModelError
from photogan.inference.model_info import FORMAT_VERSION, ModelInfo
from photogan.inference.registry import ModelRegistry, read_model_info


def test_metadata_round_trip(tmp_path: Path) -> None:
    info = ModelInfo(
        id="m",
        name="M",
        task="upscale",
        scale=4,
        arch="compact",
        arch_params={"channels": 48},
        size_multiple=2,
        tile_pad=10,
        metrics={"Set5": {"psnr_y": 30.5}},
        licence="research",
    )
    path = write_model(tmp_path / "m.onnx", info, [helper.make_node("Identity", ["input"], ["output"])])
    back = read_model_info(path)
    assert back.with_path(path) == info.with_path(path)
    assert back.arch_params["channels"] == 48 and back.metrics["Set5"]["psnr_y"] == 30.5


def test_rejects_files_that_are_not_photogan_models(tmp_path: Path) -> None:
    (tmp_path / "junk.onnx").write_bytes(b"not a protobuf")
    with pytest.raises(ModelError, match="not a valid ONNX model"):
        read_model_info(tmp_path / "junk.onnx")
    with pytest.raises(ModelError, match="not a photogan model"):
        ModelInfo.from_metadata({"author": "x"})
    with pytest.raises(ModelError, match="Update photogan"):
        ModelInfo.from_metadata(
            {"photogan.id": "a", "photogan.task": "restore", "photogan.format_version": str(FORMAT_VERSION + 1)}
        )
    with pytest.raises(ModelError, match="unknown task"):
        ModelInfo(id="a", name="a", task="paint")  # type: ignore[arg-type]


def test_duplicate_ids_fail_and_user_models_are_found(tmp_path: Path) -> None:
    bundled, user = tmp_path / "bundled", tmp_path / "user"
    bundled.mkdir()
    user.mkdir()
    registry = ModelRegistry(bundled_dir=bundled, user_dir=user)
    identity_model(user / "one.onnx", "same-id")
    nearest_model(user / "two.onnx", 2)
    assert {m.info.id for m in registry.models()} == {"same-id", "test-nearest-x2"}
    identity_model(user / "three.onnx", "same-id")
    with pytest.raises(ModelError, match="two models have the id 'same-id'"):
        registry.models()
