"""Device parsing, provider fallback and the session cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from photogan.inference.registry import read_model_info
from photogan.inference.session import CPU, CUDA, Device, SessionCache


@pytest.mark.parametrize(
    ("text", "kind", "index"), [("auto", "auto", 0), ("CPU", "cpu", 0), ("cuda", "cuda", 0), ("cuda:1", "cuda", 1)]
)
def test_device_parse(text: str, kind: str, index: int) -> None:
    device = Device.parse(text)
    assert (device.kind, device.index) == (kind, index)


@pytest.mark.parametrize("text", ["gpu", "cpu:1", "cuda:x", ""])
def test_device_parse_rejects_nonsense(text: str) -> None:
    with pytest.raises(ValueError, match="unknown device"):
        Device.parse(text)


def test_cuda_request_reports_the_provider_actually_used(models_dir: Path) -> None:
    """On a machine without CUDA the model still runs (on the CPU) and says so; with CUDA it runs there."""
    info = read_model_info(models_dir / "nearest2.onnx")
    cache = SessionCache()
    session = cache.get(info, Device.parse("cuda:0"))
    assert session.provider in (CPU, CUDA)
    batch = np.random.default_rng(0).random((1, 3, 5, 7), dtype=np.float32)
    cpu = cache.get(info, Device.parse("cpu"))
    assert cpu.provider == CPU
    np.testing.assert_allclose(session.run(batch), cpu.run(batch), atol=1e-6)


def test_cache_reuses_and_evicts(models_dir: Path) -> None:
    cache = SessionCache(capacity=1)
    one = read_model_info(models_dir / "nearest2.onnx")
    two = read_model_info(models_dir / "identity.onnx")
    first = cache.get(one, Device.parse("cpu"))
    assert cache.get(one, Device.parse("cpu")) is first
    cache.get(two, Device.parse("cpu"))
    assert cache.get(one, Device.parse("cpu")) is not first


def test_running_a_model_writes_nothing_into_the_home_folder(tmp_path: Path) -> None:
    """onnxruntime's device id and telemetry database (~/.cache/Microsoft) are never written by photogan."""
    import subprocess
    import sys

    from conftest import identity_model, random_image

    from photogan.core.image import Photo
    from photogan.core.save import save_image

    model = identity_model(tmp_path / "identity.onnx")
    photo = save_image(Photo(random_image(16, 16)), tmp_path / "in.png")
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "PHOTOGAN_MODELS_DIR": str(tmp_path / "models")}
    args = [sys.executable, "-m", "photogan", "enhance", str(photo), "--model", str(model), "-o", str(tmp_path / "o")]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "o" / "in.png").exists()
    assert not (home / ".cache" / "Microsoft").exists()


def test_cancel_stops_a_model_inside_one_big_tile(tmp_path: Path) -> None:
    """A photo that is a single tile on a slow model stops within a fraction of a second of Cancel."""
    import threading
    import time

    from conftest import open_session, write_model
    from onnx import TensorProto, helper

    from photogan.core.errors import Cancelled
    from photogan.core.image import Photo
    from photogan.core.progress import Progress
    from photogan.core.tiling import TileOptions
    from photogan.inference.enhancer import enhance
    from photogan.inference.model_info import ModelInfo

    layers = 60  # 60 7×7 convolutions over the whole photo: seconds of work in one tile
    weights = helper.make_tensor("w", TensorProto.FLOAT, [3, 3, 7, 7], [1.0 / 147] * 441)
    nodes, name = [], "input"
    for k in range(layers):
        out = "output" if k == layers - 1 else f"x{k}"
        nodes.append(helper.make_node("Conv", [name, "w"], [out], pads=[3, 3, 3, 3]))
        name = out
    info = ModelInfo(id="test-slow", name="slow", task="restore", scale=1, arch="conv", tile_pad=0)
    session = open_session(write_model(tmp_path / "slow.onnx", info, nodes, [weights]))
    photo = Photo(np.random.default_rng(0).random((1400, 1400, 3), dtype=np.float32))
    progress = Progress()
    timer = threading.Timer(0.3, progress.cancel)
    started = time.monotonic()
    timer.start()
    with pytest.raises(Cancelled):
        enhance(photo, session, TileOptions(tile_size=0), progress)
    timer.join()
    assert time.monotonic() - started < 1.5
