"""Training → export → inference: an exported generator runs in photogan exactly as it ran in torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from photogan.core.image import Photo  # noqa: E402
from photogan.core.tiling import TileOptions  # noqa: E402
from photogan.inference.enhancer import enhance  # noqa: E402
from photogan.inference.model_info import ModelInfo  # noqa: E402
from photogan.inference.registry import read_model_info  # noqa: E402
from training import archs  # noqa: E402
from training.export import check_parity, export_onnx  # noqa: E402


@pytest.mark.parametrize("scale", [2, 4])
def test_compact_exports_with_metadata_and_matches_torch(tmp_path: Path, scale: int) -> None:
    from conftest import open_session

    torch.manual_seed(0)
    model = archs.build("compact", scale=scale, channels=8, blocks=2)
    for p in model.parameters():  # non-trivial weights, so parity means something
        p.data.normal_(0, 0.1)
    info = ModelInfo(
        id=f"tiny-x{scale}",
        name="tiny",
        task="upscale",
        scale=scale,
        arch="compact",
        arch_params=model.hparams,
        tile_pad=8,
    )
    path = export_onnx(model, info, tmp_path / "tiny.onnx")
    assert read_model_info(path).arch_params == model.hparams
    assert check_parity(model, path, ((13, 29), (7, 5))) < 1e-4

    photo = Photo(np.random.default_rng(0).random((19, 23, 3), dtype=np.float32))
    out = enhance(photo, open_session(path), TileOptions(tile_size=0))
    with torch.no_grad():
        expected = model(torch.from_numpy(photo.pixels).permute(2, 0, 1)[None])[0].permute(1, 2, 0).clamp(0, 1)
    np.testing.assert_allclose(out.pixels, expected.numpy(), atol=1e-4)


@pytest.mark.parametrize(
    ("arch", "params", "scale"),
    [
        ("restorer", {"channels": 8, "blocks": 2, "levels": 2}, 1),
        ("restorer", {"channels": 8, "blocks": 2, "levels": 2, "activation": "leaky", "full_res": False}, 1),
        ("compact", {"scale": 2, "channels": 8, "blocks": 3}, 2),
    ],
)
def test_the_measured_context_makes_tiles_match_the_whole_image(arch: str, params: dict, scale: int) -> None:
    """The tile context written at export is enough for tiled results to equal whole-image ones (and is needed)."""
    from photogan.core.tiling import run_tiled
    from training.bundle import measured_context

    torch.manual_seed(0)
    model = archs.build(arch, **params).eval()
    for p in model.parameters():
        p.data.normal_(0, 0.15)
    pad = measured_context(model, scale)
    assert pad <= model.receptive_radius + 6

    def run(tile: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(tile).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()

    image = np.random.default_rng(1).random((96, 128, 3), dtype=np.float32)
    whole = run(image)
    multiple = int(getattr(model, "size_multiple", 1))
    tiled = run_tiled(image, run, scale, TileOptions(tile_size=32, pad=pad), pad, multiple)
    assert np.abs(tiled - whole).max() <= 1 / 255
    starved = run_tiled(image, run, scale, TileOptions(tile_size=32, pad=0), 0, multiple)
    assert np.abs(starved - whole).max() > 1 / 255


def test_a_widened_upscaler_computes_the_same_and_its_new_channels_learn() -> None:
    """``python -m training.widen``: the start of a wider model is the narrow one, exactly."""
    from training.widen import widen_compact

    torch.manual_seed(0)
    narrow = archs.build("compact", scale=2, channels=8, blocks=3)
    for p in narrow.parameters():
        p.data.normal_(0, 0.1)
    wide = widen_compact(narrow, 12)
    assert wide.hparams == {"scale": 2, "channels": 12, "blocks": 3}
    x = torch.rand(2, 3, 20, 24)
    torch.testing.assert_close(wide(x), narrow(x), rtol=0, atol=1e-6)
    # the new channels carry signal and get a gradient on their outgoing weights, so training can grow them
    (wide(x) - torch.rand(2, 3, 40, 48)).square().mean().backward()
    last = wide.body[-1]
    assert last.weight.grad is not None and float(last.weight.grad[:, 8:].abs().sum()) > 0
    with pytest.raises(ValueError, match="larger --channels"):
        widen_compact(narrow, 8)
    with pytest.raises(ValueError, match="only compact"):
        widen_compact(archs.build("restorer", channels=8, blocks=1), 12)


def test_a_deepened_upscaler_computes_the_same_and_its_new_layers_learn() -> None:
    """``python -m training.widen --blocks``: new layers start as identities before the last convolution."""
    from training.widen import deepen_compact

    torch.manual_seed(0)
    shallow = archs.build("compact", scale=2, channels=8, blocks=2)
    for p in shallow.parameters():
        p.data.normal_(0, 0.1)
    deep = deepen_compact(shallow, 4)
    assert deep.hparams == {"scale": 2, "channels": 8, "blocks": 4}
    x = torch.rand(2, 3, 20, 24)
    torch.testing.assert_close(deep(x), shallow(x), rtol=0, atol=1e-6)
    (deep(x) - torch.rand(2, 3, 40, 48)).square().mean().backward()
    new = deep.body[-3]  # the last new convolution
    assert isinstance(new, torch.nn.Conv2d) and new.weight.grad is not None and float(new.weight.grad.abs().sum()) > 0
    with pytest.raises(ValueError, match="larger --blocks"):
        deepen_compact(shallow, 2)
