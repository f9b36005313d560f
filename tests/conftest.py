"""Shared fixtures: tiny photogan models built here with onnx.helper (no downloads, no torch)."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from photogan.inference.model_info import ModelInfo
from photogan.inference.registry import bundled_models_dir
from photogan.inference.session import Device, ModelSession, SessionCache

# Qt aborts the process without a display unless told to draw offscreen; tests set it themselves.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "resources" / "samples" / "sample.jpg"


def write_model(
    path: Path,
    info: ModelInfo,
    nodes: list,
    initializers: list | None = None,
    inputs: tuple[str, ...] = ("input",),
    planes: dict[str, int] | None = None,
) -> Path:
    """Writes an ONNX model with dynamic N/H/W from ``inputs`` (N×3×H×W each, or N×``planes[name]``×H×W) to
    ``output`` (likewise) with photogan metadata."""
    planes = planes or {}
    graph = helper.make_graph(
        nodes,
        info.id,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["n", planes.get(n, 3), "h", "w"]) for n in inputs],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["n", planes.get("output", 3), "oh", "ow"])],
        initializer=initializers or [],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, info.to_metadata())
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def identity_model(path: Path, model_id: str = "test-identity") -> Path:
    info = ModelInfo(id=model_id, name="identity", task="restore", scale=1, arch="identity", tile_pad=0)
    return write_model(path, info, [helper.make_node("Identity", ["input"], ["output"])])


def nearest_model(path: Path, scale: int, model_id: str | None = None, size_multiple: int = 1) -> Path:
    info = ModelInfo(
        id=model_id or f"test-nearest-x{scale}",
        name="nearest",
        task="upscale",
        scale=scale,
        arch="nearest",
        tile_pad=0,
        size_multiple=size_multiple,
    )
    scales = helper.make_tensor("scales", TensorProto.FLOAT, [4], [1.0, 1.0, float(scale), float(scale)])
    node = helper.make_node(
        "Resize",
        ["input", "", "scales"],
        ["output"],
        mode="nearest",
        nearest_mode="floor",
        coordinate_transformation_mode="asymmetric",
    )
    return write_model(path, info, [node], [scales])


def blur_model(path: Path) -> Path:
    """A 5×5 box blur (receptive radius 2): tiling must not show seams."""
    info = ModelInfo(id="test-blur", name="blur", task="restore", scale=1, arch="box", tile_pad=4)
    weights = helper.make_tensor("w", TensorProto.FLOAT, [3, 1, 5, 5], [1.0 / 25] * 75)
    node = helper.make_node("Conv", ["input", "w"], ["output"], group=3, pads=[2, 2, 2, 2])
    return write_model(path, info, [node], [weights])


def open_session(path: Path) -> ModelSession:
    from photogan.inference.registry import read_model_info

    return SessionCache().get(read_model_info(path), Device.parse("cpu"))


@pytest.fixture(autouse=True)
def _isolated_user_models(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keeps tests away from the real user models folder."""
    monkeypatch.setenv("PHOTOGAN_MODELS_DIR", str(tmp_path_factory.mktemp("user-models")))


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    identity_model(folder / "identity.onnx")
    nearest_model(folder / "nearest2.onnx", 2)
    nearest_model(folder / "nearest4.onnx", 4)
    nearest_model(folder / "nearest4m8.onnx", 4, "test-nearest-x4-m8", size_multiple=8)
    blur_model(folder / "blur.onnx")
    return folder


@pytest.fixture(scope="session")
def bundled_x4() -> Path:
    path = bundled_models_dir() / "upscale-x4.onnx"
    assert path.exists(), "the bundled upscale-x4 model is missing"
    return path


def random_image(h: int, w: int, c: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((h, w, c), dtype=np.float32)


@pytest.fixture(autouse=True)
def _no_dangling_threads() -> object:
    """Fails a test that leaves a worker (Qt or Python) running after it ends."""
    before = set(threading.enumerate())
    yield
    leftovers: list[str] = []
    workers = sys.modules.get("photogan.gui.workers")
    if workers is not None:
        running = [w for w in workers.Worker.active if w.isRunning()]
        leftovers += [f"Qt worker {w.objectName()!r}" for w in running]
        workers.Worker.stop_all(5000)
    deadline, extra = time.monotonic() + 2.0, []
    while time.monotonic() < deadline:
        extra = [t for t in threading.enumerate() if t not in before and t.is_alive() and not t.daemon]
        if not extra:
            break
        time.sleep(0.02)
    leftovers += [f"thread {t.name!r}" for t in extra]
    assert not leftovers, f"the test left threads running: {', '.join(leftovers)}"
