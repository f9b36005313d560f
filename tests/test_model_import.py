"""The models photographers already have: a third-party ONNX upscaler and PyTorch checkpoints that spandrel knows
(built here with random weights) import, get a card from what was measured, and run at the right size; what
photogan cannot run is refused in words."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from photogan.app.models import ModelService
from photogan.cli.main import main
from photogan.core.errors import ModelError
from photogan.core.image import Photo
from photogan.core.tiling import TileOptions
from photogan.inference.enhancer import enhance
from photogan.inference.registry import ModelRegistry


def _foreign_onnx(path: Path, scale: int = 4, factor: float = 1.0, fixed: bool = False, multiple: int = 1) -> Path:
    """An upscaler as other tools export it: input ``lr``, output ``sr``, no photogan metadata; a 3×3 blur then a
    nearest upsample (a reach of 1 px), times ``factor`` (255: a 0-255 model). ``multiple`` > 1 adds a
    space-to-depth round trip, which needs sizes divisible by it."""
    dims = [1, 3, 64, 64] if fixed else ["n", 3, "h", "w"]
    kernel = np.full((3, 1, 3, 3), 1 / 9, np.float32)
    nodes = [helper.make_node("Conv", ["lr", "k"], ["blurred"], group=3, pads=[1, 1, 1, 1])]
    last = "blurred"
    if multiple > 1:
        nodes += [
            helper.make_node("SpaceToDepth", [last], ["packed"], blocksize=multiple),
            helper.make_node("DepthToSpace", ["packed"], ["unpacked"], blocksize=multiple),
        ]
        last = "unpacked"
    nodes += [
        helper.make_node("Resize", [last, "", "scales"], ["big"], mode="nearest"),
        helper.make_node("Mul", ["big", "factor"], ["sr"]),
    ]
    graph = helper.make_graph(
        nodes,
        "esrgan-like",
        [helper.make_tensor_value_info("lr", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("sr", TensorProto.FLOAT, ["n", 3, "oh", "ow"])],
        initializer=[
            helper.make_tensor("k", TensorProto.FLOAT, kernel.shape, kernel.ravel()),
            helper.make_tensor("scales", TensorProto.FLOAT, [4], [1, 1, scale, scale]),
            helper.make_tensor("factor", TensorProto.FLOAT, [], [factor]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


@pytest.fixture
def service(tmp_path: Path) -> ModelService:
    return ModelService(ModelRegistry(user_dir=tmp_path / "mine"))


def test_a_third_party_onnx_upscaler_imports_with_a_card_and_runs_at_its_scale(
    tmp_path: Path, service: ModelService
) -> None:
    info = service.import_file(_foreign_onnx(tmp_path / "4x-Foreign.onnx"))
    assert (info.id, info.task, info.scale, info.size_multiple) == ("4x-Foreign", "upscale", 4, 1)
    assert 8 < info.tile_pad <= 24  # a 1 px reach: the first context tried (8 px) matches, plus 8 px of margin
    card = (tmp_path / "mine" / "4x-Foreign.md").read_text()
    assert "×4" in card and "`lr`" in card and "`sr`" in card
    session = service.open(service.registry.get("4x-Foreign"), "cpu")
    photo = Photo(np.random.default_rng(0).random((37, 29, 3), dtype=np.float32))
    out = enhance(photo, session, TileOptions(tile_size=16))
    assert (out.height, out.width) == (148, 116)
    whole = enhance(photo, session, TileOptions(tile_size=0))
    assert np.abs(out.pixels - whole.pixels).max() < 1 / 255  # the measured context makes tiles seamless


def test_a_model_that_needs_sizes_divisible_by_8_is_measured_so(tmp_path: Path, service: ModelService) -> None:
    info = service.import_file(_foreign_onnx(tmp_path / "blocky.onnx", scale=2, multiple=8), model_id="blocky-x2")
    assert (info.id, info.scale, info.size_multiple) == ("blocky-x2", 2, 8)
    photo = Photo(np.random.default_rng(1).random((21, 19, 3), dtype=np.float32))
    out = enhance(photo, service.open(info, "cpu"), TileOptions(tile_size=0))
    assert (out.height, out.width) == (42, 38)  # padded to 24×24 to run, then cropped back


def test_models_photogan_cannot_run_are_refused_in_words(tmp_path: Path, service: ModelService) -> None:
    with pytest.raises(ModelError, match="0-255 values"):
        service.import_file(_foreign_onnx(tmp_path / "bytes.onnx", factor=255.0))
    with pytest.raises(ModelError, match="takes only 64×64 images"):
        service.import_file(_foreign_onnx(tmp_path / "fixed.onnx", fixed=True))
    with pytest.raises(ModelError, match="not ×2 as asked"):
        service.import_file(_foreign_onnx(tmp_path / "x4.onnx"), scale=2)
    (tmp_path / "notes.bin").write_bytes(b"weights?")
    with pytest.raises(ModelError, match=r"photogan imports \.onnx models and PyTorch"):
        service.import_file(tmp_path / "notes.bin")
    mine = tmp_path / "mine"
    assert not mine.exists() or not any(mine.iterdir())  # nothing written for any of them


def test_models_import_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = _foreign_onnx(tmp_path / "RealESRGAN_x4plus_anime.onnx")
    assert main(["models", "import", str(model), "--id", "anime-x4"]) == 0
    assert "imported anime-x4 (upscale ×4, imported ONNX)" in capsys.readouterr().out
    assert main(["models", "import", str(model), "--id", "anime-x4"]) == 2  # the id is taken: said, not replaced
    assert "already exists" in capsys.readouterr().err


def _spandrel_usable() -> bool:
    try:
        from training.convert import _import_spandrel

        _import_spandrel()
    except ImportError:  # no torch or no spandrel: the app's install, without the convert extra
        return False
    return True


needs_spandrel = pytest.mark.skipif(not _spandrel_usable(), reason="needs torch and spandrel (the convert extra)")


@needs_spandrel
@pytest.mark.slow
def test_a_compact_pth_and_a_span_safetensors_convert_import_and_run(tmp_path: Path, service: ModelService) -> None:
    """Real-ESRGAN's Compact as a .pth and SPAN as .safetensors, random weights; spandrel detects each from its
    state dict, the training module converts it (checked against torch), the importer measures it."""
    import torch
    from safetensors.torch import save_file
    from spandrel.architectures.Compact import Compact
    from spandrel.architectures.SPAN import SPAN

    torch.manual_seed(0)
    compact = Compact(num_feat=8, num_conv=2, upscale=4)
    with torch.no_grad():  # random weights, small: the output stays near the upsampled input (within 0-1)
        for p in compact.parameters():
            p.mul_(0.1)
    torch.save(compact.state_dict(), tmp_path / "4x-compact.pth")
    span = SPAN(num_in_ch=3, num_out_ch=3, feature_channels=8, upscale=2)
    with torch.no_grad():  # a random SPAN gives values far outside 0-1; a flat 0.5 output is a valid model
        span.upsampler[0].weight.zero_()
        span.upsampler[0].bias.fill_(0.5)
    save_file(span.state_dict(), str(tmp_path / "2x-span.safetensors"))

    compact_info = service.import_file(tmp_path / "4x-compact.pth")
    assert (compact_info.task, compact_info.scale) == ("upscale", 4) and "Compact" in compact_info.arch
    span_info = service.import_file(tmp_path / "2x-span.safetensors", model_id="span")
    assert (span_info.id, span_info.scale) == ("span", 2) and "SPAN" in span_info.arch
    photo = Photo(np.random.default_rng(0).random((23, 17, 3), dtype=np.float32))
    for info, scale in ((compact_info, 4), (span_info, 2)):
        out = enhance(photo, service.open(info, "cpu"), TileOptions(tile_size=0))
        assert (out.height, out.width) == (23 * scale, 17 * scale)
    assert "spandrel" in (tmp_path / "mine" / "span.md").read_text()


@needs_spandrel
def test_a_checkpoint_spandrel_does_not_know_is_refused_in_words(tmp_path: Path, service: ModelService) -> None:
    import torch

    torch.save({"mystery.weight": torch.zeros(3, 3)}, tmp_path / "mystery.pth")
    with pytest.raises(ModelError, match="does not recognise the architecture"):
        service.import_file(tmp_path / "mystery.pth")
