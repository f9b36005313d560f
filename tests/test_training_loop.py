"""The training loop: resume continues bit for bit, fine-tuning improves, export registers, JSON progress."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from photogan.inference.model_info import ModelInfo  # noqa: E402
from photogan.inference.registry import read_model_info  # noqa: E402
from training import archs, checkpoint  # noqa: E402
from training.cli import main as train_main  # noqa: E402
from training.config import TASKS, TrainConfig  # noqa: E402
from training.dataset import BatchStream, TaskData  # noqa: E402
from training.export import check_parity, export_onnx  # noqa: E402
from training.losses import FidelityWeights  # noqa: E402
from training.trainer import Trainer, generator_params  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight small synthetic 'photos' with smooth shading, edges and texture (no data needed)."""
    folder = tmp_path_factory.mktemp("photos")
    (folder / "nested").mkdir()
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:96, 0:96] / 96.0
    for i in range(8):
        base = np.stack([np.sin((3 + i) * x + i) * 0.3 + 0.5, y * 0.6 + 0.2, (x * y + 0.1 * i) % 1.0], axis=2)
        base[(x * 7 + y * 3 + i) % 1.0 < 0.15] *= 0.4  # stripes: edges to learn
        base += rng.normal(0, 0.02, base.shape)
        image = Image.fromarray(np.clip(base * 255, 0, 255).astype(np.uint8))
        image.save(folder / ("nested" if i % 2 else ".") / f"p{i}.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    return folder


TINY = {
    "restore": {"arch_params": {"channels": 8, "blocks": 1}},
    "upscale": {"arch_params": {"channels": 8, "blocks": 1}, "scale": 2},
    "colorize": {"arch_params": {"channels": 8, "blocks": 1}},
    "generate": {"arch": "dcgan", "arch_params": {"base": 8, "latent": 16}, "patch": 32, "d_params": {"base": 8}},
}


def tiny(task: str, **changes: object) -> TrainConfig:
    values: dict[str, object] = {
        "task": task,
        "patch": 32,
        "batch": 2,
        "iters": 8,
        "val_every": 4,
        "log_every": 2,
        "val_fraction": 0.25,
        **TINY[task],
        **changes,
    }
    return TrainConfig.from_dict(values)


@pytest.mark.parametrize(
    ("arch", "params", "sizes"),
    [
        ("compact", {"scale": 3, "channels": 8, "blocks": 2}, ((17, 23), (9, 31))),
        ("restorer", {"channels": 8, "blocks": 2}, ((18, 26), (10, 34))),  # size multiple 2: odd multiples
        ("restorer", {"channels": 16, "blocks": 2, "levels": 2}, ((20, 28), (12, 36))),  # size multiple 4
        (
            "restorer",
            {"channels": 16, "blocks": 2, "levels": 2, "activation": "leaky", "full_res": False},
            ((20, 28), (12, 36)),
        ),
        ("colorizer", {"channels": 8, "blocks": 2}, ((18, 26), (10, 34))),
        ("hint-colorizer", {"channels": 8, "blocks": 2}, ((48, 32), (16, 80))),  # size multiple 16, two inputs
        ("hint-colorizer-l1", {"channels": 8, "blocks": 2, "gain": 2.0}, ((48, 32), (16, 80))),
    ],
)
def test_every_image_arch_exports_and_matches_onnxruntime(tmp_path: Path, arch: str, params: dict, sizes) -> None:  # type: ignore[no-untyped-def,type-arg]
    model = archs.build(arch, **params).eval()
    for p in model.parameters():
        p.data.normal_(0, 0.05)
    task = "colorize" if "colorizer" in arch else {"compact": "upscale", "restorer": "restore"}[arch]
    info = ModelInfo(
        id=f"t-{arch}",
        name=arch,
        task=task,
        scale=params.get("scale", 1),
        arch=arch,  # type: ignore[arg-type]
        arch_params=model.hparams,
        size_multiple=int(getattr(model, "size_multiple", 1)),
    )
    path = export_onnx(model, info, tmp_path / f"{arch}.onnx")
    assert check_parity(model, path, sizes) < 1e-4
    assert read_model_info(path).arch == arch


@pytest.mark.parametrize("params", [{}, {"upsample": "resize", "tileable": True}], ids=["transposed", "tileable"])
def test_dcgan_generator_exports_with_a_noise_input(tmp_path: Path, params: dict[str, object]) -> None:
    model = archs.build("dcgan", latent=16, image_size=32, base=8, **params).eval()
    info = ModelInfo(
        id="t-dcgan", name="dcgan", task="generate", arch="dcgan", arch_params=model.hparams, tiling="whole"
    )
    path = export_onnx(model, info, tmp_path / "dcgan.onnx")
    assert check_parity(model, path, ((0, 0),), latent=16) < 1e-4


@pytest.mark.parametrize("tileable", [True, False])
def test_a_tileable_generator_draws_tiles_that_repeat_without_a_seam(tileable: bool) -> None:
    """Run on a torus twice as large (its first 4×4 map repeated 2×2), a tileable generator draws exactly its
    tile repeated 2×2: the seam between two copies is drawn like any other place in the image."""
    model = archs.build("dcgan", latent=16, image_size=32, base=8, upsample="resize", tileable=tileable).eval()
    with torch.no_grad():
        z = torch.randn(1, 16)
        tile = model(z)
        start = model.net[:3](z[:, :, None, None])
        mosaic = (model.net[3:](start.repeat(1, 1, 2, 2)) + 1.0) * 0.5
    assert torch.allclose(mosaic, tile.repeat(1, 1, 2, 2), atol=1e-5) == tileable


def test_a_tileable_generator_needs_resize_upsampling() -> None:
    with pytest.raises(ValueError, match="tileable"):
        archs.build("dcgan", latent=16, image_size=32, base=8, tileable=True)


def _weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {
        **checkpoint.module_tensors("g", trainer.g),
        **checkpoint.module_tensors("ema", trainer.ema.model),
        **(checkpoint.module_tensors("d", trainer.d) if trainer.d is not None else {}),
    }


@pytest.mark.parametrize("task", ["upscale", "generate"])
def test_resume_continues_bit_for_bit(tmp_path: Path, photos: Path, task: str) -> None:
    """Six steps in one go equal three steps, a checkpoint, a fresh process state, and three more."""
    config = tiny(
        task,
        gan_start=2,
        iters=6,
        d_params={"base": 8, "minibatch_std": True, "dropout": 0.1}
        if task == "upscale"
        else {"base": 8, "dropout": 0.1},
    )
    straight = Trainer(config, [photos], tmp_path / "a")
    for _ in range(6):
        straight.step()

    first = Trainer(config, [photos], tmp_path / "b")
    for _ in range(3):
        first.step()
    first.save()
    torch.manual_seed(999)  # whatever happens in between must not matter
    np.random.default_rng(5).random()
    resumed = Trainer(config, [photos], tmp_path / "b")
    assert resumed.iteration == 3
    for _ in range(3):
        losses = resumed.step()
    assert "d" in losses
    expected, got = _weights(straight), _weights(resumed)
    assert expected.keys() == got.keys()
    for key in expected:
        assert torch.equal(expected[key], got[key]), key


def test_data_workers_draw_the_same_batches_with_any_count_and_resume_bit_for_bit(tmp_path: Path, photos: Path) -> None:
    """With data_workers, batch i depends on i alone: two workers from the start and one worker from iteration 3
    draw the same batches, and six steps equal three, a checkpoint, and three more with another worker count."""
    config = tiny("restore", iters=6, data_workers=2)
    data = TaskData(config, [photos])
    two = BatchStream(data, 2, 0, workers=2)
    one = BatchStream(data, 2, 3, workers=1)
    try:
        early = [next(two) for _ in range(5)]
        late = [next(one) for _ in range(2)]
    finally:
        two.close()
        one.close()
    assert not torch.equal(early[0][1], early[1][1])  # a new crop every iteration
    for (inputs, targets), (inputs2, targets2) in zip(early[3:], late, strict=True):
        assert torch.equal(targets, targets2) and inputs is not None and torch.equal(inputs, inputs2)

    straight = Trainer(config, [photos], tmp_path / "a")
    for _ in range(6):
        straight.step()
    straight.close()
    first = Trainer(config, [photos], tmp_path / "b")
    for _ in range(3):
        first.step()
    first.save()
    first.close()
    resumed = Trainer(replace(config, data_workers=1), [photos], tmp_path / "b")
    for _ in range(3):
        resumed.step()
    resumed.close()
    expected, got = _weights(straight), _weights(resumed)
    for key in expected:
        assert torch.equal(expected[key], got[key]), key


def test_python_m_training_runs_with_data_workers(tmp_path: Path, photos: Path) -> None:
    """The command a user runs, with batches drawn in spawned worker processes, trains, finishes and saves."""
    recipe = tmp_path / "workers.toml"
    recipe.write_text(
        'task = "restore"\narch_params = { channels = 8, blocks = 1 }\npatch = 32\nbatch = 2\niters = 4\n'
        "val_every = 4\nval_fraction = 0.25\ndata_workers = 2\n"
    )
    run = tmp_path / "run"
    command = [sys.executable, "-m", "training", "--config", str(recipe), "--data", str(photos), "--run-dir", str(run)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "finished at iteration 4 of 4" in result.stderr and (run / "last.safetensors").is_file()


def test_feature_matching_trains_against_a_unet_discriminator(tmp_path: Path, photos: Path) -> None:
    config = tiny(
        "upscale",
        gan_start=0,
        iters=2,
        discriminator="unet-d",
        d_params={"base": 4},
        feature_matching=0.1,
        degradation={"clean_fraction": 0.0},
    )
    trainer = Trainer(config, [photos], tmp_path / "fm")
    before = {k: v.clone() for k, v in trainer.g.state_dict().items()}
    losses = trainer.step()
    assert losses["feature_matching"] > 0 and "g_adv" in losses and "d" in losses
    assert any(not torch.equal(before[k], v) for k, v in trainer.g.state_dict().items())
    patch = tiny("upscale", gan_start=0, iters=2, d_params={"base": 4}, feature_matching=0.1)
    with pytest.raises(ValueError, match="unet-d"):
        Trainer(patch, [photos], tmp_path / "patch").step()


def test_a_critic_warm_up_trains_the_critic_alone_before_the_generator_meets_it(tmp_path: Path, photos: Path) -> None:
    """``critic_warmup`` (NoGAN): the first GAN iterations move only the critic; then both train, adversarially."""
    config = tiny("colorize", gan_start=0, critic_warmup=2, iters=3, d_params={"base": 4})
    trainer = Trainer(config, [photos], tmp_path / "nogan")
    g0 = {k: v.clone() for k, v in trainer.g.state_dict().items()}
    assert trainer.d is not None
    d0 = {k: v.clone() for k, v in trainer.d.state_dict().items()}
    for _ in range(2):
        losses = trainer.step()
        assert set(losses) == {"d"}
    assert all(torch.equal(g0[k], v) for k, v in trainer.g.state_dict().items())
    assert any(not torch.equal(d0[k], v) for k, v in trainer.d.state_dict().items())
    losses = trainer.step()
    assert "g_adv" in losses and "d" in losses
    assert any(not torch.equal(g0[k], v) for k, v in trainer.g.state_dict().items())
    with pytest.raises(ValueError, match="critic_warmup"):
        tiny("generate", critic_warmup=2)


def test_a_saturation_head_starts_as_the_colorizer_and_trains_alone(tmp_path: Path, photos: Path) -> None:
    """A colorizer's saturation head (``saturation = true``, ``trainable = ["saturation."]``): at the start it is
    the network it sits on, exactly; then it alone learns, and it scales the colour without turning its hue."""
    params = {"channels": 8, "blocks": 1}
    torch.manual_seed(0)
    plain = archs.build("hint-colorizer-l1", **params).eval()
    for p in plain.parameters():
        p.data.normal_(0, 0.2)
    headed = archs.build("hint-colorizer-l1", **params, saturation=True).eval()
    headed.load_state_dict({**headed.state_dict(), **plain.state_dict()})
    x = torch.rand(1, 3, 32, 32)
    torch.testing.assert_close(headed(x), plain(x), rtol=0, atol=1e-6)

    weights = tmp_path / "base.safetensors"
    checkpoint.save(weights, {f"ema.{k}": v for k, v in plain.state_dict().items()}, {})
    config = tiny(
        "colorize",
        iters=2,
        arch="hint-colorizer-l1",
        arch_params={**params, "saturation": True},
        transplant=True,
        trainable=["saturation."],
    )
    trainer = Trainer(config, [photos], tmp_path / "sat", base_weights=weights)
    before = {k: v.clone() for k, v in trainer.g.state_dict().items()}
    trainer.step()
    changed = {k for k, v in trainer.g.state_dict().items() if not torch.equal(before[k], v)}
    assert changed and all(k.startswith("saturation.") for k in changed)
    trainer.g.eval()
    with torch.no_grad():
        head, base = trainer.g(x), plain(x)
    to_chroma = plain.to_ycc[1:]
    c_head = torch.einsum("cd,ndhw->nchw", to_chroma, head)
    c_base = torch.einsum("cd,ndhw->nchw", to_chroma, base)
    assert not torch.allclose(c_head, c_base)  # it learned something
    # the same hue: chroma vectors parallel on the quarter-resolution grid the head scales (between its points the
    # bilinear upsampling blends neighbours scaled apart, which turns a vector a little)
    cross = c_head[:, 0] * c_base[:, 1] - c_head[:, 1] * c_base[:, 0]
    angle = torch.rad2deg(torch.atan2(cross, (c_head * c_base).sum(dim=1))).abs()
    assert float(angle.median()) < 0.1 and float(angle.max()) < 90  # never towards the opposite colour
    with pytest.raises(ValueError, match="names none"):
        Trainer(replace(config, trainable=("nothing.",)), [photos], tmp_path / "none", base_weights=weights)


def test_time_budget_ends_with_a_checkpoint_and_resume_finishes(tmp_path: Path, photos: Path) -> None:
    run = tmp_path / "run"
    outcome = Trainer(tiny("restore", iters=10_000), [photos], run).run(minutes=0.02)
    assert outcome.status == "time_budget" and 0 < outcome.iteration < 10_000
    assert (run / "last.safetensors").exists() and (run / "config.json").exists()
    assert train_main(["--resume", str(run), "--iters", "1"]) == 2  # no data.json: the run was not made by the CLI
    again = Trainer(tiny("restore", iters=outcome.iteration + 3), [photos], run)
    assert again.iteration == outcome.iteration
    assert json.loads((run / "config.json").read_text())["iters"] == outcome.iteration + 3  # the run's new length
    assert again.run().status == "finished" and again.iteration == outcome.iteration + 3


def _tiny_config_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text('task = "upscale"\nscale = 2\narch_params = { channels = 8, blocks = 1 }\npatch = 32\nbatch = 2\n')
    return path


def test_a_time_budget_alone_sizes_the_schedule_and_always_exports(
    tmp_path: Path, photos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--minutes N` without `--iters` trains for N minutes and exports what it made (the README's example)."""
    run = tmp_path / "budget"
    argv = ["--config", str(_tiny_config_file(tmp_path)), "--data", str(photos), "--run", str(run)]
    code = train_main([*argv, "--minutes", "0.1", "--name", "budget", "--progress", "json"])
    assert code == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    kinds = [e["event"] for e in events]
    assert "schedule" in kinds and kinds[-1] == "exported"
    planned = json.loads((run / "config.json").read_text())["iters"]
    done = next(e for e in events if e["event"] == "done")
    assert planned < 20_000 and planned == [e for e in events if e["event"] == "schedule"][-1]["total"]
    assert done["iteration"] >= 0.5 * planned  # the schedule was sized to the budget, not to 20,000 iterations
    assert read_model_info(Path(os.environ["PHOTOGAN_MODELS_DIR"]) / "budget.onnx").scale == 2


def test_a_recipe_that_sets_iters_keeps_its_schedule_when_trained_in_chunks(tmp_path: Path, photos: Path) -> None:
    """The committed recipes (`--config X.toml --minutes 20`, then `--resume`) are trained in time-boxed chunks:
    the recipe's iteration count is the schedule, the minutes only end this chunk."""
    recipe = _tiny_config_file(tmp_path)
    recipe.write_text(recipe.read_text() + "iters = 5000\n")
    run = tmp_path / "chunked"
    assert train_main(["--config", str(recipe), "--data", str(photos), "--run", str(run), "--minutes", "0.05"]) == 0
    assert json.loads((run / "config.json").read_text())["iters"] == 5000


def test_a_schedule_sized_while_the_machine_was_busy_is_resized(
    tmp_path: Path, photos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The speed measured after the warm-up was 5× too slow (another program held the CPU): the schedule is
    checked again every tenth of the budget and resized, so the run still ends near its deadline. A clock that
    steps 0.5 s per iteration while busy and 0.1 s after makes it exact on any machine."""
    import types

    import training.trainer as trainer_module

    clock = types.SimpleNamespace(now=0.0)
    monkeypatch.setattr(trainer_module, "time", types.SimpleNamespace(monotonic=lambda: clock.now))
    trainer = Trainer(TrainConfig.from_file(_tiny_config_file(tmp_path)), [photos], tmp_path / "busy")
    real_step = trainer.step

    def step() -> dict[str, float]:
        losses = real_step()
        clock.now += 0.5 if trainer.iteration <= 40 else 0.1
        return losses

    trainer.step = step  # type: ignore[method-assign]
    outcome = trainer.run(minutes=0.5, fit_to_budget=True)
    events = [json.loads(line) for line in (tmp_path / "busy" / "log.jsonl").read_text().splitlines()]
    plans = [e["total"] for e in events if e["event"] == "schedule"]
    assert plans[0] < 70 and plans[-1] > 1.5 * plans[0]  # 30 s: 57 iterations planned while busy, then more
    assert outcome.status == "finished" and 0.85 * 30 < clock.now <= 30


def test_iters_and_minutes_together_end_at_whichever_comes_first_and_export(
    tmp_path: Path, photos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--config", str(_tiny_config_file(tmp_path)), "--data", str(photos), "--progress", "json"]
    models = Path(os.environ["PHOTOGAN_MODELS_DIR"])
    # the budget ends first: 1,000,000 iterations cannot fit in 2 seconds, and the model is exported all the same
    assert (
        train_main([*argv, "--run", str(tmp_path / "a"), "--iters", "1000000", "--minutes", "0.03", "--name", "a"]) == 0
    )
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    done = next(e for e in events if e["event"] == "done")
    assert done["status"] == "time_budget" and done["total"] == 1_000_000  # --iters is kept: no re-sizing
    assert (models / "a.onnx").exists()
    # the iterations end first
    assert train_main([*argv, "--run", str(tmp_path / "b"), "--iters", "3", "--minutes", "10", "--name", "b"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    done = next(e for e in events if e["event"] == "done")
    assert (done["status"], done["iteration"]) == ("finished", 3) and (models / "b.onnx").exists()


def test_a_killed_run_resumes_from_its_last_validation(
    tmp_path: Path, photos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that dies without a clean stop (power cut, closed session) keeps the work up to its last validation."""
    run = tmp_path / "run"
    trainer = Trainer(tiny("restore", iters=8, val_every=4), [photos], run)
    original_step = trainer.step

    def dies_at_iteration_6() -> dict[str, float]:
        if trainer.iteration == 6:
            raise KeyboardInterrupt  # what SIGKILL looks like to the files on disk: no chance to save
        return original_step()

    monkeypatch.setattr(trainer, "step", dies_at_iteration_6)
    with pytest.raises(KeyboardInterrupt):
        trainer.run()
    _, meta = checkpoint.load(run / "last.safetensors")
    assert meta["iteration"] == 4
    again = Trainer(tiny("restore", iters=8, val_every=4), [photos], run)
    assert again.iteration == 4
    assert again.run().status == "finished" and again.iteration == 8


@pytest.mark.slow
def test_short_cpu_fine_tune_improves_validation_psnr(tmp_path: Path, photos: Path) -> None:
    config = tiny("restore", iters=300, val_every=300, lr=1e-3, batch=8, arch_params={"channels": 16, "blocks": 2})
    trainer = Trainer(config, [photos], tmp_path / "run")
    start = trainer.validate()
    outcome = trainer.run()  # 300 iterations: about 10 s on a 2-core CPU (bounded by iterations, not the clock)
    assert outcome.metrics["psnr"] > start["psnr"] + 0.5, (start, outcome.metrics)
    assert outcome.metrics["psnr"] > outcome.metrics["input_psnr"]


def test_cli_exports_a_registered_model_and_reports_json(
    tmp_path: Path, photos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = train_main(
        [
            "--task",
            "upscale",
            "--scale",
            "2",
            "--data",
            str(photos),
            "--run",
            str(tmp_path / "r"),
            "--iters",
            "4",
            "--batch",
            "2",
            "--patch",
            "32",
            "--name",
            "my-x2",
            "--progress",
            "json",
        ]
    )
    assert code == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert {"progress", "validation", "done", "exported"} <= {e["event"] for e in events}
    models = Path(os.environ["PHOTOGAN_MODELS_DIR"])
    info = read_model_info(models / "my-x2.onnx")
    assert (info.task, info.scale) == ("upscale", 2) and (models / "my-x2.safetensors").exists()

    from photogan.cli.main import main as photogan_main

    src = tmp_path / "in.png"
    Image.new("RGB", (10, 8), (50, 100, 150)).save(src)
    assert photogan_main(["enhance", str(src), "--model", "my-x2", "-o", str(tmp_path / "out")]) == 0
    assert Image.open(tmp_path / "out" / "in.png").size == (20, 16)

    # resuming needs no --data: the run remembers its folders
    assert train_main(["--resume", str(tmp_path / "r")]) == 0

    # and it can be fine-tuned in turn
    assert (
        train_main(
            [
                "--data",
                str(photos),
                "--base",
                "my-x2",
                "--iters",
                "2",
                "--batch",
                "2",
                "--patch",
                "32",
                "--run",
                str(tmp_path / "ft"),
            ]
        )
        == 0
    )


def test_cli_rejects_too_few_photos(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    Image.new("RGB", (64, 64)).save(empty / "only.png")
    assert train_main(["--task", "restore", "--data", str(empty), "--run", str(tmp_path / "r")]) == 2
    assert "training needs at least 2" in capsys.readouterr().err


@pytest.mark.slow
def test_distributed_run_with_two_cpu_processes(tmp_path: Path, photos: Path) -> None:
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    assert torchrun
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [
            torchrun,
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "training",
            "--task",
            "restore",
            "--data",
            str(photos),
            "--run-dir",
            str(tmp_path / "ddp"),
            "--iters",
            "4",
            "--batch",
            "2",
            "--patch",
            "32",
            "--progress",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    done = [json.loads(line) for line in result.stdout.splitlines() if '"done"' in line]
    assert len(done) == 1 and done[0]["status"] == "finished"  # only rank 0 reports
    assert (tmp_path / "ddp" / "last.safetensors").exists()


def test_bundle_measures_and_exports_a_run(tmp_path: Path, photos: Path) -> None:
    from training.bundle import bundle

    run = tmp_path / "run"
    Trainer(tiny("upscale", iters=3), [photos], run).run()
    target = bundle(run, "bundled-x2", [photos / "nested"], tmp_path / "models", "x2", "test", "synthetic", "none")
    info = read_model_info(target)
    values = info.metrics["nested"]
    assert {"psnr", "ssim", "bicubic_psnr", "bicubic_ssim"} <= set(values)
    assert values["bicubic_psnr"] > 15 and info.scale == 2 and info.tile_pad == 1 + 2 + 6
    assert (
        checkpoint.load_weights(target.with_suffix(".safetensors")).keys()
        == archs.build("compact", scale=2, channels=8, blocks=1).state_dict().keys()
    )


def test_a_hint_colorizer_trains_on_true_colour_points_and_exports_with_a_hints_input(
    tmp_path: Path, photos: Path
) -> None:
    import onnxruntime as ort

    from photogan.core.hints import Hint
    from photogan.core.image import Photo
    from photogan.inference.enhancer import enhance
    from training.bundle import bundle

    run = tmp_path / "run"
    config = tiny("colorize", arch="hint-colorizer", arch_params={"channels": 8, "blocks": 2}, max_side=64)
    # (the bundled recipe's hint-colorizer-l1 is the same network with a direct chroma head: the export test)
    trainer = Trainer(config, [photos], run)
    assert max(max(p.shape[:2]) for p in trainer.data.train_photos) == 64  # reduced to the working size
    assert trainer.g.bin_weights.std() > 0  # rebalanced from the photos' own colours
    outcome = trainer.run()
    assert "bins" in json.loads((run / "log.jsonl").read_text().splitlines()[0])["losses"]
    assert outcome.status == "finished"
    target = bundle(
        run, "hinted", [photos / "nested"], tmp_path / "models", "h", "test", "synthetic", "none", {"gain": 1.5}
    )
    info = read_model_info(target)
    assert info.work_side == 64 and info.size_multiple == 16 and info.arch_params["gain"] == 1.5
    with pytest.raises(ValueError, match="no decoding setting 'vibrance'"):
        bundle(run, "x", [photos / "nested"], tmp_path / "models", "h", "test", "synthetic", "none", {"vibrance": 2})
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["input", "hints"]
    from conftest import open_session

    model = open_session(target)
    gray = Photo(np.random.default_rng(0).random((40, 56, 1), dtype=np.float32))
    out = enhance(gray, model, hints=[Hint(20, 20, (200, 30, 30))])
    assert out.pixels.shape == (40, 56, 3)
    luma = out.pixels @ np.array([0.299, 0.587, 0.114], np.float32)
    assert np.abs(luma - gray.pixels[..., 0]).max() < 2e-3  # luminance kept (up to the clip to [0, 1])


def test_shipped_configs_parse_and_unknown_keys_fail(tmp_path: Path) -> None:
    configs = sorted((REPO / "training" / "configs").rglob("*.toml"))
    assert configs
    for path in configs:
        config = TrainConfig.from_file(path)
        assert config.task in TASKS and archs.build(config.arch, **generator_params(config)) is not None
    bad = tmp_path / "bad.toml"
    bad.write_text('task = "upscale"\nlearning_rate = 1\n')
    with pytest.raises(ValueError, match="unknown configuration keys: learning_rate"):
        TrainConfig.from_file(bad)


def test_dry_run_saves_nothing_and_yaml_configs_work(tmp_path: Path, photos: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("task: colorize\npatch: 32\nbatch: 2\narch_params: {channels: 8, blocks: 1}\n")
    run = tmp_path / "dry"
    assert train_main(["--config", str(config), "--data", str(photos), "--run-dir", str(run), "--dry-run"]) == 0
    assert not (run / "last.safetensors").exists() and (run / "samples.png").exists()
    assert json.loads((run / "config.json").read_text())["task"] == "colorize"


def test_fp16_copy_is_written_beside_the_model(tmp_path: Path) -> None:
    model = archs.build("compact", scale=2, channels=8, blocks=1).eval()
    info = ModelInfo(id="half", name="half", task="upscale", scale=2, arch="compact", arch_params=model.hparams)
    export_onnx(model, info, tmp_path / "half.onnx", fp16=True)
    copy = read_model_info(tmp_path / "half-fp16.onnx")
    assert copy.id == "half-fp16" and copy.scale == 2


def test_stop_request_ends_with_a_checkpoint(tmp_path: Path, photos: Path) -> None:
    import threading

    trainer = Trainer(tiny("restore", iters=100_000), [photos], tmp_path / "run")
    timer = threading.Timer(1.0, trainer.request_stop)
    timer.start()
    outcome = trainer.run()
    timer.join()
    assert outcome.status == "stopped" and 0 < outcome.iteration < 100_000
    assert Trainer(tiny("restore", iters=100_000), [photos], tmp_path / "run").iteration == outcome.iteration


def test_photogan_train_runs_the_training_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "photogan", "train", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0 and "--resume RUN_DIR" in result.stdout


def test_changing_the_task_resets_what_was_derived_from_it() -> None:
    generate = TrainConfig().with_overrides(task="generate")
    assert (generate.arch, generate.discriminator, generate.gan_start, generate.scale) == ("sgan", "patch-d", 0, 1)
    assert TrainConfig(task="generate", arch="dcgan").discriminator == "dcgan-d"
    upscale = generate.with_overrides(task="upscale")
    assert (upscale.arch, upscale.discriminator, upscale.gan_start, upscale.scale) == ("compact", "patch-d", None, 4)
    assert TrainConfig().with_overrides(task="restore", arch="compact").arch == "compact"


def test_a_trained_texture_model_generates_through_photogan(tmp_path: Path, photos: Path) -> None:
    from photogan.cli.main import main as photogan_main

    config = tmp_path / "g.toml"
    config.write_text(
        'task = "generate"\narch = "dcgan"\npatch = 32\nbatch = 4\niters = 3\narch_params = { base = 8, latent = 16 }\n'
        "d_params = { base = 8, spectral_norm = true, minibatch_std = true }\n"
    )
    args = ["--config", str(config), "--data", str(photos), "--run-dir", str(tmp_path / "r"), "--name", "my-texture"]
    assert train_main([*args, "--augment", "rotate"]) == 0  # a texture with no up (the GUI's "Has no up")
    assert (tmp_path / "r" / "samples.png").exists()
    assert json.loads((tmp_path / "r" / "config.json").read_text())["augment"] == "rotate"
    out = tmp_path / "out"
    assert photogan_main(["generate", "--model", "my-texture", "-n", "2", "-o", str(out)]) == 0
    images = sorted(out.glob("*.png"))
    assert len(images) == 2 and Image.open(images[0]).size == (32, 32)
    # a generate run is bundled with its sample diversity beside that of real crops
    from training.bundle import bundle

    target = bundle(tmp_path / "r", "t-tex", [photos], tmp_path / "bundled", "t", "", "test data", "test")
    metrics = read_model_info(target).metrics[photos.name]
    assert metrics["diversity"] > 0 and metrics["real_diversity"] > 0


def test_photogan_train_passes_sigterm_on_and_waits_for_the_checkpoint(tmp_path: Path, photos: Path) -> None:
    """`photogan train` runs the training module as a child: a SIGTERM to photogan reaches the run, which ends its
    iteration and saves a checkpoint before photogan exits (it used to be killed 0.25 s after the signal)."""
    import signal

    config = tmp_path / "c.toml"
    config.write_text(
        'task = "restore"\npatch = 32\nbatch = 2\niters = 100000\nlog_every = 1\n'
        "arch_params = { channels = 8, blocks = 1 }\n"
    )
    run = tmp_path / "run"
    args = [sys.executable, "-m", "photogan", "train", "--config", str(config), "--data", str(photos)]
    child = subprocess.Popen([*args, "--run-dir", str(run), "--progress", "json"], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    for line in child.stdout:
        if '"progress"' in line:
            break
    child.send_signal(signal.SIGTERM)
    child.communicate(timeout=120)
    assert child.returncode == 130
    events = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert events[-1]["event"] == "done" and events[-1]["status"] == "stopped"
    assert (run / "last.safetensors").exists()


def test_a_damaged_base_checkpoint_is_one_line_not_a_traceback(
    tmp_path: Path, photos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--config", str(_tiny_config_file(tmp_path)), "--data", str(photos)]
    assert train_main([*argv, "--run", str(tmp_path / "a"), "--iters", "2", "--name", "tiny-base"]) == 0
    weights = Path(os.environ["PHOTOGAN_MODELS_DIR"]) / "tiny-base.safetensors"
    weights.write_bytes(weights.read_bytes()[:200])  # cut short
    capsys.readouterr()
    code = train_main(["--base", "tiny-base", "--data", str(photos), "--run", str(tmp_path / "b"), "--iters", "2"])
    err = capsys.readouterr().err
    assert code == 2 and "is damaged" in err and "Traceback" not in err


def _tiny_base(tmp_path: Path, photos: Path, name: str, extra: str = "") -> None:
    """A tiny ×2 'bundled' model with a recipe of its own: SSIM in its loss, the real-photo degradation."""
    config = tmp_path / f"{name}.toml"
    config.write_text(
        _tiny_config_file(tmp_path).read_text()
        + "lr = 4e-4\nfidelity = { l1 = 1.0, ssim = 0.3 }\ndegradation = { clean_fraction = 0.5, p_second = 0.0 }\n"
        + extra
    )
    argv = ["--config", str(config), "--data", str(photos), "--run", str(tmp_path / name), "--iters", "2"]
    assert train_main([*argv, "--name", name]) == 0


def test_a_fine_tune_keeps_its_base_recipe_and_holds_photos_out(tmp_path: Path, photos: Path) -> None:
    """Fine-tuning the real-photo upscaler on bicubic inputs would teach it to stop cleaning: a fine-tune trains
    with its base's own degradations and losses, at a smaller step, and holds out a tenth of the photos."""
    from training.cli import FINETUNE, FINETUNE_LR, FINETUNE_UPSCALE_LR, base_recipe

    _tiny_base(tmp_path, photos, "tiny-real")
    config, weights = base_recipe("tiny-real")
    assert weights.name == "tiny-real.safetensors"
    assert config.base == "tiny-real" and (config.task, config.scale, config.arch) == ("upscale", 2, "compact")
    assert dict(config.degradation) == {"clean_fraction": 0.5, "p_second": 0.0}
    # a pixel-loss upscaler's fine-tune trains what its verdict measures, the squared error (the base: L1 + SSIM)
    assert config.fidelity == FidelityWeights(l2=1.0, charbonnier=0.0) and config.batch == 8
    _tiny_base(tmp_path, photos, "tiny-gan", extra="gan_start = 1\nd_params = { base = 4 }\n")
    gan, _ = base_recipe("tiny-gan")  # a GAN upscaler's pixel term is balanced against its adversarial one: kept
    assert (gan.fidelity.l1, gan.fidelity.ssim, gan.fidelity.l2, gan.gan_start, gan.batch) == (1.0, 0.3, 0.0, 0, 2)
    assert gan.lr == pytest.approx(4e-4 * FINETUNE_LR)
    assert config.lr == pytest.approx(FINETUNE_UPSCALE_LR) and config.warmup == FINETUNE["warmup"] > 0
    assert config.val_fraction == FINETUNE["val_fraction"]
    trainer = Trainer(config.with_overrides(iters=1), [photos], tmp_path / "ft", base_weights=weights)
    assert trainer.learning_rates(0)[0] < trainer.learning_rates(config.warmup)[0]  # warm-up: small first steps


def test_a_loss_table_trains_the_terms_it_names_and_no_other(tmp_path: Path, photos: Path) -> None:
    """``fidelity = { l2 = 1.0 }`` is the squared error alone, also as a fine-tune candidate's change to its base
    (``--base B --config CHANGES.toml``, how benchmarks/finetune.py tries them): the fine-tune candidates that
    asked for it once trained it on top of the Charbonnier term the loss uses when no table is given."""
    from training.cli import _config, build_parser

    _tiny_base(tmp_path, photos, "tiny-real")
    changes = tmp_path / "l2.toml"
    changes.write_text("fidelity = { l2 = 1.0 }\n")
    args = build_parser().parse_args(["--base", "tiny-real", "--data", str(photos), "--config", str(changes)])
    config, _ = _config(args)
    assert config.fidelity == FidelityWeights(l1=0.0, l2=1.0, charbonnier=0.0, ssim=0.0, frequency=0.0)
    assert TrainConfig().fidelity == FidelityWeights()  # no table: the loss's own defaults


@pytest.mark.parametrize(("lr", "better"), [(0.0, False), (3e-3, True)])
def test_a_fine_tune_is_judged_against_its_base_on_held_out_photos(
    tmp_path: Path,
    photos: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    lr: float,
    better: bool,
) -> None:
    """The gain reported (JSON event, card, last line) is the fine-tune's over its base on the same held-out
    inputs; a fine-tune that changed nothing (learning rate 0) is no better and is reported so."""
    from photogan.app.finetune import TrainHistory, parse_event
    from photogan.app.runs import Verdict
    from training.dataset import TaskData
    from training.verdict import holdout_pairs, mean_score

    _tiny_base(tmp_path, photos, "tiny-base")
    capsys.readouterr()
    caplog.set_level(logging.INFO, logger="training")
    run = tmp_path / "ft"
    changes = tmp_path / "no-warmup.toml"  # a recipe's changes to the base's (benchmarks/finetune.py's way)
    changes.write_text("warmup = 0\n")
    argv = ["--base", "tiny-base", "--data", str(photos), "--run", str(run), "--iters", "60", "--lr", str(lr)]
    argv += ["--config", str(changes)]
    assert train_main([*argv, "--name", "tiny-mine", "--progress", "json"]) == 0
    last_line = [r for r in caplog.records if r.name == "training"][-1].getMessage()
    out = capsys.readouterr().out
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    exported = next(e for e in events if e["event"] == "exported")
    verdict = Verdict.from_dict(exported["verdict"])
    assert verdict.base == "tiny-base" and verdict.photos == 1 and verdict.better is better

    # the same numbers from the two models' own weights on the run's held-out photos
    config = TrainConfig.from_dict(json.loads((run / "config.json").read_text()))
    pairs = holdout_pairs(config, TaskData(config, [photos]).val_photos, 1)
    models = Path(os.environ["PHOTOGAN_MODELS_DIR"])
    scores = []
    for name in ("tiny-base", "tiny-mine"):
        model = archs.build("compact", **generator_params(config))
        model.load_state_dict(checkpoint.load_weights(models / f"{name}.safetensors"))
        scores.append(mean_score(model, pairs, config))
    assert (verdict.base_score, verdict.score) == pytest.approx(scores, abs=1e-6)
    if not better:
        assert verdict.gain == pytest.approx(0.0, abs=1e-6)

    card = (models / "tiny-mine.md").read_text()
    assert "Against tiny-base" in card and f"{verdict.base_score:.2f}" in card
    assert ("does not select it" in card) is not better
    assert last_line == f"tiny-mine: {verdict.sentence()}"  # the command's last line
    history = TrainHistory()
    for line in out.splitlines():
        if (event := parse_event(line)) is not None:
            history.add(event)
    assert history.select_export is better
    assert ("not selected" in history.outcome()) is not better and "tiny-base" in history.outcome()


def test_neighbour_sub_images_are_horizontal_or_vertical_neighbours() -> None:
    from training.losses import neighbour_pair, pick_pair

    image = torch.arange(2 * 3 * 8 * 10, dtype=torch.float32).view(2, 3, 8, 10)
    first, second, pick = neighbour_pair(image, torch.Generator().manual_seed(0))
    assert first.shape == second.shape == (2, 3, 4, 5)
    # positions of the picked values in the photo: the same 2×2 cell, one step apart, never diagonal
    flat = image.flatten(2)
    for sub in (first, second):
        assert torch.isin(sub, flat).all()
    y1, x1 = (first % 80) // 10, first % 10
    y2, x2 = (second % 80) // 10, second % 10
    assert ((y1 - y2).abs() + (x1 - x2).abs() == 1).all()
    assert (y1 // 2 == torch.arange(4)[:, None]).all() and (x2 // 2 == torch.arange(5)[None, :]).all()
    assert all(torch.equal(a, b) for a, b in zip(pick_pair(image, pick), (first, second), strict=True))


def test_a_restore_model_fine_tunes_from_noisy_photos_alone(
    tmp_path: Path, photos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Album scans have no clean originals: `--self-supervised` learns from the noisy photos themselves and is
    judged against its base by the neighbour PSNR on held-out scans."""
    config = tmp_path / "restore.toml"
    config.write_text('task = "restore"\narch_params = { channels = 8, blocks = 1 }\npatch = 32\nbatch = 2\n')
    base = ["--config", str(config), "--data", str(photos), "--run", str(tmp_path / "base"), "--iters", "2"]
    assert train_main([*base, "--name", "tiny-restore"]) == 0
    capsys.readouterr()
    argv = ["--base", "tiny-restore", "--self-supervised", "--data", str(photos), "--run", str(tmp_path / "ss")]
    assert train_main([*argv, "--iters", "6", "--name", "tiny-scans", "--progress", "json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    progress = next(e for e in events if e["event"] == "progress")
    assert {"n2n", "n2n_reg"} <= set(progress["losses"])
    verdict = next(e for e in events if e["event"] == "exported")["verdict"]
    assert verdict["metric"] == "neighbour PSNR" and verdict["base"] == "tiny-restore"
    saved = json.loads((tmp_path / "ss" / "config.json").read_text())
    assert saved["self_supervised"] is True and saved["base"] == "tiny-restore"
    with pytest.raises(ValueError, match="for restore models"):
        tiny("upscale", self_supervised=True)


def test_a_transplant_keeps_the_base_core_under_new_ends(tmp_path: Path, photos: Path) -> None:
    """restore made faster: a base of another shape is refused, unless `transplant` keeps every tensor whose name
    and shape fit (the quarter-resolution core), and only the rest starts fresh."""
    from training.cli import base_recipe

    base = tmp_path / "base.toml"
    base.write_text(
        'task = "restore"\narch_params = { channels = 16, blocks = 2, levels = 2 }\npatch = 32\nbatch = 2\n'
    )
    assert (
        train_main(
            [
                "--config",
                str(base),
                "--data",
                str(photos),
                "--run",
                str(tmp_path / "a"),
                "--iters",
                "2",
                "--name",
                "tiny-restore",
            ]
        )
        == 0
    )
    config, weights = base_recipe("tiny-restore")
    fast = config.with_overrides(arch_params={**config.arch_params, "activation": "leaky", "full_res": False}, iters=1)
    with pytest.raises(ValueError, match="does not fit"):
        Trainer(fast, [photos], tmp_path / "refused", base_weights=weights)
    trainer = Trainer(fast.with_overrides(transplant=True), [photos], tmp_path / "fast", base_weights=weights)
    start = checkpoint.load_weights(weights)
    kept = [n for n, t in trainer.g.state_dict().items() if n in start and torch.equal(t, start[n])]
    assert "backbone.blocks.0.body.0.weight" in kept and "backbone.up2.0.weight" in kept
    assert "backbone.down1.0.weight" not in kept and "backbone.head.0.weight" not in trainer.g.state_dict()
    with pytest.raises(ValueError, match="needs a base model"):
        Trainer(tiny("restore", transplant=True), [photos], tmp_path / "no-base")


def test_an_anchored_fine_tune_stays_near_its_base_weights(tmp_path: Path, photos: Path) -> None:
    """L2-SP (`anchor`): the squared distance from the base's weights is part of the loss, so the same steps
    leave the network nearer what it learned from many photos."""
    from training.cli import base_recipe

    _tiny_base(tmp_path, photos, "tiny-anchored")
    config, weights = base_recipe("tiny-anchored")
    start = checkpoint.load_weights(weights)
    distances = []
    for k, anchor in enumerate((0.0, 10.0)):
        changed = config.with_overrides(iters=12, warmup=0, lr=5e-3, anchor=anchor, val_every=100)
        trainer = Trainer(changed, [photos], tmp_path / f"run{k}", base_weights=weights)
        trainer.run()
        distances.append(sum(float(((p - start[n]) ** 2).sum()) for n, p in trainer.g.named_parameters()))
    assert 0 < distances[1] < 0.5 * distances[0], distances
    with pytest.raises(ValueError, match="needs a base model"):
        Trainer(tiny("restore", anchor=0.1), [photos], tmp_path / "no-base")
