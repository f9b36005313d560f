"""The pipelined batch: the next photo is decoded and the previous one written while the current one runs, with
outputs byte for byte those of one photo after the other, results in order, at most one photo decoded ahead, and
cancelling or a bad file handled as before."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import open_session, random_image
from PIL import Image

import photogan.app.batch as batch
from photogan.app.batch import OutputOptions, enhance_file, plan_batch, run_batch
from photogan.core.errors import Cancelled
from photogan.core.image import Photo
from photogan.core.progress import Progress
from photogan.core.save import save_image
from photogan.core.tiling import TileOptions


def _album(folder: Path) -> Path:
    folder.mkdir()
    for i in range(5):
        save_image(Photo(random_image(24 + i, 20, seed=i)), folder / f"p{i}.png")
    (folder / "p2.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(30))  # a damaged file in the middle
    return folder


def test_pipelined_outputs_are_byte_identical_to_one_photo_after_the_other(
    tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime

    class Frozen(datetime.datetime):  # the processing history's time stamp: the same for both runs
        @classmethod
        def now(cls, tz: datetime.tzinfo | None = None) -> Frozen:
            return cls(2026, 12, 2, 10, 0, 0, tzinfo=tz)

    monkeypatch.setattr(batch, "datetime", Frozen)
    album = _album(tmp_path / "album")
    session = open_session(models_dir / "blur.onnx")
    tile, output = TileOptions(tile_size=16), OutputOptions()
    plan = plan_batch([album], tmp_path / "piped")
    results = run_batch(plan, session, tile, output)
    assert [r.source.name for r in results] == [f"p{i}.png" for i in range(5)]  # the plan's order
    assert [r.status for r in results] == ["done", "done", "failed", "done", "done"]
    one_by_one = plan_batch([album], tmp_path / "sequential")
    for job in one_by_one.jobs:
        enhance_file(job, session, tile, output, Progress())
    for i in (0, 1, 3, 4):
        name = f"p{i}.png"
        assert (tmp_path / "piped" / name).read_bytes() == (tmp_path / "sequential" / name).read_bytes()


def test_at_most_one_photo_is_decoded_ahead_of_the_network(
    tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    album = tmp_path / "album"
    album.mkdir()
    for i in range(6):
        save_image(Photo(random_image(16, 16, seed=i)), album / f"p{i}.png")
    read, processed, ahead = [], [], []
    readers: set[str] = set()
    real_read, real_process = batch.read_job, batch._process
    lock = threading.Lock()

    def reading(job, *args):  # type: ignore[no-untyped-def]
        loaded = real_read(job, *args)
        with lock:
            read.append(job.source.name)
            readers.add(threading.current_thread().name.split("_")[0])
        return loaded

    def processing(loaded, *args):  # type: ignore[no-untyped-def]
        with lock:
            ahead.append(len(read) - len(processed))  # decoded and not yet through the network, this one included
        out = real_process(loaded, *args)
        processed.append(1)
        return out

    monkeypatch.setattr(batch, "read_job", reading)
    monkeypatch.setattr(batch, "_process", processing)
    results = run_batch(
        plan_batch([album], tmp_path / "out"),
        open_session(models_dir / "identity.onnx"),
        TileOptions(),
        OutputOptions(),
    )
    assert [r.status for r in results] == ["done"] * 6
    assert max(ahead) <= 2  # this photo and at most the next one: memory stays bounded
    assert readers == {"MainThread", "photogan-read"}  # the first photo read at once, the others ahead, in the reader


def test_cancelling_keeps_the_photo_written_before_and_writes_nothing_partial(
    tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    album = _album(tmp_path / "album")
    progress = Progress()
    real_process = batch._process
    calls = []

    def cancel_on_the_fourth(loaded, *args):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 3:  # p0, p1, then p3 (p2 is damaged): the user cancels while p3 runs
            progress.cancel()
            progress.check_cancelled()
        return real_process(loaded, *args)

    monkeypatch.setattr(batch, "_process", cancel_on_the_fourth)
    out = tmp_path / "out"
    with pytest.raises(Cancelled):
        run_batch(
            plan_batch([album], out),
            open_session(models_dir / "identity.onnx"),
            TileOptions(),
            OutputOptions(),
            progress=progress,
        )
    assert sorted(p.name for p in out.iterdir()) == ["p0.png", "p1.png"]  # whole files, no temporary left
    with Image.open(out / "p1.png") as written:
        assert np.asarray(written).shape == (25, 20, 3)
