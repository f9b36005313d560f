"""Qt-free services behind the desktop app: model chains, region previews, settings, fine-tuning protocol."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import identity_model, open_session, random_image, write_model
from onnx import helper

from photogan.app.batch import OutputOptions
from photogan.app.chain import Region, chain_scale, enhance_chain, preview_region
from photogan.app.finetune import TrainHistory, TrainRequest, parse_event
from photogan.app.models import JOBS, chain_choices
from photogan.app.outputs import PlanError
from photogan.app.settings import Settings, load_settings, save_settings
from photogan.core.errors import ModelError
from photogan.core.image import Photo
from photogan.core.tiling import TileOptions
from photogan.inference.model_info import ModelInfo
from photogan.inference.registry import ModelRegistry


def test_a_chain_runs_every_model_and_multiplies_the_scale(models_dir: Path) -> None:
    blur, x2 = open_session(models_dir / "blur.onnx"), open_session(models_dir / "nearest2.onnx")
    photo = Photo(random_image(20, 30))
    result = enhance_chain(photo, [blur, x2, x2])
    assert (result.height, result.width) == (80, 120)
    assert chain_scale([blur, x2, x2]) == 4
    # the same as running the models one after the other
    step = enhance_chain(enhance_chain(enhance_chain(photo, blur), x2), x2)
    np.testing.assert_array_equal(result.pixels, step.pixels)
    with pytest.raises(ModelError, match="at least one"):
        enhance_chain(photo, [])


def test_a_region_preview_matches_the_same_region_of_the_full_result(models_dir: Path) -> None:
    chain = [open_session(models_dir / "blur.onnx"), open_session(models_dir / "nearest2.onnx")]
    photo = Photo(random_image(60, 80, seed=3))
    full = enhance_chain(photo, chain, TileOptions(tile_size=0))
    inside, crop = preview_region(photo, Region(50, -10, 40, 30), chain, TileOptions(tile_size=0))
    assert inside == Region(50, 0, 30, 20)  # clamped to the photo
    expected = full.pixels[0:40, 100:160]
    np.testing.assert_allclose(crop.pixels, expected, atol=1e-6)
    with pytest.raises(ModelError, match="outside"):
        preview_region(photo, Region(200, 200, 10, 10), chain)


def test_output_options_drop_metadata_and_force_the_bit_depth() -> None:
    photo = Photo(random_image(4, 4), exif=b"Exif", xmp=b"<x/>", iptc=b"8BIM", icc_profile=b"icc", bit_depth=16)
    plain = OutputOptions(keep_metadata=False, bit_depth="8").apply(photo)
    assert (plain.exif, plain.xmp, plain.iptc, plain.bit_depth) == (None, None, None, 8)
    assert plain.icc_profile == b"icc"  # the pixels are in this space: always kept
    assert OutputOptions().apply(photo) is photo
    with pytest.raises(PlanError, match="separator"):
        OutputOptions(name_suffix="../x")
    with pytest.raises(PlanError, match="bit depth"):
        OutputOptions(bit_depth="12")


def test_settings_round_trip_keep_recent_files_and_survive_damage(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    assert load_settings(path) == Settings()
    settings = Settings(chain=("restore", "upscale-x4"), format="png", quality=88)
    for k in range(12):
        settings = settings.with_recent(tmp_path / f"p{k}.jpg")
    settings = settings.with_recent(tmp_path / "p5.jpg")
    save_settings(settings, path)
    loaded = load_settings(path)
    assert loaded == settings
    assert len(loaded.recent) == 10 and loaded.recent[0].endswith("p5.jpg")
    assert sum(r.endswith("p5.jpg") for r in loaded.recent) == 1
    path.write_text(json.dumps({"format": "gif"}))  # invalid value: defaults, the file kept aside
    assert load_settings(path) == Settings()
    assert (tmp_path / "settings.damaged.json").exists()


def test_chain_choices_offer_models_and_only_complete_chains(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from photogan.inference import registry as registry_module

    monkeypatch.setattr(registry_module, "BUNDLED", ("upscale-x4.onnx",))  # only the ×4 upscaler is bundled here
    user = tmp_path / "user"
    user.mkdir()
    identity_model(user / "restore.onnx", "restore")
    registry = ModelRegistry(user_dir=user)
    chains = [c.chain for c in chain_choices(registry.models())]
    assert ("upscale-x4",) in chains and ("restore",) in chains
    assert ("restore", "upscale-x4") in chains
    assert ("restore", "colorize", "upscale-x4") not in chains  # no colorize model: not offered
    info = ModelInfo(id="colorize", name="c", task="colorize", scale=1, arch="identity", tile_pad=0)
    write_model(user / "colorize.onnx", info, [helper.make_node("Identity", ["input"], ["output"])])
    choices = chain_choices(registry.models())
    assert ("restore", "colorize", "upscale-x4") in [c.chain for c in choices]
    jobs = [c.job for c in choices]
    assert jobs == sorted(jobs, key=JOBS.index)  # grouped by job, in the picker's order
    plain = next(c for c in choices if c.chain == ("upscale-x4",))
    assert (plain.job, plain.label) == ("Camera, phone or web photo", "Enlarge ×4") and "noise" in plain.sentence
    assert next(c for c in choices if c.chain == ("colorize",)).job == "Your models"  # the user's own, by its id


def test_train_request_command_lines() -> None:
    new = TrainRequest(Path("/runs/r"), data=(Path("/photos"),), base="upscale-x4", minutes=5, name="mine")
    assert new.argv() == [
        sys.executable, "-m", "training", "--progress", "json", "--run-dir", "/runs/r", "--data", "/photos",
        "--base", "upscale-x4", "--minutes", "5", "--name", "mine",
    ]  # fmt: skip
    scans = TrainRequest(Path("/runs/s"), data=(Path("/scans"),), base="restore", self_supervised=True).argv()
    assert scans[-3:] == ["--base", "restore", "--self-supervised"]
    paving = TrainRequest(Path("/runs/t"), data=(Path("/paving.jpg"),), task="generate", augment="rotate").argv()
    assert paving[-4:] == ["--task", "generate", "--augment", "rotate"]
    resumed = TrainRequest(Path("/runs/r"), minutes=2.5, resume=True).argv()
    assert resumed[5:] == ["--resume", "/runs/r", "--minutes", "2.5"]
    with pytest.raises(ValueError, match="folder"):
        TrainRequest(Path("/runs/r"), base="upscale-x4").argv()


def test_a_fine_tune_that_lost_to_its_base_is_reported_so_and_not_selected() -> None:
    from photogan.app.runs import Verdict

    def history(score: float) -> TrainHistory:
        verdict = {"base": "upscale-x4", "photos": 5, "metric": "PSNR-Y", "base_score": 24.26, "score": score}
        h = TrainHistory()
        for line in (
            json.dumps({"event": "verdict", "iteration": 40, "total": 40, **verdict}),
            json.dumps({"event": "exported", "model": "mine", "path": "/m/mine.onnx", "verdict": verdict}),
        ):
            event = parse_event(line)
            assert event is not None
            h.add(event)
        return h

    won, lost, same = history(24.68), history(24.20), history(24.27)
    start = parse_event(json.dumps({"event": "validation", "iteration": 0, "total": 40, "metrics": {"psnr": 24.1}}))
    assert start is not None
    won.add(start)
    assert won.base_psnr == 24.1  # the curve's reference line: the base model before the first step
    assert won.select_export and won.verdict == Verdict("upscale-x4", 5, "PSNR-Y", 24.26, 24.68)
    assert won.outcome() == (
        "Finished: mine is ready and selected: +0.42 dB over upscale-x4 on 5 of your photos it did not train on."
    )
    assert not lost.select_export and not same.select_export
    assert "0.06 dB worse than upscale-x4" in lost.outcome() and "not selected" in lost.outcome()
    assert "no better than upscale-x4" in same.outcome() and "keep using upscale-x4" in same.outcome()
    damaged = TrainHistory()
    event = parse_event(json.dumps({"event": "exported", "model": "mine", "verdict": {"base": "x"}}))
    assert event is not None
    damaged.add(event)
    assert damaged.exported == "mine" and damaged.verdict is None  # shown without the comparison


def test_a_texture_run_that_collapsed_is_reported_so_and_not_selected() -> None:
    from photogan.app.runs import TextureVerdict

    def history(variety: float, colours: float | None = None) -> TrainHistory:
        verdict = {"samples": 8, "variety": variety, "photo_variety": 0.4, "seed": 0}
        if colours is not None:  # events written before the colours were measured have none
            verdict["colours"] = colours
        h = TrainHistory()
        for line in (
            json.dumps({"event": "validation", "iteration": 500, "total": 900, "metrics": {"diversity": variety}}),
            json.dumps({"event": "verdict", "iteration": 900, "total": 900, **verdict}),
            json.dumps({"event": "exported", "model": "texture-wall", "path": "/m/t.onnx", "verdict": verdict}),
        ):
            event = parse_event(line)
            assert event is not None
            h.add(event)
        return h

    varied, collapsed = history(0.38), history(0.02)
    assert varied.verdict == TextureVerdict(8, 0.38, 0.4, 0) and varied.select_export
    assert varied.outcome() == (
        "Finished: texture-wall is ready and selected: its textures vary like your photo (0.95 of the photo's variety)."
    )
    assert collapsed.diversity == [(500, 0.02)] and not collapsed.psnr  # the panel plots it instead of PSNR
    assert not collapsed.select_export
    assert "nearly all alike (0.05 of your photo's variety)" in collapsed.outcome()
    assert "not selected" in collapsed.outcome() and "again" in collapsed.outcome()
    diverged = history(0.38, colours=0.92)  # varied, in colours the photo does not have
    assert not diverged.select_export
    assert "colours are not your photo's" in diverged.outcome() and "again" in diverged.outcome()
    assert history(0.38, colours=0.3).select_export


def test_training_history_from_json_lines(tmp_path: Path) -> None:
    lines = [
        "12:00:00 epoch 1 (iteration 10): G 0.1  D -",  # a log line, not an event
        json.dumps({"event": "progress", "iteration": 10, "total": 40, "losses": {"g": 0.5, "d": 0.7}, "it_per_s": 2}),
        json.dumps({"event": "validation", "iteration": 20, "total": 40, "metrics": {"psnr": 30.0, "input_psnr": 28.0},
                    "sample": str(tmp_path / "samples.png")}),
        json.dumps({"event": "validation", "iteration": 40, "total": 40,
                    "metrics": {"psnr": 31.5, "input_psnr": 28.0}}),
        json.dumps({"event": "done", "iteration": 40, "total": 40, "status": "finished"}),
        json.dumps({"event": "exported", "model": "mine", "path": "/m/mine.onnx"}),
        "{not json",
    ]  # fmt: skip
    history = TrainHistory()
    for line in lines:
        if (event := parse_event(line)) is not None:
            history.add(event)
    assert history.g_loss == [(10, 0.5)] and history.d_loss == [(10, 0.7)]
    assert history.psnr == [(20, 30.0), (40, 31.5)]
    assert history.status == "finished" and history.exported == "mine"
    assert (history.iteration, history.total) == (40, 40)  # "exported" carries no iteration
    assert history.improvement() == "best validation PSNR 31.50 dB, +3.50 dB over the unprocessed input"
    assert history.verdict is None and history.select_export  # not a fine-tune: selected as before
    assert history.base_psnr is None  # no validation before the first step
    (tmp_path / "log.jsonl").write_text("\n".join(lines))
    replay = TrainHistory()
    replay.load_log(tmp_path)
    assert replay.psnr == history.psnr


def test_a_model_that_breaks_the_contract_is_refused_at_import_with_one_reason(tmp_path: Path) -> None:
    """A scale that does not match the metadata, wrong input names or a wild value range used to be imported and
    then fail on every photo ("internal error" and a traceback each time)."""
    from conftest import write_model
    from onnx import TensorProto, helper

    from photogan.app.models import ModelService
    from photogan.core.errors import ModelError
    from photogan.inference.model_info import ModelInfo

    service = ModelService()
    lying = ModelInfo(id="says-x4", name="n", task="upscale", scale=4, arch="nearest", tile_pad=0)
    scales = helper.make_tensor("scales", TensorProto.FLOAT, [4], [1.0, 1.0, 2.0, 2.0])
    resize = helper.make_node("Resize", ["input", "", "scales"], ["output"], mode="nearest")
    with pytest.raises(ModelError, match=r"turned a 5×7 input into 10×14; its metadata says ×4"):
        service.import_file(write_model(tmp_path / "lying.onnx", lying, [resize], [scales]))
    wild = ModelInfo(id="wild", name="n", task="restore", arch="x", tile_pad=0)
    hundred = helper.make_tensor("k", TensorProto.FLOAT, [], [100.0])
    with pytest.raises(ModelError, match="values from"):
        service.import_file(
            write_model(tmp_path / "wild.onnx", wild, [helper.make_node("Mul", ["input", "k"], ["output"])], [hundred])
        )
    assert [e.info.id for e in service.list() if e.origin != "bundled"] == []


@pytest.mark.parametrize("model_id", ["a" * 101, "../up", ".hidden", "two words", "x4;rm"])
def test_model_ids_are_file_names_of_at_most_100_plain_characters(model_id: str) -> None:
    from photogan.core.errors import ModelError
    from photogan.inference.model_info import ModelInfo

    with pytest.raises(ModelError, match="invalid model id"):
        ModelInfo(id=model_id, name="n", task="restore")
    assert ModelInfo(id="my-x4_v2.1", name="n", task="restore").id == "my-x4_v2.1"


def test_a_typed_name_becomes_a_valid_model_id() -> None:
    from photogan.inference.model_info import MODEL_ID, model_id_from

    assert model_id_from("My film scans (1970s)", "x") == "My-film-scans-1970s"
    assert model_id_from("  ../.hidden  ", "x") == "hidden"
    assert model_id_from("///", "my-model") == "my-model"
    long = model_id_from("a" * 150, "x")
    assert len(long) == 100 and MODEL_ID.fullmatch(long)


def test_every_picker_choice_but_the_mask_fill_has_its_before_after_thumbnail() -> None:
    """scripts/picker_thumbnails.py made one for each plain-language choice; a new choice without one shows in
    the picker with no picture, which this catches."""
    from PIL import Image

    from photogan.app.models import PLAIN, picker_thumbnail

    for chain in PLAIN:
        thumb = picker_thumbnail(chain)
        if chain == ("inpaint",):
            assert thumb is None  # it needs the user's mask: nothing to show before one is painted
            continue
        assert thumb is not None, chain
        with Image.open(thumb) as im:
            assert im.size == (194, 96)
    assert picker_thumbnail(("no-such-model",)) is None
