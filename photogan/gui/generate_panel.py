"""The generate panel: textures and backgrounds from a ``generate`` model; reseed, interpolate, save."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from photogan.app.generate import generate, interpolate, is_tileable, noise, save_generated, tile
from photogan.app.models import ModelService
from photogan.core.image import Photo
from photogan.core.progress import Progress
from photogan.gui.images import to_qimage
from photogan.gui.workers import Worker
from photogan.inference.session import ModelSession

MAX_SEED = 2**31 - 1


class GeneratePanel(QWidget):
    """Samples a generate model.

    Signals:
        error(str): something to tell the user.
    """

    error = Signal(str)

    def __init__(self, models: ModelService, device: Callable[[], str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.models = models
        self._device = device
        self.photos: list[Photo] = []
        self.worker: Worker | None = None
        self.model = QComboBox()
        self.seed = QSpinBox()
        self.seed.setRange(0, MAX_SEED)
        self.seed.setValue(1)
        self.seed_b = QSpinBox()
        self.seed_b.setRange(0, MAX_SEED)
        self.seed_b.setValue(2)
        self.count = QSpinBox()
        self.count.setRange(1, 64)
        self.count.setValue(8)
        self.tiled_preview = QCheckBox("Show 2×2")
        self.tiled_preview.setToolTip("Show each image repeated 2×2, to check that it tiles without a seam")
        self.tiled_preview.toggled.connect(lambda _: self._show(self.photos))
        self.save_tiles = QSpinBox()
        self.save_tiles.setRange(1, 16)
        self.save_tiles.setPrefix("×")
        self.save_tiles.setToolTip("Save each image as N×N copies side by side: a larger seamless background")
        self.generate_button = QPushButton("Generate")
        self.generate_button.clicked.connect(self.run_generate)
        self.reseed_button = QPushButton("New seed")
        self.reseed_button.clicked.connect(self.reseed)
        self.interpolate_button = QPushButton("Interpolate A → B")
        self.interpolate_button.clicked.connect(self.run_interpolate)
        self.save_button = QPushButton("Save all…")
        self.save_button.clicked.connect(self.save_all)
        self.empty = QLabel(
            "No texture model is installed. Import one in Models → Manage models, or fine-tune one from a folder "
            "of texture photos."
        )
        self.empty.setWordWrap(True)
        self.grid = QListWidget()
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setIconSize(QSize(192, 192))
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        row = QHBoxLayout()
        for label, widget in (
            ("Model", self.model),
            ("Seed A", self.seed),
            ("Seed B", self.seed_b),
            ("Count", self.count),
        ):
            row.addWidget(QLabel(label))
            row.addWidget(widget)
        row.addWidget(self.tiled_preview)
        row.addWidget(QLabel("Save tiled"))
        row.addWidget(self.save_tiles)
        row.addStretch(1)
        buttons = QHBoxLayout()
        for b in (self.generate_button, self.reseed_button, self.interpolate_button, self.save_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.empty)
        layout.addLayout(row)
        layout.addLayout(buttons)
        layout.addWidget(self.grid, 1)
        self.model.currentIndexChanged.connect(self._update_controls)
        self.refresh_models()

    def refresh_models(self) -> None:
        current = self.model.currentData()
        self.model.clear()
        for entry in self.models.list():
            if entry.info.task == "generate":
                self.model.addItem(f"{entry.info.id} — {entry.info.name}", entry.info.id)
        self.model.setCurrentIndex(max(self.model.findData(current), 0))
        self._update_controls()

    def _tileable(self) -> bool:
        model_id = self.model.currentData()
        return model_id is not None and is_tileable(self.models.resolve("generate", None, model_id))

    def _update_controls(self) -> None:
        has_model = self.model.count() > 0
        busy = self.worker is not None
        self.empty.setVisible(not has_model)
        for b in (self.generate_button, self.reseed_button, self.interpolate_button):
            b.setEnabled(has_model and not busy)
        self.save_button.setEnabled(bool(self.photos) and not busy)
        tileable = has_model and self._tileable()
        self.tiled_preview.setEnabled(tileable)
        self.save_tiles.setEnabled(tileable)
        if not tileable:
            self.tiled_preview.setChecked(False)
            self.save_tiles.setValue(1)

    def reseed(self) -> None:
        self.seed.setValue((self.seed.value() * 1103515245 + 12345) % MAX_SEED)
        self.run_generate()

    def run_generate(self) -> None:
        seed, count = self.seed.value(), self.count.value()
        self._start(lambda session: noise(session, seed, count))

    def run_interpolate(self) -> None:
        a, b, steps = self.seed.value(), self.seed_b.value(), max(self.count.value(), 2)
        self._start(lambda session: interpolate(noise(session, a), noise(session, b), steps))

    def _start(self, vectors: Callable[[ModelSession], np.ndarray]) -> None:
        model_id = self.model.currentData()
        if model_id is None or self.worker is not None:
            return
        models, device = self.models, self._device()

        def job(progress: Progress) -> list[Photo]:
            session = models.open(models.resolve(None, None, model_id), device)
            progress.check_cancelled()
            return generate(session, vectors(session))

        self.worker = Worker(job, "generate", self)
        self.worker.succeeded.connect(self._show)
        self.worker.failed.connect(lambda e: self.error.emit(e.message))
        self.worker.finished.connect(self._done)
        self.worker.start_job()
        self._update_controls()

    def _show(self, photos: list[Photo]) -> None:
        self.photos = photos
        self.grid.clear()
        times = 2 if self.tiled_preview.isChecked() else 1
        for k, photo in enumerate(photos, start=1):
            shown = tile(photo, times) if times > 1 else photo
            self.grid.addItem(QListWidgetItem(QIcon(QPixmap.fromImage(to_qimage(shown))), f"#{k}"))

    def _done(self) -> None:
        self.worker = None
        self._update_controls()

    def save_all(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save the generated images into")
        if not folder:
            return
        try:
            stem = f"{self.model.currentData()}-seed{self.seed.value()}"
            paths = save_generated(self.photos, Path(folder), stem, tiles=self.save_tiles.value())
        except (OSError, ValueError) as exc:
            self.error.emit(f"Could not save: {exc}")
            return
        self.error.emit(f"Saved {len(paths)} images to {folder}")
