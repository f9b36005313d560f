"""The batch queue panel: many photos, each with its status, progress, time and reason; pause, resume, cancel,
retry, remove, reorder. The queue itself (:class:`photogan.app.queue.BatchQueue`) persists across restarts; this
panel only shows it and runs it in a worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from photogan.app.batch import OutputOptions
from photogan.app.queue import BatchQueue, QueueItem
from photogan.app.settings import Settings
from photogan.core.formats import IMAGE_FILTER, not_read_reason
from photogan.core.progress import Progress
from photogan.core.tiling import TileOptions
from photogan.gui.workers import Worker, WorkerError
from photogan.inference.session import ModelSession

STATUS_TEXT = {"pending": "Waiting", "running": "Working", "done": "Done", "failed": "Failed", "skipped": "Skipped"}
COLUMNS = ("Photo", "Models", "Output", "Status", "Progress", "Time", "Result / reason")
PHOTO, MODELS, OUTPUT, STATUS, PROGRESS, TIME, RESULT = range(len(COLUMNS))

#: Opens a row's chain of model ids (empty: the chosen one) as sessions.
SessionsFor = Callable[[tuple[str, ...]], Sequence[ModelSession]]
#: What the panel needs to run the queue: the models (sessions for rows without a chain of their own, or a
#: function that opens each row's chain), the output folder, options and tiling.
RunSetup = tuple[Sequence[ModelSession] | SessionsFor, Path, OutputOptions, TileOptions]


class _Relay(QObject):
    """Carries queue callbacks from the worker thread to the GUI thread."""

    item_changed = Signal(object)
    item_progress = Signal(str, float)


def describe_output(settings: Settings) -> str:
    """A row's output settings in a few words: ``photogan/ · PNG · 40×60 cm``."""
    kind = "same format" if settings.format == "same" else settings.format.upper()
    parts = [Path(settings.output_dir).name + "/", kind]
    if settings.name_suffix:
        parts.append(f"name{settings.name_suffix}")
    if settings.size_mode == "print":
        parts.append(f"{settings.print_size} at {settings.print_dpi:g} dpi")
    elif settings.size_mode == "factor":
        parts.append(f"×{settings.size_factor:g}")
    elif settings.size_mode == "long_side":
        parts.append(f"{settings.size_long_side} px long side")
    return " · ".join(parts)


def format_seconds(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class QueuePanel(QWidget):
    """Shows and runs the batch queue.

    Args:
        queue: The persistent queue.
        prepare: Called when the user starts the queue; returns the run setup or raises with a message.
        chain_of: The model chain new rows run through (the one chosen when they are added; shown in the Models
            column and kept across restarts). None: rows take the run's models.
        output_of: The output settings new rows are written with (kept with each row, shown in the Output
            column). None: rows take the run's.
        edit_output: Shows the output settings of the selected rows for editing (the Output dialog); returns the
            new ones, or None when the user cancelled.

    Signals:
        open_item(QueueItem): the user opened an item (double click) to compare it in the viewer.
        error(str): something to tell the user.
        running_changed(bool)
    """

    open_item = Signal(object)
    error = Signal(str)
    running_changed = Signal(bool)

    def __init__(
        self,
        queue: BatchQueue,
        prepare: Callable[[], RunSetup],
        parent: QWidget | None = None,
        chain_of: Callable[[], tuple[str, ...]] | None = None,
        output_of: Callable[[], Settings] | None = None,
        edit_output: Callable[[Settings], Settings | None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.queue = queue
        self._prepare = prepare
        self._chain_of = chain_of
        self._output_of = output_of
        self._edit_output = edit_output
        self.worker: Worker | None = None
        self._output_dir: Path | None = None
        self._started = 0.0
        self._done_in_run = 0
        self._fractions: dict[str, float] = {}
        self._relay = _Relay()
        self._relay.item_changed.connect(self._on_item)
        self._relay.item_progress.connect(self._on_progress)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(PHOTO, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(RESULT, QHeaderView.ResizeMode.Stretch)
        for column in (MODELS, OUTPUT, STATUS, PROGRESS, TIME):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemDoubleClicked.connect(self._open_row)

        def button(text: str, slot: Callable[[], object], tip: str, shortcut: str | None = None) -> QPushButton:
            b = QPushButton(text)
            b.setToolTip(tip + (f" ({shortcut})" if shortcut else ""))
            b.clicked.connect(slot)
            if shortcut:
                b.setShortcut(QKeySequence(shortcut))
            return b

        self.add_files_button = button("Add photos…", self.add_files_dialog, "Add photos to the queue")
        self.add_folder_button = button("Add folder…", self.add_folder_dialog, "Add a folder and its sub-folders")
        self.start_button = button("Start", self.start, "Enhance every waiting photo", "Ctrl+Shift+Return")
        self.pause_button = button("Pause", self.toggle_pause, "Hold after the current tile; press again to resume")
        self.cancel_button = button("Cancel", self.cancel, "Stop within one tile; the current photo stays waiting")
        self.retry_button = button("Retry failed", self.retry_failed, "Put failed photos back in the queue")
        self.remove_button = button("Remove", self.remove_selected, "Remove the selected photos", "Del")
        self.up_button = button("▲", lambda: self.move_selected(-1), "Move up", "Alt+Up")
        self.down_button = button("▼", lambda: self.move_selected(+1), "Move down", "Alt+Down")
        for b in (self.up_button, self.down_button):
            b.setFixedWidth(36)
        self.clear_button = button("Clear done", self.clear_finished, "Remove done and skipped photos")
        self.output_button = button(
            "Output…", self.edit_selected_output, "Where and how the selected photos are written (until they are done)"
        )
        self.open_folder_button = button("Show results", self.open_output_folder, "Open the folder the results went to")
        self.overall = QProgressBar()
        self.overall.setFormat("%p %")
        self.summary = QLabel()

        tools = QHBoxLayout()
        for b in (self.add_files_button, self.add_folder_button):
            tools.addWidget(b)
        tools.addSpacing(6)
        for b in (self.start_button, self.pause_button, self.cancel_button):
            tools.addWidget(b)
        tools.addSpacing(6)
        for b in (
            self.output_button,
            self.retry_button,
            self.remove_button,
            self.up_button,
            self.down_button,
            self.clear_button,
        ):
            tools.addWidget(b)
        tools.addStretch(1)
        tools.addWidget(self.open_folder_button)
        bottom = QHBoxLayout()
        bottom.addWidget(self.overall, 1)
        bottom.addWidget(self.summary)
        layout = QVBoxLayout(self)
        layout.addLayout(tools)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)
        self.refresh()

    # -- state ------------------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.worker is not None

    def refresh(self) -> None:
        """Redraws the table from the queue (keeping the selection)."""
        selected = set(self.selected_ids())
        items = self.queue.items
        self.table.setRowCount(len(items))
        for row, item in enumerate(items):
            self._fill_row(row, item)
            if item.id in selected:
                self.table.selectRow(row)
        self._update_controls()

    def _fill_row(self, row: int, item: QueueItem) -> None:
        name = QTableWidgetItem(item.relative)
        name.setData(Qt.ItemDataRole.UserRole, item.id)
        name.setToolTip(item.source)
        self.table.setItem(row, PHOTO, name)
        self.table.setItem(row, MODELS, QTableWidgetItem(" → ".join(item.chain) or "(chosen at start)"))
        own = item.output_settings()
        output = QTableWidgetItem(describe_output(own) if own is not None else "(chosen at start)")
        output.setToolTip(own.output_dir if own is not None else "The Output settings when the queue starts")
        self.table.setItem(row, OUTPUT, output)
        self.table.setItem(row, STATUS, QTableWidgetItem(STATUS_TEXT[item.status]))
        fraction = {"done": 1.0, "skipped": 1.0}.get(item.status, self._fractions.get(item.id, 0.0))
        self.table.setItem(row, PROGRESS, QTableWidgetItem(f"{fraction * 100:.0f} %"))
        self.table.setItem(row, TIME, QTableWidgetItem(format_seconds(item.seconds) if item.seconds else ""))
        detail = QTableWidgetItem(item.reason if item.status in ("failed", "skipped") else item.target)
        detail.setToolTip(detail.text())
        if item.status == "failed":
            detail.setForeground(Qt.GlobalColor.red)
        self.table.setItem(row, RESULT, detail)

    def _row_of(self, item_id: str) -> int:
        for row in range(self.table.rowCount()):
            cell = self.table.item(row, PHOTO)
            if cell is not None and cell.data(Qt.ItemDataRole.UserRole) == item_id:
                return row
        return -1

    def selected_ids(self) -> list[str]:
        rows = sorted({index.row() for index in self.table.selectedIndexes()})
        cells = [self.table.item(row, PHOTO) for row in rows]
        return [c.data(Qt.ItemDataRole.UserRole) for c in cells if c is not None]

    def _update_controls(self) -> None:
        counts = self.queue.counts()
        waiting = counts.get("pending", 0)
        self.start_button.setEnabled(not self.running and waiting > 0)
        self.pause_button.setEnabled(self.running)
        self.cancel_button.setEnabled(self.running)
        self.retry_button.setEnabled(counts.get("failed", 0) > 0)
        self.clear_button.setEnabled(counts.get("done", 0) + counts.get("skipped", 0) > 0)
        if self._output_dir is None:  # after a restart: where the queue's results went
            written = [Path(i.target).parent for i in self.queue.items if i.status == "done" and i.target]
            self._output_dir = written[-1] if written else None
        self.open_folder_button.setEnabled(self._output_dir is not None and self._output_dir.exists())
        total = sum(counts.values())
        finished = counts.get("done", 0) + counts.get("skipped", 0) + counts.get("failed", 0)
        running_fraction = sum(self._fractions.get(i.id, 0.0) for i in self.queue.items if i.status == "running")
        self.overall.setMaximum(1000)
        self.overall.setValue(round(1000 * (finished + running_fraction) / total) if total else 0)
        parts = [f"{counts.get(k, 0)} {STATUS_TEXT[k].lower()}" for k in ("pending", "done", "failed") if counts.get(k)]
        eta = self.eta_seconds()
        if eta is not None:
            parts.append(f"about {format_seconds(eta)} left")
        if self.worker is not None and self.worker.token.paused:
            parts.insert(0, "paused")
        self.summary.setText(", ".join(parts) if parts else "The queue is empty: add photos or a folder")

    def eta_seconds(self) -> float | None:
        """Time left, from the photos finished in this run (None before the first one)."""
        if not self.running or self._done_in_run == 0:
            return None
        per_item = (time.monotonic() - self._started) / self._done_in_run
        items = self.queue.items
        running = sum(1.0 - self._fractions.get(i.id, 0.0) for i in items if i.status == "running")
        return per_item * (sum(i.status == "pending" for i in items) + running)

    # -- editing ----------------------------------------------------------------------------------------------

    def add_paths(self, paths: Sequence[Path]) -> int:
        chain = self._chain_of() if self._chain_of is not None else ()
        others: list[Path] = []
        output = self._output_of() if self._output_of is not None else None
        added = self.queue.add(paths, recursive=True, chain=chain, others=others, output=output)
        self.refresh()
        if others:  # never left out without a word
            names = "\n".join(f"{f.name}: {not_read_reason(f)}" for f in others[:10])
            more = f"\n… and {len(others) - 10} more" if len(others) > 10 else ""
            self.error.emit(f"{len(others)} files were not added to the queue:\n{names}{more}")
        return len(added)

    def add_files_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add photos to the queue", "", IMAGE_FILTER)
        if files:
            self.add_paths([Path(f) for f in files])

    def add_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of photos (with its sub-folders)")
        if folder:
            self.add_paths([Path(folder)])

    def edit_selected_output(self) -> None:
        """The Output dialog for the selected rows that are not done (all such rows when none is selected)."""
        selected = set(self.selected_ids())
        open_rows = [i for i in self.queue.items if i.status not in ("done", "running")]
        rows = [i for i in open_rows if not selected or i.id in selected]
        if not rows or self._edit_output is None:
            self.error.emit("Select photos that are not done yet: their output settings can still change.")
            return
        current = rows[0].output_settings() or (self._output_of() if self._output_of is not None else Settings())
        chosen = self._edit_output(current)
        if chosen is not None:
            self.queue.set_output([i.id for i in rows], chosen)
            self.refresh()

    def remove_selected(self) -> None:
        self.queue.remove(self.selected_ids())
        self.refresh()

    def move_selected(self, delta: int) -> None:
        ids = self.selected_ids()
        if len(ids) != 1:
            return
        order = [i.id for i in self.queue.items]
        self.queue.move(ids[0], order.index(ids[0]) + delta)
        self.refresh()

    def retry_failed(self) -> None:
        self.queue.retry_failed()
        self.refresh()

    def clear_finished(self) -> None:
        self.queue.clear_finished()
        self.refresh()

    def open_output_folder(self) -> None:
        if self._output_dir is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._output_dir)))

    def _open_row(self, cell: QTableWidgetItem) -> None:
        first = self.table.item(cell.row(), PHOTO)
        item_id = first.data(Qt.ItemDataRole.UserRole) if first is not None else None
        item = next((i for i in self.queue.items if i.id == item_id), None)
        if item is not None:
            self.open_item.emit(item)

    # -- running ----------------------------------------------------------------------------------------------

    def start(self) -> None:
        if self.running:
            return
        try:
            models, output_dir, options, tile = self._prepare()
        except Exception as exc:  # shown to the user; nothing was started
            self.error.emit(str(exc))
            return
        self._output_dir = output_dir
        relay = self._relay

        sessions_for = models if callable(models) else None
        fixed: Sequence[ModelSession] = [] if callable(models) else models

        def job(progress: Progress) -> None:
            self.queue.run(
                fixed if sessions_for is None else sessions_for(()),
                output_dir,
                options,
                tile,
                progress,
                on_item=relay.item_changed.emit,
                on_progress=lambda item, fraction: relay.item_progress.emit(item.id, fraction),
                sessions_for=sessions_for,
            )

        self._started, self._done_in_run, self._fractions = time.monotonic(), 0, {}
        self.worker = Worker(job, "batch queue", self)
        self.worker.failed.connect(self._on_failed)
        self.worker.finished.connect(self._on_finished)
        self.worker.start_job()
        self.pause_button.setText("Pause")
        self.running_changed.emit(True)
        self._update_controls()

    def toggle_pause(self) -> None:
        if self.worker is None:
            return
        if self.worker.token.paused:
            self.worker.resume()
            self.pause_button.setText("Pause")
        else:
            self.worker.pause()
            self.pause_button.setText("Resume")
        self._update_controls()

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def _on_item(self, item: QueueItem) -> None:
        if item.status in ("done", "failed", "skipped"):
            self._done_in_run += 1
            self._fractions.pop(item.id, None)
        row = self._row_of(item.id)
        if row >= 0:
            self._fill_row(row, item)
        self._update_controls()

    def _on_progress(self, item_id: str, fraction: float) -> None:
        self._fractions[item_id] = fraction
        row = self._row_of(item_id)
        if row >= 0:
            self.table.setItem(row, PROGRESS, QTableWidgetItem(f"{fraction * 100:.0f} %"))
        self._update_controls()

    def _on_failed(self, error: WorkerError) -> None:
        self.error.emit(f"The batch stopped: {error.message}")

    def _on_finished(self) -> None:
        self.worker = None
        self._fractions = {}
        self.refresh()
        self.running_changed.emit(False)
