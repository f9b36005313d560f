"""8-bit copies of models: written only under the loss bar, used only on the CPU and only when asked, never stale."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import SAMPLE
from PIL import Image

from photogan.cli.main import main
from photogan.inference.registry import ModelRegistry, read_model_info
from photogan.inference.session import (
    INT8_SOURCE_KEY,
    INT8_SUFFIX,
    INT8_WEIGHT_BITS_KEY,
    Device,
    int8_copy,
    load_session,
    read_metadata,
)
from training import quantize
from training.config import TrainConfig


def _photos() -> list[np.ndarray]:
    photo = np.asarray(Image.open(SAMPLE).convert("RGB"))
    return [photo[y : y + 160, x : x + 160] for y, x in ((0, 0), (160, 160), (0, 320), (160, 0))]


@pytest.fixture(scope="module")
def x4(bundled_x4: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled ×4 network as a user model ``test-x4`` (a real network: quantization has something to lose)."""
    folder = tmp_path_factory.mktemp("int8")
    proto = onnx.load(str(bundled_x4))
    for entry in proto.metadata_props:
        if entry.key == "photogan.id":
            entry.value = "test-x4"
    onnx.save(proto, str(folder / "test-x4.onnx"))
    return folder / "test-x4.onnx"


@pytest.fixture(scope="module")
def quantized(x4: Path) -> quantize.Result:
    config = TrainConfig(task="upscale", scale=4)  # bicubic ×4 inputs
    photos = _photos()
    with pytest.MonkeyPatch.context() as patch:  # two crops calibrate worse than a real run's 16 photos
        patch.setattr(quantize, "MAX_LOSS_DB", 1.0)
        patch.setattr(quantize, "MIN_SPEEDUP", 0.0)  # on crops this small, timings are noise
        return quantize.quantize_model(read_model_info(x4), config, photos[:2], photos[2:], x4.parent)


def test_copy_is_written_under_the_bar_and_names_its_source(x4: Path, quantized: quantize.Result) -> None:
    copy = x4.with_name("test-x4" + INT8_SUFFIX)
    assert quantized.written and quantized.loss < 1.0 and quantized.kept_float == 0  # the first variant under the bar
    meta = read_metadata(copy)
    assert meta[INT8_SOURCE_KEY] == quantize.sha256(x4)
    assert meta["photogan.id"] == "test-x4" and meta["photogan.scale"] == "4"  # the float model's description
    assert int8_copy(x4) == copy
    weights = [t for t in onnx.load(str(copy)).graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert weights and all(np.abs(onnx.numpy_helper.to_array(t)).max() <= 64 for t in weights)  # 7 bits


def test_a_copy_with_full_8_bit_weights_is_ignored(x4: Path, quantized: quantize.Result, tmp_path: Path) -> None:
    """An earlier photogan's copy: its pair sums overflow on CPUs without VNNI, so its measured loss may not hold."""
    model = tmp_path / "test-x4.onnx"
    model.write_bytes(x4.read_bytes())
    proto = onnx.load(str(x4.with_name("test-x4" + INT8_SUFFIX)))
    kept = [e for e in proto.metadata_props if e.key != INT8_WEIGHT_BITS_KEY]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    onnx.save(proto, str(tmp_path / ("test-x4" + INT8_SUFFIX)))
    assert int8_copy(model) is None
    assert load_session(read_model_info(model), Device.parse("cpu"), int8=True).precision == "float32"


def test_int8_runs_only_on_the_cpu_when_asked_and_float_stays_bit_identical(
    x4: Path, quantized: quantize.Result
) -> None:
    info = read_model_info(x4)
    small = Image.open(SAMPLE).convert("RGB").resize((40, 32), Image.Resampling.BICUBIC)
    x = np.ascontiguousarray((np.asarray(small, np.float32) / 255.0).transpose(2, 0, 1)[None])
    plain = load_session(info, Device.parse("cpu"))
    fast = load_session(info, Device.parse("cpu"), int8=True)
    assert plain.precision == "float32" and fast.precision == "int8"
    reference = plain.run(x)
    assert np.array_equal(load_session(info, Device.parse("auto")).run(x), reference)  # no option: the float model
    out = fast.run(x)
    assert out.shape == reference.shape == (1, 3, 128, 160) and not np.array_equal(out, reference)
    assert 10 * np.log10(1 / np.mean((out - reference) ** 2)) > 35  # close to the float model, not another one
    assert load_session(info, Device.parse("auto"), int8=True).precision == "int8"  # no GPU here: the CPU copy


def test_a_copy_of_another_version_is_ignored(x4: Path, quantized: quantize.Result, tmp_path: Path) -> None:
    changed = tmp_path / "test-x4.onnx"
    proto = onnx.load(str(x4))
    weights = onnx.numpy_helper.to_array(proto.graph.initializer[0]) * 1.01  # a retrained model of that name
    proto.graph.initializer[0].CopyFrom(onnx.numpy_helper.from_array(weights, proto.graph.initializer[0].name))
    onnx.save(proto, str(changed))
    (tmp_path / ("test-x4" + INT8_SUFFIX)).write_bytes(x4.with_name("test-x4" + INT8_SUFFIX).read_bytes())
    assert int8_copy(changed) is None
    assert load_session(read_model_info(changed), Device.parse("cpu"), int8=True).precision == "float32"


def test_no_copy_over_the_bar_and_an_old_one_is_removed(
    x4: Path, quantized: quantize.Result, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "test-x4.onnx"
    model.write_bytes(x4.read_bytes())
    old = tmp_path / ("test-x4" + INT8_SUFFIX)
    old.write_bytes(x4.with_name("test-x4" + INT8_SUFFIX).read_bytes())
    monkeypatch.setattr(quantize, "MAX_LOSS_DB", -1.0)  # no copy can be that good
    monkeypatch.setattr(quantize, "MIN_SPEEDUP", 0.0)  # so the search goes on whatever the timings
    monkeypatch.setattr(quantize, "MAX_KEPT_FLOAT", 2)
    photos = _photos()
    result = quantize.quantize_model(
        read_model_info(model), TrainConfig(task="upscale", scale=4), photos[:1], photos[2:3], tmp_path
    )
    assert not result.written and result.kept_float == 2  # the search kept the two most sensitive nodes float
    assert not old.exists()


def test_user_folder_copy_is_not_a_model_and_cli_runs_it_with_int8(
    x4: Path, quantized: quantize.Result, tmp_path: Path
) -> None:
    user = Path(os.environ["PHOTOGAN_MODELS_DIR"])
    user.mkdir(parents=True, exist_ok=True)
    for name in ("test-x4.onnx", "test-x4" + INT8_SUFFIX):
        (user / name).write_bytes((x4.parent / name).read_bytes())
    assert [e.info.id for e in ModelRegistry().models() if e.origin == "user"] == ["test-x4"]
    photo = tmp_path / "small.png"
    Image.open(SAMPLE).convert("RGB").crop((0, 0, 48, 40)).save(photo)
    outputs = {}
    for flags in ([], ["--int8"]):
        out = tmp_path / f"out{len(flags)}"
        assert main(["enhance", str(photo), "--model", "test-x4", "--device", "cpu", "-o", str(out), *flags]) == 0
        outputs[len(flags)] = np.asarray(Image.open(next(out.iterdir())))
    assert outputs[0].shape == outputs[1].shape == (160, 192, 3)
    assert not np.array_equal(outputs[0], outputs[1])
    ModelRegistry().delete_model("test-x4")
    assert not list(user.iterdir())  # the copy goes with its model


def test_a_copy_loses_what_it_loses_on_any_photo_on_y_or_on_rgb() -> None:
    reference = np.array([[30.0, 29.0], [40.0, 39.0]])  # per photo: PSNR on the task's measure, on RGB
    better_on_clean = np.array([[29.9, 28.9], [40.3, 39.3]])  # −0.1 dB on the first photo, +0.3 on the second
    assert quantize._loss(reference, better_on_clean) == pytest.approx(0.05)  # the gain buys nothing back
    chroma = np.array([[30.0, 28.8], [40.0, 39.0]])  # Y untouched, RGB 0.2 dB down on one photo
    assert quantize._loss(reference, chroma) == pytest.approx(0.1)
