"""The persistent batch queue: survives restarts and crashes, never redoes finished work, cancels and pauses."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import open_session
from PIL import Image

from photogan.app.batch import OutputOptions
from photogan.app.queue import BatchQueue, QueueItem
from photogan.core.errors import Cancelled
from photogan.core.progress import Progress
from photogan.core.tiling import TileOptions


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png", "sub/c.png"):
        Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)).save(photos / name)
    (photos / "bad.png").write_bytes(b"nope")
    return photos


def run(
    queue: BatchQueue, model: Path, out: Path, progress: Progress | None = None, tile: int = 0, **callbacks: object
) -> None:
    queue.run(
        open_session(model),
        out,
        OutputOptions(format="png"),
        TileOptions(tile_size=tile),
        progress or Progress(),
        **callbacks,
    )  # type: ignore[arg-type]


def test_add_persist_reload_and_edit(tmp_path: Path, folder: Path) -> None:
    state = tmp_path / "queue.json"
    queue = BatchQueue(state)
    added = queue.add([folder])
    assert [Path(i.relative).as_posix() for i in added] == ["a.png", "b.png", "bad.png", "sub/c.png"]
    assert queue.add([folder / "a.png"]) == []  # already waiting
    reloaded = BatchQueue(state)
    assert [i.id for i in reloaded.items] == [i.id for i in added]
    reloaded.move(added[3].id, 0)
    reloaded.remove([added[2].id])
    assert [Path(i.relative).name for i in BatchQueue(state).items] == ["c.png", "a.png", "b.png"]


def test_run_finishes_items_reports_failures_and_mirrors_folders(
    tmp_path: Path, folder: Path, models_dir: Path
) -> None:
    queue = BatchQueue(tmp_path / "q.json")
    queue.add([folder])
    seen: list[QueueItem] = []
    run(queue, models_dir / "nearest2.onnx", tmp_path / "out", on_item=seen.append)
    assert queue.counts() == {"done": 3, "failed": 1}
    assert (tmp_path / "out" / "sub" / "c.png").exists()
    failed = next(i for i in queue.items if i.status == "failed")
    assert "not an image" in failed.reason
    assert [i.status for i in seen].count("running") == 4
    assert queue.retry_failed() == 1 and queue.counts() == {"done": 3, "pending": 1}


def test_a_crash_mid_item_resumes_without_redoing_finished_work(tmp_path: Path, folder: Path, models_dir: Path) -> None:
    state = tmp_path / "q.json"
    queue = BatchQueue(state)
    queue.add([folder / "a.png", folder / "b.png"])
    run(queue, models_dir / "identity.onnx", tmp_path / "out")
    data = json.loads(state.read_text())
    data["items"].append(
        {
            **data["items"][0],
            "id": "x",
            "source": str((folder / "sub" / "c.png").resolve()),
            "relative": "c.png",
            "status": "running",
        }
    )  # the app died while this one ran
    state.write_text(json.dumps(data))
    done_before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out").iterdir()}
    reopened = BatchQueue(state)
    assert reopened.counts() == {"done": 2, "pending": 1}
    run(reopened, models_dir / "identity.onnx", tmp_path / "out")
    assert reopened.counts() == {"done": 3}
    assert {n: (tmp_path / "out" / n).stat().st_mtime_ns for n in done_before} == done_before


def test_cancel_stops_within_a_tile_and_keeps_the_item_pending(tmp_path: Path, folder: Path, models_dir: Path) -> None:
    queue = BatchQueue(tmp_path / "q.json")
    queue.add([folder / "a.png", folder / "b.png"])
    progress = Progress()
    calls: list[float] = []

    def on_progress(item: QueueItem, fraction: float) -> None:
        calls.append(fraction)
        if len(calls) == 3:
            progress.cancel()

    with pytest.raises(Cancelled):
        run(queue, models_dir / "blur.onnx", tmp_path / "out", progress, tile=8, on_progress=on_progress)
    assert queue.counts() == {"pending": 2}
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_pause_holds_the_worker_until_resumed(tmp_path: Path, folder: Path, models_dir: Path) -> None:
    queue = BatchQueue(tmp_path / "q.json")
    queue.add([folder / "a.png"])
    progress = Progress()
    progress.token.pause()
    worker = threading.Thread(target=run, args=(queue, models_dir / "identity.onnx", tmp_path / "out", progress))
    worker.start()
    worker.join(timeout=0.5)
    assert worker.is_alive() and queue.counts() == {"pending": 1}
    progress.token.resume()
    worker.join(timeout=30)
    assert not worker.is_alive() and queue.counts() == {"done": 1}


def test_a_damaged_state_file_is_set_aside(tmp_path: Path) -> None:
    state = tmp_path / "q.json"
    state.write_text("{ not json")
    assert BatchQueue(state).items == []
    assert (tmp_path / "q.damaged.json").exists()
