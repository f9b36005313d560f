"""Starts the desktop app: ``photogan gui [FILES]`` or ``photogan-gui [FILES]``.

Unhandled exceptions (GUI thread or any other) are logged to the platformdirs log folder and shown in a dialog;
the app keeps running. The Fusion style follows the system's light or dark colour scheme.
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import sys
import threading
import time
import traceback
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from photogan import __version__
from photogan.app.settings import log_dir
from photogan.inference.registry import resources_dir

log = logging.getLogger("photogan.gui")


def configure_logging() -> Path:
    """Logs INFO and above to ``photogan.log`` (rotated) in the log folder; returns its path."""
    folder = log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "photogan.log"
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path


class CrashReporter(QObject):
    """Shows unhandled exceptions in a dialog (from any thread) after logging them with their traceback."""

    _report = Signal(str)

    def __init__(self, log_file: Path | None) -> None:
        super().__init__()
        self.log_file = log_file
        self.reports: list[str] = []
        self._report.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def install(self) -> None:
        sys.excepthook = self._hook
        threading.excepthook = lambda args: self._hook(args.exc_type, args.exc_value, args.exc_traceback)

    def _hook(self, kind: type[BaseException], value: BaseException | None, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            QApplication.quit()
            return
        details = "".join(traceback.format_exception(kind, value, tb))
        log.error("unhandled error:\n%s", details)
        self._report.emit(f"{kind.__name__}: {value}")

    @Slot(str)
    def _show(self, summary: str) -> None:
        self.reports.append(summary)
        where = f"\n\nThe details are in {self.log_file}." if self.log_file else ""
        QMessageBox.critical(
            None,
            "photogan: unexpected error",
            f"Something went wrong inside photogan:\n\n{summary}\n\nYour photos and results on disk are safe. "
            f"If it happens again, please report it with the log.{where}",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="photogan gui", description="photogan's desktop app")
    parser.add_argument("files", nargs="*", type=Path, help="photos to open (several, or folders: the batch queue)")
    parser.add_argument(
        "--screenshot",
        type=Path,
        metavar="FILE.png",
        help="save a picture of the window once it has started (and opened the files), then quit: for release "
        "checks and bug reports",
    )
    return parser


def _screenshot_when_idle(window: QWidget, path: Path, app: QApplication) -> None:
    """Saves the window once no work is running (the files opened), then quits; exit code 1 if it cannot."""
    started = time.monotonic()

    def attempt() -> None:
        busy = getattr(window, "worker", None) is not None
        if busy and time.monotonic() - started < 60:
            QTimer.singleShot(200, attempt)
            return
        saved = window.grab().save(str(path))
        log.info("screenshot %s: %s", path, "saved" if saved else "failed")
        app.exit(0 if saved else 1)

    QTimer.singleShot(800, attempt)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    log_file = configure_logging()
    QApplication.setApplicationName("photogan")
    QApplication.setOrganizationName("photogan")
    QApplication.setApplicationVersion(__version__)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    app.setStyle("Fusion")  # follows the system colour scheme (light or dark)
    app.setDesktopFileName("io.github.photogan.Photogan")  # the desktop entry: its icon in the task bar
    icons = resources_dir() / "icons"
    icon = QIcon()
    for size in (16, 32, 48, 64, 128, 256):
        icon.addFile(str(icons / f"photogan-{size}.png"))
    app.setWindowIcon(icon)
    reporter = CrashReporter(log_file)
    reporter.install()
    from photogan.gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    if args.files:
        window.open_paths([p.expanduser() for p in args.files])
    window.raise_()
    log.info("photogan %s started", __version__)
    if args.screenshot is not None:
        _screenshot_when_idle(window, args.screenshot, app)
    return app.exec()
