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


def test_metadata_is_read_as_onnxruntime_reads_it_and_a_damaged_file_is_refused(tmp_path: Path) -> None:
    """The registry reads metadata from the file's top level (no graph built): the same map as onnxruntime's for
    every bundled model, and a cut-off or rewritten file is not taken for a model."""
    import onnxruntime as ort

    from photogan.inference.registry import bundled_models_dir
    from photogan.inference.session import read_metadata

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    paths = sorted(bundled_models_dir().glob("*.onnx"))
    assert len(paths) >= 13
    for path in paths:
        session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        assert read_metadata(path) == dict(session.get_modelmeta().custom_metadata_map), path.name
    whole = paths[0].read_bytes()
    (tmp_path / "cut.onnx").write_bytes(whole[: len(whole) // 2])  # an interrupted download
    with pytest.raises(ModelError, match="not a valid ONNX model"):
        read_metadata(tmp_path / "cut.onnx")
    (tmp_path / "image.onnx").write_bytes(b"\x89PNG\r\n\x1a\n" + whole[8:])  # another file under the name
    with pytest.raises(ModelError, match="not a valid ONNX model"):
        read_metadata(tmp_path / "image.onnx")


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
