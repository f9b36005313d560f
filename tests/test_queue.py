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
    assert (tmp_path / "out" / "sub" / "c-x2.png").exists()  # named for what was done
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
    queue = BatchQueue(state)
    assert queue.items == [] and "damaged" in queue.problems[0]
    assert [p.read_text() for p in tmp_path.glob("q.damaged-*.json")] == ["{ not json"]
    BatchQueue(state)  # damaged again (nothing was saved since): a second copy, the first is not overwritten
    assert len(list(tmp_path.glob("q.damaged-*.json"))) == 2


def test_a_queue_file_of_the_wrong_shape_is_set_aside_not_fatal(tmp_path: Path) -> None:
    state = tmp_path / "q.json"
    state.write_text("[]")  # `echo '[]' > queue.json` stopped the GUI from starting
    queue = BatchQueue(state)
    assert queue.items == [] and "not a queue" in queue.problems[0]
    assert len(list(tmp_path.glob("q.damaged-*.json"))) == 1


def test_damaged_items_are_left_out_one_by_one_and_kept(tmp_path: Path) -> None:
    state = tmp_path / "q.json"
    good = {"source": "/p/a.png", "relative": "a.png", "status": "done", "target": "/o/a.png"}
    newer = {"source": "/p/b.png", "relative": "b.png", "model": "upscale-x4"}  # a key this photogan does not know
    bad = [{"source": 3, "relative": "c.png"}, {"source": "/p/d.png", "relative": "d.png", "status": "lost"}, "x"]
    state.write_text(json.dumps({"version": 1, "items": [good, *bad, newer]}))
    queue = BatchQueue(state)
    assert [i.relative for i in queue.items] == ["a.png", "b.png"] and queue.items[0].status == "done"
    assert queue.problems == [
        f"3 damaged item(s) of the batch queue were left out; kept as {next(tmp_path.glob('q.damaged-*.json'))}"
    ]
    assert json.loads(next(tmp_path.glob("q.damaged-*.json")).read_text())["items"] == bad


def test_one_instance_owns_the_queue_and_saves_never_collide(tmp_path: Path, folder: Path) -> None:
    state = tmp_path / "q.json"
    first, second = BatchQueue(state), BatchQueue(state)
    assert first.claim() and not second.claim()
    assert second.read_only and "another photogan window" in second.problems[0]
    first.add([folder])
    second.clear_finished()
    second.remove([i.id for i in second.items])
    assert len(BatchQueue(state).items) == len(first.items) > 0  # the second window saved nothing

    a, b = BatchQueue(state), BatchQueue(state)  # unclaimed: saving from many threads at once
    errors: list[BaseException] = []

    def churn(queue: BatchQueue) -> None:
        try:
            for _ in range(150):
                queue.move(queue.items[0].id, len(queue.items) - 1)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=churn, args=(q,)) for q in (a, b, a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and not list(tmp_path.glob(".q.json.*.tmp"))
    assert len(BatchQueue(state).items) == len(first.items)


def test_an_unwritable_state_folder_keeps_the_queue_in_memory_and_says_so(tmp_path: Path, folder: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the state folder should be")
    queue = BatchQueue(blocker / "q.json")
    added = queue.add([folder])
    assert added and len(queue.items) == len(added)
    assert len(queue.problems) == 1 and "cannot be saved" in queue.problems[0]


def test_an_output_folder_that_takes_no_file_stops_the_queue_with_the_item_pending(
    tmp_path: Path, folder: Path, models_dir: Path
) -> None:
    from photogan.core.errors import OutputFolderError

    queue = BatchQueue(tmp_path / "q.json")
    queue.add([folder])
    blocker = tmp_path / "out"
    blocker.write_text("a file where the output folder should be")
    with pytest.raises(OutputFolderError, match="is a file, not a folder"):
        run(queue, models_dir / "identity.onnx", blocker)
    assert queue.counts()["pending"] == len(queue.items)  # nothing marked failed or lost


def test_two_photos_with_one_name_never_replace_each_others_output(tmp_path: Path, models_dir: Path) -> None:
    """a/x.png and b/x.png added one by one both map to out/x.png: the second is reported, the first kept."""
    for folder, shade in (("a", 40), ("b", 200)):
        (tmp_path / folder).mkdir()
        Image.fromarray(np.full((8, 8, 3), shade, np.uint8)).save(tmp_path / folder / "x.png")
    queue = BatchQueue(tmp_path / "q.json")
    queue.add([tmp_path / "a" / "x.png", tmp_path / "b" / "x.png"])
    out = tmp_path / "out"
    run(queue, models_dir / "identity.onnx", out)
    first, second = queue.items
    assert first.status == "done" and second.status == "failed" and "already writes x-restored.png" in second.reason
    assert np.asarray(Image.open(out / "x-restored.png"))[0, 0, 0] == 40  # the first photo's result, not replaced


def test_no_output_replaces_another_photo_of_the_queue(tmp_path: Path, models_dir: Path) -> None:
    """An earlier result queued as a photo of its own is an original too: the photo whose output has its name is
    refused (the rule of the command line's batch and the viewer's Save: one planner)."""
    (tmp_path / "photos").mkdir()
    (out := tmp_path / "out").mkdir()
    Image.fromarray(np.full((8, 8, 3), 40, np.uint8)).save(tmp_path / "photos" / "x.png")
    Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(out / "x-restored.png")
    before = (out / "x-restored.png").read_bytes()
    queue = BatchQueue(tmp_path / "q.json")
    queue.add([tmp_path / "photos" / "x.png", out / "x-restored.png"])
    run(queue, models_dir / "identity.onnx", out)
    first, second = queue.items
    assert first.status == "failed" and "never overwrites an original" in first.reason
    assert second.status == "done" and (out / "x-restored-restored.png").exists()
    assert (out / "x-restored.png").read_bytes() == before


@pytest.mark.parametrize("existing", ["rename", "skip", "replace"])
def test_an_output_already_there_is_renamed_skipped_or_replaced_as_chosen(
    tmp_path: Path, folder: Path, models_dir: Path, existing: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    earlier = out / "a-restored.png"  # the name the queue gives (the identity test model is a restore model)
    earlier.write_bytes(b"an earlier edit")  # not a result of this queue
    queue = BatchQueue(tmp_path / "q.json")
    queue.add([folder / "a.png"])
    options = OutputOptions(format="png", existing=existing)  # type: ignore[arg-type]
    queue.run(open_session(models_dir / "identity.onnx"), out, options, TileOptions(), Progress())
    [item] = queue.items
    if existing == "rename":
        assert (item.status, Path(item.target).name) == ("done", "a-restored-2.png")
        assert earlier.read_bytes() == b"an earlier edit"
    elif existing == "skip":
        assert item.status == "skipped" and earlier.read_bytes() == b"an earlier edit"
    else:
        assert item.status == "done" and earlier.read_bytes() != b"an earlier edit"


def test_retrying_a_failed_photo_does_not_show_an_output_it_never_wrote(
    tmp_path: Path, folder: Path, models_dir: Path
) -> None:
    queue = BatchQueue(tmp_path / "q.json")
    queue.add([folder / "bad.png"])
    run(queue, models_dir / "identity.onnx", tmp_path / "out")
    assert queue.items[0].status == "failed"
    queue.retry_failed()
    assert (queue.items[0].status, queue.items[0].target) == ("pending", "")


def test_rows_keep_their_own_output_settings_editable_until_done(
    tmp_path: Path, folder: Path, models_dir: Path
) -> None:
    """Rows added under one Output setting keep it (folder, format, suffix) across restarts, whatever the run's
    options say; Output… changes rows not done yet; a done row keeps what it was written with."""
    from photogan.app.settings import Settings

    prints, web = tmp_path / "prints", tmp_path / "web"
    queue = BatchQueue(tmp_path / "q.json")
    queue.add([folder / "a.png"], output=Settings(output_dir=str(prints), format="tiff", name_suffix="-print"))
    queue.add([folder / "b.png"], output=Settings(output_dir=str(web), format="jpg"))
    queue.add([folder / "sub"])  # an older photogan's row: the run's options (PNG into out)
    first = queue.items[0]
    run(queue, models_dir / "identity.onnx", tmp_path / "out")
    assert (prints / "a-print.tif").exists() and (web / "b-restored.jpg").exists()
    assert (tmp_path / "out" / "c-restored.png").exists()
    reloaded = BatchQueue(tmp_path / "q.json")
    assert reloaded.items[0].output == first.output and reloaded.items[0].output["format"] == "tiff"
    queue.add([folder / "b.png"], chain=("other",))  # a new row, pending
    assert queue.set_output([i.id for i in queue.items], Settings(output_dir=str(web), format="webp")) == 1
    assert [i.output.get("format") for i in queue.items] == ["tiff", "jpg", None, "webp"]
    assert queue.add([folder / "a.png"], output=reloaded.items[0].output_settings()) == []  # the same row: not twice
    assert len(queue.add([folder / "a.png"], output=Settings(output_dir=str(web)))) == 1  # to another folder: a row


def test_a_row_with_damaged_output_settings_is_kept_aside_not_run(tmp_path: Path) -> None:
    state = tmp_path / "q.json"
    good = {"source": "/p/a.png", "relative": "a.png", "output": {"format": "png", "quality": 90}}
    bad = [
        {"source": "/p/b.png", "relative": "b.png", "output": {"format": "gif"}},
        {"source": "/p/c.png", "relative": "c.png", "output": {"quality": "high"}},
        {"source": "/p/d.png", "relative": "d.png", "output": ["png"]},
    ]
    state.write_text(json.dumps({"version": 1, "items": [good, *bad]}))
    queue = BatchQueue(state)
    assert [i.relative for i in queue.items] == ["a.png"] and queue.items[0].output_settings() is not None
    assert "3 damaged item(s)" in queue.problems[0]
