"""The desktop app (pytest-qt, offscreen): viewer, workers, batch queue, main window, dialogs, crash reporting."""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLE, open_session, random_image
from PIL import Image

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, QPointF, QSettings, QSize, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QDialog, QMessageBox

from photogan.app.batch import OutputOptions
from photogan.app.queue import BatchQueue
from photogan.core.errors import ImageReadError
from photogan.core.image import Photo
from photogan.core.load import load_image
from photogan.core.progress import Progress
from photogan.core.tiling import TileOptions
from photogan.gui.finetune_panel import FineTunePanel
from photogan.gui.images import to_qimage
from photogan.gui.queue_panel import MODELS, PHOTO, RESULT, STATUS
from photogan.gui.viewer import CompareView, ViewState
from photogan.gui.workers import Worker, WorkerError

# -- helpers ---------------------------------------------------------------------------------------------------


def solid(width: int, height: int, rgb: tuple[int, int, int]) -> QImage:
    image = QImage(width, height, QImage.Format.Format_RGBA8888)
    image.fill(QColor(*rgb))
    return image


def pattern(width: int, height: int) -> QImage:
    rng = np.random.default_rng(1)
    return to_qimage(Photo(rng.random((height, width, 3), dtype=np.float32)))


def pixel(view: CompareView, x: int, y: int) -> tuple[int, int, int]:
    colour = view.grab().toImage().pixelColor(x, y)
    return colour.red(), colour.green(), colour.blue()


@pytest.fixture
def view(qtbot) -> CompareView:  # type: ignore[no-untyped-def]
    widget = CompareView()
    qtbot.addWidget(widget)
    widget.resize(400, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


# -- viewer geometry ----------------------------------------------------------------------------------------------


def test_zooming_keeps_the_point_under_the_cursor_still() -> None:
    state = ViewState(QSize(1000, 800), QSize(400, 300))
    anchor = QPointF(100, 50)
    before = state.to_image(anchor)
    state.set_zoom(3.0, anchor)
    after = state.to_image(anchor)
    assert abs(before.x() - after.x()) < 1e-6 and abs(before.y() - after.y()) < 1e-6
    assert state.effective_zoom() == 3.0


def test_fit_shows_the_whole_photo_and_100_percent_a_centred_window() -> None:
    state = ViewState(QSize(1000, 800), QSize(400, 300))
    region = state.visible_region()
    assert (region.x, region.y, region.width, region.height) == (0, 0, 1000, 800)
    state.set_zoom(1.0)
    region = state.visible_region()
    assert (region.width, region.height) == (400, 300)
    assert (region.x, region.y) == (300, 250)
    state.pan(10_000, 10_000)  # panning stops at the photo's edge
    region = state.visible_region()
    assert (region.x, region.y) == (0, 0)


# -- viewer widget --------------------------------------------------------------------------------------------------


def test_dragging_the_divider_moves_it_and_dragging_elsewhere_pans(qtbot, view: CompareView) -> None:  # type: ignore[no-untyped-def]
    view.set_images(solid(800, 600, (0, 0, 0)), solid(3200, 2400, (255, 255, 255)))
    view.state.set_zoom(1.0)  # the original at 100 %
    start = QPoint(int(view.divider_x()), 150)
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(view, QPoint(300, 150))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(300, 150))
    assert view.divider == pytest.approx(0.75, abs=0.01)
    # left of the divider the original (black), right of it the result (white)
    assert pixel(view, 250, 200) == (0, 0, 0)
    assert pixel(view, 350, 200) == (255, 255, 255)
    centre = view.state.effective_center()
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(100, 150))
    qtbot.mouseMove(view, QPoint(60, 120))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(60, 120))
    assert view.divider == pytest.approx(0.75, abs=0.01)
    moved = view.state.effective_center()
    assert (moved.x() - centre.x(), moved.y() - centre.y()) == pytest.approx((40, 30))


def test_side_by_side_panes_share_zoom_and_pan(qtbot, view: CompareView) -> None:  # type: ignore[no-untyped-def]
    image = pattern(120, 90)
    view.set_images(image, image)
    view.set_mode("side")
    view.state.set_zoom(4.0, QPointF(30, 40))
    view.state.pan(-17, 9)
    view.update()
    grabbed = view.grab().toImage()
    w = view.state.pane.width()
    # every pixel of the left pane equals the same pixel of the right pane, labels included
    left = grabbed.copy(0, 40, w, 200)
    right = grabbed.copy(w + 2, 40, w, 200)
    assert left == right
    # zooming with the wheel over the right pane zooms both
    qtbot.wait(1)
    view.zoom_in()
    assert view.grab().toImage().copy(0, 40, w, 200) == view.grab().toImage().copy(w + 2, 40, w, 200)


def test_the_result_is_drawn_over_the_originals_area_and_hold_shows_the_original(view: CompareView) -> None:
    view.set_images(solid(100, 75, (0, 0, 0)), solid(400, 300, (255, 255, 255)))  # a ×4 result
    view.set_mode("after")
    view.actual_size()  # 100 %: of the result, one result pixel per screen pixel
    assert view.result_scale() == 4.0 and view.zoom() == 0.25
    view.state.set_zoom(1.0)  # the original at 100 %: 100×75 on screen, centred in 400×300
    rect = view.state.image_rect_in_pane()
    assert (rect.width(), rect.height()) == (100, 75)
    assert pixel(view, int(rect.center().x()), int(rect.center().y())) == (255, 255, 255)
    outside = pixel(view, int(rect.right()) + 5, int(rect.center().y()))
    assert outside != (255, 255, 255)
    view.hold_original(True)
    assert pixel(view, int(rect.center().x()), int(rect.center().y())) == (0, 0, 0)
    view.hold_original(False)
    assert pixel(view, int(rect.center().x()), int(rect.center().y())) == (255, 255, 255)


def test_the_pixel_grid_appears_only_at_high_zoom(view: CompareView) -> None:
    view.set_images(solid(50, 50, (40, 40, 40)), None)
    view.set_mode("before")
    view.state.set_zoom(4.0)
    colours = {pixel(view, x, 150) for x in range(150, 250)}
    assert colours == {(40, 40, 40)}
    view.state.set_zoom(16.0)
    colours = {pixel(view, x, 150) for x in range(150, 250)}
    assert len(colours) > 1


def test_a_region_preview_is_drawn_only_over_its_region(view: CompareView) -> None:
    from photogan.app.chain import Region

    view.set_images(solid(400, 300, (0, 0, 0)))
    view.set_mode("after")
    view.actual_size()
    view.set_preview(Region(0, 0, 200, 300), solid(800, 1200, (255, 255, 255)))
    assert pixel(view, 100, 150) == (255, 255, 255)
    assert pixel(view, 300, 150) == (0, 0, 0)


def test_16_bit_and_rgba_photos_display() -> None:
    photo = Photo(
        np.linspace(0, 1, 12, dtype=np.float32).reshape(2, 2, 3),
        alpha=np.array([[1, 0], [0.5, 1]], np.float32),
        bit_depth=16,
    )
    image = to_qimage(photo)
    assert (image.width(), image.height()) == (2, 2)
    assert image.pixelColor(1, 0).alpha() == 0 and image.pixelColor(0, 0).alpha() == 255
    gray = to_qimage(Photo(np.full((3, 3, 1), 0.5, np.float32)))
    assert gray.pixelColor(1, 1).red() == gray.pixelColor(1, 1).blue() == 128


# -- workers --------------------------------------------------------------------------------------------------------


def run_worker(qtbot, job):  # type: ignore[no-untyped-def]
    worker = Worker(job, "test")
    outcome: dict[str, object] = {}
    worker.succeeded.connect(lambda v: outcome.setdefault("result", v))
    worker.failed.connect(lambda e: outcome.setdefault("error", e))
    worker.cancelled.connect(lambda: outcome.setdefault("cancelled", True))
    with qtbot.waitSignal(worker.finished, timeout=10000):
        worker.start_job()
    qtbot.waitUntil(lambda: worker not in Worker.active)
    return outcome


def test_workers_report_results_errors_and_cancellation(qtbot) -> None:  # type: ignore[no-untyped-def]
    assert run_worker(qtbot, lambda p: 42) == {"result": 42}
    expected = run_worker(qtbot, lambda p: (_ for _ in ()).throw(ImageReadError("photo.jpg is truncated")))
    error = expected["error"]
    assert isinstance(error, WorkerError) and error.expected and error.message == "photo.jpg is truncated"

    def bug(progress: Progress) -> None:
        raise RuntimeError("a bug")

    unexpected = run_worker(qtbot, bug)["error"]
    assert isinstance(unexpected, WorkerError) and not unexpected.expected
    assert "RuntimeError: a bug" in unexpected.details and "in bug" in unexpected.details

    def cancels(progress: Progress) -> None:
        progress.cancel()
        progress.check_cancelled()

    assert run_worker(qtbot, cancels) == {"cancelled": True}


# -- batch queue panel ----------------------------------------------------------------------------------------------


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "album"
    (folder / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png", "sub/c.png"):
        Image.fromarray(rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)).save(folder / name)
    (folder / "broken.png").write_bytes(b"not a png")
    return folder


def make_panel(qtbot, state: Path, model: Path, out: Path, tile: int = 0):  # type: ignore[no-untyped-def]
    from photogan.gui.queue_panel import QueuePanel

    session = open_session(model)
    panel = QueuePanel(
        BatchQueue(state), lambda: ([session], out, OutputOptions(format="png"), TileOptions(tile, 0, 0, 8))
    )
    qtbot.addWidget(panel)
    return panel


def statuses(panel) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        panel.table.item(r, PHOTO).text(): panel.table.item(r, STATUS).text() for r in range(panel.table.rowCount())
    }


def test_queue_runs_reports_failures_and_reloads_its_state(
    qtbot, tmp_path: Path, photos: Path, models_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    state, out = tmp_path / "queue.json", tmp_path / "out"
    panel = make_panel(qtbot, state, models_dir / "nearest2.onnx", out)
    assert panel.add_paths([photos]) == 4
    assert panel.add_paths([photos / "a.png"]) == 0  # already waiting
    with qtbot.waitSignal(panel.running_changed, check_params_cb=lambda running: not running, timeout=20000):
        panel.start()
    assert statuses(panel) == {"a.png": "Done", "b.png": "Done", "broken.png": "Failed", "sub/c.png": "Done"}
    broken_row = next(r for r in range(4) if panel.table.item(r, 0).text() == "broken.png")
    assert "broken.png" in panel.table.item(broken_row, RESULT).text() or panel.table.item(broken_row, RESULT).text()
    assert Image.open(out / "sub" / "c-x2.png").size == (192, 128)
    assert panel.overall.value() == panel.overall.maximum()
    # a new panel (the app restarted) shows the same queue
    again = make_panel(qtbot, state, models_dir / "nearest2.onnx", out)
    assert statuses(again) == statuses(panel)
    again.retry_failed()
    assert statuses(again)["broken.png"] == "Waiting"


def test_queue_cancel_leaves_the_photo_waiting_and_pause_holds_it(
    qtbot, tmp_path: Path, photos: Path, models_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    panel = make_panel(qtbot, tmp_path / "queue.json", models_dir / "blur.onnx", out, tile=16)
    panel.add_paths([photos / "a.png", photos / "b.png"])
    paused = threading.Event()

    def pause_once(item_id: str, fraction: float) -> None:  # runs in the worker: the press lands mid-photo
        if not paused.is_set() and panel.worker is not None:
            panel.worker.pause()
            paused.set()

    panel._relay.item_progress.connect(pause_once, Qt.ConnectionType.DirectConnection)
    panel.start()
    qtbot.waitUntil(paused.is_set, timeout=10000)
    time.sleep(0.3)
    qtbot.wait(50)
    assert statuses(panel)["a.png"] == "Working"  # held at its next tile
    assert not (out / "a-restored.png").exists()
    with qtbot.waitSignal(panel.running_changed, timeout=10000):
        panel.cancel()  # a paused worker wakes up to stop
    assert statuses(panel) == {"a.png": "Waiting", "b.png": "Waiting"}
    assert not out.exists() or not any(out.iterdir())
    panel._relay.item_progress.disconnect(pause_once)
    panel.start()
    panel.toggle_pause()  # the Pause button holds the run and turns into Resume
    assert panel.worker is not None and panel.worker.token.paused and panel.pause_button.text() == "Resume"
    with qtbot.waitSignal(panel.running_changed, check_params_cb=lambda running: not running, timeout=20000):
        panel.toggle_pause()
    assert statuses(panel) == {"a.png": "Done", "b.png": "Done"}


def test_queue_reorders_and_removes(qtbot, tmp_path: Path, photos: Path, models_dir: Path) -> None:  # type: ignore[no-untyped-def]
    panel = make_panel(qtbot, tmp_path / "queue.json", models_dir / "identity.onnx", tmp_path / "out")
    panel.add_paths([photos / "a.png", photos / "b.png"])
    panel.table.selectRow(1)
    panel.move_selected(-1)
    assert [i.relative for i in panel.queue.items] == ["b.png", "a.png"]
    panel.table.clearSelection()
    panel.table.selectRow(0)
    panel.remove_selected()
    assert [i.relative for i in panel.queue.items] == ["a.png"]


# -- main window ----------------------------------------------------------------------------------------------------


@pytest.fixture
def window(qtbot, tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from photogan.app.settings import Settings
    from photogan.gui.main_window import MainWindow
    from photogan.inference.registry import user_models_dir

    shutil.copy(models_dir / "nearest2.onnx", user_models_dir())
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: QMessageBox.StandardButton.Ok)
    win = MainWindow(
        queue=BatchQueue(tmp_path / "queue.json"),
        settings_path=tmp_path / "settings.json",
        qsettings=QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat),
    )
    win.settings = Settings(output_dir=str(tmp_path / "out"), chain=("test-nearest-x2",))
    qtbot.addWidget(win)
    assert win.select_chain(("test-nearest-x2",))
    return win


def test_window_opens_enhances_previews_and_saves(qtbot, window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    photo = tmp_path / "photo.png"
    Image.fromarray((random_image(40, 60) * 255).astype(np.uint8)).save(photo)
    window.open_paths([photo])
    qtbot.waitUntil(lambda: window.photo is not None and window.worker is None, timeout=10000)
    assert "60×40" in window.photo_label.text()
    assert window.settings.recent[0] == str(photo.resolve())
    window.preview()
    qtbot.waitUntil(lambda: window.worker is None and window.viewer.has_result, timeout=10000)
    window.enhance()
    qtbot.waitUntil(lambda: window.result is not None and window.worker is None, timeout=10000)
    assert (window.result.width, window.result.height) == (120, 80)
    assert window.provider_label.text() == "Ran on: CPU"
    window.save()
    qtbot.waitUntil(lambda: window.worker is None, timeout=10000)
    assert Image.open(tmp_path / "out" / "photo-x2.png").size == (120, 80)  # named for what was done
    window.save_to(photo)  # never over the original
    assert "never overwrites" in (window.last_error or "")
    assert Image.open(photo).size == (60, 40)


def test_the_model_picker_says_which_photos_each_model_is_for(window) -> None:  # type: ignore[no-untyped-def]
    combo = window.model_combo
    rows = [(combo.itemText(i).strip(), combo.itemData(i)) for i in range(combo.count())]
    headings = [text for text, data in rows if data is None]
    assert headings[:3] == ["Camera, phone or web photo", "Clean source: a render, a clean scan", "Old print or scan"]
    heading = combo.model().item(0)
    assert not heading.isEnabled() and not heading.isSelectable()  # a heading cannot be picked
    assert ("Enlarge ×4", ("upscale-x4",)) in rows and combo.currentData() == ("test-nearest-x2",)  # the user's own
    tips = {tuple(d): combo.itemData(i, Qt.ItemDataRole.ToolTipRole) for i, (_, d) in enumerate(rows) if d}
    assert "real-photo" in tips[("upscale-x4",)].lower() and "clean" in tips[("upscale-x4-fidelity",)]
    fidelity = tips[("upscale-x4-fidelity",)]  # the before/after picture, then plain words before the card's
    assert fidelity.startswith("<img src=") and "upscale-x4-fidelity.jpg" in fidelity
    assert fidelity.index("For noise-free sources only") < fidelity.index("upscale-x4-fidelity:")
    icon = combo.itemIcon(next(i for i, (_, d) in enumerate(rows) if d and tuple(d) == ("upscale-x4-fidelity",)))
    assert not icon.isNull()
    chain = next(c for c in tips if len(c) > 1 and "upscale-x4" in c)
    assert "upscale-x4:" in tips[chain] and "restore:" in tips[chain]  # a chain lists each of its models
    assert window.select_chain(("restore", "colorize"))
    details = window.model_details()  # Details: the technical card of the chosen choice
    assert details.selected() == "colorize" and "luminance" in details.card.toPlainText().lower()
    details.close()


def test_window_reports_a_bad_photo_and_stays_usable(qtbot, window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    window.open_photo(bad)
    qtbot.waitUntil(lambda: window.worker is None and window.last_error is not None, timeout=10000)
    assert "bad.jpg" in window.last_error
    assert window.photo is None and not window.enhance_action.isEnabled()
    window.open_photo(SAMPLE)
    qtbot.waitUntil(lambda: window.photo is not None and window.worker is None, timeout=10000)
    assert window.enhance_action.isEnabled()
    assert not window.statusBar().currentMessage().startswith("Opening")  # the busy message ends with the work


def test_several_dropped_photos_go_to_the_queue(qtbot, window, photos: Path) -> None:  # type: ignore[no-untyped-def]
    window.open_paths([photos / "a.png", photos / "b.png"])
    assert window.tabs.currentWidget() is window.queue_panel
    assert [i.relative for i in window.queue_panel.queue.items] == ["a.png", "b.png"]


def test_a_photo_dragged_from_the_file_manager_opens_and_several_fill_the_queue(  # type: ignore[no-untyped-def]
    qtbot, window, photos: Path
) -> None:
    from PySide6.QtCore import QMimeData, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent

    def drop(*paths: Path) -> bool:
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
        point = window.rect().center()
        enter = QDragEnterEvent(
            point, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
        )
        window.dragEnterEvent(enter)
        dropped = QDropEvent(
            QPointF(point), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
        )
        window.dropEvent(dropped)
        return enter.isAccepted()

    assert drop(photos / "a.png")
    qtbot.waitUntil(lambda: window.photo is not None and window.worker is None, timeout=10000)
    assert window.photo_path == photos / "a.png" and window.tabs.currentIndex() == 0
    assert drop(photos / "a.png", photos / "b.png")
    assert window.tabs.currentWidget() is window.queue_panel and len(window.queue_panel.queue.items) == 2


def test_the_filmstrip_shows_the_folder_and_opens_the_photo_clicked(  # type: ignore[no-untyped-def]
    qtbot, window, tmp_path: Path
) -> None:
    album = tmp_path / "album"
    album.mkdir()
    for name, level in (("a.jpg", 60), ("b.png", 120), ("c.jpg", 200)):
        Image.fromarray(np.full((30, 40, 3), level, np.uint8)).save(album / name)
    (album / "notes.txt").write_text("not a photo")
    window.show()
    assert window.filmstrip.isHidden()  # nothing open yet
    window.open_photo(album / "b.png")
    qtbot.waitUntil(lambda: window.photo is not None and window.worker is None, timeout=10000)
    strip = window.filmstrip
    assert strip.isVisible() and [p.name for p in strip.paths()] == ["a.jpg", "b.png", "c.jpg"]
    assert strip.currentRow() == 1
    qtbot.waitUntil(lambda: strip.made == 3, timeout=10000)  # thumbnails made in the background
    rect = strip.visualItemRect(strip.item(2))
    qtbot.mouseClick(strip.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.photo_path == album / "c.jpg" and window.worker is None, timeout=10000)
    assert strip.currentRow() == 2 and strip.count() == 3  # the same folder: not listed again


def test_a_long_job_says_how_long_it_still_takes() -> None:
    from photogan.core.progress import time_left

    assert time_left(0.01, 30) is None and time_left(0.5, 1.0) is None  # too early to tell
    assert time_left(0.25, 10) == "about 30 s"
    assert time_left(0.1, 60) == "about 9 min"


def test_models_dialog_imports_and_deletes_user_models(qtbot, tmp_path: Path, models_dir: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from photogan.app.models import ModelService
    from photogan.gui.models_dialog import ModelsDialog

    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: QMessageBox.StandardButton.Ok)
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: QMessageBox.StandardButton.Ok)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    dialog = ModelsDialog(ModelService())
    qtbot.addWidget(dialog)
    ids = lambda: [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())]  # noqa: E731
    assert "upscale-x4" in ids()
    assert "upscale-x4" in dialog.card.toPlainText()  # the bundled model card
    assert not dialog.delete_button.isEnabled()  # bundled models cannot be deleted
    assert dialog.import_path(models_dir / "blur.onnx")
    assert "test-blur" in ids()
    assert not dialog.import_path(tmp_path / "missing.onnx")
    dialog.table.selectRow(ids().index("test-blur"))
    assert dialog.delete_button.isEnabled()
    dialog.delete_selected()
    assert "test-blur" not in ids()


def test_finetune_panel_explains_the_train_extra_without_torch(qtbot) -> None:  # type: ignore[no-untyped-def]
    from photogan.app.models import ModelService

    panel = FineTunePanel(ModelService(), torch_ok=False)
    qtbot.addWidget(panel)
    panel.show()
    assert panel.hint.isVisible() and "photogan[train]" in panel.hint.text()
    assert not panel.start_button.isEnabled()
    ready = FineTunePanel(ModelService(), torch_ok=True)
    qtbot.addWidget(ready)
    ready.show()
    assert not ready.hint.isVisible()
    assert ready.base.findData("upscale-x4") >= 0  # it has a training checkpoint beside it
    ready.start()  # no folder chosen: told so, nothing started
    assert "folder" in ready.status.text() and not ready.running
    # the run is sized to the time budget unless a length is typed in; noisy-scans-only training is for restore
    assert ready.iters.value() == 0 and ready.iters.text() == "as many as the time budget holds"
    ready.base.setCurrentIndex(ready.base.findData("restore"))
    assert ready.noisy_only.isEnabled()
    ready.noisy_only.setChecked(True)
    ready.base.setCurrentIndex(ready.base.findData("upscale-x4"))
    assert not ready.noisy_only.isEnabled() and not ready.noisy_only.isChecked()


def test_learning_a_texture_again_draws_another_seed(qtbot, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The same photo learned twice with one seed would give the same model (a collapsed one too)."""
    from photogan.app.models import ModelService

    panel = FineTunePanel(ModelService(), torch_ok=True)
    qtbot.addWidget(panel)
    panel.runs_folder = tmp_path / "runs"
    requests: list = []
    monkeypatch.setattr(panel, "_launch", requests.append)
    photo = tmp_path / "wall.jpg"
    panel.start_texture(photo)
    (tmp_path / "runs" / "texture-wall-20261205-000000").mkdir(parents=True)  # the first run's folder
    panel.start_texture(photo, turnable=True)
    assert [(r.name, r.seed) for r in requests] == [("texture-wall", 0), ("texture-wall", 1)]
    assert " --augment rotate --seed 1 " in " ".join(requests[1].argv())


def test_unhandled_errors_reach_a_dialog_and_the_log(qtbot, tmp_path: Path, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    import sys

    from photogan.gui.app import CrashReporter

    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: shown.append(text))
    reporter = CrashReporter(tmp_path / "photogan.log")
    old_hook, old_thread_hook = sys.excepthook, threading.excepthook
    reporter.install()
    try:
        thread = threading.Thread(target=lambda: 1 / 0, name="crashes")
        thread.start()
        thread.join()
        qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    finally:
        sys.excepthook, threading.excepthook = old_hook, old_thread_hook
    assert "ZeroDivisionError" in shown[0] and str(tmp_path / "photogan.log") in shown[0]
    assert "ZeroDivisionError" in caplog.text


def test_a_long_session_of_paint_calls_and_signals_does_not_wear_out_none_and_true() -> None:
    """PySide6 6.12.0 on Python 3.11 takes a reference from None on every void call and from True on every emit;
    photogan.gui gives them enough headroom (this loop would abort the interpreter without it)."""
    import sys

    from PySide6.QtCore import QObject, Signal

    import photogan.gui

    class Source(QObject):
        ping = Signal(float)

    source = Source()
    source.ping.connect(lambda value: None)
    if sys.version_info < (3, 12):
        assert sys.getrefcount(None) > 1 << 39 or photogan.gui.qtcompat.NEEDS_HEADROOM is False
    for k in range(300_000):
        source.ping.emit(k / 300_000)
        source.setObjectName("x")


@pytest.mark.slow
def test_finetune_panel_trains_stops_resumes_and_registers_the_model(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The real training subprocess: live events, Stop keeps a checkpoint, Resume finishes, the model appears."""
    pytest.importorskip("torch")
    from photogan.app.models import ModelService

    photos = tmp_path / "mine"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for k in range(4):
        ramp = np.linspace(0, 255, 160)[None, :, None] * rng.random(3)[None, None, :]
        image = np.clip(ramp + rng.normal(0, 8, (160, 160, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(image).save(photos / f"p{k}.png")
    panel = FineTunePanel(ModelService(), torch_ok=True)
    qtbot.addWidget(panel)
    panel.runs_folder = tmp_path / "runs"
    panel.folder.setText(str(photos))
    panel.base.setCurrentIndex(panel.base.findData("upscale-x2"))
    panel.iters.setValue(60)
    panel.name.setText("my x2")  # becomes a valid id
    panel.start()
    assert panel.running and not panel.start_button.isEnabled()
    qtbot.waitUntil(lambda: "starting from" in panel.log.toPlainText(), timeout=120_000)
    panel.stop()
    qtbot.waitUntil(lambda: not panel.running, timeout=120_000)
    assert panel.history.status == "stopped", panel.log.toPlainText()[-2000:]
    assert "Resume" in panel.status.text() and panel.resume_button.isEnabled()
    stopped_at = panel.history.iteration
    assert 0 < stopped_at < 60
    with qtbot.waitSignal(panel.model_exported, timeout=300_000) as exported:
        panel.resume()
    model_id, select = exported.args
    qtbot.waitUntil(lambda: not panel.running, timeout=60_000)
    assert panel.history.iteration == 60 and panel.history.status == "finished"
    assert panel.history.g_loss and panel.history.psnr  # curves to plot
    # the verdict against the base, on the photo held out, decides whether the new model is selected
    verdict = panel.history.verdict
    assert model_id == "my-x2" and verdict is not None and verdict.base == "upscale-x2" and select == verdict.better
    assert "upscale-x2" in panel.status.text() and "dB" in panel.status.text()
    assert ("is ready and selected" if select else "not selected") in panel.status.text()
    assert "my-x2" in [e.info.id for e in ModelService().list()]


def test_generate_panel_previews_and_saves_tiled_textures_only_for_tileable_models(
    qtbot, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from test_generate import texture_model

    from photogan.app.models import ModelService
    from photogan.gui.generate_panel import GeneratePanel

    service = ModelService()
    service.import_file(texture_model(tmp_path / "plain.onnx"))
    service.import_file(texture_model(tmp_path / "tileable.onnx", tileable=True))
    panel = GeneratePanel(service, lambda: "cpu")
    qtbot.addWidget(panel)
    panel.model.setCurrentIndex(panel.model.findData("tiny-texture"))
    assert not panel.tiled_preview.isEnabled() and not panel.save_tiles.isEnabled()
    panel.model.setCurrentIndex(panel.model.findData("tiny-tileable"))
    assert panel.tiled_preview.isEnabled() and panel.save_tiles.isEnabled()

    panel.count.setValue(3)
    panel.run_generate()
    qtbot.waitUntil(lambda: panel.worker is None and panel.grid.count() == 3, timeout=10_000)
    panel.tiled_preview.setChecked(True)
    assert panel.grid.count() == 3  # the same images, shown repeated
    panel.save_tiles.setValue(2)
    out = tmp_path / "saved"
    monkeypatch.setattr("photogan.gui.generate_panel.QFileDialog.getExistingDirectory", lambda *a, **k: str(out))
    panel.save_all()
    saved = sorted(out.iterdir())
    assert len(saved) == 3 and Image.open(saved[0]).size == (16, 16)
    np.testing.assert_array_equal(np.asarray(Image.open(saved[0]))[:8, :8], np.asarray(Image.open(saved[0]))[8:, 8:])


def test_generate_panel_draws_texture_models_at_the_size_asked(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("torch")
    from test_generate import texture_model
    from test_textures import spatial_model

    from photogan.app.models import ModelService
    from photogan.gui.generate_panel import SIZE_PRESETS, GeneratePanel

    service = ModelService()
    service.import_file(texture_model(tmp_path / "plain.onnx"))
    service.import_file(spatial_model(tmp_path))
    panel = GeneratePanel(service, lambda: "cpu")
    qtbot.addWidget(panel)
    panel.model.setCurrentIndex(panel.model.findData("tiny-texture"))
    assert not panel.width_box.isEnabled() and panel.texture_size() is None  # one fixed size
    panel.model.setCurrentIndex(panel.model.findData("tiny-field"))
    assert panel.width_box.isEnabled() and panel.tiled_preview.isEnabled()
    label, width, height = SIZE_PRESETS[3]
    panel.preset.activated.emit(panel.preset.findText(label))
    assert panel.texture_size() == (width, height)
    panel.width_box.setValue(150)
    panel.height_box.setValue(70)
    panel.count.setValue(2)
    panel.run_generate()
    qtbot.waitUntil(lambda: panel.worker is None and panel.grid.count() == 2, timeout=20_000)
    assert [(p.width, p.height) for p in panel.photos] == [(150, 70), (150, 70)]
    assert "150×70" in panel.grid.item(0).text()
    with qtbot.waitSignal(panel.learn_requested, timeout=1000):
        panel.learn_button.click()


def test_a_damaged_queue_file_opens_the_window_and_says_what_was_kept(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from photogan.gui.main_window import MainWindow

    state = tmp_path / "queue.json"
    state.write_text("[]")

    def window(n: int) -> MainWindow:
        win = MainWindow(
            queue=BatchQueue(state),
            settings_path=tmp_path / f"settings{n}.json",
            qsettings=QSettings(str(tmp_path / f"window{n}.ini"), QSettings.Format.IniFormat),
        )
        qtbot.addWidget(win)
        return win

    first = window(1)
    qtbot.waitUntil(lambda: "batch queue" in (first.last_error or ""), timeout=5000)
    assert "kept as" in (first.last_error or "") and list(tmp_path.glob("queue.damaged-*.json"))
    second = window(2)
    qtbot.waitUntil(lambda: "another photogan window" in (second.last_error or ""), timeout=5000)


def test_a_path_in_the_name_suffix_is_a_message_not_a_crash(qtbot, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QDialog

    from photogan.gui.main_window import MainWindow, OutputDialog

    win = MainWindow(
        queue=BatchQueue(tmp_path / "queue.json"),
        settings_path=tmp_path / "settings.json",
        qsettings=QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat),
    )
    qtbot.addWidget(win)

    def typed_slash(dialog: OutputDialog) -> QDialog.DialogCode:
        dialog.suffix.setText("_x4/")
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(OutputDialog, "exec", typed_slash)
    before = win.settings
    win.output_settings()
    assert "may not contain a path separator" in (win.last_error or "") and win.settings == before


def test_colour_points_are_placed_moved_removed_saved_beside_the_photo_and_used(  # type: ignore[no-untyped-def]
    qtbot, window, tmp_path: Path
) -> None:
    from PySide6.QtTest import QTest
    from test_hints import hint_model

    from photogan.core.hints import load_hints, sidecar_for
    from photogan.inference.registry import user_models_dir

    hint_model(user_models_dir() / "test-hints.onnx")
    window.refresh_models()
    assert window.select_chain(("test-hints",)) and window.chain_colorizes()
    photo = tmp_path / "bw.png"
    Image.fromarray(np.full((60, 80), 120, np.uint8)).save(photo)
    window.resize(900, 700)
    window.show()
    window.open_paths([photo])
    qtbot.waitUntil(lambda: window.photo is not None and window.worker is None, timeout=10000)
    view = window.viewer
    assert window.select_chain(("upscale-x4",))
    window.hints_action.trigger()
    assert view.hint_mode and "they guide Colorize" in window.statusBar().currentMessage()  # an upscaler ignores them
    window.hints_action.trigger()
    assert window.select_chain(("test-hints",))
    window.hints_action.trigger()
    assert view.hint_mode and "guide Colorize" not in window.statusBar().currentMessage()
    view.hint_color = (200, 30, 30)

    def on_screen(x: float, y: float) -> QPoint:
        point = view.state.to_pane(QPointF(x, y))
        return QPoint(int(point.x()), int(point.y()))

    spot = on_screen(40.5, 30.5)
    QTest.mouseClick(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, spot)
    assert [(h.x, h.y, h.color) for h in view.hints] == [(40, 30, (200, 30, 30))]
    assert load_hints(sidecar_for(photo)) == view.hints  # saved where batches find it
    qtbot.waitUntil(lambda: view.has_result and window.worker is None, timeout=10000)  # the preview followed
    window.enhance()
    qtbot.waitUntil(lambda: window.result is not None and window.worker is None, timeout=10000)
    r, _, b = window.result.pixels[30, 40]
    assert r - b > 0.2  # the point's colour, on the photo's own brightness
    far = on_screen(10.5, 50.5)
    QTest.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, spot)
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    drag = QMouseEvent(
        QEvent.Type.MouseMove,
        QPointF(far),
        view.mapToGlobal(QPointF(far)),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(view, drag)  # QTest.mouseMove does not hold the button down
    QTest.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, far)
    assert [(h.x, h.y) for h in load_hints(sidecar_for(photo))] == [(10, 50)]  # dragged
    QTest.mouseClick(view, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, far)
    assert view.hints == [] and not sidecar_for(photo).exists()
    qtbot.waitUntil(lambda: not window._hint_preview.isActive() and window.worker is None, timeout=10000)
    window.open_paths([photo])  # reopened: the points come back from the sidecar (none now)
    qtbot.waitUntil(lambda: window.worker is None, timeout=10000)
    assert view.hints == []


def test_the_damage_mask_is_painted_erased_undone_saved_and_filled(  # type: ignore[no-untyped-def]
    qtbot, window, tmp_path: Path
) -> None:
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication
    from test_repair import FILL, gray_fill_model

    from photogan.core.masks import load_mask, mask_sidecar_for
    from photogan.inference.registry import user_models_dir

    gray_fill_model(user_models_dir() / "test-fill.onnx", "test-fill")
    window.refresh_models()
    assert window.select_chain(("test-fill",)) and window.chain_inpaints()
    photo = tmp_path / "scan.png"
    Image.fromarray(np.full((60, 80, 3), 200, np.uint8)).save(photo)
    window.resize(900, 700)
    window.show()
    window.open_paths([photo])
    qtbot.waitUntil(lambda: window.photo is not None and window.worker is None, timeout=10000)
    view = window.viewer
    window.mask_action.trigger()
    assert view.mask_mode and not view.hint_mode
    window.brush_spin.setValue(3)
    window.hardness_spin.setValue(50)
    assert view.brush.hardness == 0.5
    window.hardness_spin.setValue(100)

    def on_screen(x: float, y: float) -> QPoint:
        point = view.state.to_pane(QPointF(x, y))
        return QPoint(int(point.x()), int(point.y()))

    def stroke(button: Qt.MouseButton, start: tuple[float, float], end: tuple[float, float]) -> None:
        QTest.mousePress(view, button, Qt.KeyboardModifier.NoModifier, on_screen(*start))
        target = on_screen(*end)
        move = QMouseEvent(
            QEvent.Type.MouseMove,
            QPointF(target),
            view.mapToGlobal(QPointF(target)),
            Qt.MouseButton.NoButton,
            button,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(view, move)  # QTest.mouseMove does not hold the button down
        QTest.mouseRelease(view, button, Qt.KeyboardModifier.NoModifier, target)

    stroke(Qt.MouseButton.LeftButton, (10, 30), (70, 30))  # a horizontal line across the photo
    mask = view.brush.mask
    assert mask[30, 10:70].all() and not mask[10].any() and not mask[50].any()
    np.testing.assert_array_equal(load_mask(mask_sidecar_for(photo), 80, 60), mask)  # saved for batches too
    stroke(Qt.MouseButton.RightButton, (35, 30), (45, 30))  # erased in the middle
    assert not view.brush.mask[30, 38:42].any() and view.brush.mask[30, 15:25].all()
    window.undo_mask_action.trigger()
    assert view.brush.mask[30, 38:42].all()
    window.enhance()
    qtbot.waitUntil(lambda: window.result is not None and window.worker is None, timeout=10000)
    out = window.result.pixels
    np.testing.assert_allclose(out[30, 15:65, 0], FILL, atol=1e-6)  # filled where painted
    assert np.allclose(out[5, :, 0], 200 / 255)  # and nowhere else
    window.clear_mask_action.trigger()
    assert not mask_sidecar_for(photo).exists()
    window.open_paths([photo])
    qtbot.waitUntil(lambda: window.worker is None, timeout=10000)
    assert not view.brush.mask.any()


def test_a_soft_brush_paints_a_fading_edge_and_erases_softly() -> None:
    from photogan.gui.mask_brush import MaskBrush

    brush = MaskBrush(40, 30)
    brush.set_radius(6)
    brush.set_hardness(0.5)
    brush.begin(20.5, 15.5)
    brush.end()
    row = brush.mask[15]
    assert (row[18:24] == 255).all()  # full strength within half the radius
    assert 0 < row[25] < row[24] < 255 and row[27] == 0  # then fading out to the radius
    alpha = brush.overlay().pixelColor(25, 15).alpha()
    assert 0 < alpha < brush.overlay().pixelColor(20, 15).alpha()  # the overlay shows the fade
    brush.set_hardness(0.0)
    brush.begin(20.5, 15.5, erase=True)
    brush.end()
    assert brush.mask[15, 20] == 0 and 0 < brush.mask[15, 24] < 255  # erased most in the middle
    brush.undo()
    assert brush.mask[15, 20] == 255


def open_with_test_models(qtbot, window, tmp_path: Path, models_dir: Path) -> Path:  # type: ignore[no-untyped-def]
    """Installs the identity and ×2 test models as user models and opens a 60×40 gray photo in the window."""
    from photogan.inference.registry import user_models_dir

    for name in ("identity.onnx", "nearest2.onnx"):
        shutil.copy(models_dir / name, user_models_dir() / name)
    window.refresh_models()
    photo = tmp_path / "p.png"
    Image.fromarray(np.full((40, 60, 3), 90, np.uint8)).save(photo)
    window.open_paths([photo])
    qtbot.waitUntil(lambda: window.photo is not None and window.worker is None, timeout=10000)
    return photo


def test_a_preview_after_a_model_change_shows_the_new_model_and_a_stale_result_is_not_saved(  # type: ignore[no-untyped-def]
    qtbot, window, tmp_path: Path, models_dir: Path
) -> None:
    open_with_test_models(qtbot, window, tmp_path, models_dir)
    assert window.select_chain(("test-nearest-x2",))
    window.enhance()
    qtbot.waitUntil(lambda: window.result is not None and window.worker is None, timeout=10000)
    assert window.result.width == 120 and "test-nearest-x2" in window.viewer.result_label
    assert window.select_chain(("test-identity",))
    target = tmp_path / "out" / "p.png"
    window.save_to(target)
    assert not target.exists() and "made with test-nearest-x2" in window.last_error
    window.preview()
    qtbot.waitUntil(lambda: window.worker is None, timeout=10000)
    assert window.result is None and not window.save_action.isEnabled()  # nothing stale left to save
    assert window.viewer._after is None and window.viewer._preview is not None  # the preview is what is drawn
    assert window.viewer.result_label == "test-identity"


def test_saving_names_what_the_model_did_and_never_replaces_silently(  # type: ignore[no-untyped-def]
    qtbot, window, tmp_path: Path, models_dir: Path
) -> None:
    from photogan.app.outputs import chain_suffix
    from photogan.inference.model_info import ModelInfo
    from photogan.inference.registry import user_models_dir

    def info(task: str, scale: int = 1) -> ModelInfo:
        return ModelInfo(id=f"m-{task}", name="m", task=task, scale=scale, arch="a")  # type: ignore[arg-type]

    assert chain_suffix([info("upscale", 4)]) == "-x4"
    assert chain_suffix([info("detect"), info("inpaint"), info("restore"), info("colorize"), info("upscale", 2)]) == (
        "-repaired-colorized-x2"
    )
    assert chain_suffix([info("inpaint")]) == "-filled"
    shutil.copy(models_dir / "nearest2.onnx", user_models_dir() / "nearest2.onnx")
    window.refresh_models()
    window.settings = window.settings.__class__(output_dir=str(tmp_path / "out"))
    photo = tmp_path / "p.png"
    Image.fromarray(np.full((20, 30, 3), 90, np.uint8)).save(photo)
    window.open_paths([photo])
    qtbot.waitUntil(lambda: window.photo is not None and window.worker is None, timeout=10000)
    assert window.select_chain(("test-nearest-x2",))
    window.enhance()
    qtbot.waitUntil(lambda: window.result is not None and window.worker is None, timeout=10000)
    for _ in range(2):
        window.save()
        qtbot.waitUntil(lambda: window.worker is None, timeout=10000)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["p-x2-2.png", "p-x2.png"]


def test_the_output_size_and_print_size_show_before_running(  # type: ignore[no-untyped-def]
    qtbot, window, tmp_path: Path, models_dir: Path
) -> None:
    from photogan.inference.registry import user_models_dir

    shutil.copy(models_dir / "nearest2.onnx", user_models_dir() / "nearest2.onnx")
    window.refresh_models()
    assert window.select_chain(("test-nearest-x2",))
    photo = tmp_path / "p.jpg"
    Image.fromarray(np.full((300, 600, 3), 90, np.uint8)).save(photo, dpi=(150, 150))
    window.open_paths([photo])
    qtbot.waitUntil(lambda: window.photo is not None and window.worker is None, timeout=10000)
    assert window.output_label.text() == "Output 1200×600 px: 20.3×10.2 cm at 150 DPI"


def test_a_print_size_set_in_the_output_settings_is_shown_before_running_and_saved_exactly(  # type: ignore[no-untyped-def]
    qtbot, window, tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 60×40 photo for a 15×10 cm print at 300 DPI: the ×2 model, then resized to 1772×1181, the DPI written."""
    from photogan.gui.main_window import OutputDialog

    open_with_test_models(qtbot, window, tmp_path, models_dir)
    assert window.select_chain(("test-nearest-x2",))
    dialog = OutputDialog(window.settings, window)
    dialog.size_mode.setCurrentIndex(dialog.size_mode.findData("print"))
    dialog.print_size.setText("15x10cm")
    assert not dialog._form.isRowVisible(dialog.size_factor) and dialog._form.isRowVisible(dialog.print_size)
    window.settings = replace(dialog.apply(window.settings), output_dir=str(tmp_path / "out"))
    window._update_output_label()
    assert window.output_label.text() == (
        "Output 1772×1181 px: 15.0×10.0 cm at 300 DPI "
        "(×2 model, then resized ×14.77: beyond what the model adds, softer)"
    )
    window.enhance()
    qtbot.waitUntil(lambda: window.result is not None and window.worker is None, timeout=10000)
    window.save()
    qtbot.waitUntil(lambda: window.worker is None, timeout=10000)
    saved = load_image(tmp_path / "out" / "p-x2.png")
    assert (saved.width, saved.height) == (1772, 1181) and saved.dpi == pytest.approx((300, 300), abs=0.1)
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, _title, text: warnings.append(text))
    dialog.print_size.setText("a poster")
    dialog.accept()  # refused with the reason, the dialog stays open
    assert dialog.result() != QDialog.DialogCode.Accepted and "not a print size like 40x60cm" in warnings[0]


def test_queue_rows_show_and_edit_their_own_output_settings(  # type: ignore[no-untyped-def]
    qtbot, tmp_path: Path, photos: Path, models_dir: Path
) -> None:
    """A row is written as the Output settings said when it was added (the Output column says how); Output…
    changes the selected rows, not the done ones, and changing the window's settings later changes no row."""
    from photogan.app.settings import Settings
    from photogan.gui.queue_panel import OUTPUT, QueuePanel

    session = open_session(models_dir / "identity.onnx")
    window_settings = [Settings(output_dir=str(tmp_path / "prints"), format="tiff", print_size="30x40cm")]
    window_settings[0] = replace(window_settings[0], size_mode="print")
    asked: list[Settings] = []

    def edit(current: Settings) -> Settings:
        asked.append(current)
        return replace(current, output_dir=str(tmp_path / "web"), format="jpg", size_mode="model")

    panel = QueuePanel(
        BatchQueue(tmp_path / "queue.json"),
        lambda: ([session], tmp_path / "out", OutputOptions(format="png"), TileOptions(0, 0, 0, 8)),
        output_of=lambda: window_settings[0],
        edit_output=edit,
    )
    qtbot.addWidget(panel)
    panel.add_paths([photos / "a.png", photos / "b.png"])
    window_settings[0] = Settings(output_dir=str(tmp_path / "elsewhere"))  # rows added before keep theirs
    texts = [panel.table.item(r, OUTPUT).text() for r in range(2)]
    assert texts == ["prints/ · TIFF · 30x40cm at 300 dpi"] * 2
    panel.table.selectRow(1)
    panel.edit_selected_output()
    assert asked[0].format == "tiff" and panel.table.item(1, OUTPUT).text() == "web/ · JPG"
    with qtbot.waitSignal(panel.running_changed, check_params_cb=lambda running: not running, timeout=20000):
        panel.start()
    assert (tmp_path / "prints" / "a-restored.tif").exists() and (tmp_path / "web" / "b-restored.jpg").exists()
    panel.table.clearSelection()
    panel.edit_selected_output()  # every row is done: nothing to change, and the user is told why
    assert len(asked) == 1


def test_queue_rows_keep_their_chain_across_restarts_and_are_not_added_twice(  # type: ignore[no-untyped-def]
    qtbot, tmp_path: Path, photos: Path, models_dir: Path
) -> None:
    from photogan.gui.queue_panel import QueuePanel

    state, out = tmp_path / "queue.json", tmp_path / "out"
    sessions = {
        ("x2",): [open_session(models_dir / "nearest2.onnx")],
        ("id",): [open_session(models_dir / "identity.onnx")],
    }
    chosen = [("x2",)]
    opened: list[tuple[str, ...]] = []

    def sessions_for(chain: tuple[str, ...]):  # type: ignore[no-untyped-def]
        opened.append(chain)
        return sessions[chain or chosen[0]]

    def setup():  # type: ignore[no-untyped-def]
        return sessions_for, out, OutputOptions(format="png"), TileOptions(0, 0, 0, 8)

    panel = QueuePanel(BatchQueue(state), setup, chain_of=lambda: chosen[0])
    qtbot.addWidget(panel)
    assert panel.add_paths([photos / "a.png"]) == 1
    chosen[0] = ("id",)  # the toolbar changed: the row keeps ×2
    assert panel.add_paths([photos / "b.png"]) == 1
    assert panel.add_paths([photos / "a.png"]) == 1  # the same photo through another chain is another row
    assert panel.add_paths([photos / "a.png", photos / "b.png"]) == 0  # the same photo and chain: not twice
    again = QueuePanel(BatchQueue(state), setup, chain_of=lambda: chosen[0])  # the app restarted
    qtbot.addWidget(again)
    assert [panel.table.item(r, MODELS).text() for r in range(3)] == ["x2", "id", "id"]
    assert [again.table.item(r, MODELS).text() for r in range(3)] == ["x2", "id", "id"]
    with qtbot.waitSignal(again.running_changed, check_params_cb=lambda running: not running, timeout=20000):
        again.start()
    assert ("x2",) in opened and ("id",) in opened
    sizes = sorted(Image.open(p).size for p in out.iterdir())
    assert (192, 128) in sizes and (96, 64) in sizes  # a.png ×2 by its own chain, b.png as it is
    assert again.add_paths([photos / "a.png"]) == 0  # done rows are not added again either
    restarted = QueuePanel(BatchQueue(state), setup, chain_of=lambda: chosen[0])  # and again: nothing run yet
    qtbot.addWidget(restarted)
    assert restarted.open_folder_button.isEnabled()  # the results of the last session can be shown


def test_the_shortcut_sheet_lists_every_shortcut(window) -> None:  # type: ignore[no-untyped-def]
    table = dict((text, keys) for keys, text in window.shortcut_table())
    assert table["Enhance"] == "Ctrl+Return" and table["Damage mask"] == "M" and table["Colour points"] == "H"
    assert table["Undo stroke"] == "Ctrl+Z" and "Show the original" in table
    window.shortcuts()
    assert "Ctrl+Return" in window.shortcuts_box.text()
    window.shortcuts_box.close()


def test_photo_info_shows_camera_exposure_print_size_and_a_histogram(qtbot, window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PIL import ExifTags

    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Nikon", "D850"
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[0x829A], sub[0x829D], sub[0x8827], sub[0x9003] = 1 / 250, 5.6, 400, "2024:06:01 10:20:30"
    photo = tmp_path / "cam.jpg"
    Image.fromarray(np.full((300, 600, 3), 90, np.uint8)).save(photo, exif=exif, dpi=(300, 300))
    window.open_paths([photo])
    qtbot.waitUntil(lambda: window.photo is not None and window.worker is None, timeout=10000)
    window.photo_info()
    rows = dict(window.info_dialog.rows)
    assert rows["Camera"] == "D850" and rows["Exposure"] == "1/250 s" and rows["Aperture"] == "f/5.6"
    assert rows["ISO"] == "400" and rows["Taken"] == "2024:06:01 10:20:30"
    assert rows["Resolution"] == "300 DPI: prints 5.1×2.5 cm" and rows["Pixels"].startswith("600×300")
    window.info_dialog.close()


def test_results_can_be_undone_and_compared_a_b(qtbot, window, tmp_path: Path, models_dir: Path) -> None:  # type: ignore[no-untyped-def]
    open_with_test_models(qtbot, window, tmp_path, models_dir)
    for chain in (("test-nearest-x2",), ("test-identity",)):
        assert window.select_chain(chain)
        window.enhance()
        qtbot.waitUntil(lambda: window.worker is None, timeout=10000)
    assert window.result.width == 60 and window.previous_result_action.isEnabled()
    window.compare_action.trigger()  # A/B: the earlier result where the original was
    assert window.viewer._left_label() == "Earlier: test-nearest-x2"
    window.viewer.hold_original(True)
    assert window.viewer._left_label() == "Original"  # holding Space still shows the original
    window.viewer.hold_original(False)
    window.previous_result()
    assert window.result.width == 120 and window.result_chain == ("test-nearest-x2",)
    assert window.viewer._left_label() == "Original"  # nothing earlier than the first
    window.next_result()
    assert window.result.width == 60 and window.next_result_action.isEnabled() is False


def test_the_speed_setting_opens_the_models_8_bit_copies(  # type: ignore[no-untyped-def]
    qtbot, window, tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """*Faster on the CPU* in Output settings is the app's --int8: every model of the chain is opened with it."""
    from photogan.gui.main_window import OutputDialog

    open_with_test_models(qtbot, window, tmp_path, models_dir)
    assert window.select_chain(("test-nearest-x2",))
    dialog = OutputDialog(window.settings, window)
    assert not dialog.int8.isChecked() and dialog.tile.text() == "automatic (the fastest for each model)"
    dialog.int8.setChecked(True)
    window.settings = dialog.apply(window.settings)
    assert window.settings.int8
    asked: list[bool] = []
    opened = window.models.open
    monkeypatch.setattr(
        window.models, "open", lambda info, device, int8=False: asked.append(int8) or opened(info, device, int8)
    )
    window._sessions()
    assert asked == [True]
