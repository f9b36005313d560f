"""Starts photogan's window on a photo, previews and enhances it, and saves screenshots of the main states.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/gui_screenshots.py PHOTO -o docs/screenshots \
        [--queue PHOTOS...] [--run TRAINING_RUN_DIR] [--models-dialog]

Runs with a real window under Xvfb (or any display), or offscreen (QT_QPA_PLATFORM=offscreen). The app's settings
and queue live in a temporary folder, so your own are untouched. Exits non-zero if any step fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QWidget

from photogan.app.queue import BatchQueue
from photogan.core.hints import sidecar_for
from photogan.gui.main_window import MainWindow
from photogan.gui.workers import Worker


def wait(app: QApplication, done, timeout: float = 300.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not done():
        if time.monotonic() > end:
            raise TimeoutError("the window did not finish in time")
        app.processEvents()
        time.sleep(0.01)
    for _ in range(20):
        app.processEvents()


def finetune_shot(window: MainWindow, run: Path) -> None:
    """The fine-tune panel as it was at the end of ``run``: its photos, base, curves and verdict."""
    import json

    from photogan.app.runs import RunFolder

    panel = window.finetune_panel
    files = RunFolder(run)
    config = json.loads(files.config.read_text())
    if files.data.exists():
        panel.folder.setText(", ".join(json.loads(files.data.read_text())))
    if config.get("base"):
        panel.base.setCurrentIndex(max(panel.base.findData(config["base"]), 0))
    panel.name.setText(run.name)
    panel.history.load_log(run)
    panel.run_dir = run
    panel._redraw()
    verdict = panel.history.verdict
    if verdict is not None:
        panel.history.exported = run.name
        panel.status.setText(panel.history.outcome())
    else:
        panel.status.setText(f"Replayed run {run.name}: {panel.history.improvement()}.")
    window.tabs.setCurrentWidget(panel)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", type=Path)
    parser.add_argument("-o", "--output", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--queue", type=Path, nargs="*", default=[], help="photos for the batch-queue screenshot")
    parser.add_argument("--run", type=Path, help="a training run folder whose log the fine-tune screenshot shows")
    parser.add_argument("--size", default="1440x900")
    parser.add_argument("--chain", help="model ids joined by commas to pick in the window (default: its default)")
    parser.add_argument("--models-dialog", action="store_true", help="also a screenshot of the models dialog")
    parser.add_argument(
        "--textures-only",
        metavar="MODEL",
        help="only the generate panel (MODEL at 768x512, tiled 2x2) and the models dialog on MODEL's card",
    )
    parser.add_argument(
        "--hints-only",
        type=Path,
        metavar="HINTS.json",
        help="only the colour points in use: PHOTO (a copy; nothing is written beside the original) colorized "
        "with these points, before and after",
    )
    parser.add_argument(
        "--mask-only",
        action="store_true",
        help="only the damage mask: PHOTO (a copy) with the damage found shown as the editable overlay, then "
        "repaired through the chain (--chain, e.g. inpaint) side by side",
    )
    parser.add_argument(
        "--print-only",
        metavar="PRINT",
        help="only the output size: the Output settings dialog set to this print size (e.g. 40x60cm) and the window "
        "saying the pixels and print it gives before running",
    )
    parser.add_argument("--picker-only", action="store_true", help="only the model picker, open")
    parser.add_argument(
        "--finetune-only", type=Path, metavar="RUN_DIR", help="only the fine-tune panel replaying this run's log"
    )
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    width, height = (int(v) for v in args.size.split("x"))
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setStyle("Fusion")
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        os.environ.setdefault("PHOTOGAN_MODELS_DIR", str(state / "models"))  # your own models stay out of it
        window = MainWindow(
            queue=BatchQueue(state / "queue.json"),
            settings_path=state / "settings.json",
            qsettings=QSettings(str(state / "window.ini"), QSettings.Format.IniFormat),
        )
        window.settings = window.settings.__class__(output_dir=str(state / "out"))
        if args.hints_only and not args.chain:
            args.chain = "colorize"  # colour points over any other model would show nothing they do
        if args.chain and not window.select_chain(tuple(args.chain.split(","))):
            raise SystemExit(f"the window offers no model or chain {args.chain}")
        window.resize(width, height)
        window.show()
        if args.mask_only or args.hints_only:  # the window keeps points and masks beside the photo: use a copy
            copy = state / args.photo.name
            shutil.copy(args.photo, copy)
            if args.hints_only:
                shutil.copy(args.hints_only, sidecar_for(copy))
            args.photo = copy
        window.open_photo(args.photo)
        wait(app, lambda: window.photo is not None and window.worker is None)
        wait(app, lambda: window.filmstrip.made == window.filmstrip.count(), timeout=60)  # the folder's thumbnails

        def shot(name: str) -> None:
            for _ in range(10):
                app.processEvents()
            path = args.output / f"{name}.png"
            if not window.grab().save(str(path)):
                raise OSError(f"could not write {path}")
            print(path)

        def dialog_shot(dialog: QWidget, name: str) -> None:
            dialog.show()
            for _ in range(10):
                app.processEvents()
            path = args.output / f"{name}.png"
            if not dialog.grab().save(str(path)):
                raise OSError(f"could not write {path}")
            print(path)
            dialog.close()

        if args.hints_only:
            window.hints_action.trigger()
            window.viewer.hint_color = window.viewer.hints[-1].color if window.viewer.hints else (176, 58, 46)
            window._swatch()
            window.enhance()
            wait(app, lambda: window.worker is None)
            if window.result is None:
                raise RuntimeError(window.last_error or "no result")
            window.set_view_mode("side")
            shot("10-colour-points")
            window.close()
            Worker.stop_all()
            return 0
        if args.mask_only:
            window.find_damage()
            wait(app, lambda: window.worker is None)
            if window.last_error:
                raise RuntimeError(window.last_error)
            window.brush_spin.setValue(8)
            window.hardness_spin.setValue(60)
            window.set_view_mode("before")
            shot("11-damage-mask")
            window.mask_action.trigger()  # off: the result is seen without the overlay
            window.enhance()
            wait(app, lambda: window.worker is None)
            if window.result is None:
                raise RuntimeError(window.last_error or "no result")
            window.set_view_mode("side")
            shot("12-repaired")
            window.close()
            Worker.stop_all()
            return 0
        if args.finetune_only:
            finetune_shot(window, args.finetune_only)
            shot("5-fine-tune")
            window.close()
            Worker.stop_all()
            return 0
        if args.picker_only:
            window.model_combo.showPopup()
            for _ in range(10):
                app.processEvents()
            popup = window.model_combo.view().window()
            path = args.output / "16-model-picker.png"
            popup.grab().save(str(path))
            print(path)
            window.model_combo.hidePopup()
            from PySide6.QtCore import Qt
            from PySide6.QtWidgets import QLabel

            combo = window.model_combo
            row = next(
                i for i in range(combo.count()) if combo.itemData(i) and tuple(combo.itemData(i)) == ("upscale-x4",)
            )
            tip = QLabel(combo.itemData(row, Qt.ItemDataRole.ToolTipRole))  # drawn as Qt draws the tooltip
            tip.setWindowFlags(Qt.WindowType.ToolTip)
            tip.setWordWrap(True)
            tip.setFixedWidth(420)
            tip.setMargin(6)
            tip.show()
            for _ in range(10):
                app.processEvents()
            path = args.output / "17-model-picker-tooltip.png"
            tip.grab().save(str(path))
            print(path)
            window.close()
            Worker.stop_all()
            return 0
        if args.print_only:
            from dataclasses import replace

            from photogan.gui.main_window import OutputDialog

            window.settings = replace(window.settings, size_mode="print", print_size=args.print_only)
            window._update_output_label()
            dialog_shot(OutputDialog(window.settings, window), "14-output-size")
            shot("15-print-size-before-running")
            window.close()
            Worker.stop_all()
            return 0
        if args.textures_only:
            _texture_shots(app, window, args.textures_only, shot, args.output)
            window.close()
            Worker.stop_all()
            return 0
        window.viewer.state.set_zoom(2.0)  # a quick look at a part of the photo, before the whole of it
        window.viewer.update()
        window.preview()
        wait(app, lambda: window.worker is None)
        if window.last_error:
            raise RuntimeError(window.last_error)
        shot("1-preview-visible-region")
        window.viewer.fit()
        window.enhance()
        wait(app, lambda: window.worker is None)
        if window.result is None:
            raise RuntimeError(window.last_error or "no result")
        window.viewer.set_divider(0.45)
        shot("2-split-view")
        window.set_view_mode("side")
        window.viewer.state.set_zoom(4.0)
        window.viewer.state.pan(-200, 120)
        window.viewer.update()
        shot("3-side-by-side-400pct")
        window.set_view_mode("split")
        if args.queue:
            window.queue_panel.add_paths(args.queue)
            window.tabs.setCurrentWidget(window.queue_panel)
            window.queue_panel.start()
            wait(app, lambda: not window.queue_panel.running, timeout=600)
            shot("4-batch-queue")
        if args.run:
            finetune_shot(window, args.run)
            shot("5-fine-tune")
        if args.models_dialog:
            from photogan.gui.models_dialog import ModelsDialog

            dialog_shot(ModelsDialog(window.models, window), "6-models")
        if window.generate_panel.model.count():
            window.tabs.setCurrentWidget(window.generate_panel)
            window.generate_panel.count.setValue(12)
            window.generate_panel.run_generate()
            wait(app, lambda: window.generate_panel.worker is None)
            if window.generate_panel.tiled_preview.isEnabled():
                window.generate_panel.tiled_preview.setChecked(True)  # shows that the tiles repeat without a seam
            shot("8-generate")
        window.tabs.setCurrentIndex(0)
        window.close()
        Worker.stop_all()
    return 0


def _texture_shots(app: QApplication, window: MainWindow, model: str, shot, output: Path) -> None:  # type: ignore[no-untyped-def]
    from photogan.gui.models_dialog import ModelsDialog

    panel = window.generate_panel
    window.tabs.setCurrentWidget(panel)
    panel.model.setCurrentIndex(panel.model.findData(model))
    panel.width_box.setValue(768)
    panel.height_box.setValue(512)
    panel.count.setValue(6)
    panel.tiled_preview.setChecked(True)
    panel.run_generate()
    wait(app, lambda: panel.worker is None and panel.grid.count() == 6)
    shot("8-generate")
    dialog = ModelsDialog(window.models, window)
    dialog.resize(1100, 760)
    rows = [r for r in range(dialog.table.rowCount()) if dialog.table.item(r, 0).text() == model]
    dialog.table.selectRow(rows[0])
    dialog.show()
    for _ in range(20):
        app.processEvents()
    dialog.grab().save(str(output / "9-models-texture-card.png"))
    print(output / "9-models-texture-card.png")
    dialog.close()


if __name__ == "__main__":
    sys.exit(main())
