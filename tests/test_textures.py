"""Texture models: a spatial generator learns from one photo, draws any size seamlessly, tile by tile."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from conftest import open_session  # noqa: E402

from photogan.app.generate import fit_periodic, generate, interpolate, is_spatial, noise  # noqa: E402
from photogan.cli.main import main as photogan_main  # noqa: E402
from photogan.core.texture import (  # noqa: E402
    diversity,
    histogram_distance,
    log_spectrum,
    seam_ratio,
    texture_report,
)
from photogan.inference.registry import read_model_info  # noqa: E402
from training import archs  # noqa: E402
from training.bundle import bundle, bundle_again, export_model  # noqa: E402
from training.cli import main as train_main  # noqa: E402
from training.config import TrainConfig  # noqa: E402
from training.dataset import TaskData  # noqa: E402
from training.verdict import judge  # noqa: E402

TINY = {"local": 3, "global_": 2, "levels": 2, "base": 4}


@pytest.fixture(scope="module")
def texture_photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One synthetic 'bark' photo: vertical stripes with noise (a texture with an up)."""
    rng = np.random.default_rng(0)
    x = np.arange(80)[None, :, None]
    stripes = 0.5 + 0.3 * np.sin(x / 3.0 + rng.normal(0, 0.3, (64, 1, 1)))
    rgb = np.clip(stripes * np.array([0.8, 0.55, 0.35]) + rng.normal(0, 0.04, (64, 80, 3)), 0, 1)
    path = tmp_path_factory.mktemp("texture") / "bark.png"
    Image.fromarray((rgb * 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture(scope="module", params=[1, 2], ids=["coarse1", "coarse2"])
def spatial_onnx(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """The tiny generator with one convolution at the field's resolution, and with two (a wider context)."""
    return spatial_model(tmp_path_factory.mktemp("models"), coarse=request.param)


def spatial_model(folder: Path, coarse: int = 1) -> Path:
    """A tiny spatial texture generator with random weights, exported as photogan exports trained ones."""
    torch.manual_seed(0)
    params = {**TINY, "coarse": coarse}
    model = archs.build("sgan", **params)
    for p in model.parameters():
        p.data.normal_(0, 0.3)
    model.train()(model.noise(4, 6, 6))  # BatchNorm statistics that are not the identity
    config = TrainConfig(task="generate", arch="sgan", arch_params=params, patch=32)
    return export_model(
        model.eval(),
        config,
        folder,
        "tiny-field",
        name="tiny",
        description="",
        training_data="",
        licence="",
        metrics={},
    )


def test_a_spatial_model_declares_its_cell_size_and_context(spatial_onnx: Path) -> None:
    info = read_model_info(spatial_onnx)
    coarse = int(info.arch_params["coarse"])  # each convolution at the field's resolution: two cells each way
    assert is_spatial(info) and info.scale == 4 and info.tiling == "tiled" and info.tile_pad >= 2 * coarse


def test_a_larger_training_field_is_cut_into_the_crops_it_holds() -> None:
    """field = twice the crop's side: a quarter as many fields, each giving four whole crops of its torus (the
    critic judges exactly those), so the generator learns structure up to the field's size at the crops' cost."""
    model = archs.build("sgan", **TINY)  # one cell = 4 px: a 32 px crop is 8 cells
    assert model.training_fields(32, 0, 16) == (16, 8)
    assert model.training_fields(32, 10, 16) == (16, 10)  # holds one crop: one field per crop
    assert model.training_fields(32, 16, 16) == (4, 16)
    assert model.training_fields(32, 16, 6) == (2, 16)  # the last field's spare crops are left out
    images = torch.arange(2 * 3 * 64 * 64, dtype=torch.float32).reshape(2, 3, 64, 64)
    crops = model.training_crops(images, 32, 6)
    assert crops.shape == (6, 3, 32, 32)
    expected = [images[0, :, :32, :32], images[0, :, :32, 32:], images[0, :, 32:, :32], images[0, :, 32:, 32:]]
    expected += [images[1, :, :32, :32], images[1, :, :32, 32:]]
    for crop, want in zip(crops, expected, strict=True):
        assert torch.equal(crop, want)
    wider = archs.build("sgan", **TINY, coarse=2)
    assert wider.halo == model.halo + 2  # two more cells of context each way


def test_tile_by_tile_equals_the_whole_field_and_sizes_are_exact(spatial_onnx: Path) -> None:
    session = open_session(spatial_onnx)
    field = noise(session, 3, size=(200, 120))
    assert field.shape == (1, 5, 30, 50)
    whole = generate(session, field, tile_cells=0)[0].pixels
    tiled = generate(session, field, tile_cells=8)[0].pixels
    assert whole.shape == (120, 200, 3)
    np.testing.assert_allclose(tiled, whole, atol=2e-5)
    odd = generate(session, noise(session, 3, size=(203, 117)), size=(203, 117))[0].pixels
    assert odd.shape == (117, 203, 3)


def test_textures_wrap_around_without_a_seam(spatial_onnx: Path) -> None:
    """Rolling the noise field rolls the texture by as many cells: the network computes on a torus, so the
    wrap-around is drawn like any other place (and stays so when resampled to an odd size)."""
    session = open_session(spatial_onnx)
    field = noise(session, 5, size=(96, 64))
    texture = generate(session, field)[0].pixels
    rolled = generate(session, np.roll(field, (3, 7), axis=(2, 3)))[0].pixels
    np.testing.assert_allclose(rolled, np.roll(texture, (12, 28), axis=(0, 1)), atol=2e-5)
    assert seam_ratio(texture) < 1.5
    assert seam_ratio(fit_periodic(texture, (101, 59))) < 1.5
    ramp = np.repeat(np.linspace(0, 1, 64)[None, :, None], 64, axis=0).repeat(3, axis=2)
    assert seam_ratio(ramp) > 10  # what a seam measures like


def test_seeds_reproduce_and_interpolate_between_fields(spatial_onnx: Path) -> None:
    session = open_session(spatial_onnx)
    a, b = noise(session, 1, size=(64, 64)), noise(session, 2, size=(64, 64))
    np.testing.assert_array_equal(a, noise(session, 1, size=(64, 64)))
    assert np.array_equal(a[0, 3], np.broadcast_to(a[0, 3, 0, 0], a.shape[2:]))  # a global channel is constant
    steps = interpolate(a, b, 4)
    assert steps.shape == (4, *a.shape[1:])
    np.testing.assert_allclose(steps[0], a[0], atol=1e-6)
    np.testing.assert_allclose(steps[-1], b[0], atol=1e-6)


def test_texture_statistics_tell_copies_and_other_colours_apart() -> None:
    rng = np.random.default_rng(0)
    crop = rng.random((32, 32, 3)) * 0.5
    assert diversity([crop, crop, crop]) == 0.0
    assert diversity([crop, rng.random((32, 32, 3)) * 0.5]) > 0.1
    assert histogram_distance([crop], [crop]) == 0.0
    assert histogram_distance([crop], [crop + 0.5]) > 0.9
    photo = rng.random((96, 96, 3))
    report = texture_report([photo[:64, :64], photo[32:, 32:]], photo, others=[photo * 0.2])
    assert report["histogram"] < report["histogram_other"] and report["spectrum"] < report["spectrum_other"]


def test_an_exported_texture_generator_draws_at_the_contrast_it_learned() -> None:
    """Averaged (EMA) weights come with BatchNorm statistics averaged apart from them; fit_batchnorm (what every
    texture export does) estimates them again, so the exported network in eval mode draws what the same weights
    drew in training: the same spread of tones, not a washed-out copy."""
    torch.manual_seed(0)
    model = archs.build("sgan", **TINY)
    fields = model.noise(16, 4, 4, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        learned = float(model.train()(fields).std())
        for module in model.modules():  # statistics that do not fit the weights, as an EMA's can be
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_var.mul_(9.0)
        washed_out = float(model.eval()(fields).std())
        model.fit_batchnorm((16, 4))
        fitted = float(model(fields).std())
    assert not model.training
    assert washed_out < 0.8 * learned and abs(fitted - learned) < 0.1 * learned
    again = archs.build("sgan", **TINY)
    again.load_state_dict(model.state_dict())
    again.fit_batchnorm((16, 4))  # seeded: the same weights always export alike
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True))


def test_a_texture_run_that_collapsed_says_so(tmp_path: Path) -> None:
    """A generator whose every seed draws the same picture (mode collapse: "it did nothing") is judged so against
    its photo, one that varies in colours the photo does not have (a run that diverged) too, and one that varies
    like the photo in its colours is not. The photo is a texture the varied generator drew itself."""
    from photogan.app.runs import TextureVerdict
    from training.bundle import ready_to_export

    config = TrainConfig(task="generate", arch="sgan", arch_params=TINY, patch=32, batch=4)
    torch.manual_seed(0)
    varied = archs.build("sgan", **TINY)
    for p in varied.parameters():
        p.data.normal_(0, 0.3)
    to_rgb = [m for m in varied.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    assert to_rgb.bias is not None
    to_rgb.weight.data[:] = 4.0 * to_rgb.weight.data[:1]  # full contrast, in gray: R = G = B
    to_rgb.bias.data[:] = to_rgb.bias.data[:1]
    drawer = archs.build("sgan", **TINY)
    drawer.load_state_dict(varied.state_dict())
    drawer = ready_to_export(drawer, config)  # as judged: statistics fitted to the weights
    with torch.no_grad():
        texture = drawer(drawer.noise(1, 40, 40, generator=torch.Generator().manual_seed(9)))[0]
    photo = tmp_path / "own.png"
    Image.fromarray((texture.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(photo)
    data = TaskData(config, [photo])
    collapsed = archs.build("sgan", **TINY)
    collapsed.load_state_dict(varied.state_dict())
    last = [m for m in collapsed.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    last.weight.data.zero_()  # the output no longer depends on the noise
    diverged = archs.build("sgan", **TINY)
    diverged.load_state_dict(varied.state_dict())
    final = [m for m in diverged.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    assert final.bias is not None
    final.weight.data[1].neg_()  # G = 1 - R: as varied, in greens and magentas the gray photo does not have
    final.bias.data[1].neg_()
    judged, flat, purple = (judge(config, data, model) for model in (varied, collapsed, diverged))
    assert isinstance(judged, TextureVerdict) and isinstance(flat, TextureVerdict)
    assert isinstance(purple, TextureVerdict)
    assert judged.better and judged.photo_variety == flat.photo_variety > 0 and judged.colours < 0.3
    assert flat.variety == 0 and not flat.better and "collapsed" in flat.sentence()
    assert purple.ratio > 0.5 and purple.colours > 0.7 and not purple.better and "failed" in purple.sentence()


def _blobs(rng: np.random.Generator, count: int, size: int, width: float) -> np.ndarray:
    """``count`` gray crops of smoothed noise whose blobs are about ``width`` px (N×3×size×size)."""
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(size), np.fft.fftfreq(size), indexing="ij"))
    noise = np.fft.ifft2(np.fft.fft2(rng.standard_normal((count, size, size))) * np.exp(-((f * width) ** 2))).real
    gray = 0.5 + 0.15 * noise / noise.std()
    return np.repeat(gray[:, None], 3, axis=1).astype(np.float32)


def test_the_spectrum_term_is_the_benchmarks_statistic_and_pulls_a_texture_to_its_scale() -> None:
    """The texture trainer's spectrum term compares what benchmarks/textures.py compares, tells a texture's scale
    from another's, and its gradient moves generated crops towards the photo's scale."""
    torch = pytest.importorskip("torch")
    from training.losses import SpectrumLoss

    rng = np.random.default_rng(0)
    loss = SpectrumLoss(32)
    small, small_too, large = _blobs(rng, 8, 32, 3.0), _blobs(rng, 8, 32, 3.0), _blobs(rng, 8, 32, 10.0)
    ours = loss.log_spectrum(torch.from_numpy(small)).numpy()
    reference = log_spectrum(list(small.transpose(0, 2, 3, 1)))
    np.testing.assert_allclose(ours, reference[reference > -11], atol=1e-3)  # the bands that hold coefficients
    same = float(loss(torch.from_numpy(small_too), torch.from_numpy(small)))
    other = float(loss(torch.from_numpy(large), torch.from_numpy(small)))
    assert same < 0.1 < other
    image = torch.from_numpy(large.copy()).requires_grad_(True)
    optimizer = torch.optim.Adam([image], lr=0.01)
    for _ in range(60):
        optimizer.zero_grad()
        step = loss(image, torch.from_numpy(small))
        step.backward()
        optimizer.step()
    assert float(loss(image.detach(), torch.from_numpy(small))) < 0.5 * other


def test_train_from_one_photo_then_generate_any_size(tmp_path: Path, texture_photo: Path) -> None:
    """photogan train --task generate --data PHOTO: one photo is enough; --name exports a texture model that
    photogan generate draws at the asked size; the bundle measures it against its photo."""
    config = tmp_path / "t.toml"
    config.write_text(
        'task = "generate"\npatch = 32\nbatch = 4\niters = 3\nval_every = 3\naugment = "flip"\n'
        "arch_params = { local = 3, global_ = 2, levels = 2, base = 4, coarse = 2 }\n"
        "d_params = { base = 8, layers = 2 }\n"
        "spectrum = 1.0\nfield = 16\n"  # the spectrum term, and fields holding four crops each
    )
    run = tmp_path / "run"
    args = ["--config", str(config), "--data", str(texture_photo), "--run-dir", str(run), "--name", "my-bark"]
    assert train_main(args) == 0
    out = tmp_path / "out"
    assert photogan_main(["generate", "--model", "my-bark", "--size", "90x50", "-n", "2", "-o", str(out)]) == 0
    images = sorted(out.glob("*.png"))
    assert [Image.open(p).size for p in images] == [(90, 50), (90, 50)]
    with pytest.raises(SystemExit) as usage:
        photogan_main(["generate", "--model", "my-bark", "--size", "ninety", "-o", str(out)])
    assert usage.value.code == 2
    # a new texture can start from a texture model (its metadata rebuilds the network)
    tuned = ["--base", "my-bark", "--data", str(texture_photo), "--run-dir", str(tmp_path / "tuned"), "--iters", "2"]
    assert train_main([*tuned, "--patch", "32", "--batch", "2", "--name", "my-bark-2"]) == 0
    exported = read_model_info(Path(os.environ["PHOTOGAN_MODELS_DIR"]) / "my-bark.onnx")
    assert {"samples", "variety", "photo_variety", "ratio"} <= set(exported.metrics["variety"])  # collapsed or not
    assert "## Variety" in (Path(os.environ["PHOTOGAN_MODELS_DIR"]) / "my-bark.md").read_text()
    target = bundle(run, "t-bark", [texture_photo], tmp_path / "bundled", "t", "", "test data", "test")
    metrics = read_model_info(target).metrics["texture"]
    assert {"seam", "diversity", "real_diversity", "histogram", "spectrum"} <= set(metrics)
    # a texture model exported again from its checkpoint keeps what its card says and is measured again
    again = read_model_info(bundle_again("my-bark", texture_photo, [], tmp_path / "again"))
    first = read_model_info(Path(os.environ["PHOTOGAN_MODELS_DIR"]) / "my-bark.onnx")
    assert (again.name, again.description, again.training_data) == (first.name, first.description, first.training_data)
    assert {"seam", "diversity", "histogram", "spectrum"} <= set(again.metrics["texture"])


def test_a_photo_smaller_than_the_crop_is_refused_clearly(tmp_path: Path) -> None:
    small = tmp_path / "tiny.png"
    Image.new("RGB", (20, 20)).save(small)
    code = train_main(["--task", "generate", "--data", str(small), "--run-dir", str(tmp_path / "r"), "--patch", "32"])
    assert code == 2


def test_generate_patch_must_hold_whole_cells() -> None:
    from training.trainer import Trainer

    config = TrainConfig(task="generate", arch="sgan", arch_params=TINY, patch=34, batch=2, iters=1)
    with pytest.raises(ValueError, match="multiple of 4"):
        Trainer(config, [], Path("unused"))
